"""The policy's privacy section on Spark: the histogram computed by a Spark GROUP BY, the
search on it, the generalization applied by Spark. Every result must equal the embedded
engine's: the same records kept and suppressed, the same generalized values, the same manifest
(levels, suppressed records, class statistics, metrics)."""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

import veil
from veil.audit import AuditLog
from veil.errors import PrivacyUnmetError

from ..test_privacy_run import ARX, adult_policy, adult_table, csv_with_bad_rows
from .conftest import assert_same_tables
from .test_parity import run_both

pytestmark = pytest.mark.slow

TIMING_FIELDS = {"elapsed_seconds"}


def comparable(value: Any) -> Any:
    """A search report as comparable data: timings (which no two runs share) left out, NaN
    (a metric undefined for the algorithm) equal to NaN."""
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in TIMING_FIELDS}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def search_report(manifest: dict[str, Any]) -> Any:
    assert manifest["privacy"] is not None
    return comparable(manifest["privacy"])


def assert_same_run(duck: veil.RunResult, spark_run: veil.RunResult) -> None:
    assert spark_run.manifest["engine"]["name"] == "spark"
    assert_same_tables(pq.read_table(duck.output), pq.read_table(spark_run.output))
    assert search_report(spark_run.manifest) == search_report(duck.manifest)
    assert spark_run.manifest["rows"] == duck.manifest["rows"]
    assert spark_run.manifest["columns"] == duck.manifest["columns"]


def test_adult_example_is_identical_and_matches_arx(spark: Any, tmp_path: Path) -> None:
    levels, suppressed, loss = ARX[0.01]
    duck, spark_run = run_both(adult_policy(tmp_path), {})
    assert_same_run(duck, spark_run)
    privacy = spark_run.manifest["privacy"]
    assert privacy["levels"] == levels
    assert privacy["suppressed_records"] == suppressed
    assert privacy["metric_value"] == pytest.approx(loss, abs=5e-6)
    assert spark_run.manifest["rows"]["out"] == 30162 - suppressed


def test_adult_dry_run_on_spark_writes_nothing(spark: Any, tmp_path: Path) -> None:
    policy = adult_policy(tmp_path)
    duck = veil.run(policy, dry_run=True)
    spark_run = veil.run(policy, dry_run=True, engine="spark")
    assert spark_run.manifest["dry_run"] is True
    assert spark_run.manifest["engine"]["name"] == "spark"
    assert search_report(spark_run.manifest) == search_report(duck.manifest)
    assert spark_run.manifest["columns"] == duck.manifest["columns"]
    assert not (tmp_path / "out.parquet").exists()


# Values whose text differs between Spark's own CAST and DuckDB's (1e+20 vs 1.0E20,
# 12345678.5 vs 1.23456785E7): the tree below names DuckDB's text, so a Spark histogram that
# wrote Spark's would find them uncovered.
SCORES = [0.5, 1.5, 0.1 + 0.2, 2.0, -0.0, 12345678.5, 1e20]
SCORE_TREE = {
    "*": {
        "small": ["0.5", "1.5", "0.30000000000000004", "2.0", "-0.0"],
        "large": ["12345678.5", "1e+20"],
    }
}
DISEASES = ["flu", "cold", "covid", "asthma", None]


def patients(n: int = 3000, seed: int = 7) -> pa.Table:
    """Typed quasi-identifiers (DOUBLE, DATE, BIGINT, text) and a sensitive attribute with
    NULLs; ``_rid`` identifies each record, so kept and suppressed records are compared."""
    rng = random.Random(seed)
    start = dt.date(2019, 1, 1)
    return pa.table(
        {
            "_rid": list(range(n)),
            "score": [rng.choice(SCORES) for _ in range(n)],
            "day": [start + dt.timedelta(days=rng.randrange(1500)) for _ in range(n)],
            "age": [rng.randrange(18, 90) for _ in range(n)],
            "zip": [rng.choice(["90210", "90211", "90299", "10001", "10002"]) for _ in range(n)],
            "disease": [rng.choice(DISEASES) for _ in range(n)],
        }
    )


