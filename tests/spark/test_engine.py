"""The Spark engine's edges: the SQL rewrite rules in isolation (checked against DuckDB), what it
refuses and how errors come out, the CLI."""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

import veil
from veil.cli import main
from veil.engines import sql
from veil.engines.spark_engine import SparkEngine, strptime_to_java
from veil.engines.spark_udfs import double_text, libm_ln

from ..conftest import KEY_ENV

pytestmark = pytest.mark.slow


# ---------------------------------------------------------------- rules, without Spark


def test_double_text_is_duckdb_cast() -> None:
    r = random.Random(3)
    values = [
        0.0,
        -0.0,
        1e16,
        1e15,
        1e-5,
        1e-4,
        5e-324,
        1.7976931348623157e308,
        math.inf,
        -math.inf,
        math.nan,
    ]
    values += [r.uniform(-1, 1) * 10 ** r.randint(-30, 30) for _ in range(20000)]
    values += [round(r.uniform(0, 1e6), 2) for _ in range(5000)]
    con = duckdb.connect()
    con.register("t", pa.table({"x": pa.array(values, pa.float64())}))
    expected = [row[0] for row in con.execute("SELECT CAST(x AS VARCHAR) FROM t").fetchall()]
    assert [double_text(v) for v in values] == expected


def test_libm_helpers_are_duckdb_functions() -> None:
    r = random.Random(4)
    values = [r.random() for _ in range(20000)] + [0.0, 1.0, 5e-324, -1.0]
    con = duckdb.connect()
    con.register("t", pa.table({"x": pa.array(values, pa.float64())}))
    rows = con.execute("SELECT LN(x), COS(x * 6.283185307179586) FROM t").fetchall()
    for v, (ln, cos) in zip(values, rows, strict=True):
        got = libm_ln(v)
        assert got == ln or (math.isnan(got) and math.isnan(ln))
        assert math.cos(v * 6.283185307179586) == cos


@pytest.mark.parametrize(
    ("re2", "java"),
    [
        (r"^(.*)(@[^@]*)$", r"^([^\n]*)(@[^@]*)\z"),
        (r"[\s\S]", r"[\t\n\f\r [^\t\n\f\r ]]"),
        (r"^\s+|\s+$", r"^[\t\n\f\r ]+|[\t\n\f\r ]+\z"),
        (r"[\p{L}\p{N}]", r"[\p{L}\p{N}]"),
        (r"[]a]", r"[\]a]"),
        (r"[^]a]", r"[^\]a]"),
        (r"a[[b]&&c]", r"a[\[b]&&c]"),
        (r"[a&&b]", r"[a\&&b]"),
        (r"(?i)ab(?i:c)", r"(?iu)ab(?iu:c)"),
        (r"(?P<x>a)", r"(?<x>a)"),
        (
            r"\bx\B",
            "(?:(?<=[A-Za-z0-9_])(?![A-Za-z0-9_])|(?<![A-Za-z0-9_])(?=[A-Za-z0-9_]))x"
            "(?:(?<=[A-Za-z0-9_])(?=[A-Za-z0-9_])|(?<![A-Za-z0-9_])(?![A-Za-z0-9_]))",
        ),
    ],
)
def test_re2_to_java(re2: str, java: str) -> None:
    assert sql.re2_to_java(re2) == java


@pytest.mark.parametrize(
    "pattern", [r"(?s).", r"(?m)^a$", r"(?=a)", r"[[:alpha:]]", r"\1", r"\Qa.b\E", r"\Z", "[a"]
)
def test_re2_constructs_that_differ_are_refused(pattern: str) -> None:
    tree = sql.regexp_replace(sql.col("x", "s"), pattern, "y")
    with pytest.raises(veil.EngineError, match="Spark"):
        sql.render(tree, "spark")


def test_regexp_replacement_with_dollar_is_refused() -> None:
    with pytest.raises(veil.EngineError):
        sql.render(sql.regexp_replace(sql.col("x"), "a", "$1"), "spark")


