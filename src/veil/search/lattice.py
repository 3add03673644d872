"""The full-domain generalization lattice: one level per quasi-identifier.

Nodes are numbered in mixed radix (the last quasi-identifier varies fastest); ``nodes()`` is the
(size x QIs) matrix of their levels. A node is *below* another when every level is lower or equal;
successors are more general, predecessors less general.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cached_property

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


class Lattice:
    def __init__(self, heights: Sequence[int]):
        """``heights[a]``: number of levels of quasi-identifier ``a`` (including level 0)."""
        if any(h < 1 for h in heights):
            raise ValueError("every hierarchy needs at least one level")
        self.heights = tuple(int(h) for h in heights)
        self.size = math.prod(self.heights)
        strides = [1] * len(self.heights)
        for a in range(len(self.heights) - 2, -1, -1):
            strides[a] = strides[a + 1] * self.heights[a + 1]
        self.strides = tuple(strides)

    @cached_property
    def nodes(self) -> npt.NDArray[np.int16]:
        if not self.heights:
            return np.zeros((1, 0), dtype=np.int16)
        grids = np.indices(self.heights, dtype=np.int16)
        return grids.reshape(len(self.heights), -1).T.copy()

    @property
    def bottom(self) -> tuple[int, ...]:
        return (0,) * len(self.heights)

    @property
    def top(self) -> tuple[int, ...]:
        return tuple(h - 1 for h in self.heights)

    def index(self, node: Sequence[int]) -> int:
        return int(sum(int(x) * s for x, s in zip(node, self.strides, strict=True)))

    def node(self, index: int) -> tuple[int, ...]:
        return tuple(int(x) for x in self.nodes[index])

    def successors_mask(self, node: Sequence[int]) -> Bools:
        """Every node at or above ``node`` (including itself)."""
        return np.asarray((self.nodes >= np.asarray(node, dtype=np.int16)).all(axis=1))

    def predecessors_mask(self, node: Sequence[int]) -> Bools:
        """Every node at or below ``node`` (including itself)."""
        return np.asarray((self.nodes <= np.asarray(node, dtype=np.int16)).all(axis=1))

    def direct_successors(self, node: Sequence[int]) -> list[tuple[int, ...]]:
        out = []
        for a, h in enumerate(self.heights):
            if node[a] + 1 < h:
                out.append(tuple(node[:a]) + (node[a] + 1,) + tuple(node[a + 1 :]))
        return out

    def direct_predecessors(self, node: Sequence[int]) -> list[tuple[int, ...]]:
        out = []
        for a in range(len(self.heights)):
            if node[a] > 0:
                out.append(tuple(node[:a]) + (node[a] - 1,) + tuple(node[a + 1 :]))
        return out