def patients_policy(directory: Path, algorithm: str, suppression_limit: float) -> Path:
    pq.write_table(patients(), directory / "patients.parquet")
    doc = {
        "version": 1,
        "name": "patients",
        "source": {"path": "patients.parquet"},
        "output": {"path": "out.parquet", "overwrite": True},
        "columns": {
            "_rid": {"class": "insensitive"},
            **{qi: {"class": "quasi_identifier"} for qi in ("score", "day", "age", "zip")},
            "disease": {"class": "sensitive"},
        },
        "privacy": {
            "quasi_identifiers": {
                "score": {"type": "tree", "tree": SCORE_TREE},
                "day": {"type": "date", "levels": ["month", "year"]},
                "age": {"type": "interval", "width": 5, "fanouts": [2, 2]},
                "zip": {"type": "prefix"},
            },
            "sensitive": ["disease"],
            "models": [
                {"type": "k-anonymity", "k": 3},
                {"type": "distinct-l-diversity", "attribute": "disease", "l": 2},
                {"type": "t-closeness", "attribute": "disease", "t": 0.5},
            ],
            "suppression_limit": suppression_limit,
            "metric": "loss",
            "algorithm": algorithm,
        },
    }
    path = directory / "policy.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


@pytest.mark.parametrize(("algorithm", "limit"), [("optimal", 0.02), ("mondrian", 0.0)])
def test_l_diversity_and_t_closeness_are_identical(
    spark: Any, tmp_path: Path, algorithm: str, limit: float
) -> None:
    duck, spark_run = run_both(patients_policy(tmp_path, algorithm, limit), {})
    assert_same_run(duck, spark_run)
    assert spark_run.manifest["privacy"]["models"] == [
        "3-anonymity",
        "distinct 2-diversity of disease",
        "0.5-closeness of disease (equal distance)",
    ]
    scores = set(pq.read_table(spark_run.output).column("score").to_pylist())
    # Generalized values are built from DuckDB's text of the DOUBLEs, never Java's (1.0E20).
    assert scores and not any("E" in s for s in scores)
    if algorithm == "optimal":
        # Some records kept, some suppressed; scores are labels of the tree.
        assert 0 < spark_run.manifest["rows"]["suppressed"] <= 3000 * limit
        labels = {"small", "large", "*", *SCORE_TREE["*"]["small"], *SCORE_TREE["*"]["large"]}
        assert scores <= labels


def test_unmet_models_raise_and_write_nothing(spark: Any, tmp_path: Path) -> None:
    policy = adult_policy(tmp_path, models=[{"type": "k-anonymity", "k": 40000}])
    with pytest.raises(PrivacyUnmetError) as on_duck:
        veil.run(policy)
    with pytest.raises(PrivacyUnmetError) as on_spark:
        veil.run(policy, engine="spark")
    assert on_spark.value.exit_code == 10
    assert "No output was written" in str(on_spark.value)
    assert comparable(on_spark.value.best) == comparable(on_duck.value.best)
    assert not (tmp_path / "out.parquet").exists()
    assert not list(tmp_path.glob("*.parts")) and not list(tmp_path.glob(".*out.parquet*"))
    last = list(AuditLog(tmp_path / ".veil" / "audit.jsonl").records())[-1]
    assert last["event"] == "run.failed" and last["data"]["engine"] == "spark"
    assert last["data"]["error"] == "PrivacyUnmetError"


def test_privacy_with_quarantine_is_identical(spark: Any, tmp_path: Path) -> None:
    import csv

    def raw_lines() -> list[str]:
        with open(tmp_path / "bad.csv", newline="", encoding="utf-8") as fh:
            return sorted(r[4] for r in list(csv.reader(fh))[1:])

    policy = csv_with_bad_rows(tmp_path)
    duck = veil.run(policy)
    duck_bad = raw_lines()
    spark_run = veil.run(policy, engine="spark")
    assert_same_run(duck, spark_run)
    assert spark_run.manifest["rows"]["quarantined"] == 3
    spark_bad = raw_lines()
    assert spark_bad == duck_bad, (spark_bad, duck_bad)
    assert len(duck_bad) == 3


def test_anonymize_a_dataframe_applies_the_privacy_models(spark: Any, tmp_path: Path) -> None:
    policy = adult_policy(tmp_path, suppression_limit=0.01)
    table = adult_table()
    expected = veil.anonymize(table, policy)
    got = veil.anonymize(spark.createDataFrame(table), policy).toArrow()
    assert got.num_rows == 30162 - ARX[0.01][1]
    key = [(c, "ascending") for c in expected.column_names]
    assert_same_tables(expected.sort_by(key), got.select(expected.column_names).sort_by(key))
