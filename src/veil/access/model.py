"""The access file: principals, roles and permissions. Everything not granted is denied.

::

    # access.yaml, next to the policy
    version: 1
    roles:
      support:
        grants:
          - {permission: detokenize, columns: ["customers.ssn"]}
          - {permission: decrypt, columns: ["customers.*"]}
      analyst:
        grants:
          - {permission: read_raw, columns: ["customers.age", "customers.zip"]}
      key_admin:
        grants:
          - {permission: administer_keys, keys: ["*"]}
    principals:
      alice:
        roles: [support]
        api_key_hash: "scrypt$16384$8$1$<salt>$<hash>"   # from `veil access new-key`

Columns are named ``<policy name>.<column>``; ``*`` and ``?`` are wildcards (``fnmatch``).
``decrypt`` covers both ``encrypt`` and ``fpe`` columns, ``detokenize`` covers ``tokenize``
columns, ``read_raw`` is the right to see a column untransformed (``veil.anonymize(...,
principal=..., api_key=...)`` returns such columns raw, and audits it), ``administer_keys`` the
right to create, rotate, destroy and re-wrap keyring keys and to purge their vaults.
"""

from __future__ import annotations

import fnmatch
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Permission = Literal["read_raw", "detokenize", "decrypt", "administer_keys"]
COLUMN_PERMISSIONS = ("read_raw", "detokenize", "decrypt")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Grant(_Strict):
    permission: Permission
    columns: list[str] = Field(default_factory=list)
    """``policy.column`` patterns (for read_raw, detokenize, decrypt)."""
    keys: list[str] = Field(default_factory=list)
    """Keyring key name patterns (for administer_keys)."""

    @model_validator(mode="after")
    def _targets(self) -> Grant:
        if self.permission == "administer_keys":
            if self.columns or not self.keys:
                raise ValueError("administer_keys grants name 'keys' (patterns), not columns")
        else:
            if self.keys or not self.columns:
                raise ValueError(
                    f"{self.permission} grants name 'columns' (policy.column patterns)"
                )
        return self

    def covers(self, permission: str, target: str) -> bool:
        if permission != self.permission:
            return False
        patterns = self.keys if permission == "administer_keys" else self.columns
        return any(fnmatch.fnmatchcase(target, p) for p in patterns)


class Role(_Strict):
    description: str = ""
    grants: list[Grant] = Field(default_factory=list)


class Principal(_Strict):
    roles: list[str] = Field(default_factory=list)
    api_key_hash: str = Field(pattern=r"^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_=-]+\$[A-Za-z0-9_=-]+$")
    disabled: bool = False


class AccessFile(_Strict):
    version: Literal[1] = 1
    roles: dict[str, Role] = Field(default_factory=dict)
    principals: dict[str, Principal] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _roles_exist(self) -> AccessFile:
        for name, p in self.principals.items():
            for r in p.roles:
                if r not in self.roles:
                    raise ValueError(
                        f"principal {name!r} has role {r!r}, which is not defined in 'roles'"
                    )
        return self

    def allows(self, principal: str, permission: str, target: str) -> bool:
        p = self.principals.get(principal)
        if p is None or p.disabled:
            return False
        return any(g.covers(permission, target) for r in p.roles for g in self.roles[r].grants)
