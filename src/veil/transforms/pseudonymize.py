"""pseudonymize: keyed HMAC-SHA-256 pseudonyms (RFC 2104), deterministic and join-preserving.

The same input, key and ``domain`` give the same pseudonym in every run and on every engine, so
datasets pseudonymized separately still join. Different domains (or keys) give unrelated
pseudonyms. Nulls stay null. There is deliberately no unkeyed hashing: an unkeyed hash of an
e-mail address or SSN is reversed by hashing every candidate.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from sqlglot import exp

from veil.engines import sql
from veil.transforms.base import PlanContext, Transform

_MAX_LENGTH = {"hex": 64, "base64url": 43}


class Pseudonymize(Transform):
    type: Literal["pseudonymize"] = "pseudonymize"

    key: str
    """Name of a key in the policy's ``keys`` section."""
    domain: str = Field("default", min_length=1)
    """Pseudonyms join only within one domain: use one per kind of identifier you link on."""
    encoding: Literal["hex", "base64url"] = "hex"
    length: int = Field(32, ge=8)
    """Characters kept from the encoded HMAC (8 is the minimum; collisions grow below 16)."""
    prefix: str = ""
    normalize: Literal["none", "trim", "lower", "trim_lower"] = "none"
    """Applied to the input before hashing, so ``A@x.com `` and ``a@x.com`` agree."""

    @model_validator(mode="after")
    def _check(self) -> Pseudonymize:
        limit = _MAX_LENGTH[self.encoding]
        if self.length > limit:
            raise ValueError(f"length {self.length} exceeds {limit} for encoding {self.encoding}")
        return self

    def key_names(self) -> list[str]:
        return [self.key]

    def describe(self) -> str:
        return (
            f"pseudonymized: HMAC-SHA-256 under key {self.key!r} (domain {self.domain!r}), "
            f"{self.encoding}, {self.length} chars"
        )

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        value = ctx.source(column)
        text = value if ctx.column_type(column) == "VARCHAR" else sql.cast(value, "VARCHAR")
        if self.normalize in ("trim", "trim_lower"):
            text = sql.trim(text)
        if self.normalize in ("lower", "trim_lower"):
            text = sql.lower(text)
        digest = ctx.hmac_hex(self.key, f"pseudonymize:{self.domain}", text)
        if self.encoding == "hex":
            encoded = digest
        else:
            b64 = sql.to_base64(sql.unhex(digest))
            encoded = sql.regexp_replace(
                sql.regexp_replace(sql.regexp_replace(b64, r"\+", "-"), "/", "_"), "=", ""
            )
        out = sql.left(encoded, self.length)
        if self.prefix:
            out = sql.concat(sql.lit(self.prefix), out)
        return sql.if_null_then_null(value, out)
