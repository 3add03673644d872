"""`veil.run` end to end on DuckDB: outputs, manifest, audit, atomicity and bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import veil
from veil.audit import AuditLog
from veil.policy.model import Policy

from .conftest import KEY_ENV


def base_policy(source: str, output: str | dict[str, Any], **extra: Any) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "name": "t",
        "source": {"path": source},
        "output": output if isinstance(output, dict) else {"path": output},
        "keys": {"main": {"env": KEY_ENV}},
        "columns": {
            "id": {"class": "identifier", "transform": {"type": "pseudonymize", "key": "main"}},
            "amount": {
                "class": "sensitive",
                "transform": {
                    "type": "noise",
                    "distribution": "multiplicative",
                    "percent": 5,
                    "key": "main",
                },
            },
            "day": {
                "class": "quasi_identifier",
                "transform": {"type": "generalize", "method": "date", "unit": "month"},
            },
        },
    }
    policy.update(extra)
    return policy


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


GOOD_CSV = "id,amount,day,secret\na1,10.5,2024-03-05,s1\na2,20,2024-04-30,s2\n,30,2024-05-01,s3\n"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(directory: Path) -> list[str]:
    return [
        p.name for p in directory.rglob("*") if ".veil-tmp-" in p.name or ".veil-old-" in p.name
    ]


def test_run_csv_to_parquet_with_manifest_and_audit(tmp_path: Path, write_policy, environ) -> None:
    write_csv(tmp_path / "in.csv", GOOD_CSV)
    policy = write_policy(base_policy("in.csv", "out/result.parquet"))
    result = veil.run(policy, environ=environ)
    table = pq.read_table(result.output)
    assert table.column_names == ["id", "amount", "day"]  # 'secret' is unlisted: dropped by default
    assert table.num_rows == 3
    ids = table.column("id").to_pylist()
    assert ids[2] is None and len(ids[0]) == 32 and ids[0] != ids[1]
    assert [str(d) for d in table.column("day").to_pylist()] == [
        "2024-03-01",
        "2024-04-01",
        "2024-05-01",
    ]
    m = json.loads(result.manifest_path.read_text())
    assert m["rows"] == {"in": 3, "out": 3, "quarantined": 0, "suppressed": 0}
    assert m["policy"]["sha256"] == sha(policy)
    assert m["input"]["files"][0]["size"] == (tmp_path / "in.csv").stat().st_size
    assert m["dropped_columns"] == ["secret"]
    assert m["engine"]["name"] == "duckdb" and m["engine"]["version"] == duckdb.__version__
    assert m["keys"][0]["name"] == "main" and len(m["keys"][0]["fingerprint"]) == 16
    assert {c["name"]: c["transform"] for c in m["columns"]}["day"] == "generalize/date"
    log = AuditLog(tmp_path / ".veil" / "audit.jsonl")
    records = list(log.records())
    assert [r["event"] for r in records] == ["run.completed"]
    assert records[0]["data"]["rows"]["out"] == 3
    assert log.verify().ok
    assert leftovers(tmp_path) == []


def test_pseudonyms_are_stable_across_runs_and_change_with_key(
    tmp_path: Path, write_policy, environ
) -> None:
    write_csv(tmp_path / "in.csv", GOOD_CSV)
    policy = write_policy(base_policy("in.csv", {"path": "out.parquet", "overwrite": True}))
    first = pq.read_table(veil.run(policy, environ=environ).output).column("id").to_pylist()
    second = pq.read_table(veil.run(policy, environ=environ).output).column("id").to_pylist()
    assert first == second
    other = (
        pq.read_table(veil.run(policy, environ={KEY_ENV: "ab" * 32}).output)
        .column("id")
        .to_pylist()
    )
    assert other[0] != first[0] and other[1] != first[1]


def test_existing_output_is_not_replaced_without_overwrite(
    tmp_path: Path, write_policy, environ
) -> None:
    write_csv(tmp_path / "in.csv", GOOD_CSV)
    (tmp_path / "out.parquet").write_bytes(b"precious")
    policy = write_policy(base_policy("in.csv", "out.parquet"))
    with pytest.raises(veil.OutputError, match="already exists"):
        veil.run(policy, environ=environ)
    assert (tmp_path / "out.parquet").read_bytes() == b"precious"


@pytest.mark.parametrize(
    ("text", "line", "column", "fragment"),
    [
        (
            "id,amount,day\na1,1,2024-01-01\na2,2,2024-01-02,extra\n",
            3,
            None,
            "expected 3 fields, found 4",
        ),
        (
            "id,amount,day\na1,1,2024-01-01\na2,1,2024-01-02\na3,lots,2024-01-02\n",
            4,
            "amount",
            "not a valid DOUBLE",
        ),
        ("id,amount,day\na1,1,2024-01-01\na2,2,2024-13-45\n", 3, "day", "not a valid DATE"),
    ],
)
def test_bad_rows_fail_with_file_line_and_column(
    tmp_path: Path, write_policy, environ, text: str, line: int, column: str | None, fragment: str
) -> None:
    src = write_csv(tmp_path / "in.csv", text)
    before = sha(src)
    (tmp_path / "out.parquet").write_bytes(b"old output")
    policy = write_policy(base_policy("in.csv", {"path": "out.parquet", "overwrite": True}))
    with pytest.raises(veil.DataError) as info:
        veil.run(policy, environ=environ)
    err = info.value
    assert err.line == line and err.column == column
    assert str(src) in str(err) and f"line {line}" in str(err) and fragment in str(err)
    assert "lots" not in str(err) and "2024-13-45" not in str(err)  # no data values in errors
    assert sha(src) == before  # input untouched
    assert (tmp_path / "out.parquet").read_bytes() == b"old output"  # old output untouched
    assert leftovers(tmp_path) == []
    records = list(AuditLog(tmp_path / ".veil" / "audit.jsonl").records())
    assert records[-1]["event"] == "run.failed" and records[-1]["data"]["error"] == "DataError"


def test_encoding_error_is_reported_with_line(tmp_path: Path, write_policy, environ) -> None:
    (tmp_path / "in.csv").write_bytes(b"id,amount,day\na1,1,2024-01-01\na\xff\xfe2,2,2024-01-02\n")
    policy = write_policy(base_policy("in.csv", "out.parquet"))
    with pytest.raises(veil.DataError, match=r"line 3: bytes that are not valid"):
        veil.run(policy, environ=environ)
    assert not (tmp_path / "out.parquet").exists()


def test_quarantine_keeps_good_rows_and_counts_bad_ones(
    tmp_path: Path, write_policy, environ
) -> None:
    write_csv(
        tmp_path / "in.csv",
        "id,amount,day\na1,1,2024-01-01\na2,oops,2024-01-02\na3,3,2024-01-03,extra\na4,4,2024-01-04\n",
    )
    policy = write_policy(
        base_policy("in.csv", "out.parquet", on_error="quarantine", quarantine={"path": "bad.csv"})
    )
    result = veil.run(policy, environ=environ)
    assert result.manifest["rows"] == {"in": 4, "out": 2, "quarantined": 2, "suppressed": 0}
    bad = pd.read_csv(tmp_path / "bad.csv")
    assert sorted(bad["line"].tolist()) == [3, 4]
    assert set(bad["error"]) == {"CAST", "TOO MANY COLUMNS"}
    assert pq.read_table(result.output).num_rows == 2


def test_column_missing_from_data_is_refused_with_hint(
    tmp_path: Path, write_policy, environ
) -> None:
    write_csv(tmp_path / "in.csv", "id,amount,dya\na,1,2024-01-01\n")
    policy = write_policy(base_policy("in.csv", "out.parquet"))
    with pytest.raises(
        veil.PolicyError,
        match=r"columns.day: column 'day' is not in the data; did you mean 'dya'\?",
    ):
        veil.run(policy, environ=environ)
    assert not (tmp_path / "out.parquet").exists()


def test_missing_key_is_a_clear_error(tmp_path: Path, write_policy) -> None:
    write_csv(tmp_path / "in.csv", GOOD_CSV)
    policy = write_policy(base_policy("in.csv", "out.parquet"))
    with pytest.raises(veil.KeyMaterialError, match=f"environment variable {KEY_ENV} is not set"):
        veil.run(policy, environ={})
    with pytest.raises(veil.KeyMaterialError, match="at least 32"):
        veil.run(policy, environ={KEY_ENV: "abcd"})


def test_uncovered_hierarchy_value_fails_whole_job(tmp_path: Path, write_policy, environ) -> None:
    write_csv(tmp_path / "in.csv", "id,country\na,US\nb,FR\n")
    (tmp_path / "h.csv").write_text("US;America;*\nDE;Europe;*\n")
    policy = write_policy(
        {
            "name": "h",
            "source": {"path": "in.csv"},
            "output": {"path": "out.parquet"},
            "columns": {
                "id": {"class": "insensitive"},
                "country": {
                    "class": "quasi_identifier",
                    "transform": {
                        "type": "generalize",
                        "method": "hierarchy",
                        "file": "h.csv",
                        "level": 1,
                    },
                },
            },
        }
    )
    with pytest.raises(veil.DataError, match="not covered by hierarchy"):
        veil.run(policy, environ=environ)
    assert not (tmp_path / "out.parquet").exists() and leftovers(tmp_path) == []


def test_partitioned_parquet_and_other_formats(tmp_path: Path, write_policy, environ) -> None:
    write_csv(tmp_path / "in.csv", GOOD_CSV)
    pol = base_policy("in.csv", {"path": "parts", "partition_by": ["day"]})
    result = veil.run(write_policy(pol), environ=environ)
    assert result.output.is_dir()
    assert sorted(p.name for p in result.output.iterdir()) == [
        "day=2024-03-01",
        "day=2024-04-01",
        "day=2024-05-01",
    ]
    assert duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{result.output}/**/*.parquet')"
    ).fetchall() == [(3,)]
    for fmt, name in (("csv", "o.csv"), ("jsonl", "o.jsonl")):
        r = veil.run(write_policy(base_policy("in.csv", name), name=f"{fmt}.yaml"), environ=environ)
        assert r.manifest["output"]["format"] == fmt
        text = r.output.read_text()
        ids = (
            [json.loads(line)["id"] for line in text.splitlines()]
            if fmt == "jsonl"
            else [row.split(",")[0] for row in text.splitlines()[1:]]
        )
        # Raw ids are replaced (a hex pseudonym may contain "a1" by chance: compare whole values).
        assert not {"a1", "a2"} & set(ids) and "s1" not in text and "2024-03-01" in text


def test_glob_directory_and_jsonl_sources(tmp_path: Path, write_policy, environ) -> None:
    d = tmp_path / "in"
    d.mkdir()
    write_csv(d / "part1.csv", "id,amount,day\na1,1,2024-01-01\n")
    write_csv(d / "part2.csv", "id,amount,day\na2,2,2024-02-02\n")
    pol = base_policy("in", "o1.parquet")
    pol["source"]["format"] = "csv"
    r1 = veil.run(write_policy(pol, name="p1.yaml"), environ=environ)
    r2 = veil.run(
        write_policy(base_policy("in/*.csv", "o2.parquet"), name="p2.yaml"), environ=environ
    )
    assert r1.rows_out == r2.rows_out == 2
    assert len(r1.manifest["input"]["files"]) == 2
    (tmp_path / "in.jsonl").write_text('{"id": "a1", "amount": 1.5, "day": "2024-01-09"}\n')
    pol = base_policy("in.jsonl", "o3.parquet")
    r3 = veil.run(write_policy(pol, name="p3.yaml"), environ=environ)
    assert r3.rows_out == 1


def test_output_may_not_overwrite_input(tmp_path: Path, write_policy, environ) -> None:
    write_csv(tmp_path / "in.csv", GOOD_CSV)
    policy = write_policy(base_policy("in.csv", {"path": "in.csv", "overwrite": True}))
    with pytest.raises(veil.PolicyError, match="inputs are never modified"):
        veil.run(policy, environ=environ)
    assert (tmp_path / "in.csv").read_text() == GOOD_CSV


def _in_memory_policy() -> Policy:
    return Policy.model_validate(
        {
            "name": "mem",
            "keys": {"main": {"env": KEY_ENV}},
            "unlisted_columns": "keep",
            "columns": {
                "id": {
                    "class": "identifier",
                    "transform": {"type": "pseudonymize", "key": "main", "length": 16},
                },
                "card": {"class": "identifier", "transform": {"type": "mask", "keep_last": 4}},
            },
        }
    )


@pytest.mark.parametrize("kind", ["arrow", "pandas", "polars"])
def test_anonymize_in_memory_tables(kind: str, environ) -> None:
    data = {
        "id": ["x", "y", None],
        "card": ["4111-1111-1111-1234", None, "5500 0000 0000 0004"],
        "n": [1, 2, 3],
    }
    table: Any = {
        "arrow": pa.table(data),
        "pandas": pd.DataFrame(data),
        "polars": pl.DataFrame(data),
    }[kind]
    out = veil.anonymize(table, _in_memory_policy(), environ=environ)
    assert isinstance(out, pa.Table)
    assert out.column("card").to_pylist() == ["XXXX-XXXX-XXXX-1234", None, "XXXX XXXX XXXX 0004"]
    assert out.column("n").to_pylist() == [1, 2, 3]
    ids = out.column("id").to_pylist()
    assert ids[2] is None and len(ids[0]) == 16


def test_in_memory_and_file_runs_agree(tmp_path: Path, write_policy, environ) -> None:
    write_csv(tmp_path / "in.csv", GOOD_CSV)
    from_file = pq.read_table(
        veil.run(write_policy(base_policy("in.csv", "o.parquet")), environ=environ).output
    )
    in_memory = veil.anonymize(
        pa.table(
            {
                "id": ["a1", "a2", None],
                "amount": [10.5, 20.0, 30.0],
                "day": pa.array([19787, 19843, 19844], pa.date32()),
            }
        ),
        write_policy(base_policy("in.csv", "unused.parquet"), name="mem.yaml"),
        environ=environ,
    )
    assert from_file.column("id").to_pylist() == in_memory.column("id").to_pylist()
    assert from_file.column("amount").to_pylist() == in_memory.column("amount").to_pylist()


def test_example_policy_runs_on_generated_data(
    tmp_path: Path, customers_csv: Path, key_hex: str
) -> None:
    import shutil

    from .conftest import ROOT

    ex = tmp_path / "ex"
    shutil.copytree(
        ROOT / "examples" / "customers", ex, ignore=shutil.ignore_patterns("data", "out", ".veil")
    )
    (ex / "data").mkdir()
    shutil.copy(customers_csv, ex / "data" / "customers.csv")
    (ex / ".veil").mkdir()
    key = ex / ".veil" / "demo.key"
    key.write_text(key_hex)
    key.chmod(0o600)
    result = veil.run(ex / "policy.yaml")
    out = pq.read_table(result.output).to_pandas()
    src = pd.read_csv(customers_csv)
    assert len(out) == len(src) == 3000
    assert "city" not in out.columns
    assert out["card_number"].str.fullmatch(r"XXXX-XXXX-XXXX-\d{4}").all()
    assert out["zip"].dropna().str.fullmatch(r"\d{3}\*\*").all()
    assert not set(out["customer_id"]) & set(src["customer_id"])
    assert out["notes"].isna().all()
    assert AuditLog(ex / ".veil" / "audit.jsonl").verify().ok


def test_row_order_is_preserved(environ) -> None:
    n = 300_000
    table = pa.table({"n": pa.array(range(n)), "name": pa.array([f"p{i % 977}" for i in range(n)])})
    policy = Policy.model_validate(
        {
            "name": "order",
            "keys": {"k": {"env": KEY_ENV}},
            "unlisted_columns": "keep",
            "columns": {
                "name": {
                    "class": "identifier",
                    "transform": {"type": "fake", "kind": "name", "key": "k", "pool_size": 500},
                },
            },
        }
    )
    out = veil.anonymize(table, policy, environ=environ)
    assert out.column("n").to_pylist() == list(range(n))
    names = out.column("name").to_pylist()
    assert names[0] == names[977] and names[0] != table.column("name")[0].as_py()


def test_anonymize_audits_policy_files_and_refuses_unsuitable_column_types(
    tmp_path: Path, write_policy, environ, key_hex: str
) -> None:
    policy = write_policy(base_policy("unused.csv", "unused.parquet"))
    table = pa.table(
        {
            "id": ["a", "b", None],
            "amount": [1.0, 2.0, 3.0],
            "day": pa.array([19000, 19001, 19002], pa.date32()),
        }
    )
    out = veil.anonymize(table, policy, environ=environ)
    assert out.num_rows == 3
    log = tmp_path / ".veil" / "audit.jsonl"
    (record,) = [r for r in AuditLog(log).records() if r["event"] == "anonymize.completed"]
    assert record["data"]["rows"] == {"in": 3, "out": 3}
    assert record["data"]["engine"] == "duckdb"
    assert [k["name"] for k in record["data"]["keys"]] == ["main"]
    assert key_hex not in log.read_text()

    bad = table.set_column(2, "day", pa.array(["2024-01-01", "x", None]))
    with pytest.raises(veil.DataError, match="column 'day' is VARCHAR; its transform needs a date"):
        veil.anonymize(bad, policy, environ=environ)
    in_memory = Policy.model_validate(base_policy("unused.csv", "unused.parquet"))
    veil.anonymize(table, in_memory, environ=environ)  # no file, so no audit log of its own
    assert len([r for r in AuditLog(log).records() if r["event"] == "anonymize.completed"]) == 1
