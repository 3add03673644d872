"""generalize / interval: numeric values to intervals of a fixed width or between given bounds.

``width: 10`` turns 37 into ``[30, 40)``; ``bounds: [18, 30, 65]`` gives ``<18``, ``[18, 30)``,
``[30, 65)``, ``>=65``. ``output: lower`` writes the interval's lower bound as a number instead
of a label. ``top``/``bottom`` code the tails (``>=90``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from sqlglot import exp

from veil.engines import sql
from veil.transforms.base import PlanContext, Transform


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


class GeneralizeInterval(Transform):
    type: Literal["generalize"] = "generalize"
    method: Literal["interval"] = "interval"
    input_kind = "numeric"

    width: float | None = Field(None, gt=0)
    origin: float = 0
    bounds: list[float] | None = None
    bottom: float | None = None
    """Values below this are coded as ``<bottom``."""
    top: float | None = None
    """Values at or above this are coded as ``>=top``."""
    output: Literal["label", "lower"] = "label"

    @model_validator(mode="after")
    def _check(self) -> GeneralizeInterval:
        if (self.width is None) == (self.bounds is None):
            raise ValueError("give exactly one of 'width' or 'bounds'")
        if self.bounds is not None:
            if len(self.bounds) < 1:
                raise ValueError("'bounds' needs at least one value")
            if any(b >= a for a, b in zip(self.bounds[1:], self.bounds[:-1], strict=False)):
                raise ValueError("'bounds' must be strictly increasing")
            if self.top is not None or self.bottom is not None:
                raise ValueError(
                    "'top'/'bottom' apply to 'width' intervals; bounds already code the tails"
                )
        if self.output == "lower" and (
            self.bounds is not None or self.top is not None or self.bottom is not None
        ):
            raise ValueError("output 'lower' is only available for plain 'width' intervals")
        if self.top is not None and self.bottom is not None and self.bottom >= self.top:
            raise ValueError("'bottom' must be below 'top'")
        return self

    def describe(self) -> str:
        if self.bounds is not None:
            return f"generalized to intervals with bounds {[_fmt(b) for b in self.bounds]}"
        assert self.width is not None
        tails = ""
        if self.bottom is not None:
            tails += f", <{_fmt(self.bottom)} coded"
        if self.top is not None:
            tails += f", >={_fmt(self.top)} coded"
        return f"generalized to intervals of width {_fmt(self.width)}{tails}"

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        x = sql.cast(ctx.source(column), "DOUBLE")
        if self.bounds is not None:
            b = self.bounds
            whens: list[tuple[exp.Expression, exp.Expression]] = [
                (exp.LT(this=x, expression=sql.lit(b[0])), sql.lit(f"<{_fmt(b[0])}"))
            ]
            for lo, hi in zip(b[:-1], b[1:], strict=False):
                whens.append(
                    (exp.LT(this=x, expression=sql.lit(hi)), sql.lit(f"[{_fmt(lo)}, {_fmt(hi)})"))
                )
            return sql.if_null_then_null(x, sql.case(whens, sql.lit(f">={_fmt(b[-1])}")))
        assert self.width is not None
        lower = exp.Add(
            this=exp.Mul(
                this=sql.floor(
                    exp.Div(
                        this=exp.Sub(this=x, expression=sql.lit(self.origin)),
                        expression=sql.lit(self.width),
                        typed=False,
                        safe=False,
                    )
                ),
                expression=sql.lit(self.width),
            ),
            expression=sql.lit(self.origin),
        )
        integral = float(self.width).is_integer() and float(self.origin).is_integer()
        lower_typed = sql.cast(lower, "BIGINT" if integral else "DOUBLE")
        if self.output == "lower":
            return sql.if_null_then_null(x, lower_typed)
        upper = sql.cast(
            exp.Add(this=lower, expression=sql.lit(self.width)), "BIGINT" if integral else "DOUBLE"
        )
        label = sql.concat(
            sql.lit("["),
            sql.cast(lower_typed, "VARCHAR"),
            sql.lit(", "),
            sql.cast(upper, "VARCHAR"),
            sql.lit(")"),
        )
        whens = []
        if self.bottom is not None:
            whens.append(
                (exp.LT(this=x, expression=sql.lit(self.bottom)), sql.lit(f"<{_fmt(self.bottom)}"))
            )
        if self.top is not None:
            whens.append(
                (exp.GTE(this=x, expression=sql.lit(self.top)), sql.lit(f">={_fmt(self.top)}"))
            )
        body = sql.case(whens, label) if whens else label
        return sql.if_null_then_null(x, body)
