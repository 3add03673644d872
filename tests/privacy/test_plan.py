"""Histogram SQL, the plan an engine applies, risk figures and the public API's edges."""

from __future__ import annotations

import duckdb
import pytest
from pycanon import anonymity

from tests.privacy.conftest import QI8, adult_relation, apply_plan
from veil.errors import PolicyError
from veil.metrics import risk_summary
from veil.privacy import (
    SUPPRESSED_FLAG,
    GeneralizationHierarchy,
    Histogram,
    KAnonymity,
    anonymize_histogram,
    build_histogram,
    histogram_from_columns,
    histogram_sql,
    model_from_dict,
    plan_for_levels,
    tree_hierarchy,
)


def test_histogram_sql_is_one_group_by() -> None:
    sql = histogram_sql("t", ["a", 'we"ird'], ["s"])
    assert sql.count("GROUP BY") == 1 and '"we""ird"' in sql and "CAST" in sql


def test_histogram_counts_records(adult_hist8: Histogram) -> None:
    assert adult_hist8.n_records == 30162
    assert adult_hist8.n_rows == adult_hist8.distinct_qi_combinations() == 18109
    assert adult_hist8.value_counts("sex") == {"Male": 20380, "Female": 9782}


def test_plan_for_levels_and_predicate(
    adult_con: duckdb.DuckDBPyConnection,
    adult_hist8: Histogram,
    adult_hierarchies: dict[str, GeneralizationHierarchy],
) -> None:
    levels = dict(zip(QI8, [3, 0, 0, 1, 3, 1, 1, 2], strict=True))
    plan = plan_for_levels(adult_hist8, adult_hierarchies, [KAnonymity(k=5)], levels, 0.01)
    assert plan.suppressed_records == 273
    assert set(plan.lookups or {}) == set(QI8)
    assert plan.lookups is not None and plan.lookups["age"].num_rows == 100
    combos = plan.combinations
    assert combos.num_rows == 18109
    flagged = combos.filter(combos.column(SUPPRESSED_FLAG)).num_rows
    assert flagged > 0
    out = apply_plan(adult_con, "adult", plan)
    assert len(out) == 30162 - 273 and anonymity.k_anonymity(out, QI8) >= 5
    with pytest.raises(PolicyError, match="more than"):
        plan_for_levels(adult_hist8, adult_hierarchies, [KAnonymity(k=5)], levels, 0.0)
    spark = plan.suppression_predicate_sql(dialect="spark")
    assert spark.startswith("(`age`") and "VALUES (" in spark


def test_build_histogram_from_a_relation_expression(adult_hist8: Histogram) -> None:
    con = duckdb.connect()
    h = build_histogram(con, adult_relation(), QI8)
    assert h.n_records == adult_hist8.n_records and h.n_rows == adult_hist8.n_rows


def test_small_table_end_to_end() -> None:
    hist = histogram_from_columns(
        {"sex": ["M", "M", "F", "F", "F", "M"], "dx": ["a", "b", "a", "b", "c", "c"]},
        ["sex"],
        ["dx"],
    )
    hs = {"sex": tree_hierarchy({"*": ["M", "F"]})}
    models = [
        model_from_dict({"type": "k-anonymity", "k": 3}),
        model_from_dict({"type": "distinct-l-diversity", "attribute": "dx", "l": 3}),
    ]
    r = anonymize_histogram(hist, hs, models)
    assert r.levels == {"sex": 0} and r.classes.count == 2
    r = anonymize_histogram(hist, hs, [model_from_dict({"type": "k-anonymity", "k": 4})])
    assert r.levels == {"sex": 1} and r.metrics["loss"] == pytest.approx(1.0)
    d = r.as_dict()
    assert d["optimal"] and d["classes"]["count"] == 1
    assert r.plan().combinations.num_rows == 2


def test_model_registry_validates() -> None:
    with pytest.raises(PolicyError, match="unknown privacy model"):
        model_from_dict({"type": "k-map"})
    with pytest.raises(PolicyError) as e:
        model_from_dict({"type": "k-anonymity", "k": 0})
    assert e.value.problems
    m = model_from_dict({"type": "t-closeness", "attribute": "s", "t": 0.2, "distance": "ordered"})
    assert m.monotonic(False) and not m.monotonic(True)


def test_risk_summary() -> None:
    r = risk_summary([1, 2, 5, 0])
    assert r.records == 8 and r.classes == 3
    assert r.prosecutor_max == 1.0 and r.prosecutor_avg == pytest.approx(3 / 8)
    assert r.sample_uniques == 1 and r.records_at_risk == 3


def test_unknown_metric_and_missing_hierarchy(adult_hist8: Histogram) -> None:
    with pytest.raises(PolicyError, match="unknown utility metric"):
        anonymize_histogram(adult_hist8, {}, [KAnonymity(k=2)], metric="nope")
    with pytest.raises(PolicyError, match="no hierarchy"):
        anonymize_histogram(adult_hist8, {}, [KAnonymity(k=2)])
