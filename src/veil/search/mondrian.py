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

Whether a partition splits depends on its own rows only (the paper's recursive Anonymize
procedure), so the partitions are processed breadth first: one round handles every open
partition at once, its histogram rows kept grouped by partition so that ranges, medians and
model checks are segment reductions (``reduceat``, ``bincount``). A round costs a few passes
over the open rows per attribute tried, and there are as many rounds as the partitioning is
deep (about ``log2(records / k)`` when medians halve the partitions), so the Python-level work
does not grow with the number of partitions. Each split puts the left half's rows before the
right half's, so the final partitions are numbered in the recursion's depth-first, left-first
order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from veil.metrics.utility import ClassTable, metric_value
from veil.privacy.hierarchy import TOP, GeneralizationHierarchy
from veil.privacy.stats import ClassStats, dense_ids, wcount
from veil.search.evaluate import Evaluator

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


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
    label_values: list[list[str]]
    """Per quasi-identifier: the distinct generalized values of the partitions."""
    label_codes: I32
    """(partitions x QIs): index of each partition's generalized value in ``label_values``."""
    class_sizes: F64
    value: float
    table: ClassTable
    checked: int

    @property
    def labels(self) -> list[list[str]]:
        """``labels[p][a]``: generalized value of quasi-identifier ``a`` in partition ``p``."""
        return [
            [self.label_values[a][int(c)] for a, c in enumerate(codes)]
            for codes in self.label_codes
        ]


@dataclass(frozen=True)
class _Open:
    """The open partitions of a round and their histogram rows, grouped by partition.

    Partition ``p`` holds ``rows[first[p] : first[p] + length[p]]`` (with their ranks and
    counts alongside) and will occupy ``perm[start[p] : start[p] + length[p]]`` of the final
    row permutation.
    """

    start: I64
    length: I64
    rows: I64
    ranks: I32
    """(rows x QIs) rank of each row's value in its attribute's order."""
    counts: F64
    first: I64
    part: I64
    """Partition of each row."""


def _open(start: I64, length: I64, rows: I64, ranks: I32, counts: F64) -> _Open:
    first = np.cumsum(length) - length
    part = np.repeat(np.arange(len(length)), length)
    return _Open(start, length, rows, ranks, counts, first, part)


@dataclass(frozen=True)
class _Final:
    """Partitions that no attribute can split: where their runs start, their rank ranges."""

    start: I64
    low: I32
    high: I32
    """(partitions x QIs) lowest and highest rank of each attribute."""


@dataclass(frozen=True)
class _Splits:
    """Per open partition: whether it splits, and on which attribute at which rank."""

    ok: Bools
    attribute: I64
    threshold: I64
    """Rows with a rank above the threshold go right."""
    checked: int


def _weighted_medians(vals: I64, weights: F64, seg: I64, low: I64, high: I64, half: F64) -> I64:
    """Per segment, the smallest value ``v`` with ``weight(vals <= v) >= half``.

    The median of the paper's splitting rule, found by bisection on the integer ranks between the
    segment's minimum and maximum: ``log2(range)`` weighted counts instead of a sort.
    """
    low, high = low.copy(), high.copy()
    while True:
        active = low < high
        if not active.any():
            return low
        mid = (low + high) // 2
        below = wcount(seg, weights * (vals <= mid[seg]), len(low))
        enough = below >= half
        high = np.where(active & enough, mid, high)
        low = np.where(active & ~enough, mid + 1, low)


def _halves_satisfy(ev: Evaluator, cls: I64, counts: F64, rows: I64, n_parts: int) -> Bools:
    """Per candidate split (classes ``2p`` left, ``2p + 1`` right): both halves pass every model."""
    sizes = wcount(cls, counts, 2 * n_parts)
    stats = ClassStats(sizes, cls, counts, ev.base.sens[rows], ev.sens_sizes)
    bad = ev.violating(stats).reshape(n_parts, 2)
    return ~(bad[:, 0] | bad[:, 1])


def _widest_first(widths: F64) -> I64:
    """Per row, the attributes by decreasing width, ties in attribute order (a stable sort of
    ``-widths``, computed with ``d`` vector comparisons instead of one small sort per row)."""
    n_rows, d = widths.shape
    position = np.zeros((n_rows, d), dtype=np.int64)
    attrs = np.arange(d)
    for b in range(d):
        wb = widths[:, b : b + 1]
        position += (wb > widths) | ((wb == widths) & (b < attrs))
    order = np.empty_like(position)
    np.put_along_axis(order, position, np.broadcast_to(attrs, (n_rows, d)), axis=1)
    return order


