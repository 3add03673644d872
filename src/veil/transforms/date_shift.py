"""date_shift: move dates by a per-person offset derived from a key and an ID column.

Every record of one person (same ``by`` value) is shifted by the same number of days, so
intervals within a person's records (length of stay, age at event) are preserved while the
calendar dates are hidden. offset = HMAC(subkey, id) mod (2·max_days + 1) − max_days, never 0
when ``allow_zero`` is false (the default).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sqlglot import exp

from veil.engines import sql
from veil.transforms.base import PlanContext, Transform


class DateShift(Transform):
    type: Literal["date_shift"] = "date_shift"
    input_kind = "date"

    key: str
    by: str
    """The column identifying the person (shared offset for all of their records)."""
    max_days: int = Field(180, ge=1, le=36500)
    domain: str = Field("default", min_length=1)
    allow_zero: bool = False

    def key_names(self) -> list[str]:
        return [self.key]

    def referenced_columns(self) -> list[str]:
        return [self.by]

    def describe(self) -> str:
        return (
            f"shifted by a per-{self.by} offset of up to ±{self.max_days} days (key {self.key!r})"
        )

    def offset_days(self, ctx: PlanContext) -> exp.Expression:
        ident = ctx.source(self.by)
        text = ident if ctx.column_type(self.by) == "VARCHAR" else sql.cast(ident, "VARCHAR")
        digest = ctx.hmac_hex(self.key, f"date_shift:{self.domain}", text)
        n = sql.hex_to_int(sql.substring(digest, 1, 12))
        if self.allow_zero:
            span = 2 * self.max_days + 1
            return exp.Sub(
                this=exp.Mod(this=n, expression=sql.lit(span)), expression=sql.lit(self.max_days)
            )
        # 2·max non-zero offsets: map 0..max-1 to -max..-1 and max..2max-1 to 1..max.
        m = exp.Mod(this=n, expression=sql.lit(2 * self.max_days))
        return sql.case(
            [
                (
                    exp.LT(this=m, expression=sql.lit(self.max_days)),
                    exp.Sub(this=m, expression=sql.lit(self.max_days)),
                )
            ],
            exp.Add(this=exp.Sub(this=m, expression=sql.lit(self.max_days)), expression=sql.lit(1)),
        )

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        value = ctx.source(column)
        # Without an ID the record cannot be shifted consistently: it is nulled, not kept.
        return sql.case(
            [
                (
                    exp.Is(this=ctx.source(self.by), expression=exp.null()),
                    sql.cast(sql.lit(None), ctx.column_type(column)),
                )
            ],
            sql.cast(sql.add_days(value, self.offset_days(ctx)), ctx.column_type(column)),
        )
