"""Find a transformation that satisfies the privacy models, and describe how to apply it.

:func:`anonymize_histogram` runs one of the searches on a histogram and returns a
:class:`SearchResult`; :meth:`SearchResult.plan` (or :func:`plan_for_levels` for levels chosen by
hand) returns an :class:`AnonymizationPlan`: per quasi-identifier lookup tables (original value
-> generalized value) and the generalized classes to suppress, which an engine applies to the
data in one streaming pass (join the lookups, drop rows whose generalized combination is in
``suppressed_classes``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from veil.errors import PolicyError
from veil.metrics.risk import RiskSummary, risk_summary
from veil.metrics.utility import all_metrics, check_metric
from veil.privacy.hierarchy import GeneralizationHierarchy, HierarchyLike, as_hierarchy
from veil.privacy.histogram import Histogram
from veil.privacy.models import AnyModel
from veil.privacy.stats import combine_keys
from veil.search.evaluate import Evaluator, NodeResult
from veil.search.heuristic import heuristic_search
from veil.search.mondrian import MondrianOutcome, mondrian
from veil.search.optimal import optimal_search

Algorithm = Literal["optimal", "heuristic", "mondrian"]
SUPPRESSED_FLAG = "__veil_suppressed"


@dataclass(frozen=True)
class ClassSummary:
    """Sizes of the released (not suppressed) equivalence classes."""

    count: int
    min_size: int
    max_size: int
    mean_size: float

    @classmethod
    def of(cls, sizes: np.ndarray[Any, np.dtype[np.float64]]) -> ClassSummary:
        if len(sizes) == 0:
            return cls(0, 0, 0, 0.0)
        return cls(len(sizes), int(sizes.min()), int(sizes.max()), float(sizes.mean()))


@dataclass(frozen=True)
class AnonymizationPlan:
    """How to apply a result to the data, for an engine.

    * ``lookups[qi]``: table ``value`` (original, as text) -> ``generalized`` (full-domain only;
      covers every hierarchy leaf, so values absent from the histogram still map).
    * ``suppressed_classes``: one column per QI holding generalized values; rows of the data whose
      generalized combination is listed here are suppressed (removed).
    * ``combinations``: every distinct original QI combination of the histogram (columns named
      like the QIs, text), its generalized values (``<qi>__generalized``) and
      ``__veil_suppressed``. The only form for Mondrian, whose classes are not per-column.
    """

    qis: tuple[str, ...]
    levels: dict[str, int] | None
    lookups: dict[str, pa.Table] | None
    suppressed_classes: pa.Table
    combinations: pa.Table
    suppressed_records: int

    def suppression_predicate_sql(
        self,
        generalized: Mapping[str, str] | None = None,
        dialect: Literal["duckdb", "spark"] = "duckdb",
    ) -> str:
        """SQL that is TRUE for a row to suppress, given SQL expressions of the generalized QI
        values (default: the QI column names, for use after generalization)."""
        if self.suppressed_classes.num_rows == 0:
            return "FALSE"

        def ident(name: str) -> str:
            if dialect == "spark":
                return "`" + name.replace("`", "``") + "`"
            return '"' + name.replace('"', '""') + '"'

        def lit(v: Any) -> str:
            return "NULL" if v is None else "'" + str(v).replace("'", "''") + "'"

        exprs = [(generalized or {}).get(q, ident(q)) for q in self.qis]
        rows = self.suppressed_classes.to_pylist()
        if len(self.qis) == 1:
            return f"{exprs[0]} IN ({', '.join(lit(r[self.qis[0]]) for r in rows)})"
        values = ", ".join("(" + ", ".join(lit(r[q]) for q in self.qis) + ")" for r in rows)
        table = f"(VALUES {values})" if dialect == "duckdb" else f"VALUES {values}"
        return f"({', '.join(exprs)}) IN (SELECT * FROM {table})"


@dataclass(frozen=True)
class SearchResult:
    """Outcome of :func:`anonymize_histogram` (JSON-friendly via :meth:`as_dict`)."""

    algorithm: Algorithm
    optimal: bool
    """True only for the optimal search with a feasible result."""
    heuristic: bool
    feasible: bool
    qis: tuple[str, ...]
    levels: dict[str, int] | None
    """Chosen levels (full-domain); for an infeasible search the best attempt's levels."""
    partitions: int | None
    """Number of Mondrian partitions."""
    records: int
    suppressed_records: int
    max_suppressed_records: int
    suppression_limit: float
    classes: ClassSummary
    metric: str
    metric_value: float
    metrics: dict[str, float]
    risk: RiskSummary
    models: tuple[str, ...]
    nodes_checked: int
    lattice_size: int | None
    elapsed_seconds: float
    reason: str | None = None
    """Why the search found nothing acceptable (or why the result is not optimal)."""
    _evaluator: Evaluator | None = field(default=None, repr=False, compare=False)
    _node: NodeResult | None = field(default=None, repr=False, compare=False)
    _mondrian: MondrianOutcome | None = field(default=None, repr=False, compare=False)

    def plan(self) -> AnonymizationPlan:
        if self._evaluator is None:
            raise PolicyError("this result carries no data to plan from")
        if self._mondrian is not None:
            return _mondrian_plan(self._evaluator, self._mondrian)
        assert self._node is not None
        return _lattice_plan(self._evaluator, self._node)

    def as_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "optimal": self.optimal,
            "heuristic": self.heuristic,
            "feasible": self.feasible,
            "qis": list(self.qis),
            "levels": self.levels,
            "partitions": self.partitions,
            "records": self.records,
            "suppressed_records": self.suppressed_records,
            "max_suppressed_records": self.max_suppressed_records,
            "suppression_limit": self.suppression_limit,
            "classes": self.classes.__dict__,
            "metric": self.metric,
            "metric_value": self.metric_value,
            "metrics": self.metrics,
            "risk": self.risk.as_dict(),
            "models": list(self.models),
            "nodes_checked": self.nodes_checked,
            "lattice_size": self.lattice_size,
            "elapsed_seconds": self.elapsed_seconds,
            "reason": self.reason,
        }


