"""Utility (information loss) metrics of a transformation; lower is better for every metric.

All are computed from the same per-class statistics: class sizes, which classes are suppressed,
and per class and quasi-identifier the *domain share* of its generalized value (the fraction of
the hierarchy's leaves it covers) and its generalization level.

* ``loss`` -- Iyengar's loss metric (Iyengar, "Transforming data to satisfy privacy constraints",
  KDD 2002) as implemented by ARX's default "Loss" (``MetricMDNMLoss``): per attribute,
  ``sum over kept records of share * g + suppressed records`` (with ARX's generalization /
  suppression factors from the gs-factor, 0.5 meaning g = s = 1), normalized to [0, 1] with
  ``(x - n/|domain|) / (n - n/|domain|)``, then aggregated over attributes. The default
  aggregate is ARX's default, the geometric mean ``prod(1 + v_a)^(1/d) - 1``; arithmetic mean,
  sum and maximum are available.
* ``entropy`` -- non-uniform entropy (Gionis & Tassa, "k-Anonymization with minimal loss of
  information", TKDE 2009; de Waal & Willenborg 1999) in ARX's precomputed, monotonic variant
  (``MetricMDNUEntropyPrecomputed``): per attribute ``-sum_v f(v) log2(f(v) / f(g(v)))`` over the
  input's value frequencies ``f``, independent of suppression, summed over attributes.
* ``discernibility`` -- Bayardo & Agrawal, "Data privacy through optimal k-anonymization", ICDE
  2005: ``sum of |E|^2`` over kept classes plus ``n`` per suppressed record.
* ``aecs`` -- average equivalence class size (LeFevre, DeWitt, Ramakrishnan, "Mondrian
  multidimensional k-anonymity", ICDE 2006): ``(kept records / kept classes) / k``.
* ``precision`` -- Sweeney, "Achieving k-anonymity privacy protection using generalization and
  suppression", IJUFKS 2002, as a loss: per attribute ``level / (height - 1)`` for kept records and
  1 for suppressed ones, averaged over records and attributes (ARX ``MetricMDNMPrecision``).
* ``height`` -- the sum of the generalization levels (ARX ``MetricMDHeight``).

Each metric also gives a *lower bound* per lattice node that never decreases with generalization
and never exceeds the metric's value; the optimal search prunes with it. For ``entropy`` and
``height`` the bound is the value itself (they are monotonic).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from veil.errors import PolicyError
from veil.privacy.stats import wcount

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

METRIC_NAMES = ("loss", "entropy", "discernibility", "aecs", "precision", "height")
Aggregate = Literal["geometric", "arithmetic", "sum", "max"]
MetricName = Literal["loss", "entropy", "discernibility", "aecs", "precision", "height"]


@dataclass(frozen=True)
class QIInfo:
    """Per quasi-identifier: the hierarchy shape and the input's records per leaf."""

    name: str
    domain_size: int
    leaves_per_code: Sequence[I64]
    """Per level: leaves under each code (domain share numerator)."""
    leaf_counts: F64
    """Records per leaf in the input."""
    leaf_codes: Sequence[npt.NDArray[np.int32]]
    """Per level: code of each leaf."""

    @property
    def height(self) -> int:
        return len(self.leaves_per_code)


@dataclass(frozen=True)
class MetricContext:
    qis: Sequence[QIInfo]
    n_records: int
    k: int = 1
    """The smallest class size the privacy models allow (for ``aecs``)."""
    gs_factor: float = 0.5
    aggregate: Aggregate | None = None
    """How per-attribute values combine; default as ARX: geometric for loss, arithmetic for
    precision."""

    def aggregate_for(self, metric: str) -> Aggregate:
        if self.aggregate is not None:
            return self.aggregate
        return "geometric" if metric == "loss" else "arithmetic"

    @property
    def g_factor(self) -> float:
        return 1.0 if self.gs_factor <= 0.5 else 1.0 - 2.0 * (self.gs_factor - 0.5)

    @property
    def s_factor(self) -> float:
        return 2.0 * self.gs_factor if self.gs_factor < 0.5 else 1.0


