"""keep: pass the column through unchanged (an explicit, reviewable choice)."""

from __future__ import annotations

from typing import Literal

from sqlglot import exp

from veil.transforms.base import PlanContext, Transform


class Keep(Transform):
    type: Literal["keep"] = "keep"

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        return ctx.source(column)

    def describe(self) -> str:
        return "kept unchanged"
