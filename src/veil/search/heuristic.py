"""A heuristic full-domain search for lattices too large to search exhaustively.

HEURISTIC: the result satisfies the privacy models within the suppression limit, but it is not
guaranteed to be optimal. The lattice is never enumerated, so any number of quasi-identifiers
works; the work is bounded by ``max_checks`` transformations.

1. Descent: start at the most general transformation; repeatedly move to the acceptable direct
   predecessor (one level lower in one attribute) with the best metric value, until no direct
   predecessor is acceptable; keep the best transformation met on the way. This is the greedy top-down strategy of specialization searches
   (Fung, Wang, Yu: "Top-down specialization for information and privacy preservation",
   ICDE 2005), here scored with the chosen utility metric.
2. Local improvement: try moves that lower one attribute and raise another; take any acceptable
   move with a better value, until none improves or the budget is spent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from veil.metrics.utility import metric_bounds
from veil.search.evaluate import Evaluator, NodeResult


@dataclass
class HeuristicOutcome:
    best: NodeResult | None
    fallback: NodeResult | None
    checked: int
    budget_exhausted: bool
    seen: dict[tuple[int, ...], NodeResult]


def heuristic_search(ev: Evaluator, max_checks: int = 2_000) -> HeuristicOutcome:
    heights = ev.heights
    seen: dict[tuple[int, ...], NodeResult] = {}
    exhausted = False

    def check(node: tuple[int, ...]) -> NodeResult | None:
        nonlocal exhausted
        if node in seen:
            return seen[node]
        if len(seen) >= max_checks:
            exhausted = True
            return None
        r = ev.evaluate(node)
        seen[node] = r
        return r

    def bound(node: tuple[int, ...]) -> float:
        return float(metric_bounds(ev.metric, np.asarray([node]), ev.metric_ctx)[0])

    top = tuple(h - 1 for h in heights)
    cur = check(top)
    assert cur is not None
    if not cur.feasible:
        return HeuristicOutcome(None, cur, len(seen), exhausted, seen)

    best = cur
    while not exhausted:
        best_next: NodeResult | None = None
        for a in range(len(heights)):
            if cur.levels[a] == 0:
                continue
            node = cur.levels[:a] + (cur.levels[a] - 1,) + cur.levels[a + 1 :]
            r = check(node)
            if r is not None and r.feasible and (best_next is None or r.value < best_next.value):
                best_next = r
        if best_next is None:
            break
        cur = best_next
        if cur.value < best.value:
            best = cur
    cur = best

    improved = True
    while improved and not exhausted:
        improved = False
        moves = []
        for a in range(len(heights)):
            if cur.levels[a] == 0:
                continue
            for b in range(len(heights)):
                if b == a or cur.levels[b] + 1 >= heights[b]:
                    continue
                lv = list(cur.levels)
                lv[a] -= 1
                lv[b] += 1
                moves.append(tuple(lv))
        moves.sort(key=bound)
        for node in moves:
            if bound(node) >= cur.value:
                break
            r = check(node)
            if r is None:
                break
            if r.feasible and r.value < cur.value:
                cur, improved = r, True
                break
    return HeuristicOutcome(cur, None, len(seen), exhausted, seen)
