"""redact_entities: find personal data *inside* free text and replace each span.

``Call me at +1 415-555-0134 or jane@x.org`` becomes ``Call me at <PHONE> or <EMAIL>``.

Entities: ``email``, ``url``, ``iban``, ``credit_card``, ``us_ssn``, ``us_itin``,
``mac_address``, ``ip_address``, ``date``, ``phone``, ``street_address``, ``person``. Spans
do not overlap; where two entities claim the same text, the one earlier in that list wins.

``replace_with``:

* ``label`` (default): ``<EMAIL>``, ``<PHONE>``... Entities fully decided by a pattern
  (email, URL, SSN, ITIN, MAC, IP, dates, street addresses) are replaced by the engine with
  ``regexp_replace``; those that need validation (IBAN mod 97, card Luhn and issuer, phone
  numbers via ``phonenumbers`` for ``regions``, person names from name dictionaries) by a
  vectorized Python UDF that only looks closer at rows a regex pre-filter selected.
* ``mask``: each letter and digit of the span becomes ``char`` (separators kept).
* ``pseudonym``: ``<EMAIL_3f2a9c1b04d2>``, an HMAC-SHA-256 of the span under a subkey of the
  policy key ``key`` (domain-separated by ``domain``): the same span gets the same pseudonym in
  every row and run, so counts survive; without the key it cannot be reversed by guessing.

Person names are found by dictionary (first names from many locales, followed by capitalized
surnames, or after a cue such as ``Mr.``/``with``); names outside the dictionaries are missed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, field_validator, model_validator
from sqlglot import exp

from veil.engines import sql
from veil.transforms.base import PlanContext, Transform

EntityName = Literal[
    "email",
    "url",
    "iban",
    "credit_card",
    "us_ssn",
    "us_itin",
    "mac_address",
    "ip_address",
    "date",
    "phone",
    "street_address",
    "person",
]
_ALL: list[EntityName] = list(get_args(EntityName))
_SUBKEY_MESSAGE = "veil:redact_entities:span-subkey"


def _batch_fn(
    entities: list[str],
    regions: tuple[str, ...],
    mode: str,
    char: str,
    length: int,
) -> Callable[..., pa.Array]:
    """The vectorized UDF: Arrow strings in, Arrow strings out; Python only on candidate rows."""
    from veil.detect import text as t

    prefilter = t.candidate_pattern(entities)

    def apply(values: pa.Array, secret: pa.Array | None) -> pa.Array:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        replacer: Callable[[str, str], str]
        if mode == "label":
            replacer = t.label_replacer
        elif mode == "mask":
            replacer = t.mask_replacer(char)
        else:
            assert secret is not None
            first = pc.drop_null(secret)
            if len(first) == 0:  # only null texts in this batch
                return values
            replacer = t.pseudonym_replacer(bytes.fromhex(first[0].as_py()), length)
        if prefilter is not None:
            candidates = pc.fill_null(pc.match_substring_regex(values, prefilter), False)
            if not pc.any(candidates).as_py():
                return values
            flags = candidates.to_pylist()
        else:
            flags = [True] * len(values)
        out = values.to_pylist()
        for i, text in enumerate(out):
            if text is None or not flags[i]:
                continue
            spans = t.find_entities(text, entities, regions)
            if spans:
                out[i] = t.replace_entities(text, spans, replacer)
        return pa.array(out, pa.string())

    # DuckDB counts the parameters of the function it registers: one per SQL argument.
    if mode == "pseudonym":

        def keyed(values: pa.Array, secret: pa.Array) -> pa.Array:
            return apply(values, secret)

        return keyed

    def plain(values: pa.Array) -> pa.Array:
        return apply(values, None)

    return plain


class RedactEntities(Transform):
    type: Literal["redact_entities"] = "redact_entities"
    input_kind = "string"

    entities: list[EntityName] = Field(default_factory=lambda: list(_ALL))
    replace_with: Literal["label", "mask", "pseudonym"] = "label"
    char: str = Field("X", min_length=1, max_length=1)
    """mask: the character written over letters and digits."""
    key: str | None = None
    """pseudonym: the policy key the span HMACs are computed under."""
    domain: str = Field("entities", min_length=1)
    """pseudonym: spans pseudonymized in different domains get unrelated pseudonyms."""
    length: int = Field(12, ge=8, le=64)
    """pseudonym: hex characters of the HMAC kept."""
    regions: list[str] = Field(
        default_factory=lambda: ["US", "GB", "DE", "FR", "ES", "IT", "NL", "BR", "IN", "CA"]
    )
    """Phone regions (ISO 3166 alpha-2) tried for numbers written without a country code."""

    @field_validator("regions")
    @classmethod
    def _regions_known(cls, v: list[str]) -> list[str]:
        import phonenumbers

        out = [r.upper() for r in v]
        bad = [r for r in out if r not in phonenumbers.SUPPORTED_REGIONS]
        if bad:
            raise ValueError(f"unknown phone regions {bad}; use ISO 3166 alpha-2 codes")
        return out

    @model_validator(mode="after")
    def _check(self) -> RedactEntities:
        if not self.entities:
            raise ValueError("'entities' needs at least one entity")
        if len(set(self.entities)) != len(self.entities):
            raise ValueError("'entities' lists an entity twice")
        if self.replace_with == "pseudonym" and self.key is None:
            raise ValueError("replace_with: pseudonym needs a 'key'")
        if self.replace_with != "pseudonym" and self.key is not None:
            raise ValueError("'key' is only used with replace_with: pseudonym")
        if self.char in "\\$":
            raise ValueError("char may not be a backslash or a dollar sign")
        return self

    def key_names(self) -> list[str]:
        return [self.key] if self.key else []

    def describe(self) -> str:
        how = {
            "label": "type labels such as <EMAIL>",
            "mask": f"masks of {self.char!r}",
            "pseudonym": f"keyed pseudonyms (key {self.key!r}, domain {self.domain!r})",
        }[self.replace_with]
        return f"entities in text ({', '.join(self.entities)}) replaced by {how}"

    def _ordered(self) -> list[str]:
        return [e for e in _ALL if e in self.entities]

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        from veil.detect import text as t

        value = ctx.source(column)
        if ctx.column_type(column) != "VARCHAR":
            value = sql.cast(value, "VARCHAR")
        ordered = self._ordered()
        regions = tuple(self.regions)
        if self.replace_with == "pseudonym":
            assert self.key is not None
            # A per-(key, domain) subkey derived by HMAC in the engine (never in SQL text),
            # handed to the UDF as a column so key material stays out of the plan's text.
            secret = ctx.hmac_hex(
                self.key, f"redact_entities:{self.domain}", sql.lit(_SUBKEY_MESSAGE)
            )
            fn = _batch_fn(ordered, regions, "pseudonym", self.char, self.length)
            out = ctx.udf("redact_entities", fn, [value, secret], ["VARCHAR", "VARCHAR"], "VARCHAR")
            return sql.if_null_then_null(value, out)
        if self.replace_with == "mask":
            fn = _batch_fn(ordered, regions, "mask", self.char, self.length)
            out = ctx.udf("redact_entities", fn, [value], ["VARCHAR"], "VARCHAR")
            return sql.if_null_then_null(value, out)
        # label: pattern entities in the engine, validated ones in the UDF afterwards
        text = value
        pure = [e for e in ordered if not t.BY_NAME[e].validated]
        for name in pure:
            ent = t.BY_NAME[name]
            text = sql.regexp_replace(text, ent.pattern, f"<{ent.label}>")
        validated = [e for e in ordered if t.BY_NAME[e].validated]
        if validated:
            fn = _batch_fn(validated, regions, "label", self.char, self.length)
            text = ctx.udf("redact_entities", fn, [text], ["VARCHAR"], "VARCHAR")
        return sql.if_null_then_null(value, text)
