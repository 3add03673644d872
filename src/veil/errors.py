"""The one exception tree of veil.

Every error veil raises on purpose derives from :class:`VeilError`; the CLI maps each branch to
an exit code a scheduler can act on. Messages never contain data values or key material.

::

    VeilError                         exit 1
    ├── PolicyError                   exit 2   policy file invalid (file, field path, hint)
    ├── KeyMaterialError              exit 3   key missing, unreadable or too short
    │   ├── MasterKeyError                     master key missing or unreadable
    │   │   └── WrongMasterKeyError            master key does not open the keyring (GCM tag)
    │   ├── KeyringError                       keyring file missing, truncated or edited
    │   │   └── KeyringCorruptError            truncated / not JSON / integrity check failed
    │   ├── KeyNotFoundError                   no such key in the keyring
    │   └── KeyVersionError                    no such key version (never existed)
    │       └── KeyVersionDestroyedError       the version was destroyed (crypto-shredded)
    ├── DataError                     exit 4   input data malformed (file, line, column)
    │   ├── SchemaMismatchError               policy names a column the data lacks
    │   └── InvalidCiphertextError            a value to reveal is not a ciphertext of the column
    ├── EngineError                   exit 5   the engine failed for another reason
    ├── OutputError                   exit 6   the output could not be written atomically
    ├── AuditError                    exit 7   audit log unreadable or tampered with
    │   └── AuditTamperedError
    ├── VaultError                    exit 8   token vault unreachable or unusable
    │   ├── VaultCorruptError                  a vault row fails its integrity check
    │   ├── TokenNotFoundError                 a token is not in the vault
    │   └── TokenExpiredError                  a token is past its expiry
    ├── AccessDeniedError             exit 9   a principal lacks the permission (default deny)
    │   └── AuthenticationError               unknown principal or wrong API key
    └── PrivacyUnmetError             exit 10  privacy models cannot be met; nothing written

Reveal errors name positions ("value #3"), key names and versions, never the values.
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


class MasterKeyError(KeyMaterialError):
    """The master key that protects the keyring is not configured, unreadable or too short."""


class WrongMasterKeyError(MasterKeyError):
    """The master key given does not open the keyring (AES-GCM authentication failed)."""


class KeyringError(KeyMaterialError):
    """The keyring file is missing or cannot be used."""


class KeyringCorruptError(KeyringError):
    """The keyring file is truncated, not a keyring, or fails its integrity check."""


class KeyNotFoundError(KeyMaterialError):
    """The keyring holds no key of that name."""


class KeyVersionError(KeyMaterialError):
    """A value names a key version that the key does not have."""


class KeyVersionDestroyedError(KeyVersionError):
    """A value was made under a key version that has since been destroyed: it cannot be
    reversed any more (this is what destroying a version is for)."""


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


class InvalidCiphertextError(DataError):
    """A value given to reveal is not a ciphertext (or FPE value) of that column and key."""


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


class VaultError(VeilError):
    """The token vault is unreachable, misconfigured or cannot complete an operation."""

    exit_code = 8


class VaultCorruptError(VaultError):
    """A vault row fails its AES-GCM integrity check (edited, swapped or damaged)."""


class TokenNotFoundError(VaultError):
    """A value given to detokenize is not a token of that vault and column."""


class TokenExpiredError(VaultError):
    """A token is past its expiry time; its value can no longer be revealed."""


class AccessDeniedError(VeilError):
    """The principal lacks the permission for what it asked (access is denied by default)."""

    exit_code = 9


class AuthenticationError(AccessDeniedError):
    """The principal is unknown or its API key does not match."""


class PrivacyUnmetError(VeilError):
    """The policy's privacy models cannot be met within the suppression limit; nothing is
    written. ``best`` describes the best transformation found and why it falls short."""

    exit_code = 10

    def __init__(self, message: str, *, best: dict[str, object] | None = None):
        self.best = best or {}
        super().__init__(message)