def _choose_splits(ev: Evaluator, o: _Open, low: I32, high: I32, span: F64) -> _Splits:
    """The paper's choice of dimension and median for every open partition at once.

    Attempt ``j`` tries each still unsplit partition's ``j``-th widest attribute, so a partition
    tries the same attributes in the same order as the one-at-a-time recursion.
    """
    n_parts = len(o.first)
    widths = (high - low) / span
    order = _widest_first(widths)
    half = wcount(o.part, o.counts, n_parts) / 2.0
    # Every cut of a partition with fewer than twice the smallest acceptable class leaves a
    # half that fails (the paper's allowable cut needs k records on each side): it is final.
    # The recursion would have checked, and rejected, each attribute of non-zero width.
    too_small = half < ev.min_class_size
    checked = int((widths[too_small] > 0).sum())
    ok = np.zeros(n_parts, dtype=np.bool_)
    attribute = np.zeros(n_parts, dtype=np.int64)
    threshold = np.zeros(n_parts, dtype=np.int64)
    everyone = np.arange(n_parts)
    for attempt in range(widths.shape[1]):
        attr = order[:, attempt]
        # Widths are sorted, so a partition whose attempt-th width is 0 has nothing left to try.
        tried = np.flatnonzero(~ok & ~too_small & (widths[everyone, attr] > 0))
        if not tried.size:
            break
        local = np.full(n_parts, -1, dtype=np.int64)
        local[tried] = np.arange(len(tried))
        idx = np.flatnonzero(local[o.part] >= 0)
        seg = local[o.part[idx]]
        attr_t = attr[tried]
        vals = o.ranks[idx, attr_t[seg]].astype(np.int64)
        top = high[tried, attr_t].astype(np.int64)
        bottom = low[tried, attr_t].astype(np.int64)
        median = _weighted_medians(vals, o.counts[idx], seg, bottom, top, half[tried])
        # When the median is the maximum, "> median" is empty: split at ">= median" instead
        # (ranks are integers, so that is "> median - 1").
        cut = np.where(median < top, median, median - 1)
        right = vals > cut[seg]
        good = _halves_satisfy(ev, 2 * seg + right, o.counts[idx], o.rows[idx], len(tried))
        checked += len(tried)
        won = tried[good]
        ok[won] = True
        attribute[won] = attr_t[good]
        threshold[won] = cut[good]
    return _Splits(ok, attribute, threshold, checked)


def _left_first(right: Bools, lengths: I64) -> tuple[I64, I64]:
    """Where each element goes when every run (of ``lengths``, laid end to end) puts its left
    elements before its right ones, both in their previous order; and each run's left count."""
    left = ~right
    starts = np.cumsum(lengths) - lengths
    run = np.repeat(np.arange(len(lengths)), lengths)
    lefts_before: I64 = np.cumsum(left, dtype=np.int64) - left
    lefts_before -= lefts_before[starts][run]
    n_left = np.bincount(run, weights=left, minlength=len(lengths)).astype(np.int64)
    rights_before = np.arange(len(right)) - starts[run] - lefts_before
    dest = starts[run] + np.where(left, lefts_before, n_left[run] + rights_before)
    return dest, n_left


def _place(perm: I64, o: _Open, done: Bools) -> None:
    """Write the rows of the partitions that are ``done`` to their runs of ``perm``."""
    idx = np.flatnonzero(done[o.part])
    part = o.part[idx]
    perm[o.start[part] + idx - o.first[part]] = o.rows[idx]


def _split(o: _Open, s: _Splits) -> _Open:
    """The next round's open partitions: the halves of every partition that splits, each left
    half before its right half (so the final runs follow the recursion's left-first order)."""
    idx = np.flatnonzero(s.ok[o.part])
    part = o.part[idx]
    right = o.ranks[idx, s.attribute[part]] > s.threshold[part]
    dest, n_left = _left_first(right, o.length[s.ok])
    src = np.empty_like(idx)
    src[dest] = idx
    start, length = o.start[s.ok], o.length[s.ok]
    return _open(
        np.stack([start, start + n_left], axis=1).reshape(-1),
        np.stack([n_left, length - n_left], axis=1).reshape(-1),
        o.rows[src],
        o.ranks.take(src, axis=0),
        o.counts[src],
    )


def _describe_numeric(
    h: GeneralizationHierarchy, leaf_at: I64, low: I64, high: I64
) -> tuple[list[str], I32, F64, F64]:
    """Range labels ``min-max`` (or the value), domain shares and precision of each partition."""
    uniq, codes = dense_ids(low * h.domain_size + high, h.domain_size**2)
    values = []
    for key in uniq:
        lo, hi = (h.leaves[int(leaf_at[int(x)])] for x in divmod(int(key), h.domain_size))
        values.append(lo if lo == hi else f"{lo}-{hi}")
    covered = high - low + 1
    shares = covered / h.domain_size
    precision = (covered - 1) / max(h.domain_size - 1, 1)
    return values, codes.astype(np.int32), shares, precision


