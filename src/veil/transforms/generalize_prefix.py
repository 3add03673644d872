"""generalize / prefix: keep the first n characters and fill the rest (zip 90210 -> 902**)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from sqlglot import exp

from veil.engines import sql
from veil.transforms.base import PlanContext, Transform


class GeneralizePrefix(Transform):
    type: Literal["generalize"] = "generalize"
    method: Literal["prefix"] = "prefix"
    input_kind = "string"

    keep: int = Field(ge=0)
    fill: str = Field("*", max_length=1)
    """One fill character per removed character; empty to shorten the value instead."""

    def describe(self) -> str:
        return f"first {self.keep} characters kept, rest filled with {self.fill!r}"

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        value = ctx.source(column)
        if ctx.column_type(column) != "VARCHAR":
            value = sql.cast(value, "VARCHAR")
        head = sql.left(value, self.keep)
        if not self.fill:
            return sql.if_null_then_null(value, head)
        rest = sql.greatest(
            exp.Sub(this=sql.length(value), expression=sql.lit(self.keep)), sql.lit(0)
        )
        return sql.if_null_then_null(value, sql.concat(head, sql.repeat(self.fill, rest)))