@pytest.mark.parametrize(
    ("expr", "types", "message"),
    [
        (
            sql.date_trunc("month", sql.col("t", "s")),
            {"t": "TIMESTAMP WITH TIME ZONE"},
            "time zone",
        ),
        (sql.cast(sql.col("t", "s"), "VARCHAR"), {"t": "TIMESTAMP WITH TIME ZONE"}, "time zone"),
        (
            sql.add_days(sql.col("t", "s"), sql.lit(1)),
            {"t": "TIMESTAMP WITH TIME ZONE"},
            "time zone",
        ),
        (sql.cast(sql.col("f", "s"), "VARCHAR"), {"f": "FLOAT"}, "FLOAT"),
        (sql.cast(sql.col("b", "s"), "VARCHAR"), {"b": "BLOB"}, "BLOB"),
        (sql.cast(sql.col("x", "s"), "TIMESTAMP_NS"), {"x": "VARCHAR"}, "TIMESTAMP_NS"),
        (sql.cast(sql.col("x", "s"), "HUGEINT"), {"x": "VARCHAR"}, "INT128"),
    ],
)
def test_what_spark_cannot_do_identically_is_refused(
    expr: Any, types: dict[str, str], message: str
) -> None:
    with pytest.raises(veil.EngineError, match=message):
        prepared = sql.prepare_for_spark(expr, {"s": types})
        sql.render(prepared.tree, "spark")


def test_duckdb_rendering_is_unchanged_by_spark_rules() -> None:
    expr = sql.func("ROUND", sql.floor(sql.cast(sql.col("x", "s"), "DOUBLE")), sql.lit(2))
    assert sql.render(expr, "duckdb") == 'ROUND(FLOOR(CAST("s"."x" AS DOUBLE)), 2)'
    spark_sql = sql.render(sql.prepare_for_spark(expr, {"s": {"x": "DOUBLE"}}).tree, "spark")
    assert "BIGINT" not in spark_sql and "4503599627370496.0D" in spark_sql


def test_strptime_formats() -> None:
    assert strptime_to_java("%d/%m/%Y") == "dd/MM/yyyy"
    assert strptime_to_java("%Y-%m-%dT%H:%M:%S.%f") == "yyyy-MM-dd'T'HH:mm:ss.SSSSSS"
    with pytest.raises(veil.EngineError):
        strptime_to_java("%G-W%V")


# ---------------------------------------------------------------- on Spark


def _policy(tmp_path: Path, source: str, columns: dict[str, Any], **extra: Any) -> Path:
    doc = {
        "name": "edge",
        "source": {"path": source},
        "output": {"path": "out.parquet", "overwrite": True},
        "keys": {"main": {"env": KEY_ENV}},
        "columns": columns,
        **extra,
    }
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_errors_raised_by_the_plan_are_the_same(
    spark: Any, tmp_path: Path, environ: dict[str, str]
) -> None:
    pq.write_table(
        pa.table({"b": pa.array([dt.date(1990, 1, 1), dt.date(2030, 1, 1)]), "c": ["US", "XX"]}),
        tmp_path / "in.parquet",
    )
    for column, transform in [
        ("b", {"type": "generalize", "method": "age", "as_of": "2026-01-01"}),
        ("c", {"type": "generalize", "method": "hierarchy", "file": "h.csv", "level": 1}),
    ]:
        (tmp_path / "h.csv").write_text("US;North America\nCA;North America\n")
        policy = _policy(
            tmp_path, "in.parquet", {column: {"class": "quasi_identifier", "transform": transform}}
        )
        with pytest.raises(veil.DataError) as duck:
            veil.run(policy, environ=environ)
        with pytest.raises(veil.DataError) as on_spark:
            veil.run(policy, environ=environ, engine="spark")
        assert str(on_spark.value) == str(duck.value)
        assert not (tmp_path / "out.parquet").exists()