def _describe_categorical(
    h: GeneralizationHierarchy, leaf_at: I64, low: I64, high: I64
) -> tuple[list[str], I32, F64, F64]:
    """Lowest common ancestor of each partition's leaves, with its domain share and precision.

    In the hierarchy's order every subtree is a contiguous range of ranks, so the ancestor of
    all leaves is the ancestor of the lowest- and the highest-ranked one. A hierarchy with
    several roots has no common ancestor for a partition that spans two of them: such a
    partition shows ``*`` (any value, the whole domain), never one of the roots, which would
    misstate the records under the others.
    """
    lo_leaf, hi_leaf = leaf_at[low], leaf_at[high]
    top = h.height - 1
    level = np.full(len(low), top + 1, dtype=np.int64)  # top + 1: the '*' above every root
    code = np.zeros(len(low), dtype=np.int64)
    open_ = np.ones(len(low), dtype=np.bool_)
    for lv in range(h.height):
        same = open_ & (h.codes[lv][lo_leaf] == h.codes[lv][hi_leaf])
        level[same] = lv
        code[same] = h.codes[lv][lo_leaf[same]]
        open_ &= ~same
    node_offset = np.cumsum([0, *h.level_sizes(), 1])
    node = node_offset[level] + code
    uniq, codes = dense_ids(node, int(node_offset[-1]))
    values = []
    for x in uniq:
        lv = int(np.searchsorted(node_offset, x, side="right")) - 1
        values.append(TOP if lv > top else h.labels[lv][int(x - node_offset[lv])])
    leaves_under = np.concatenate([*h.leaves_per_code, [h.domain_size]])
    shares = leaves_under[node] / h.domain_size
    precision = np.minimum(level / max(top, 1), 1.0)
    return values, codes.astype(np.int32), shares, precision


def _describe(ev: Evaluator, final: _Final) -> tuple[list[list[str]], I32, F64, F64]:
    """Per partition and QI: generalized value (as codes into per-QI value lists), domain share
    and precision."""
    n_parts, d = final.low.shape
    label_values: list[list[str]] = []
    label_codes = np.zeros((n_parts, d), dtype=np.int32)
    shares = np.zeros((n_parts, d))
    precision = np.zeros((n_parts, d))
    if not n_parts:
        return [[] for _ in range(d)], label_codes, shares, precision
    for a, h in enumerate(ev.hierarchies):
        leaf_rank, numeric = leaf_ranks(h)
        leaf_at = np.argsort(leaf_rank)
        low, high = final.low[:, a].astype(np.int64), final.high[:, a].astype(np.int64)
        if numeric:
            described = _describe_numeric(h, leaf_at, low, high)
        else:
            described = _describe_categorical(h, leaf_at, low, high)
        values, label_codes[:, a], shares[:, a], precision[:, a] = described
        label_values.append(values)
    return label_values, label_codes, shares, precision


def _rank_matrix(ev: Evaluator) -> I32:
    """(rows x QIs) rank of every histogram row's value in its attribute's order."""
    codes = ev.base.codes
    ranks = np.zeros(codes.shape, dtype=np.int32)
    for a, h in enumerate(ev.hierarchies):
        ranks[:, a] = leaf_ranks(h)[0][codes[:, a]]
    return ranks


def _in_order(final: Sequence[_Final], n_rows: int, d: int) -> _Final:
    """All final partitions, ordered by where their runs start (distinct positions < n_rows)."""
    if not final:
        return _Final(np.zeros(0, np.int64), np.zeros((0, d), np.int32), np.zeros((0, d), np.int32))
    start = np.concatenate([f.start for f in final])
    at = np.full(n_rows, -1, dtype=np.int64)
    at[start] = np.arange(len(start))
    order = at[at >= 0]
    return _Final(
        start[order],
        np.concatenate([f.low for f in final])[order],
        np.concatenate([f.high for f in final])[order],
    )


def mondrian(ev: Evaluator) -> MondrianOutcome:
    base = ev.base
    n, d = base.codes.shape
    counts = base.counts
    span = np.array([max(h.domain_size - 1, 1) for h in ev.hierarchies], dtype=np.float64)
    whole = ClassStats(
        np.array([counts.sum()]), np.zeros(n, np.int64), counts, base.sens, ev.sens_sizes
    )
    feasible = n > 0 and not ev.violating(whole).any()

    roots = 1 if feasible else 0
    o = _open(
        np.zeros(roots, np.int64),
        np.full(roots, n, np.int64),
        np.arange(n, dtype=np.int64),
        _rank_matrix(ev),
        counts,
    )
    perm = np.arange(n, dtype=np.int64)
    found: list[_Final] = []
    checked = 0
    while len(o.start):
        low = np.minimum.reduceat(o.ranks, o.first, axis=0)
        high = np.maximum.reduceat(o.ranks, o.first, axis=0)
        splits = _choose_splits(ev, o, low, high, span)
        checked += splits.checked
        done = ~splits.ok
        found.append(_Final(o.start[done], low[done], high[done]))
        _place(perm, o, done)
        o = _split(o, splits)

    final = _in_order(found, n, d)
    n_parts = len(final.start)
    lengths = np.diff(np.append(final.start, n))
    row_partition = np.zeros(n, dtype=np.int64)
    row_partition[perm] = np.repeat(np.arange(n_parts), lengths) if n_parts else 0
    sizes = wcount(row_partition, counts, n_parts)
    label_values, label_codes, shares, precision = _describe(ev, final)
    table = ClassTable(sizes, np.zeros(n_parts, dtype=np.bool_), shares=shares, precision=precision)
    value = metric_value(ev.metric, table, ev.metric_ctx) if n_parts else float("nan")
    return MondrianOutcome(
        feasible, row_partition, n_parts, label_values, label_codes, sizes, value, table, checked
    )
