"""Mondrian multidimensional partitioning.

LeFevre, DeWitt, Ramakrishnan: "Mondrian Multidimensional K-Anonymity", ICDE 2006. Strict
partitioning: a partition is split on the attribute with the widest normalized range at the
(record-weighted) median value, values up to the median going left, when both halves satisfy
every privacy model; otherwise the next widest attribute is tried, and a partition that no
attribute can split is final. Each final partition is one equivalence class; nothing is
suppressed. The split test uses the same per-class model checks as the lattice search, so
l-diversity and t-closeness are supported as in the paper's extension (LeFevre et al.,
"Workload-aware anonymization", KDD 2006).

Attributes are ordered numerically when every hierarchy leaf is a number, otherwise in the
hierarchy's order (leaves sorted by their ancestors from the top), so that a range of
categories tends to be a subtree. A final partition shows a numeric attribute as the range
``min-max`` of its values and a categorical one as the lowest common ancestor in the hierarchy.

Partitions are split one at a time with vectorized work on their rows of the histogram, so the
cost grows with distinct combinations times the depth of the partitioning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from veil.metrics.utility import ClassTable, metric_value
from veil.privacy.hierarchy import GeneralizationHierarchy
from veil.privacy.stats import ClassStats, wcount
from veil.search.evaluate import Evaluator

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def _numeric(h: GeneralizationHierarchy) -> F64 | None:
    try:
        return np.array([float(v) for v in h.leaves])
    except ValueError:
        return None


def leaf_ranks(h: GeneralizationHierarchy) -> tuple[I64, bool]:
    """Rank of every leaf in the attribute's order, and whether the order is numeric."""
    nums = _numeric(h)
    if nums is not None:
        order = np.argsort(nums, kind="stable")
        numeric = True
    else:
        keys = [
            tuple(h.labels[lv][int(h.codes[lv][i])] for lv in range(h.height - 1, -1, -1))
            for i in range(h.domain_size)
        ]
        order = np.array(sorted(range(h.domain_size), key=lambda i: keys[i]), dtype=np.int64)
        numeric = False
    ranks = np.empty(h.domain_size, dtype=np.int64)
    ranks[order] = np.arange(h.domain_size)
    return ranks, numeric


@dataclass
class MondrianOutcome:
    feasible: bool
    row_partition: I64
    """Partition of every histogram row."""
    n_partitions: int
    labels: list[list[str]]
    """``labels[p][a]``: generalized value of quasi-identifier ``a`` in partition ``p``."""
    class_sizes: F64
    value: float
    table: ClassTable
    checked: int


def mondrian(ev: Evaluator) -> MondrianOutcome:
    base = ev.base
    n, d = base.codes.shape
    ranks, numeric = zip(*(leaf_ranks(h) for h in ev.hierarchies), strict=True) if d else ((), ())
    r = np.stack([ranks[a][base.codes[:, a]] for a in range(d)], axis=1) if d else base.codes
    span = np.array([max(h.domain_size - 1, 1) for h in ev.hierarchies], dtype=np.float64)
    counts = base.counts
    checked = 0

    def acceptable(rows: I64, right: npt.NDArray[np.bool_]) -> bool:
        nonlocal checked
        checked += 1
        cls = right.astype(np.int64)
        sizes = wcount(cls, counts[rows], 2)
        stats = ClassStats(sizes, cls, counts[rows], base.sens[rows], ev.sens_sizes)
        return not ev.violating(stats).any()

    whole = np.arange(n, dtype=np.int64)
    all_stats = ClassStats(
        np.array([counts.sum()]), np.zeros(n, np.int64), counts, base.sens, ev.sens_sizes
    )
    feasible = n > 0 and not ev.violating(all_stats).any()
    final: list[I64] = []
    stack = [whole] if feasible else []
    while stack:
        rows = stack.pop()
        sub = r[rows]
        widths = (sub.max(axis=0) - sub.min(axis=0)) / span
        split = False
        for a in np.argsort(-widths, kind="stable"):
            if widths[a] <= 0:
                break
            vals = sub[:, a]
            order = np.argsort(vals, kind="stable")
            cum = np.cumsum(counts[rows][order])
            median = vals[order][int(np.searchsorted(cum, cum[-1] / 2.0))]
            right = vals > median
            if not right.any():
                right = vals >= median
                if right.all():
                    continue
            if acceptable(rows, right):
                stack.append(rows[right])
                stack.append(rows[~right])
                split = True
                break
        if not split:
            final.append(rows)

    row_partition = np.zeros(n, dtype=np.int64)
    for p, rows in enumerate(final):
        row_partition[rows] = p
    n_parts = len(final)
    sizes = wcount(row_partition, counts, n_parts) if n_parts else np.zeros(0)

    labels: list[list[str]] = [[""] * d for _ in range(n_parts)]
    shares = np.zeros((n_parts, d))
    precision = np.zeros((n_parts, d))
    for a, h in enumerate(ev.hierarchies):
        leaf = base.codes[:, a]
        for p, rows in enumerate(final):
            leaves = np.unique(leaf[rows])
            if numeric[a]:
                lo_r, hi_r = ranks[a][leaves].min(), ranks[a][leaves].max()
                lo = h.leaves[int(leaves[np.argmin(ranks[a][leaves])])]
                hi = h.leaves[int(leaves[np.argmax(ranks[a][leaves])])]
                labels[p][a] = lo if lo_r == hi_r else f"{lo}-{hi}"
                covered = int(hi_r - lo_r + 1)
                shares[p, a] = covered / h.domain_size
                precision[p, a] = (covered - 1) / max(h.domain_size - 1, 1)
            else:
                for lv in range(h.height):
                    codes = h.codes[lv][leaves]
                    if (codes == codes[0]).all():
                        break
                code = int(h.codes[lv][leaves[0]])
                labels[p][a] = h.labels[lv][code]
                shares[p, a] = h.leaves_per_code[lv][code] / h.domain_size
                precision[p, a] = lv / (h.height - 1) if h.height > 1 else 0.0
    table = ClassTable(sizes, np.zeros(n_parts, dtype=np.bool_), shares=shares, precision=precision)
    value = metric_value(ev.metric, table, ev.metric_ctx) if n_parts else float("nan")
    return MondrianOutcome(feasible, row_partition, n_parts, labels, sizes, value, table, checked)
