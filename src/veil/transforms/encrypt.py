"""encrypt: deterministic, reversible AES-SIV encryption (RFC 5297) of a column.

Equal inputs give equal ciphertexts under one key and domain (joins and GROUP BY survive);
authorized principals reverse them with `veil reveal`. A ciphertext reads ``v<N>:<base64url>``
where N is the key version it was made under: new values always use the newest version, and
values made before a rotation still decrypt. Nulls stay null. The subkey is derived with HKDF
for ``encrypt:<domain>`` and lives only in the batch function's closure.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sqlglot import exp

from veil.crypto.siv import SIV_KEY_BYTES, SivEncryptor
from veil.engines import sql
from veil.transforms.base import PlanContext, Transform


class Encrypt(Transform):
    type: Literal["encrypt"] = "encrypt"

    key: str
    """Name of a key in the policy's ``keys`` section (a keyring key allows rotation)."""
    domain: str = Field("default", min_length=1)
    """Ciphertexts are equal (and decrypt) only within one domain."""

    def key_names(self) -> list[str]:
        return [self.key]

    @property
    def is_reversible(self) -> bool:
        return True

    @property
    def purpose(self) -> str:
        return f"encrypt:{self.domain}"

    def describe(self) -> str:
        return (
            f"encrypted: deterministic AES-SIV under key {self.key!r} (domain {self.domain!r}), "
            "'v<version>:' + base64url, reversible by principals allowed to decrypt"
        )

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        value = ctx.source(column)
        text = value if ctx.column_type(column) == "VARCHAR" else sql.cast(value, "VARCHAR")
        version, subkey = ctx.subkeys(self.key, self.purpose, SIV_KEY_BYTES)[0]
        encryptor = SivEncryptor(subkey, version)
        return ctx.udf("encrypt", encryptor.encrypt, [text], ["VARCHAR"], "VARCHAR")
