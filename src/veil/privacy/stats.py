"""Per-equivalence-class statistics, the only input of the privacy models.

A grouping of the histogram rows into classes yields a :class:`ClassStats`: the size of every
class and, for each sensitive attribute, the class's histogram of sensitive values (kept sparse as
``(class, value, count)`` triples). Derived statistics (distinct values, entropy, dense
distributions for t-closeness) are computed on first use, vectorized over all classes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

# Dense (classes x values) blocks for t-closeness are built in chunks of about this many cells.
_DENSE_CELLS = 1 << 22


def dense_ids(key: I64, space: int) -> tuple[I64, I64]:
    """Group equal keys: returns (sorted distinct keys, id of each key's group).

    Uses a presence table when the key space is small, a sort otherwise.
    """
    if space <= 8 * len(key) + 4096:
        present = np.zeros(space, dtype=np.bool_)
        present[key] = True
        uniq = np.flatnonzero(present).astype(np.int64)
        remap = np.cumsum(present, dtype=np.int64) - 1
        return uniq, remap[key]
    uniq, inv = np.unique(key, return_inverse=True)
    return uniq.astype(np.int64), inv.astype(np.int64).reshape(-1)


def combine_keys(
    columns: Sequence[npt.NDArray[np.integer]], sizes: Sequence[int]
) -> tuple[I64, int]:
    """Mixed-radix key of several code columns, compressed when it would overflow int64.

    Returns (group id per row, number of groups) with group ids in key order.
    """
    n = len(columns[0]) if columns else 0
    key = np.zeros(n, dtype=np.int64)
    space = 1
    for col, size in zip(columns, sizes, strict=True):
        size = max(int(size), 1)
        if space * size >= 1 << 62:
            uniq, key = dense_ids(key, space)
            space = max(len(uniq), 1)
        key = key * size + col
        space *= size
    uniq, ids = dense_ids(key, space)
    return ids, len(uniq)


def wcount(ids: npt.NDArray[np.integer], weights: F64, minlength: int) -> F64:
    """Sum of ``weights`` per id (``np.bincount`` with weights, typed as float64)."""
    return np.asarray(np.bincount(ids, weights=weights, minlength=minlength), dtype=np.float64)


@dataclass(frozen=True)
class Pairs:
    """Sparse per-class histogram of one sensitive attribute, sorted by (class, value)."""

    cls: I64
    value: I64
    count: F64


class ClassStats:
    """Statistics of the equivalence classes of one transformation."""

    def __init__(
        self,
        sizes: F64,
        row_class: I64,
        row_counts: F64,
        sens_codes: npt.NDArray[np.int32] | None,
        sens_sizes: Sequence[int],
    ):
        self.sizes = sizes
        self.n_classes = len(sizes)
        self._row_class = row_class
        self._row_counts = row_counts
        self._sens = sens_codes
        self._sens_sizes = list(sens_sizes)
        self._pairs: dict[int, Pairs] = {}

    def pairs(self, j: int) -> Pairs:
        """(class, value, count) of sensitive attribute ``j``."""
        if j not in self._pairs:
            assert self._sens is not None
            m = self._sens_sizes[j]
            key = self._row_class * m + self._sens[:, j]
            uniq, ids = dense_ids(key, self.n_classes * m)
            cnt = wcount(ids, self._row_counts, len(uniq))
            self._pairs[j] = Pairs(uniq // m, uniq % m, cnt)
        return self._pairs[j]

    def distinct(self, j: int) -> I64:
        return np.bincount(self.pairs(j).cls, minlength=self.n_classes).astype(np.int64)

    def entropy(self, j: int) -> F64:
        """Shannon entropy (natural log) of each class's sensitive values."""
        p = self.pairs(j)
        q = p.count / self.sizes[p.cls]
        return -wcount(p.cls, q * np.log(q), self.n_classes)

    def ranked_counts(self, j: int) -> tuple[Pairs, I64]:
        """Pairs sorted by class, then count descending; and each pair's rank in its class."""
        p = self.pairs(j)
        order = np.lexsort((-p.count, p.cls))
        cls = p.cls[order]
        starts = np.flatnonzero(np.r_[True, cls[1:] != cls[:-1]])
        lengths = np.diff(np.r_[starts, len(cls)])
        rank = np.arange(len(cls)) - np.repeat(starts, lengths)
        return Pairs(cls, p.value[order], p.count[order]), rank.astype(np.int64)

    def distribution_blocks(self, j: int) -> Iterator[tuple[slice, F64]]:
        """Dense per-class relative frequencies of attribute ``j``, a block of classes at a time."""
        p = self.pairs(j)
        m = self._sens_sizes[j]
        step = max(1, _DENSE_CELLS // max(m, 1))
        bounds = np.searchsorted(p.cls, np.arange(0, self.n_classes + step, step))
        for b, start in enumerate(range(0, self.n_classes, step)):
            stop = min(start + step, self.n_classes)
            lo, hi = bounds[b], bounds[b + 1]
            flat = np.zeros((stop - start) * m, dtype=np.float64)
            flat[(p.cls[lo:hi] - start) * m + p.value[lo:hi]] = p.count[lo:hi]
            block = flat.reshape(stop - start, m) / self.sizes[start:stop, None]
            yield slice(start, stop), block
