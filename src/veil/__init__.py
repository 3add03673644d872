"""veil: anonymize personal data with one declarative policy.

>>> import veil
>>> veil.run("examples/customers/policy.yaml")            # file to file, on DuckDB
>>> veil.anonymize(df, "examples/customers/policy.yaml")  # in memory -> pyarrow.Table
"""

from __future__ import annotations

__version__ = "0.1.0"

from veil.errors import (  # noqa: E402
    AccessDeniedError,
    AuditError,
    AuditTamperedError,
    AuthenticationError,
    DataError,
    EngineError,
    InvalidCiphertextError,
    KeyMaterialError,
    KeyNotFoundError,
    KeyringCorruptError,
    KeyringError,
    KeyVersionDestroyedError,
    KeyVersionError,
    MasterKeyError,
    OutputError,
    PolicyError,
    SchemaMismatchError,
    TokenExpiredError,
    TokenNotFoundError,
    VaultCorruptError,
    VaultError,
    VeilError,
    WrongMasterKeyError,
)
from veil.policy.load import load_policy  # noqa: E402
from veil.reveal import reveal  # noqa: E402
from veil.run import anonymize, explain, run  # noqa: E402

__all__ = [
    "AccessDeniedError",
    "AuditError",
    "AuditTamperedError",
    "AuthenticationError",
    "DataError",
    "EngineError",
    "InvalidCiphertextError",
    "KeyMaterialError",
    "KeyNotFoundError",
    "KeyVersionDestroyedError",
    "KeyVersionError",
    "KeyringCorruptError",
    "KeyringError",
    "MasterKeyError",
    "OutputError",
    "PolicyError",
    "SchemaMismatchError",
    "TokenExpiredError",
    "TokenNotFoundError",
    "VaultCorruptError",
    "VaultError",
    "VeilError",
    "WrongMasterKeyError",
    "__version__",
    "anonymize",
    "explain",
    "load_policy",
    "reveal",
    "run",
]
