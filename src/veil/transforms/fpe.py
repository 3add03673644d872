"""fpe: format-preserving encryption with NIST SP 800-38G FF1 (AES-256), reversible.

A value's characters from the alphabet are encrypted together; separators keep their places,
so ``123-45-6789`` becomes another ``ddd-dd-dddd`` and a 16-digit card number another 16-digit
number (Luhn-valid again with ``luhn: true``). FF1 is not secure on small domains: a value with
fewer than 10**6 possible encryptions fails the job unless ``allow_small_domain: true`` says
otherwise explicitly. The output has no room for a key version: the manifest records it, and
`veil reveal` takes it from there (or from ``--key-version``).
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
from pydantic import Field, model_validator
from sqlglot import exp

from veil.crypto.fpe import ALPHABETS, FpeCodec
from veil.engines import sql
from veil.transforms.base import PlanContext, Transform

FF1_KEY_BYTES = 32


class Fpe(Transform):
    type: Literal["fpe"] = "fpe"

    key: str
    domain: str = Field("default", min_length=1)
    alphabet: Literal["digits", "lower_alnum", "upper_alnum", "alnum", "custom"] = "digits"
    """digits (radix 10), lower_alnum / upper_alnum (0-9 and one case of a-z, radix 36),
    alnum (0-9A-Za-z, radix 62) or custom (``characters``)."""
    characters: str | None = Field(None, min_length=2, max_length=256)
    """The custom alphabet: 2-256 distinct ASCII characters, in numeral order."""
    separators: str = " -./()+"
    """Characters kept in place; any other character outside the alphabet is invalid."""
    luhn: bool = False
    """Treat the last digit as a Luhn check digit: Luhn-valid in, Luhn-valid out."""
    allow_small_domain: bool = False
    """Accept values with fewer than 10**6 possible encryptions (weak; opt in knowingly)."""
    tweak: str = ""
    """FF1 tweak (UTF-8): public, but values encrypted under different tweaks differ."""
    on_invalid: Literal["fail", "null"] = "fail"
    """A value with characters outside alphabet and separators (or too short for FF1)
    fails the job, or becomes null."""

    @model_validator(mode="after")
    def _check(self) -> Fpe:
        chars = self.characters
        if self.alphabet == "custom":
            if chars is None:
                raise ValueError("alphabet: custom needs 'characters'")
            if not chars.isascii() or not chars.isprintable():
                raise ValueError("custom characters must be printable ASCII")
            if len(set(chars)) != len(chars):
                raise ValueError("custom characters repeat a character")
        elif chars is not None:
            raise ValueError("'characters' is only for alphabet: custom")
        if not self.separators.isascii():
            raise ValueError("separators must be ASCII")
        if set(self.separators) & set(self.characters_used()):
            raise ValueError("a separator is also in the alphabet")
        if self.luhn and self.alphabet != "digits":
            raise ValueError("luhn needs alphabet: digits")
        return self

    def characters_used(self) -> str:
        return self.characters if self.characters is not None else ALPHABETS[self.alphabet]

    def key_names(self) -> list[str]:
        return [self.key]

    @property
    def is_reversible(self) -> bool:
        return True

    @property
    def purpose(self) -> str:
        return f"fpe:{self.domain}"

    def codec(self, key: bytes, label: str = "fpe") -> FpeCodec:
        return FpeCodec(
            key,
            self.characters_used(),
            separators=self.separators,
            tweak=self.tweak.encode("utf-8"),
            luhn=self.luhn,
            allow_small_domain=self.allow_small_domain,
            label=label,
        )

    def describe(self) -> str:
        extra = ", Luhn-valid" if self.luhn else ""
        return (
            f"format-preserving encryption: FF1-AES-256 over {self.alphabet} "
            f"(radix {len(self.characters_used())}) under key {self.key!r} (domain "
            f"{self.domain!r}){extra}; separators kept"
        )

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        value = ctx.source(column)
        text = value if ctx.column_type(column) == "VARCHAR" else sql.cast(value, "VARCHAR")
        _version, subkey = ctx.subkeys(self.key, self.purpose, FF1_KEY_BYTES)[0]
        codec = self.codec(subkey, label=f"fpe on column {column!r}")
        on_invalid = self.on_invalid

        def batch(values: pa.Array) -> pa.Array:
            return codec.encrypt(values, on_invalid)

        return ctx.udf("fpe", batch, [text], ["VARCHAR"], "VARCHAR")