@dataclass(frozen=True)
class ClassTable:
    """The classes of one transformation as the metrics see them.

    Per class and quasi-identifier the metrics need the *domain share* of the generalized value
    and its normalized generalization height; give them as (classes x QIs) matrices, or, for a
    full-domain transformation, as the class codes and one lookup array per QI.
    """

    sizes: F64
    suppressed: Bools
    levels: tuple[int, ...] | None = None
    """Full-domain levels; ``None`` for multidimensional (Mondrian) results."""
    codes: npt.NDArray[np.int32] | None = None
    share_tables: Sequence[F64] = ()
    """Per QI: domain share of each code at the class's level."""
    precision_levels: F64 | None = None
    """Per QI: ``level / (height - 1)``."""
    shares: F64 | None = None
    precision: F64 | None = None

    def share_sums(self, weights: F64) -> F64:
        """Per QI: ``sum_c weights[c] * share[c, qi]``."""
        # Products and sums instead of BLAS dot products: BLAS threads contend with the
        # engine's threads and turn a microsecond call into milliseconds.
        if self.shares is not None:
            return np.asarray((self.shares * weights[:, None]).sum(axis=0), dtype=np.float64)
        assert self.codes is not None
        return np.array(
            [
                float((tab[self.codes[:, a]] * weights).sum())
                for a, tab in enumerate(self.share_tables)
            ]
        )

    def precision_sums(self, weights: F64) -> F64:
        if self.precision is not None:
            return np.asarray((self.precision * weights[:, None]).sum(axis=0), dtype=np.float64)
        assert self.precision_levels is not None
        return self.precision_levels * float(weights.sum())


def _aggregate(values: F64, how: str) -> float:
    if len(values) == 0:
        return 0.0
    if how == "geometric":
        return float(np.exp(np.log1p(values).mean()) - 1.0)
    if how == "sum":
        return float(values.sum())
    if how == "max":
        return float(values.max())
    return float(values.mean())


def _loss_normalize(raw: F64, ctx: MetricContext) -> F64:
    n = ctx.n_records
    out = np.zeros(len(raw))
    for a, qi in enumerate(ctx.qis):
        lo = ctx.g_factor * n / qi.domain_size
        out[a] = 0.0 if n - lo <= 0 else max((raw[a] - lo) / (n - lo), 0.0)
    return out


def loss(t: ClassTable, ctx: MetricContext) -> float:
    g, s = ctx.g_factor, ctx.s_factor
    kept_w = np.where(t.suppressed, 0.0, t.sizes)
    sup_total = float(t.sizes.sum() - kept_w.sum())
    raw = t.share_sums(kept_w) * g
    if s == 1.0:
        raw += sup_total
    elif sup_total > 0:
        sup_shares = t.share_sums(t.sizes - kept_w)
        raw += sup_shares + s * (sup_total - sup_shares)
    return _aggregate(_loss_normalize(raw, ctx), ctx.aggregate_for("loss"))


def _per_level_loss_raw(ctx: MetricContext) -> list[F64]:
    """Per QI and level: sum over all records of their domain share (no suppression)."""
    out = []
    for qi in ctx.qis:
        vals = np.empty(qi.height)
        for lv in range(qi.height):
            share = qi.leaves_per_code[lv][qi.leaf_codes[lv]] / qi.domain_size
            vals[lv] = float((qi.leaf_counts * share).sum())
        out.append(vals)
    return out


def loss_bounds(levels: npt.NDArray[np.integer], ctx: MetricContext) -> F64:
    per = _per_level_loss_raw(ctx)
    cols = np.empty(levels.shape, dtype=np.float64)
    for a, qi in enumerate(ctx.qis):
        raw = per[a] * ctx.g_factor
        cols[:, a] = _loss_normalize_column(raw, qi, ctx)[levels[:, a]]
    return _aggregate_rows(cols, ctx.aggregate_for("loss"))


def _loss_normalize_column(raw: F64, qi: QIInfo, ctx: MetricContext) -> F64:
    n = ctx.n_records
    lo = ctx.g_factor * n / qi.domain_size
    if n - lo <= 0:
        return np.zeros(len(raw))
    return np.maximum((raw - lo) / (n - lo), 0.0)


def _aggregate_rows(cols: F64, how: str) -> F64:
    if cols.shape[1] == 0:
        return np.zeros(cols.shape[0])
    if how == "geometric":
        out = np.exp(np.log1p(cols).mean(axis=1)) - 1.0
    elif how == "sum":
        out = cols.sum(axis=1)
    elif how == "max":
        out = cols.max(axis=1)
    else:
        out = cols.mean(axis=1)
    return np.asarray(out, dtype=np.float64)


