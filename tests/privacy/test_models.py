"""Each privacy model, alone and combined, on a synthetic table with built hierarchies
(interval, prefix, date, tree); every output is applied with DuckDB and re-checked by pycanon
(k-anonymity, distinct and entropy l-diversity, t-closeness with equal and ordered distance).
pycanon has no hierarchical distance and defines recursive (c,l) differently (it sorts counts
ascending), so those two are re-checked by the naive reference implementation."""

from __future__ import annotations

import math
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pycanon import anonymity

from tests.privacy import naive
from tests.privacy.conftest import apply_plan
from veil.privacy import (
    DistinctLDiversity,
    EntropyLDiversity,
    GeneralizationHierarchy,
    Histogram,
    KAnonymity,
    RecursiveCLDiversity,
    TCloseness,
    anonymize_histogram,
    build_histogram,
    date_hierarchy,
    interval_hierarchy,
    prefix_hierarchy,
    tree_hierarchy,
)

QIS = ["age", "zip", "sex", "birth"]
DISEASES = {"*": {"infection": ["flu", "cold"], "chronic": ["diabetes", "asthma", "cancer"]}}


@pytest.fixture(scope="module")
def people() -> tuple[duckdb.DuckDBPyConnection, Histogram, dict[str, GeneralizationHierarchy]]:
    rng = np.random.default_rng(11)
    n = 600
    age = rng.integers(18, 80, n)
    table = pa.table(
        {
            "age": age,
            "zip": [f"{z:05d}" for z in rng.choice([10115, 10117, 10243, 20095, 20097], n)],
            "sex": rng.choice(["M", "F"], n),
            "birth": [
                f"{1944 + int(a) % 50}-{1 + i % 12:02d}-{1 + i % 28:02d}" for i, a in enumerate(age)
            ],
            "disease": rng.choice(
                ["flu", "cold", "diabetes", "asthma", "cancer"], n, p=[0.3, 0.25, 0.2, 0.15, 0.1]
            ),
            "salary": rng.choice([20, 30, 40, 50, 60, 70, 80], n),
        }
    )
    con = duckdb.connect()
    con.register("people_src", table)
    con.execute("CREATE TABLE people AS SELECT * FROM people_src")
    hist = build_histogram(con, "people", QIS, ["disease", "salary"])
    values = {q: [v for v in hist.qi_values[i] if v is not None] for i, q in enumerate(QIS)}
    hs = {
        "age": interval_hierarchy(values["age"], width=5, fanouts=[2, 2]),
        "zip": prefix_hierarchy(values["zip"]),
        "sex": tree_hierarchy({"*": ["M", "F"]}),
        "birth": date_hierarchy(values["birth"], ["month", "year", "decade"]),
        "disease": tree_hierarchy(DISEASES),
    }
    return con, hist, hs


def _released(con: duckdb.DuckDBPyConnection, result: Any) -> pd.DataFrame:
    out = apply_plan(con, "people", result.plan(), keep=["disease", "salary"])
    assert len(out) == result.records - result.suppressed_records
    out["salary"] = out["salary"].astype(int)
    return out


CASES: list[tuple[str, list[Any], float]] = [
    ("k", [KAnonymity(k=6)], 0.05),
    ("distinct", [KAnonymity(k=3), DistinctLDiversity(attribute="disease", l=3)], 0.05),
    ("entropy", [EntropyLDiversity(attribute="disease", l=2.5)], 0.05),
    ("recursive", [RecursiveCLDiversity(attribute="disease", c=2.0, l=3)], 0.05),
    ("t-equal", [TCloseness(attribute="disease", t=0.2)], 0.0),
    ("t-ordered", [TCloseness(attribute="salary", t=0.12, distance="ordered")], 0.0),
    ("t-hier", [TCloseness(attribute="disease", t=0.15, distance="hierarchical")], 0.0),
    (
        "combined",
        [
            KAnonymity(k=4),
            DistinctLDiversity(attribute="disease", l=2),
            TCloseness(attribute="salary", t=0.2, distance="ordered"),
        ],
        0.0,
    ),
]


@pytest.mark.parametrize("algorithm", ["optimal", "heuristic", "mondrian"])
@pytest.mark.parametrize(("name", "models", "limit"), CASES, ids=[c[0] for c in CASES])
def test_models_checked_by_pycanon(
    people: tuple[duckdb.DuckDBPyConnection, Histogram, dict[str, GeneralizationHierarchy]],
    name: str,
    models: list[Any],
    limit: float,
    algorithm: str,
) -> None:
    con, hist, hs = people
    r = anonymize_histogram(hist, hs, models, limit, "loss", algorithm)  # type: ignore[arg-type]
    assert r.feasible, r.reason
    assert r.suppressed_records <= r.max_suppressed_records
    out = _released(con, r)
    for m in models:
        if m.type == "k-anonymity":
            assert anonymity.k_anonymity(out, QIS) >= m.k
        elif m.type == "distinct-l-diversity":
            assert anonymity.l_diversity(out, QIS, [m.attribute]) >= m.l
        elif m.type == "entropy-l-diversity":
            assert anonymity.entropy_l_diversity(out, QIS, [m.attribute]) >= math.floor(m.l)
        elif m.type == "t-closeness" and m.distance != "hierarchical":
            assert anonymity.t_closeness(out, QIS, [m.attribute]) <= m.t + 1e-9
        else:
            records = out.astype(str).to_dict("records")
            for _, members in out.astype(str).groupby(QIS):
                assert naive.satisfies(m, members.to_dict("records"), records, hs)


def test_models_bind_errors(
    people: tuple[duckdb.DuckDBPyConnection, Histogram, dict[str, GeneralizationHierarchy]],
) -> None:
    from veil.errors import PolicyError

    _, hist, hs = people
    with pytest.raises(PolicyError, match="sensitive"):
        anonymize_histogram(hist, hs, [DistinctLDiversity(attribute="nope", l=2)])
    no_h = {k: v for k, v in hs.items() if k != "disease"}
    with pytest.raises(PolicyError, match="hierarchy"):
        anonymize_histogram(
            hist, no_h, [TCloseness(attribute="disease", t=0.2, distance="hierarchical")]
        )
