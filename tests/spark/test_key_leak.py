"""On Spark too, key material (keys, derived subkeys, HMAC pads) never appears in SQL text,
query plans (explain), the event log (what the Spark UI and history server show), manifests,
audit records or error messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

import veil
from veil.engines import sql
from veil.engines.spark_engine import SparkEngine
from veil.io.files import resolve_files
from veil.plan import build_plan
from veil.policy.load import load_policy
from veil.run import _key_provider, required_kinds

from ..test_key_leak import PURPOSES, assert_clean, policy_path, secret_strings  # noqa: F401

pytestmark = pytest.mark.slow


def test_spark_sql_plans_and_event_log_hold_no_key_material(
    spark: Any,
    spark_events: Path,
    policy_path: Path,  # noqa: F811
    key_hex: str,
    environ: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    loaded = load_policy(policy_path)
    engine = SparkEngine(session=spark)
    files = resolve_files(loaded.resolve("in.csv"), "csv")
    assert loaded.policy.source is not None
    schema, cols = engine.read_schema(loaded.policy.source, files, required_kinds(loaded))
    plan = build_plan(loaded, schema, _key_provider(loaded, environ))
    pad_columns = [c for c in plan.key_table.column_names if c.startswith("k")]
    assert len(pad_columns) == 2 * len(PURPOSES)
    pads = {v.hex() for c in pad_columns for v in plan.key_table.column(c).to_pylist()}
    assert pads and all(p in secret_strings(key_hex) for p in pads)

    src, _ = engine.source_frame(loaded.policy.source, files, cols)
    tables = {"s": engine.table_schema(src), "k": {c: "BLOB" for c in pad_columns}}
    prepared = sql.prepare_for_spark(plan.select(), tables, {})
    assert_clean(sql.render(prepared.tree, "spark"), key_hex)

    out = engine.apply(src, plan)
    rows = out.collect()
    assert len(rows) == 2
    # The context DataFrame really holds the pads (so the checks below mean something).
    for mode in ("extended", "formatted", "cost", "codegen"):
        out.explain(mode=mode)
    plans = capsys.readouterr().out
    assert "LocalRelation" in plans or "LocalTableScan" in plans
    assert_clean(plans, key_hex)
    assert_clean(str(out._jdf.queryExecution().toString()), key_hex)

    result = veil.run(policy_path, environ=environ, engine="spark")
    assert_clean(result.manifest_path.read_text(), key_hex)
    assert_clean((policy_path.parent / ".veil" / "audit.jsonl").read_text(), key_hex)
    assert_clean(result.output.read_bytes().hex(), key_hex)
    assert pq.read_table(result.output).num_rows == 2

    logs = [p for p in spark_events.rglob("*") if p.is_file()]
    assert logs, "the event log is enabled in the test session"
    text = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in logs)
    assert "SparkListenerSQLExecutionStart" in text  # plans are in the log...
    assert "__veil_context" in text
    assert_clean(text, key_hex)  # ...but no key material


def test_errors_on_spark_hold_no_data_or_keys(
    spark: Any,
    policy_path: Path,  # noqa: F811
    key_hex: str,
) -> None:
    bad = key_hex[:40]
    with pytest.raises(veil.KeyMaterialError) as info:
        veil.run(policy_path, environ={"VEIL_TEST_KEY": bad}, engine="spark")
    assert bad not in str(info.value)