def _hierarchies(
    histogram: Histogram, hierarchies: Mapping[str, HierarchyLike]
) -> dict[str, GeneralizationHierarchy]:
    return {name: as_hierarchy(h, name) for name, h in hierarchies.items()}


def anonymize_histogram(
    histogram: Histogram,
    hierarchies: Mapping[str, HierarchyLike],
    models: Sequence[AnyModel],
    suppression_limit: float = 0.0,
    metric: str = "loss",
    algorithm: Algorithm = "optimal",
    *,
    gs_factor: float = 0.5,
    aggregate: Literal["geometric", "arithmetic", "sum", "max"] | None = None,
    max_lattice_size: int = 2_000_000,
    max_checks: int = 2_000,
) -> SearchResult:
    """Search for the transformation with the best ``metric`` that satisfies all ``models``.

    ``hierarchies`` maps every quasi-identifier (and, for hierarchical t-closeness, the
    sensitive attribute) to a hierarchy. ``suppression_limit`` is the share of records that may
    be removed. ``algorithm``: ``optimal`` (exact, lattice up to ``max_lattice_size`` nodes),
    ``heuristic`` (greedy, at most ``max_checks`` transformations, not guaranteed optimal) or
    ``mondrian`` (multidimensional partitioning; no suppression, no levels).
    """
    check_metric(metric)
    if algorithm not in ("optimal", "heuristic", "mondrian"):
        raise PolicyError(f"unknown search algorithm {algorithm!r}")
    t0 = time.perf_counter()
    ev = Evaluator(
        histogram,
        _hierarchies(histogram, hierarchies),
        models,
        suppression_limit,
        metric,
        gs_factor=gs_factor,
        aggregate=aggregate,
    )
    if algorithm == "mondrian":
        return _mondrian_result(ev, mondrian(ev), t0)

    reason: str | None = None
    lattice_size: int | None = None
    if algorithm == "optimal":
        out = optimal_search(ev, max_lattice_size)
        best, fallback, lattice_size = out.best, out.fallback, out.lattice_size
    else:
        h = heuristic_search(ev, max_checks)
        best, fallback = h.best, h.fallback
        if h.budget_exhausted:
            reason = f"heuristic search stopped after {max_checks} transformations"
    node = best if best is not None else fallback
    assert node is not None
    if best is None:
        share = node.suppressed / max(ev.n_records, 1)
        reason = (
            "no transformation satisfies the privacy models within the suppression limit: "
            f"the best attempt {_levels(ev, node)} would suppress {node.suppressed:,} records "
            f"({share:.2%}); the limit allows {ev.max_suppressed:,} "
            f"({suppression_limit:.2%})"
        )
    table = ev.class_table(node.levels, node.class_sizes, node.violating, node.class_codes)
    metrics = all_metrics(table, ev.metric_ctx)
    return SearchResult(
        algorithm=algorithm,
        optimal=algorithm == "optimal" and best is not None,
        heuristic=algorithm == "heuristic",
        feasible=best is not None,
        qis=ev.qis,
        levels=_levels(ev, node),
        partitions=None,
        records=ev.n_records,
        suppressed_records=node.suppressed,
        max_suppressed_records=ev.max_suppressed,
        suppression_limit=suppression_limit,
        classes=ClassSummary.of(node.kept_sizes),
        metric=metric,
        metric_value=metrics[metric],
        metrics=metrics,
        risk=risk_summary(node.kept_sizes),
        models=tuple(m.describe() for m in models),
        nodes_checked=ev.checked,
        lattice_size=lattice_size,
        elapsed_seconds=time.perf_counter() - t0,
        reason=reason,
        _evaluator=ev,
        _node=node,
    )


