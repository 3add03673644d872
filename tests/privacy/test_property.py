"""Property tests: on random small tables and hierarchies, the optimal search's result
satisfies the models within the suppression limit, and no transformation in the whole lattice
(brute force, with the naive reference implementation) is acceptable with a better metric."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.privacy import naive
from veil.privacy import (
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    RecursiveCLDiversity,
    TCloseness,
    anonymize_histogram,
    histogram_from_columns,
    ordered_grouping_hierarchy,
)

METRICS = ["loss", "entropy", "precision", "height", "discernibility", "aecs"]


@st.composite
def problems(draw: st.DrawFn) -> dict[str, Any]:
    n_qis = draw(st.integers(1, 3))
    qis = [f"q{i}" for i in range(n_qis)]
    hierarchies = {}
    for q in qis:
        m = draw(st.integers(2, 6))
        fanouts = draw(st.lists(st.integers(2, 3), min_size=1, max_size=2))
        hierarchies[q] = ordered_grouping_hierarchy([f"{q}v{i}" for i in range(m)], fanouts)
    s_values = [str(i) for i in range(draw(st.integers(2, 4)))]
    hierarchies["s"] = ordered_grouping_hierarchy(s_values, [2])
    n = draw(st.integers(3, 30))
    records = [
        {
            **{q: draw(st.sampled_from(hierarchies[q].leaves)) for q in qis},
            "s": draw(st.sampled_from(s_values)),
        }
        for _ in range(n)
    ]
    models: list[Any] = [KAnonymity(k=draw(st.integers(1, 4)))]
    extra = draw(st.sampled_from(["none", "distinct", "entropy", "recursive", "t"]))
    if extra == "distinct":
        models.append(DistinctLDiversity(attribute="s", l=draw(st.integers(1, 3))))
    elif extra == "entropy":
        models.append(EntropyLDiversity(attribute="s", l=draw(st.sampled_from([1.2, 1.5, 2.0]))))
    elif extra == "recursive":
        models.append(
            RecursiveCLDiversity(attribute="s", c=draw(st.sampled_from([1.0, 2.0, 3.0])), l=2)
        )
    elif extra == "t":
        models.append(
            TCloseness(
                attribute="s",
                t=draw(st.sampled_from([0.15, 0.3, 0.5])),
                distance=draw(st.sampled_from(["equal", "ordered", "hierarchical"])),
            )
        )
    return {
        "qis": qis,
        "hierarchies": hierarchies,
        "records": records,
        "models": models,
        "limit": draw(st.sampled_from([0.0, 0.1, 0.25, 0.5])),
        "metric": draw(st.sampled_from(METRICS)),
    }


def _lattice(heights: list[int]) -> list[tuple[int, ...]]:
    nodes: list[tuple[int, ...]] = [()]
    for h in heights:
        nodes = [n + (lv,) for n in nodes for lv in range(h)]
    return nodes


@settings(
    max_examples=int(__import__("os").environ.get("VEIL_PROP_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(problems())
def test_optimal_search_is_optimal(p: dict[str, Any]) -> None:
    qis, hs, records, models = p["qis"], p["hierarchies"], p["records"], p["models"]
    sensitive = ["s"] if len(models) > 1 else []
    columns = {c: [r[c] for r in records] for c in [*qis, *sensitive]}
    hist = histogram_from_columns(columns, qis, sensitive)
    result = anonymize_histogram(hist, hs, models, p["limit"], p["metric"])
    k = max(m.min_class_size for m in models)

    brute = []
    for levels in _lattice([hs[q].height for q in qis]):
        ok, suppressed, cls, bad = naive.evaluate(records, qis, hs, models, p["limit"], levels)
        if ok:
            value = naive.metric(p["metric"], records, qis, hs, levels, cls, bad, k)
            brute.append((value, levels, suppressed))

    assert result.feasible == bool(brute)
    if not brute:
        return
    levels = tuple(result.levels[q] for q in qis)
    ok, suppressed, cls, bad = naive.evaluate(records, qis, hs, models, p["limit"], levels)
    assert ok, "the result violates the models or the suppression limit"
    assert result.suppressed_records == suppressed
    value = naive.metric(p["metric"], records, qis, hs, levels, cls, bad, k)
    assert result.metric_value == pytest.approx(value, rel=1e-9, abs=1e-12)
    best = min(v for v, _, _ in brute)
    assert value <= best + 1e-9 * max(1.0, abs(best)), (
        f"{[b for b in brute if b[0] < value - 1e-9]} beat {levels} ({value})"
    )


@settings(max_examples=60, deadline=None, derandomize=True)
@given(problems())
def test_heuristic_and_mondrian_results_satisfy_models(p: dict[str, Any]) -> None:
    qis, hs, records, models = p["qis"], p["hierarchies"], p["records"], p["models"]
    sensitive = ["s"] if len(models) > 1 else []
    columns = {c: [r[c] for r in records] for c in [*qis, *sensitive]}
    hist = histogram_from_columns(columns, qis, sensitive)

    h = anonymize_histogram(hist, hs, models, p["limit"], p["metric"], "heuristic")
    assert h.heuristic and not h.optimal
    if h.feasible:
        levels = tuple(h.levels[q] for q in qis)
        ok, suppressed, _, _ = naive.evaluate(records, qis, hs, models, p["limit"], levels)
        assert ok and suppressed == h.suppressed_records

    m = anonymize_histogram(hist, hs, models, p["limit"], "loss", "mondrian")
    if not m.feasible:
        return
    combos = m.plan().combinations.to_pylist()
    label = {tuple(c[q] for q in qis): tuple(c[f"{q}__generalized"] for q in qis) for c in combos}
    groups: dict[tuple[str, ...], list[dict[str, str]]] = {}
    for r in records:
        groups.setdefault(label[tuple(r[q] for q in qis)], []).append(r)
    assert sum(len(g) for g in groups.values()) == len(records)
    for members in groups.values():
        assert all(naive.satisfies(mod, members, records, hs) for mod in models)
