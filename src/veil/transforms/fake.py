"""fake: realistic surrogate values from Faker, chosen by a keyed hash of the original.

A pool of ``pool_size`` surrogates is generated once per (kind, locale, pool size) with a fixed
Faker seed; each input value picks pool entry HMAC(subkey, value) mod pool_size. The same input
and key therefore always give the same surrogate (joins survive), on every engine, and the
lookup is a list index into a bound constant instead of a Faker call per row. Distinct inputs can share a surrogate
(pool_size bounds the number of distinct outputs); ``email`` adds hash digits to the local part
and uses reserved example domains (RFC 2606) so a surrogate never reaches a real mailbox.
"""

from __future__ import annotations

import difflib
import importlib.metadata
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Literal

from pydantic import Field, field_validator
from sqlglot import exp

from veil.cache import cached_strings
from veil.engines import sql
from veil.transforms.base import PlanContext, Transform

FakeKind = Literal[
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "street_address",
    "city",
    "postcode",
    "company",
    "job",
    "username",
]

_SAFE_DOMAINS = ("example.com", "example.org", "example.net")


def _provider(kind: str) -> Callable[[Any], str]:
    table: dict[str, Callable[[Any], str]] = {
        "name": lambda f: f.name(),
        "first_name": lambda f: f.first_name(),
        "last_name": lambda f: f.last_name(),
        "email": lambda f: f.user_name(),
        "phone": lambda f: f.phone_number(),
        "address": lambda f: f.address().replace("\n", ", "),
        "street_address": lambda f: f.street_address(),
        "city": lambda f: f.city(),
        "postcode": lambda f: f.postcode(),
        "company": lambda f: f.company(),
        "job": lambda f: f.job(),
        "username": lambda f: f.user_name(),
    }
    return table[kind]


def _generate_pool(kind: str, locale: str, size: int) -> list[str]:
    from faker import Faker

    faker = Faker(locale)
    faker.seed_instance(f"veil-fake-pool:{kind}:{locale}:{size}")
    make = _provider(kind)
    return [make(faker) for _ in range(size)]


@lru_cache(maxsize=32)
def surrogate_pool(kind: str, locale: str, size: int) -> tuple[str, ...]:
    """The deterministic pool for one kind and locale (depends on the Faker version).

    Building a pool costs 0.5 to 2 s per kind, so pools are kept in the disk cache
    (veil.cache), one file per Faker version, kind, locale and size."""
    faker_version = importlib.metadata.version("faker")
    return tuple(
        cached_strings(
            f"fake-pools/faker-{faker_version}/{kind}.{locale}.{size}.json",
            lambda: _generate_pool(kind, locale, size),
            expected_len=size,
        )
    )


class Fake(Transform):
    type: Literal["fake"] = "fake"

    kind: FakeKind
    key: str
    locale: str = "en_US"
    pool_size: int = Field(10_000, ge=100, le=1_000_000)
    domain: str = "default"

    def key_names(self) -> list[str]:
        return [self.key]

    def describe(self) -> str:
        return f"replaced by a fake {self.kind} ({self.locale}, pool of {self.pool_size}, key {self.key!r})"

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, v: str) -> str:
        from faker.config import AVAILABLE_LOCALES

        if v not in AVAILABLE_LOCALES:
            close = difflib.get_close_matches(v, AVAILABLE_LOCALES, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ValueError(f"Faker has no locale {v!r}{hint}")
        return v

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        value = ctx.source(column)
        text = value if ctx.column_type(column) == "VARCHAR" else sql.cast(value, "VARCHAR")
        digest = ctx.hmac_hex(self.key, f"fake:{self.kind}:{self.domain}", text)
        index = exp.Mod(
            this=sql.hex_to_int(sql.substring(digest, 1, 12)), expression=sql.lit(self.pool_size)
        )
        picked = ctx.pick(list(surrogate_pool(self.kind, self.locale, self.pool_size)), index)
        if self.kind == "email":
            digits = sql.cast(
                exp.Mod(
                    this=sql.hex_to_int(sql.substring(digest, 13, 8)), expression=sql.lit(10_000)
                ),
                "VARCHAR",
            )
            dom = ctx.pick(
                list(_SAFE_DOMAINS),
                exp.Mod(
                    this=sql.hex_to_int(sql.substring(digest, 21, 4)),
                    expression=sql.lit(len(_SAFE_DOMAINS)),
                ),
            )
            picked = sql.concat(picked, digits, sql.lit("@"), dom)
        return sql.if_null_then_null(value, picked)
