"""redact: replace every non-null value by NULL (default) or by a fixed replacement text."""

from __future__ import annotations

from typing import Literal

from sqlglot import exp

from veil.engines import sql
from veil.transforms.base import PlanContext, Transform


class Redact(Transform):
    type: Literal["redact"] = "redact"
    replacement: str | None = None
    """Text written instead of each non-null value; NULL when omitted."""

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        if self.replacement is None:
            return sql.cast(sql.lit(None), ctx.column_type(column))
        return sql.if_null_then_null(ctx.source(column), sql.lit(self.replacement))

    def describe(self) -> str:
        if self.replacement is None:
            return "redacted to NULL"
        return f"redacted to the text {self.replacement!r}"
