"""Evaluate one full-domain transformation on the histogram, vectorized.

Each quasi-identifier is encoded as hierarchy leaf codes once. For a lattice node, codes map to
generalized codes through per-level lookup arrays; a mixed-radix key of the generalized codes
groups the rows into equivalence classes (a presence table or a sort, see
:func:`veil.privacy.stats.combine_keys`). Results of earlier nodes are kept as smaller tables
(one row per class, or per class and sensitive values) and a node is grouped from the smallest
cached node below it ("roll-up", as ARX does), so most checks touch far fewer rows than the
histogram has.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from veil.errors import PolicyError
from veil.metrics.utility import ClassTable, MetricContext, QIInfo, metric_value
from veil.privacy.hierarchy import GeneralizationHierarchy, HierarchyCoverageError
from veil.privacy.histogram import Histogram
from veil.privacy.models import AnyModel, Check, ModelContext
from veil.privacy.stats import ClassStats, combine_keys, wcount

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

_SLOTS = 1024


def max_suppressed(limit: float, n_records: int) -> int:
    """Records that may be suppressed: ``floor(limit * n)`` (as ARX), robust to float error."""
    if not 0.0 <= limit <= 1.0:
        raise PolicyError(f"suppression limit must be a share in [0, 1], got {limit}")
    return int(math.floor(limit * n_records + 1e-9))


@dataclass
class _Table:
    levels: tuple[int, ...]
    codes: I32
    sens: I32
    counts: F64


@dataclass
class NodeResult:
    """Outcome of checking one transformation."""

    levels: tuple[int, ...]
    feasible: bool
    suppressed: int
    class_sizes: F64
    """Sizes of all classes, kept and suppressed."""
    violating: Bools
    """Per class: fails some model (and is suppressed)."""
    class_codes: I32
    """(classes x QIs) generalized code of each class."""
    value: float = math.nan
    """The search metric."""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def kept_sizes(self) -> F64:
        return self.class_sizes[~self.violating]


class Evaluator:
    """Binds histogram, hierarchies, models, suppression limit and metric for the searches."""

    def __init__(
        self,
        histogram: Histogram,
        hierarchies: Mapping[str, GeneralizationHierarchy],
        models: Sequence[AnyModel],
        suppression_limit: float,
        metric: str = "loss",
        *,
        gs_factor: float = 0.5,
        aggregate: str | None = None,
        cache_rows: int | None = None,
    ):
        if not models:
            raise PolicyError("give at least one privacy model")
        self.histogram = histogram
        self.qis = histogram.qis
        missing = [q for q in self.qis if q not in hierarchies]
        if missing:
            raise PolicyError(f"quasi-identifiers {missing} have no hierarchy")
        self.hierarchies = [hierarchies[q] for q in self.qis]
        self.models = list(models)
        needed = {a for m in self.models for a in m.sensitive_attributes}
        lacking = sorted(needed - set(histogram.sensitive))
        if lacking:
            raise PolicyError(
                f"models need sensitive attributes {lacking}; build the histogram with them"
            )
        self.n_records = histogram.n_records
        self.max_suppressed = max_suppressed(suppression_limit, self.n_records)
        self.suppression_limit = suppression_limit
        self.metric = metric

        leaf_cols: list[I32] = []
        for q, h, values in zip(self.qis, self.hierarchies, histogram.qi_values, strict=True):
            leaf = h.encode(values)
            if (leaf < 0).any():
                raise HierarchyCoverageError(
                    q, [v for v, i in zip(values, leaf, strict=True) if i < 0]
                )
            leaf_cols.append(leaf[histogram.qi_codes[:, len(leaf_cols)].astype(np.intp)])
        codes = (
            np.stack(leaf_cols, axis=1).astype(np.int32)
            if leaf_cols
            else np.zeros((histogram.n_rows, 0), np.int32)
        )
        counts = histogram.counts.astype(np.float64)
        self.base = _Table((0,) * len(self.qis), codes, histogram.sensitive_codes, counts)
        self.sens_sizes = [len(v) for v in histogram.sensitive_values]
        self.level_sizes = [h.level_sizes() for h in self.hierarchies]
        self.heights = [h.height for h in self.hierarchies]

        global_counts = [
            wcount(histogram.sensitive_codes[:, j], counts, m)
            for j, m in enumerate(self.sens_sizes)
        ]
        sens_h = {s: h for s, h in hierarchies.items() if s in histogram.sensitive}
        self.model_ctx = ModelContext(
            histogram.sensitive, histogram.sensitive_values, global_counts, sens_h
        )
        self.checks: list[Check] = [m.bind(self.model_ctx) for m in self.models]
        suppression = self.max_suppressed > 0
        self.monotonic = all(m.monotonic(suppression) for m in self.models)
        self.monotonic_without_suppression = all(m.monotonic(False) for m in self.models)
        self.min_class_size = max(m.min_class_size for m in self.models)

        qi_infos = []
        for a, h in enumerate(self.hierarchies):
            leaf_counts = wcount(codes[:, a], counts, h.domain_size)
            qi_infos.append(
                QIInfo(self.qis[a], h.domain_size, h.leaves_per_code, leaf_counts, h.codes)
            )
        self.metric_ctx = MetricContext(
            qi_infos,
            self.n_records,
            k=self.min_class_size,
            gs_factor=gs_factor,
            aggregate=aggregate,  # type: ignore[arg-type]
        )
        self._shares = [
            [lpc / h.domain_size for lpc in h.leaves_per_code] for h in self.hierarchies
        ]
        # Roll-up cache: a fixed number of slots, least recently used evicted first.
        self._slots: list[_Table] = []
        self._slot_levels = np.zeros((_SLOTS, len(self.qis)), dtype=np.int16)
        self._slot_rows = np.zeros(_SLOTS, dtype=np.int64)
        self._slot_used = np.zeros(_SLOTS, dtype=np.int64)
        self._clock = 0
        self._cache_budget = cache_rows if cache_rows is not None else max(8 * len(counts), 1 << 21)
        self._cached_rows = 0
        self.checked = 0

    # -- grouping ------------------------------------------------------------------------------

    def _source(self, levels: tuple[int, ...]) -> _Table:
        n = len(self._slots)
        if n == 0:
            return self.base
        below = (self._slot_levels[:n] <= np.asarray(levels, dtype=np.int16)).all(axis=1)
        if not below.any():
            return self.base
        rows = np.where(below, self._slot_rows[:n], np.iinfo(np.int64).max)
        i = int(rows.argmin())
        self._slot_used[i] = self._clock
        self._clock += 1
        return self._slots[i]

    def _remember(self, t: _Table) -> None:
        rows = len(t.counts)
        if rows * 5 > len(self.base.counts) * 4 or rows > self._cache_budget:
            return
        while self._cached_rows + rows > self._cache_budget or len(self._slots) == _SLOTS:
            n = len(self._slots)
            i = int(self._slot_used[:n].argmin())
            self._cached_rows -= int(self._slot_rows[i])
            last = n - 1
            self._slots[i] = self._slots[last]
            self._slot_levels[i] = self._slot_levels[last]
            self._slot_rows[i] = self._slot_rows[last]
            self._slot_used[i] = self._slot_used[last]
            self._slots.pop()
        i = len(self._slots)
        self._slots.append(t)
        self._slot_levels[i] = t.levels
        self._slot_rows[i] = rows
        self._slot_used[i] = self._clock
        self._clock += 1
        self._cached_rows += rows

    def group(self, levels: Sequence[int]) -> tuple[ClassStats, I32]:
        """Equivalence classes of the transformation ``levels``: stats and class codes."""
        levels = tuple(int(x) for x in levels)
        src = self._source(levels)
        cols = []
        for a, (have, want) in enumerate(zip(src.levels, levels, strict=True)):
            col = src.codes[:, a]
            cols.append(col if have == want else self.hierarchies[a].up(have, want)[col])
        sizes_at = [self.level_sizes[a][lv] for a, lv in enumerate(levels)]
        row_class, nc = combine_keys(cols, sizes_at)
        sizes = wcount(row_class, src.counts, nc)
        first = np.empty(nc, dtype=np.int64)
        first[row_class[::-1]] = np.arange(len(row_class) - 1, -1, -1)
        class_codes = (
            np.stack([c[first] for c in cols], axis=1).astype(np.int32)
            if cols
            else np.zeros((nc, 0), np.int32)
        )
        stats = ClassStats(sizes, row_class, src.counts, src.sens, self.sens_sizes)
        if src.sens.shape[1] == 0:
            self._remember(_Table(levels, class_codes, src.sens[:nc], sizes))
        elif nc * 5 <= len(self.base.counts) * 4:
            ids, n = combine_keys([row_class, *src.sens.T], [nc, *self.sens_sizes])
            if n * 5 <= len(self.base.counts) * 4:
                f = np.empty(n, dtype=np.int64)
                f[ids[::-1]] = np.arange(len(ids) - 1, -1, -1)
                agg = wcount(ids, src.counts, n)
                self._remember(_Table(levels, class_codes[row_class[f]], src.sens[f], agg))
        return stats, class_codes

    # -- checking ------------------------------------------------------------------------------

    def violating(self, stats: ClassStats) -> Bools:
        ok = np.ones(stats.n_classes, dtype=np.bool_)
        for check in self.checks:
            ok &= check(stats)
        return ~ok

    def class_table(
        self, levels: Sequence[int], sizes: F64, violating: Bools, class_codes: I32
    ) -> ClassTable:
        return ClassTable(
            sizes,
            violating,
            levels=tuple(int(x) for x in levels),
            codes=class_codes,
            share_tables=[self._shares[a][lv] for a, lv in enumerate(levels)],
            precision_levels=np.array(
                [
                    lv / (self.heights[a] - 1) if self.heights[a] > 1 else 0.0
                    for a, lv in enumerate(levels)
                ]
            ),
        )

    def evaluate(self, levels: Sequence[int], metric: str | None = None) -> NodeResult:
        self.checked += 1
        levels = tuple(int(x) for x in levels)
        stats, class_codes = self.group(levels)
        bad = self.violating(stats)
        suppressed = int(round(float(stats.sizes[bad].sum())))
        r = NodeResult(
            levels, suppressed <= self.max_suppressed, suppressed, stats.sizes, bad, class_codes
        )
        name = metric or self.metric
        r.value = metric_value(
            name, self.class_table(levels, stats.sizes, bad, class_codes), self.metric_ctx
        )
        return r
