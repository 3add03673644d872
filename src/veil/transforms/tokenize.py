"""tokenize: replace values by tokens kept in a vault, reversible by authorized principals.

``mode: convergent`` (default) gives one token per distinct value (joins survive), also across
jobs and processes sharing the vault; ``mode: random`` gives every occurrence its own token.
Tokens are ``opaque`` (26 base32 characters after ``prefix``) or ``preserve`` (same length and
character classes as the value). The vault keeps each value sealed with AES-GCM under a subkey
of the policy key and, for convergent tokens, a keyed lookup hash; never the value itself. The
vault is a SQLite file (default, relative to the policy) or a ``postgresql://`` URL shared by
several workers; ``$VAR`` in it is read from the environment.
"""

from __future__ import annotations

import functools
from typing import Literal

from pydantic import Field, model_validator
from sqlglot import exp

from veil.engines import sql
from veil.transforms.base import PlanContext, Transform

SEAL_PURPOSE = "tokenize:{domain}:seal"
LOOKUP_PURPOSE = "tokenize:{domain}:lookup"


class Tokenize(Transform):
    type: Literal["tokenize"] = "tokenize"

    key: str
    vault: str = ".veil/vault.sqlite"
    """SQLite file (relative to the policy), ``sqlite:///path`` or ``postgresql://...``."""
    table: str = Field(
        "veil_tokens", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$"
    )
    """Vault table (``schema.table`` on PostgreSQL)."""
    domain: str = Field("default", min_length=1, max_length=200)
    """Token namespace in the vault: a value has one token per domain."""
    mode: Literal["convergent", "random"] = "convergent"
    format: Literal["opaque", "preserve"] = "opaque"
    prefix: str = Field("", max_length=32)
    """Prepended to opaque tokens (e.g. ``tok_``)."""
    ttl_days: int | None = Field(None, ge=1, le=36500)
    """Tokens expire this many days after they are issued (then they cannot be revealed, and
    a convergent value gets a new token)."""

    @model_validator(mode="after")
    def _check(self) -> Tokenize:
        if self.prefix and self.format == "preserve":
            raise ValueError("prefix is only for format: opaque (preserve keeps the length)")
        return self

    def key_names(self) -> list[str]:
        return [self.key]

    @property
    def is_reversible(self) -> bool:
        return True

    @property
    def seal_purpose(self) -> str:
        return SEAL_PURPOSE.format(domain=self.domain)

    @property
    def lookup_purpose(self) -> str:
        return LOOKUP_PURPOSE.format(domain=self.domain)

    def describe(self) -> str:
        expiry = f", expiring after {self.ttl_days} days" if self.ttl_days else ""
        return (
            f"tokenized: {self.mode} {self.format} tokens in vault "
            f"{'postgresql' if self.vault.startswith('postgres') else 'sqlite'} "
            f"(domain {self.domain!r}, key {self.key!r}){expiry}"
        )

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        from veil.vault.base import open_backend
        from veil.vault.tokenizer import Tokenizer, VersionKeys

        value = ctx.source(column)
        text = value if ctx.column_type(column) == "VARCHAR" else sql.cast(value, "VARCHAR")
        seals = ctx.subkeys(self.key, self.seal_purpose)
        lookups = dict(ctx.subkeys(self.key, self.lookup_purpose))
        keys = [VersionKeys(v, seal, lookups[v]) for v, seal in seals]
        opener = functools.partial(open_backend, self.vault, ctx.base_dir, self.table)
        backend = opener()  # fails now, at plan time, if the vault is unusable
        tokenizer = Tokenizer(
            backend,
            self.domain,
            keys,
            mode=self.mode,
            token_format=self.format,
            prefix=self.prefix,
            ttl_seconds=self.ttl_days * 86400 if self.ttl_days else None,
            label=f"tokenize on column {column!r}",
            opener=opener,
        )
        return ctx.udf("tokenize", tokenizer.tokenize, [text], ["VARCHAR"], "VARCHAR")
