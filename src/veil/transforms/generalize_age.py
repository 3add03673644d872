"""generalize / age: a birth date becomes an age band on a fixed reference date.

Age is whole years completed on ``as_of`` (the birthday counts from its day). With ``width: 10``
an age of 37 becomes ``30-39``; ``top: 90`` codes 90 and over as ``90+``. The reference date is
part of the policy so that results are reproducible.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field
from sqlglot import exp

from veil.engines import sql
from veil.transforms.base import PlanContext, Transform


class GeneralizeAge(Transform):
    type: Literal["generalize"] = "generalize"
    method: Literal["age"] = "age"
    input_kind = "date"

    as_of: dt.date
    width: int = Field(10, ge=1, le=200)
    top: int | None = Field(None, ge=1)

    def describe(self) -> str:
        top = f", {self.top}+ coded" if self.top else ""
        return f"birth date to age band of {self.width} years on {self.as_of.isoformat()}{top}"

    def age(self, value: exp.Expression) -> exp.Expression:
        ref_year, ref_month, ref_day = self.as_of.year, self.as_of.month, self.as_of.day
        before_birthday = exp.or_(
            exp.GT(this=exp.Month(this=value), expression=sql.lit(ref_month)),
            exp.and_(
                exp.EQ(this=exp.Month(this=value), expression=sql.lit(ref_month)),
                exp.GT(this=exp.Day(this=value), expression=sql.lit(ref_day)),
            ),
        )
        return exp.Sub(
            this=exp.Sub(this=sql.lit(ref_year), expression=exp.Year(this=value)),
            expression=sql.case([(before_birthday, sql.lit(1))], sql.lit(0)),
        )

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        value = ctx.source(column)
        age = self.age(value)
        lower = exp.Mul(
            this=sql.cast(
                sql.floor(
                    exp.Div(this=age, expression=sql.lit(self.width), typed=False, safe=False)
                ),
                "BIGINT",
            ),
            expression=sql.lit(self.width),
        )
        label: exp.Expression
        if self.width == 1:
            label = sql.cast(lower, "VARCHAR")
        else:
            upper = exp.Add(this=lower, expression=sql.lit(self.width - 1))
            label = sql.concat(sql.cast(lower, "VARCHAR"), sql.lit("-"), sql.cast(upper, "VARCHAR"))
        whens: list[tuple[exp.Expression, exp.Expression]] = [
            (
                exp.LT(this=age, expression=sql.lit(0)),
                sql.raise_error("birth date after the as_of date"),
            )
        ]
        if self.top is not None:
            whens.append((exp.GTE(this=age, expression=sql.lit(self.top)), sql.lit(f"{self.top}+")))
        return sql.if_null_then_null(value, sql.case(whens, label))
