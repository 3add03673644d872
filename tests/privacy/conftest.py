"""Fixtures for the privacy tests: the Adult data (tests/data/adult) and helpers that apply a
plan with DuckDB, the way an engine does, so outputs can be re-checked by pycanon."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd
import pytest

from veil.privacy import (
    AnonymizationPlan,
    GeneralizationHierarchy,
    Histogram,
    build_histogram,
    load_hierarchy,
)

from ..conftest import ADULT, ADULT_QIS

ADULT_COLUMNS = [
    "sex",
    "age",
    "race",
    "marital-status",
    "education",
    "native-country",
    "workclass",
    "occupation",
    "salary-class",
]
QI8 = ADULT_QIS


def adult_relation() -> str:
    path = str(ADULT / "adult.csv").replace("'", "''")
    return f"read_csv('{path}', delim=';', header=true, all_varchar=true)"


@pytest.fixture(scope="session")
def adult_con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE adult AS SELECT * FROM {adult_relation()}")
    return con


@pytest.fixture(scope="session")
def adult_hierarchies() -> dict[str, GeneralizationHierarchy]:
    return {c: load_hierarchy(ADULT / f"adult_hierarchy_{c}.csv") for c in ADULT_COLUMNS}


@pytest.fixture(scope="session")
def adult_hist8(adult_con: duckdb.DuckDBPyConnection) -> Histogram:
    return build_histogram(adult_con, "adult", QI8)


def apply_plan(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    plan: AnonymizationPlan,
    keep: Sequence[str] = (),
) -> pd.DataFrame:
    """Generalize and suppress ``relation`` as an engine would; returns the released rows."""

    def q(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    extra = "".join(f", r.{q(c)}" for c in keep)
    if plan.lookups is not None:
        joins, gen = [], {}
        for i, qi in enumerate(plan.qis):
            con.register(f"__lk{i}", plan.lookups[qi])
            joins.append(f"JOIN __lk{i} l{i} ON CAST(r.{q(qi)} AS VARCHAR) = l{i}.value")
            gen[qi] = f"l{i}.generalized"
        pred = plan.suppression_predicate_sql(gen)
        select = ", ".join(f"{gen[qi]} AS {q(qi)}" for qi in plan.qis)
        sql = f"SELECT {select}{extra} FROM {relation} r {' '.join(joins)} WHERE NOT ({pred})"
    else:
        con.register("__combos", plan.combinations)
        on = " AND ".join(f"CAST(r.{q(qi)} AS VARCHAR) = c.{q(qi)}" for qi in plan.qis)
        select = ", ".join(f"c.{q(qi + '__generalized')} AS {q(qi)}" for qi in plan.qis)
        sql = (
            f"SELECT {select}{extra} FROM {relation} r JOIN __combos c ON {on} "
            "WHERE NOT c.__veil_suppressed"
        )
    return con.sql(sql).df()