def _levels(ev: Evaluator, node: NodeResult) -> dict[str, int]:
    return {q: int(lv) for q, lv in zip(ev.qis, node.levels, strict=True)}


def _mondrian_result(ev: Evaluator, m: MondrianOutcome, t0: float) -> SearchResult:
    metrics = all_metrics(m.table, ev.metric_ctx) if m.feasible else {}
    return SearchResult(
        algorithm="mondrian",
        optimal=False,
        heuristic=False,
        feasible=m.feasible,
        qis=ev.qis,
        levels=None,
        partitions=m.n_partitions,
        records=ev.n_records,
        suppressed_records=0 if m.feasible else ev.n_records,
        max_suppressed_records=ev.max_suppressed,
        suppression_limit=ev.suppression_limit,
        classes=ClassSummary.of(m.class_sizes),
        metric=ev.metric,
        metric_value=metrics.get(ev.metric, math.nan),
        metrics=metrics,
        risk=risk_summary(m.class_sizes),
        models=tuple(mod.describe() for mod in ev.models),
        nodes_checked=m.checked,
        lattice_size=None,
        elapsed_seconds=time.perf_counter() - t0,
        reason=None
        if m.feasible
        else "the whole data set does not satisfy the privacy models; Mondrian cannot help",
        _evaluator=ev,
        _mondrian=m,
    )


def _lattice_plan(ev: Evaluator, node: NodeResult) -> AnonymizationPlan:
    qis = ev.qis
    lookups = {}
    for q, h, lv in zip(qis, ev.hierarchies, node.levels, strict=True):
        labels = h.labels[lv]
        lookups[q] = pa.table(
            {
                "value": pa.array(h.leaves, pa.string()),
                "generalized": pa.array([labels[int(c)] for c in h.codes[lv]], pa.string()),
            }
        )
    bad = np.flatnonzero(node.violating)
    suppressed = pa.table(
        {
            q: pa.array([h.labels[lv][int(c)] for c in node.class_codes[bad, a]], pa.string())
            for a, (q, h, lv) in enumerate(zip(qis, ev.hierarchies, node.levels, strict=True))
        }
    )
    leaf = ev.base.codes
    gen_codes = [
        h.codes[lv][leaf[:, a]]
        for a, (h, lv) in enumerate(zip(ev.hierarchies, node.levels, strict=True))
    ]
    # Class ids are in lexicographic order of the generalized codes, as in Evaluator.group.
    row_class, _ = combine_keys(
        gen_codes, [ev.level_sizes[a][lv] for a, lv in enumerate(node.levels)]
    )
    gen_cols = {
        q: _labels(h.labels[lv], gen_codes[a])
        for a, (q, h, lv) in enumerate(zip(qis, ev.hierarchies, node.levels, strict=True))
    }
    return AnonymizationPlan(
        qis,
        _levels(ev, node),
        lookups,
        suppressed,
        _combinations(ev, gen_cols, node.violating[row_class]),
        node.suppressed,
    )


