"""Sensitive-data discovery: detectors, column classification, quasi-identifiers, draft policy.

>>> from veil.detect import scan, draft_policy
>>> result = scan("data/customers.parquet")
>>> print(draft_policy(result, policy_path="policy.yaml"))

The package imports its submodules lazily: the ``redact_entities`` transform uses
:mod:`veil.detect.text` while the policy model (which the scanner needs) imports the
transforms, and an eager import here would make that a cycle.
"""

from __future__ import annotations

import importlib
from typing import Any

from veil.detect.types import TYPES, ColumnReport, Evidence, QuasiIdentifierSet, ScanResult

__all__ = [
    "TYPES",
    "ColumnReport",
    "Evidence",
    "QuasiIdentifierSet",
    "ScanResult",
    "draft_policy",
    "scan",
]


_LAZY = {"scan": "veil.detect.scanner", "draft_policy": "veil.detect.draft"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'veil.detect' has no attribute {name!r}")