def test_malformed_csv_fails_without_quoting_data(
    spark: Any, tmp_path: Path, environ: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "in.csv").write_text("id,amount\na,1.5\nb,2.5\nc,secret-value\n" + "d,4\n" * 30000)
    policy = _policy(
        tmp_path,
        "in.csv",
        {
            "amount": {
                "class": "sensitive",
                "transform": {
                    "type": "noise",
                    "distribution": "laplace",
                    "scale": 1,
                    "key": "main",
                },
            }
        },
    )
    with pytest.raises(veil.DataError) as info:
        veil.run(policy, environ=environ, engine="spark")
    assert "secret-value" not in str(info.value)
    assert "in.csv" in str(info.value)
    logged = capfd.readouterr()
    assert "secret-value" not in logged.out + logged.err  # neither PySpark's nor the JVM's logs
    assert not (tmp_path / "out.parquet").exists()
    assert not [p for p in tmp_path.iterdir() if ".veil-tmp-" in p.name]


def test_refusals_reach_the_user(spark: Any, tmp_path: Path, environ: dict[str, str]) -> None:
    (tmp_path / "in.csv").write_text("id,v\na,1\n")
    policy = _policy(tmp_path, "in.csv", {"id": {"class": "insensitive"}})
    doc = yaml.safe_load(policy.read_text())
    doc["source"]["csv"] = {"null_strings": ["NA"]}
    policy.write_text(yaml.safe_dump(doc))
    with pytest.raises(veil.EngineError, match="null string"):
        veil.run(policy, environ=environ, engine="spark")
    with pytest.raises(veil.EngineError, match="veil.nope"):
        veil.run(policy, environ=environ, engine="spark", spark_conf={"veil.nope": "1"})

    tz = pa.array([dt.datetime(2024, 1, 2, 3, 4, 5)], pa.timestamp("us", tz="UTC"))
    pq.write_table(pa.table({"t": tz, "f": pa.array([1.5], pa.float32())}), tmp_path / "tz.parquet")
    for column, transform, message in [
        ("t", {"type": "generalize", "method": "date", "unit": "month"}, "time zone"),
        ("f", {"type": "pseudonymize", "key": "main"}, "FLOAT"),
    ]:
        policy = _policy(
            tmp_path, "tz.parquet", {column: {"class": "quasi_identifier", "transform": transform}}
        )
        veil.run(policy, environ=environ)  # DuckDB runs it...
        with pytest.raises(veil.EngineError, match=message):  # ...Spark refuses, never differs
            veil.run(policy, environ=environ, engine="spark")


def test_cli_runs_on_spark(spark: Any, tmp_path: Path, key_hex: str) -> None:
    (tmp_path / "in.csv").write_text("id,amount,day\na1,10.5,2024-03-05\na2,20,2024-04-30\n")
    policy = _policy(
        tmp_path,
        "in.csv",
        {
            "id": {"class": "identifier", "transform": {"type": "pseudonymize", "key": "main"}},
            "day": {
                "class": "quasi_identifier",
                "transform": {"type": "date_shift", "key": "main", "by": "id"},
            },
        },
    )
    res = CliRunner().invoke(
        main,
        ["run", str(policy), "--engine", "spark", "--conf", "spark.sql.shuffle.partitions=2"],
        env={KEY_ENV: key_hex},
    )
    assert res.exit_code == 0, res.output
    assert key_hex not in res.output
    manifest = (tmp_path / "out.parquet.manifest.json").read_text()
    assert '"name": "spark"' in manifest
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 2


def test_engine_reuses_a_given_session(spark: Any) -> None:
    engine = SparkEngine(session=spark)
    assert engine.session() is spark
    assert engine.version == spark.version
    df = spark.createDataFrame(
        pa.table({"a": [1, 2], "t": pa.array([dt.datetime(2024, 1, 1)] * 2, pa.timestamp("us"))})
    )
    assert engine.table_schema(df) == {"a": "BIGINT", "t": "TIMESTAMP WITH TIME ZONE"}
