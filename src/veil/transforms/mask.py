"""mask: hide characters, keeping the first/last n and (optionally) the value's format.

``4111-1111-1111-1234`` with ``keep_last: 4`` becomes ``XXXX-XXXX-XXXX-1234``: letters and
digits are masked, separators (anything that is not a Unicode letter or digit) are kept and do
not count towards ``keep_first``/``keep_last``. A value with no more content characters than
``keep_first + keep_last`` is masked completely, so short values are never revealed whole.

``mode: email`` masks the local part and keeps the domain (or masks it too, keeping dots).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from sqlglot import exp

from veil.engines import sql
from veil.transforms.base import PlanContext, Transform

_ANY = r"[\s\S]"


class Mask(Transform):
    type: Literal["mask"] = "mask"
    input_kind = "string"

    mode: Literal["chars", "email"] = "chars"
    keep_first: int = Field(0, ge=0)
    keep_last: int = Field(0, ge=0)
    char: str = Field("X", min_length=1, max_length=1)
    keep_separators: bool = True
    """Keep characters that are neither letters nor digits (dashes, spaces, dots, @)."""
    keep_domain: bool = True
    """email mode: keep the part after the last '@' unchanged."""

    @model_validator(mode="after")
    def _check(self) -> Mask:
        if self.char in "\\$":
            raise ValueError("char may not be a backslash or a dollar sign")
        return self

    def describe(self) -> str:
        if self.mode == "email":
            dom = "domain kept" if self.keep_domain else "domain masked"
            return f"email local part masked with {self.char!r}, {dom}"
        parts = []
        if self.keep_first:
            parts.append(f"first {self.keep_first}")
        if self.keep_last:
            parts.append(f"last {self.keep_last}")
        kept = " and ".join(parts) if parts else "nothing"
        fmt = "separators kept" if self.keep_separators else "separators masked"
        return f"masked with {self.char!r}, keeping {kept} ({fmt})"

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        value = ctx.source(column)
        if ctx.column_type(column) != "VARCHAR":
            value = sql.cast(value, "VARCHAR")
        if self.mode == "email":
            return sql.if_null_then_null(value, self._email(value, ctx))
        return sql.if_null_then_null(value, self._chars(value, ctx))

    def _mask_every_char(self, text: exp.Expression) -> exp.Expression:
        return sql.repeat(self.char, sql.length(text))

    def _email(self, value: exp.Expression, ctx: PlanContext) -> exp.Expression:
        # The domain is the last '@' and what follows; the local part is everything before it.
        # (Both from one short anchored match: a leading '^(.*)' group costs six times more.)
        domain = ctx.share(sql.regexp_extract(value, r"@[^@]*$", 0))
        local = sql.substring(
            value, sql.lit(1), exp.Sub(this=sql.length(value), expression=sql.length(domain))
        )
        masked_domain = (
            domain if self.keep_domain else sql.regexp_replace(domain, r"[^@.]", self.char)
        )
        # The domain part starts with '@' whenever the pattern matched; a value without '@'
        # is not an email and is masked whole rather than revealed.
        has_at = exp.GT(this=sql.length(domain), expression=sql.lit(0))
        return sql.case(
            [(has_at, sql.concat(self._mask_every_char(local), masked_domain))],
            self._mask_every_char(value),
        )

    def _chars(self, value: exp.Expression, ctx: PlanContext) -> exp.Expression:
        if not self.keep_separators:
            # Every character is content: masking is a repeat, no regular expression.
            content, other = _ANY, ""
        else:
            content, other = sql.CONTENT_CLASS, sql.NON_CONTENT_CLASS

        def mask(text: exp.Expression) -> exp.Expression:
            if other:
                return sql.regexp_replace(text, content, self.char)
            return self._mask_every_char(text)

        if self.keep_first == 0 and self.keep_last == 0:
            return mask(value)
        other_star = f"{other}*" if other else ""
        prefix: exp.Expression = sql.lit("")
        suffix: exp.Expression = sql.lit("")
        # Each pattern also demands one more content character beyond the kept ones, so a value
        # with no more content than it keeps yields '' and is masked whole (the safe outcome).
        if self.keep_first:
            prefix = ctx.share(
                sql.regexp_extract(
                    value,
                    f"^((?:{other_star}{content}){{{self.keep_first}}}){other_star}{content}",
                    1,
                )
            )
        if self.keep_last:
            suffix = ctx.share(
                sql.regexp_extract(
                    value,
                    f"{content}{other_star}((?:{content}{other_star}){{{self.keep_last}}})$",
                    1,
                )
            )
        middle_len = exp.Sub(
            this=sql.length(value),
            expression=exp.Add(this=sql.length(prefix), expression=sql.length(suffix)),
        )
        # Masking maps each character to one character, so the middle of the masked value is
        # the masked middle; masking the whole column lets engines take fast paths on it.
        middle = sql.substring(
            mask(value), exp.Add(this=sql.length(prefix), expression=sql.lit(1)), middle_len
        )
        partial = sql.concat(prefix, middle, suffix)
        if not (self.keep_first and self.keep_last):
            return partial
        # Both ends kept: a short value's prefix and suffix would overlap.
        n_content = sql.length(sql.regexp_replace(value, other, "")) if other else sql.length(value)
        too_short = exp.LTE(this=n_content, expression=sql.lit(self.keep_first + self.keep_last))
        return sql.case([(too_short, mask(value))], partial)
