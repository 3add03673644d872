"""Optional native accelerators, built from C by setup.py; veil is complete without them.

Each accelerator computes exactly what the SQL it replaces computes (tests compare the two), so
turning one off changes speed, never results. ``VEIL_NATIVE=0`` in the environment turns them
all off, e.g. to rule them out while investigating a problem.
"""

from __future__ import annotations

import os
from types import ModuleType

DISABLE_ENV = "VEIL_NATIVE"

hmac_module: ModuleType | None
try:
    from veil import _hmac_sha256 as hmac_module
except ImportError:  # built without a C compiler or the OpenSSL headers
    hmac_module = None


def hmac_enabled() -> bool:
    """Whether DuckDB plans compute HMAC-SHA-256 with the native batch function."""
    return hmac_module is not None and os.environ.get(DISABLE_ENV, "1") != "0"
