"""Transforms that need Python (crypto, vaults) run as vectorized Arrow UDFs: whole batches."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from veil.engines.duckdb_engine import DuckDBEngine
from veil.keys.provider import PolicyKeyProvider
from veil.plan import SOURCE_ALIAS, OutputColumn, Plan, _Planner
from veil.policy.load import LoadedPolicy
from veil.policy.model import Policy
from veil.transforms.keep import Keep


def test_udf_gets_batches_and_keeps_nulls() -> None:
    policy = Policy.model_validate({"name": "udf", "columns": {"s": {"class": "sensitive"}}})
    loaded = LoadedPolicy(policy=policy, path=Path("/tmp/udf.yaml"), text="")
    planner = _Planner(
        loaded=loaded,
        schema={"s": "VARCHAR"},
        keys=PolicyKeyProvider({}, Path("/tmp")),
        base_dir=Path("/tmp"),
    )
    calls: list[int] = []

    def upper(values: pa.Array) -> pa.Array:
        calls.append(len(values))
        return pc.utf8_upper(values)

    expr = planner.udf("upper", upper, [planner.source("s")], ["VARCHAR"], "VARCHAR")
    assert SOURCE_ALIAS in expr.sql()
    plan = Plan(
        columns=[OutputColumn("s", "sensitive", Keep(), expr)],
        dropped=[],
        input_types={"s": "VARCHAR"},
        key_table=planner.key_table(),
        lookups={},
        joins=[],
        key_uses=[],
        udfs=planner.udfs,
    )
    n = 10_000
    table = pa.table({"s": pa.array([None if i % 10 == 0 else f"v{i}é" for i in range(n)])})
    out = DuckDBEngine().transform_table(table, plan)
    values = out.column("s").to_pylist()
    assert values[1] == "V1É" and values[0] is None and len(values) == n
    assert sum(calls) == n and len(calls) < n / 100  # batches, not a call per row