def _labels(labels: Sequence[str], codes: npt.NDArray[np.integer]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32)), pa.array(list(labels), pa.string())
    ).cast(pa.string())


def _combinations(
    ev: Evaluator, gen_cols: Mapping[str, pa.Array], flags: npt.NDArray[np.bool_]
) -> pa.Table:
    hist = ev.histogram
    rows = np.arange(hist.n_rows)
    if hist.sensitive:
        # One histogram row per QI and sensitive combination: keep one per QI combination.
        ids, n = combine_keys(list(hist.qi_codes.T), [len(v) for v in hist.qi_values])
        first = np.full(n, hist.n_rows, dtype=np.int64)
        np.minimum.at(first, ids, rows)
        rows = np.sort(first)
    cols: dict[str, pa.Array] = {}
    for a, q in enumerate(ev.qis):
        values = pa.array(list(hist.qi_values[a]), pa.string())
        cols[q] = pa.DictionaryArray.from_arrays(pa.array(hist.qi_codes[rows, a]), values).cast(
            pa.string()
        )
    take = pa.array(rows)
    for q in ev.qis:
        cols[f"{q}__generalized"] = gen_cols[q].take(take)
    cols[SUPPRESSED_FLAG] = pa.array(flags[rows], pa.bool_())
    return pa.table(cols)


def _mondrian_plan(ev: Evaluator, m: MondrianOutcome) -> AnonymizationPlan:
    qis = ev.qis
    gen_cols = {
        q: _labels(m.label_values[a], m.label_codes[m.row_partition, a])
        if m.feasible
        else _labels(["*"], np.zeros(ev.histogram.n_rows, np.int64))
        for a, q in enumerate(qis)
    }
    flags = np.full(ev.histogram.n_rows, not m.feasible)
    suppressed = pa.table({q: pa.array([], pa.string()) for q in qis})
    return AnonymizationPlan(
        qis,
        None,
        None,
        suppressed,
        _combinations(ev, gen_cols, flags),
        0 if m.feasible else ev.n_records,
    )


def plan_for_levels(
    histogram: Histogram,
    hierarchies: Mapping[str, HierarchyLike],
    models: Sequence[AnyModel],
    levels: Mapping[str, int],
    suppression_limit: float = 1.0,
) -> AnonymizationPlan:
    """The plan for levels chosen by hand: classes violating ``models`` are suppressed.

    Raises :class:`PolicyError` when more records than ``suppression_limit`` allows would be
    suppressed.
    """
    ev = Evaluator(histogram, _hierarchies(histogram, hierarchies), models, suppression_limit)
    missing = [q for q in ev.qis if q not in levels]
    if missing:
        raise PolicyError(f"no level given for quasi-identifiers {missing}")
    node_levels = tuple(int(levels[q]) for q in ev.qis)
    for q, lv, h in zip(ev.qis, node_levels, ev.hierarchies, strict=True):
        if not 0 <= lv < h.height:
            raise PolicyError(f"level {lv} of {q} does not exist (levels 0..{h.height - 1})")
    node = ev.evaluate(node_levels)
    if not node.feasible:
        raise PolicyError(
            f"levels {dict(levels)} would suppress {node.suppressed:,} records, more than the "
            f"limit of {ev.max_suppressed:,}"
        )
    return _lattice_plan(ev, node)
