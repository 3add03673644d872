"""noise: numeric perturbation, additive Laplace or Gaussian, or multiplicative percentage.

With a ``key`` the noise is reproducible and secret: the uniform draws come from
HMAC(subkey, by-value | value), so the same record gets the same noise in every run and on every
engine, and repeated releases cannot be averaged to remove it. Without a key the engine's
``random()`` is used (not reproducible). This is statistical masking, not differential privacy:
for DP guarantees use the dp module.

Draws: u = (first 13 hex digits + 0.5) / 2^52 in (0, 1); Laplace by inverse CDF,
x + b·sgn(u−½)·(−ln(1−2|u−½|)); Gaussian by Box–Muller with a second 13-digit draw;
multiplicative: x·(1 + p/100·(2u−1)).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, model_validator
from sqlglot import exp

from veil.engines import sql
from veil.engines.types import INTEGER_TYPES
from veil.transforms.base import PlanContext, Transform

_TWO_52 = float(2**52)


class Noise(Transform):
    type: Literal["noise"] = "noise"
    input_kind = "numeric"

    distribution: Literal["laplace", "gaussian", "multiplicative"]
    scale: float | None = Field(None, gt=0)
    """Laplace b or Gaussian σ, in the column's units."""
    percent: float | None = Field(None, gt=0, le=100)
    """multiplicative: the value moves uniformly within ±percent %."""
    key: str | None = None
    by: str | None = None
    """Optional record/person ID mixed into the draw, so equal values get different noise."""
    round: int | None = Field(None, ge=0, le=12)
    domain: str = "default"

    @model_validator(mode="after")
    def _check(self) -> Noise:
        if self.distribution == "multiplicative":
            if self.percent is None:
                raise ValueError("multiplicative noise needs 'percent'")
            if self.scale is not None:
                raise ValueError("'scale' is for laplace/gaussian; multiplicative uses 'percent'")
        else:
            if self.scale is None:
                raise ValueError(f"{self.distribution} noise needs 'scale'")
            if self.percent is not None:
                raise ValueError("'percent' is for multiplicative noise")
        return self

    def key_names(self) -> list[str]:
        return [self.key] if self.key else []

    def referenced_columns(self) -> list[str]:
        return [self.by] if self.by else []

    def describe(self) -> str:
        how = (
            f"±{self.percent}% multiplicative"
            if self.distribution == "multiplicative"
            else f"{self.distribution} noise, scale {self.scale}"
        )
        rep = f"reproducible under key {self.key!r}" if self.key else "random (not reproducible)"
        return f"perturbed with {how}, {rep}"

    def _uniforms(self, column: str, ctx: PlanContext) -> tuple[exp.Expression, exp.Expression]:
        if self.key is None:
            return exp.Rand(), exp.Rand()
        value_text = sql.cast(ctx.source(column), "VARCHAR")
        msg: exp.Expression = value_text
        if self.by:
            msg = sql.concat(sql.cast(ctx.source(self.by), "VARCHAR"), sql.lit("|"), value_text)
        # '|' keeps the message non-null when the ID is null (value nulls are handled outside).
        msg = exp.Coalesce(this=msg, expressions=[value_text])
        digest = ctx.hmac_hex(self.key, f"noise:{self.domain}", msg)

        def draw(start: int) -> exp.Expression:
            n = sql.cast(sql.hex_to_int(sql.substring(digest, start, 13)), "DOUBLE")
            return exp.Div(
                this=exp.Add(this=n, expression=sql.lit(0.5)),
                expression=sql.lit(_TWO_52),
                typed=False,
                safe=False,
            )

        return draw(1), draw(14)

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        x = sql.cast(ctx.source(column), "DOUBLE")
        u1, u2 = self._uniforms(column, ctx)
        if self.distribution == "multiplicative":
            assert self.percent is not None
            factor = exp.Add(
                this=sql.lit(1.0),
                expression=exp.Mul(
                    this=sql.lit(self.percent / 100.0),
                    expression=exp.Sub(
                        this=exp.Mul(this=sql.lit(2.0), expression=u1), expression=sql.lit(1.0)
                    ),
                ),
            )
            noisy: exp.Expression = exp.Mul(this=x, expression=factor)
        elif self.distribution == "laplace":
            assert self.scale is not None
            centered = exp.Sub(this=u1, expression=sql.lit(0.5))
            magnitude = exp.Neg(
                this=sql.func(
                    "LN",
                    exp.Sub(
                        this=sql.lit(1.0),
                        expression=exp.Mul(this=sql.lit(2.0), expression=sql.func("ABS", centered)),
                    ),
                )
            )
            noisy = exp.Add(
                this=x,
                expression=exp.Mul(
                    this=exp.Mul(this=sql.lit(self.scale), expression=sql.func("SIGN", centered)),
                    expression=magnitude,
                ),
            )
        else:
            assert self.scale is not None
            radius = sql.func("SQRT", exp.Mul(this=sql.lit(-2.0), expression=sql.func("LN", u1)))
            angle = sql.func("COS", exp.Mul(this=sql.lit(2 * math.pi), expression=u2))
            noisy = exp.Add(
                this=x,
                expression=exp.Mul(
                    this=sql.lit(self.scale), expression=exp.Mul(this=radius, expression=angle)
                ),
            )
        ctype = ctx.column_type(column)
        digits = self.round
        if digits is None and ctype in INTEGER_TYPES:
            digits = 0
        out: exp.Expression = noisy
        if digits is not None:
            # + 0.0 turns a -0.0 result into 0.0 (IEEE 754: -0 + +0 = +0); DuckDB's ROUND keeps
            # the sign of a value rounded to zero and Spark's does not.
            out = exp.Add(this=sql.func("ROUND", noisy, sql.lit(digits)), expression=sql.lit(0.0))
        if ctype in INTEGER_TYPES:
            out = sql.cast(out, "BIGINT")
        return sql.if_null_then_null(ctx.source(column), out)
