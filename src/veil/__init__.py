"""veil: anonymize personal data with one declarative policy.

>>> import veil
>>> veil.run("examples/customers/policy.yaml")            # file to file, on DuckDB
>>> veil.anonymize(df, "examples/customers/policy.yaml")  # in memory -> pyarrow.Table
"""

from __future__ import annotations

__version__ = "0.1.0"

from veil.errors import (  # noqa: E402
    AuditError,
    AuditTamperedError,
    DataError,
    EngineError,
    KeyMaterialError,
    OutputError,
    PolicyError,
    SchemaMismatchError,
    VeilError,
)
from veil.policy.load import load_policy  # noqa: E402
from veil.run import anonymize, explain, run  # noqa: E402

__all__ = [
    "AuditError",
    "AuditTamperedError",
    "DataError",
    "EngineError",
    "KeyMaterialError",
    "OutputError",
    "PolicyError",
    "SchemaMismatchError",
    "VeilError",
    "__version__",
    "anonymize",
    "explain",
    "load_policy",
    "run",
]
