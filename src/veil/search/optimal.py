"""Optimal full-domain generalization search with monotonicity pruning.

Two phases, both exact:

1. *Tagging* (only when every model is monotonic under the given suppression limit), after
   Flash (Kohlmayer, Prasser, Eckert, Kuhn, Kuhn: "Flash: Efficient, Stable and Optimal
   K-Anonymity", PASSAT/SocialCom 2012): from each untagged node, in ascending order of the
   metric's lower bound, build a greedy path of untagged successors upwards (each step to the
   successor with the highest bound below the best value) and binary-search it for its lowest
   acceptable node. A checked acceptable node tags all its successors acceptable,
   an unacceptable one all its predecessors unacceptable. Unlike Flash, only the part of the
   lattice whose bound is below the best value found so far is tagged: the rest cannot hold a
   better transformation.
2. *Bounded evaluation*: candidates in ascending order of the metric's lower bound (which never
   decreases with generalization and never exceeds the metric); stop as soon as the bound
   reaches the best value found. Unacceptable nodes are skipped, acceptable ones whose value is
   not yet known are checked. For metrics equal to their bound (entropy, height) the first
   acceptable candidate is optimal; for the loss metric, a node without suppression has its
   bound as value, and so have its successors when the models are monotonic.

Without monotonic models phase 1 is skipped and phase 2 checks each candidate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from veil.errors import PolicyError
from veil.metrics.utility import MONOTONIC, metric_bounds
from veil.search.evaluate import Evaluator, NodeResult
from veil.search.lattice import Lattice

# Metrics whose value equals the bound whenever nothing is suppressed.
_EXACT_WITHOUT_SUPPRESSION = {"loss", "precision", "entropy", "height"}

UNKNOWN, ACCEPTABLE, UNACCEPTABLE = 0, 1, -1


@dataclass
class SearchOutcome:
    best: NodeResult | None
    """Optimal acceptable node, or None when none is acceptable."""
    fallback: NodeResult | None
    """When none is acceptable: the checked node that suppresses fewest records."""
    checked: int
    lattice_size: int
    tagged_acceptable: int


class _State:
    def __init__(self, ev: Evaluator, lattice: Lattice):
        self.ev = ev
        self.lat = lattice
        self.status = np.zeros(lattice.size, dtype=np.int8)
        self.no_suppression = np.zeros(lattice.size, dtype=np.bool_)
        self.results: dict[int, NodeResult] = {}
        self.fallback: NodeResult | None = None

    def check(self, idx: int) -> NodeResult:
        r = self.results.get(idx)
        if r is not None:
            return r
        return self.record(idx, self.ev.evaluate(self.lat.node(idx)))

    def record(self, idx: int, r: NodeResult) -> NodeResult:
        self.results[idx] = r
        if self.fallback is None or r.suppressed < self.fallback.suppressed:
            self.fallback = r
        node = r.levels
        if self.ev.monotonic:
            if r.feasible:
                up = self.lat.successors_mask(node)
                self.status[up & (self.status == UNKNOWN)] = ACCEPTABLE
            else:
                down = self.lat.predecessors_mask(node)
                self.status[down & (self.status == UNKNOWN)] = UNACCEPTABLE
        else:
            self.status[idx] = ACCEPTABLE if r.feasible else UNACCEPTABLE
        if r.suppressed == 0 and self.ev.monotonic_without_suppression:
            self.no_suppression |= self.lat.successors_mask(node)
        return r


def _tag(state: _State, bounds: npt.NDArray[np.float64], best: float) -> float:
    """Tag every node whose bound is below the best value found; returns that value."""
    lat = state.lat
    nodes = lat.nodes
    strides = np.asarray(lat.strides, dtype=np.int64)
    heights = lat.heights
    for start in np.argsort(bounds, kind="stable"):
        if bounds[start] >= best:
            break
        if state.status[start] != UNKNOWN:
            continue
        path = [int(start)]
        cur = nodes[start]
        while True:
            # Climb steeply (highest bound still below the best value): an unacceptable node
            # high up tags many predecessors at once.
            nxt_best, nxt_bound = -1, -np.inf
            for a in range(len(heights)):
                if cur[a] + 1 < heights[a]:
                    nxt = path[-1] + int(strides[a])
                    b = bounds[nxt]
                    if state.status[nxt] == UNKNOWN and nxt_bound < b < best:
                        nxt_best, nxt_bound = nxt, b
            if nxt_best < 0:
                break
            path.append(nxt_best)
            cur = nodes[nxt_best]
        lo, hi = 0, len(path) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            idx = path[mid]
            if state.status[idx] == UNKNOWN:
                r = state.check(idx)
                if r.feasible and r.value < best:
                    best = r.value
            if state.status[idx] == ACCEPTABLE:
                hi = mid - 1
            else:
                lo = mid + 1
    return float(best)


def optimal_search(ev: Evaluator, max_lattice_size: int = 2_000_000) -> SearchOutcome:
    lattice = Lattice(ev.heights)
    if lattice.size > max_lattice_size:
        raise PolicyError(
            f"the generalization lattice has {lattice.size:,} transformations, more than the "
            f"optimal search handles ({max_lattice_size:,}); use the heuristic search or Mondrian"
        )
    metric = ev.metric
    bounds = metric_bounds(metric, lattice.nodes, ev.metric_ctx)
    state = _State(ev, lattice)
    if ev.monotonic:
        top = state.check(lattice.index(lattice.top))
        _tag(
            state, np.where(np.isfinite(bounds), bounds, 0.0), top.value if top.feasible else np.inf
        )

    best: NodeResult | None = None
    best_value = np.inf
    exact_bound = metric in MONOTONIC
    for idx in np.argsort(bounds, kind="stable"):
        idx = int(idx)
        if bounds[idx] >= best_value:
            break
        if state.status[idx] == UNACCEPTABLE:
            continue
        known_exact = state.status[idx] == ACCEPTABLE and (
            exact_bound or (metric in _EXACT_WITHOUT_SUPPRESSION and state.no_suppression[idx])
        )
        if known_exact and idx not in state.results:
            best_value = float(bounds[idx])
            best = None
            best_idx = idx
            continue
        r = state.check(idx)
        if r.feasible and r.value < best_value:
            best, best_value = r, r.value
            best_idx = idx
    if best is None and best_value < np.inf:
        best = state.check(best_idx)
    return SearchOutcome(
        best,
        state.fallback if best is None else None,
        ev.checked,
        lattice.size,
        int((state.status == ACCEPTABLE).sum()),
    )
