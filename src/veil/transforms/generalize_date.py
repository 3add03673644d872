"""generalize / date: truncate dates or timestamps to year, quarter, month, week (ISO, Monday)
or day. The column keeps its type: 1984-07-23 with ``unit: month`` becomes 1984-07-01."""

from __future__ import annotations

from typing import Literal

from sqlglot import exp

from veil.engines import sql
from veil.transforms.base import PlanContext, Transform


class GeneralizeDate(Transform):
    type: Literal["generalize"] = "generalize"
    method: Literal["date"] = "date"
    input_kind = "date"

    unit: Literal["year", "quarter", "month", "week", "day"]

    def describe(self) -> str:
        return f"truncated to the {self.unit}"

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        value = ctx.source(column)
        return sql.cast(sql.date_trunc(self.unit, value), ctx.column_type(column))
