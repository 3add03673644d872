"""One SparkSession for the whole test session (local[2], 2 shuffle partitions, no UI, an
event log in a temporary directory for the key-leak test), and helpers to run a policy on both
engines and compare the outputs row by row."""

from __future__ import annotations

import math
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

# pyspark is a dependency and Java 17 is part of the supported setup: a missing one is a
# failure, never a silently skipped suite.
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    raise RuntimeError("the Spark tests need a Java runtime (java on PATH or JAVA_HOME)")


@pytest.fixture(scope="session")
def spark_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spark-events")


@pytest.fixture(scope="session")
def spark(spark_events: Path) -> Iterator[Any]:
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("veil-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.eventLog.enabled", "true")
        .config("spark.eventLog.dir", str(spark_events))
        .config("spark.eventLog.compress", "false")  # searchable by the key-leak test
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("FATAL")  # as veil sets it: task errors quote data
    yield session
    session.stop()


def _key(v: Any) -> tuple[int, Any]:
    """Sort key that orders None and NaN deterministically next to values of any type."""
    if v is None:
        return (0, "")
    if isinstance(v, float) and math.isnan(v):
        return (1, "")
    return (2, v)


def sorted_rows(table: pa.Table) -> list[tuple[Any, ...]]:
    rows = list(zip(*[table.column(c).to_pylist() for c in table.column_names], strict=True))
    return sorted(rows, key=lambda r: tuple(_key(v) for v in r))


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return True
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b) and type(a) is type(b)


def assert_same_tables(duck: pa.Table, spark: pa.Table, *, check_types: bool = True) -> None:
    """Same columns (and Arrow types), same rows in any order, values identical: strings byte
    for byte, floats bit for bit (NaN == NaN, -0.0 != 0.0)."""
    assert duck.column_names == spark.column_names
    if check_types:
        for f_d, f_s in zip(duck.schema, spark.schema, strict=True):
            assert f_d.type == f_s.type, f"column {f_d.name}: {f_d.type} vs {f_s.type}"
    assert duck.num_rows == spark.num_rows
    # Compare column by column on rows matched by sorting on every column.
    d_rows, s_rows = sorted_rows(duck), sorted_rows(spark)
    for i, name in enumerate(duck.column_names):
        diffs = [
            (r, d[i], s[i])
            for r, (d, s) in enumerate(zip(d_rows, s_rows, strict=True))
            if not same_value(d[i], s[i])
        ]
        assert not diffs, f"column {name}: {len(diffs)} rows differ, e.g. {diffs[:3]}"


def read_output(path: Path) -> pa.Table:
    if path.is_dir():
        import pyarrow.dataset as ds

        return ds.dataset(path, format="parquet", partitioning="hive").to_table()
    return pq.read_table(path)