def _entropy_per_level(ctx: MetricContext) -> list[F64]:
    out = []
    for qi in ctx.qis:
        f = qi.leaf_counts
        vals = np.zeros(qi.height)
        nz = f > 0
        for lv in range(1, qi.height):
            codes = qi.leaf_codes[lv]
            b = wcount(codes, f, len(qi.leaves_per_code[lv]))[codes]
            vals[lv] = -float((f[nz] * np.log2(f[nz] / b[nz])).sum())
        out.append(vals)
    return out


def entropy_bounds(levels: npt.NDArray[np.integer], ctx: MetricContext) -> F64:
    per = _entropy_per_level(ctx)
    total = np.zeros(levels.shape[0])
    for a in range(len(ctx.qis)):
        total += per[a][levels[:, a]] * ctx.g_factor
    return total


def entropy(t: ClassTable, ctx: MetricContext) -> float:
    if t.levels is None:
        return math.nan
    return float(entropy_bounds(np.asarray([t.levels]), ctx)[0])


def discernibility(t: ClassTable, ctx: MetricContext) -> float:
    kept = ~t.suppressed
    return float((t.sizes[kept] ** 2).sum() + t.sizes[t.suppressed].sum() * ctx.n_records)


def aecs(t: ClassTable, ctx: MetricContext) -> float:
    kept = ~t.suppressed
    n_classes = int(kept.sum())
    if n_classes == 0:
        return 0.0
    return float(t.sizes[kept].sum() / n_classes / max(ctx.k, 1))


def precision(t: ClassTable, ctx: MetricContext) -> float:
    kept_w = np.where(t.suppressed, 0.0, t.sizes)
    per = t.precision_sums(kept_w) * ctx.g_factor
    per = per + float(t.sizes.sum() - kept_w.sum()) * ctx.s_factor
    return _aggregate(per / max(ctx.n_records, 1), ctx.aggregate_for("precision"))


def precision_bounds(levels: npt.NDArray[np.integer], ctx: MetricContext) -> F64:
    hs = np.array([max(q.height - 1, 1) for q in ctx.qis], dtype=np.float64)
    frac = np.where(hs > 0, levels / hs, 0.0) * ctx.g_factor
    return _aggregate_rows(frac, ctx.aggregate_for("precision"))


def height(t: ClassTable, ctx: MetricContext) -> float:
    return math.nan if t.levels is None else float(sum(t.levels))


def height_bounds(levels: npt.NDArray[np.integer], ctx: MetricContext) -> F64:
    return np.asarray(levels.sum(axis=1), dtype=np.float64)


def _zero_bounds(levels: npt.NDArray[np.integer], ctx: MetricContext) -> F64:
    return np.full(levels.shape[0], -np.inf)


_VALUE = {
    "loss": loss,
    "entropy": entropy,
    "discernibility": discernibility,
    "aecs": aecs,
    "precision": precision,
    "height": height,
}
_BOUNDS = {
    "loss": loss_bounds,
    "entropy": entropy_bounds,
    "discernibility": _zero_bounds,
    "aecs": _zero_bounds,
    "precision": precision_bounds,
    "height": height_bounds,
}
MONOTONIC = {"entropy", "height"}
"""Metrics whose value equals their bound: never lower for a more general transformation."""


def check_metric(name: str) -> MetricName:
    if name not in _VALUE:
        raise PolicyError(f"unknown utility metric {name!r}; expected one of {METRIC_NAMES}")
    return name  # type: ignore[return-value]


def metric_value(name: str, t: ClassTable, ctx: MetricContext) -> float:
    return _VALUE[check_metric(name)](t, ctx)


def metric_bounds(name: str, levels: npt.NDArray[np.integer], ctx: MetricContext) -> F64:
    """Lower bound of the metric for each row of ``levels`` (one lattice node per row)."""
    return _BOUNDS[check_metric(name)](levels, ctx)


def all_metrics(t: ClassTable, ctx: MetricContext) -> dict[str, float]:
    return {name: fn(t, ctx) for name, fn in _VALUE.items()}
