"""suppress: remove the column from the output altogether."""

from __future__ import annotations

from typing import Literal

from sqlglot import exp

from veil.transforms.base import PlanContext, Transform


class Suppress(Transform):
    type: Literal["suppress"] = "suppress"

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression | None:
        return None

    def describe(self) -> str:
        return "dropped from the output"
