"""The one exception tree of veil.

Every error veil raises on purpose derives from :class:`VeilError`; the CLI maps each branch to
an exit code a scheduler can act on. Messages never contain data values or key material.

::

    VeilError                         exit 1
    ├── PolicyError                   exit 2   policy file invalid (file, field path, hint)
    ├── KeyError_                     exit 3   key missing, unreadable or too short
    ├── DataError                     exit 4   input data malformed (file, line, column)
    │   └── SchemaMismatchError               policy names a column the data lacks
    ├── EngineError                   exit 5   the engine failed for another reason
    ├── OutputError                   exit 6   the output could not be written atomically
    └── AuditError                    exit 7   audit log unreadable or tampered with
        └── AuditTamperedError
"""

from __future__ import annotations


class VeilError(Exception):
    """Base class of every error veil raises deliberately."""

    exit_code = 1


class PolicyError(VeilError):
    """The policy is invalid. Carries the file and one entry per problem."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, problems: list[str] | None = None):
        self.file = file
        self.problems = problems or []
        super().__init__(message)


class KeyMaterialError(VeilError):
    """A key referenced by the policy is missing, unreadable or too weak."""

    exit_code = 3


class DataError(VeilError):
    """Input data is malformed. Location fields are filled where the engine reports them."""

    exit_code = 4

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ):
        self.file = file
        self.line = line
        self.column = column
        super().__init__(message)


class SchemaMismatchError(DataError):
    """The policy names a column that the data does not have (or the reverse, where it matters)."""


class EngineError(VeilError):
    """The execution engine failed for a reason that is not the input data's fault."""

    exit_code = 5


class OutputError(VeilError):
    """The output could not be written (or committed atomically)."""

    exit_code = 6


class AuditError(VeilError):
    """The audit log cannot be read or written."""

    exit_code = 7


class AuditTamperedError(AuditError):
    """Verification found an edited, deleted, inserted or reordered audit record.

    ``problems`` holds one human-readable entry per finding (each naming a line or seq).
    """

    def __init__(self, message: str, *, problems: list[str] | None = None):
        self.problems = problems or []
        super().__init__(message)
