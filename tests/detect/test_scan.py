"""`veil scan` end to end: sampling, report, masked examples, draft policy that loads and runs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import veil
from veil.cli import main
from veil.detect import scan
from veil.detect.draft import default_output, draft_policy

EXPECTED = {
    "customer_id": ("record_id", "identifier"),
    "first_name": ("first_name", "identifier"),
    "last_name": ("last_name", "identifier"),
    "email": ("email", "identifier"),
    "phone": ("phone", "identifier"),
    "ssn": ("us_ssn", "identifier"),
    "card_number": ("credit_card", "identifier"),
    "birth_date": ("birth_date", "quasi_identifier"),
    "zip": ("postal_code", "quasi_identifier"),
    "city": ("city", "quasi_identifier"),
    "country": ("country", "quasi_identifier"),
    "salary": ("sensitive", "sensitive"),
    "signup_ts": ("date", "quasi_identifier"),
    "notes": ("free_text", "sensitive"),
}


@pytest.mark.parametrize("fixture", ["customers_csv", "customers_parquet"])
def test_scan_customers(fixture: str, request: pytest.FixtureRequest) -> None:
    path: Path = request.getfixturevalue(fixture)
    result = scan(path, sample_rows=2000)
    got = {c.name: (c.type, c.column_class) for c in result.columns}
    assert got == EXPECTED
    assert result.rows_sampled == 2000
    assert "reservoir" in result.sample_method
    card = result.column("card_number")
    assert card.evidence.checksum_rate == 1.0 and card.evidence.chance_rate is not None
    assert card.evidence.chance_rate < 0.2  # Luhn + issuer rules: far above chance
    assert card.evidence.name_hint in ("card", "card number")


def test_examples_are_masked_and_json_has_no_raw_values(customers_csv: Path) -> None:
    raw = pa.csv.read_csv(customers_csv) if hasattr(pa, "csv") else None
    import pyarrow.csv as pacsv

    raw = pacsv.read_csv(customers_csv)
    res = CliRunner().invoke(main, ["scan", str(customers_csv), "--json", "--sample-rows", "500"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    assert {c["name"] for c in payload["columns"]} == set(EXPECTED)
    text = res.output
    for col in ("email", "ssn", "card_number", "last_name", "phone"):
        for value in raw.column(col).to_pylist()[:200]:
            if value:
                assert str(value) not in text, (col, "raw value leaked")
    email = next(c for c in payload["columns"] if c["name"] == "email")
    assert all(set(e) <= set("xX#@.-_+") for e in email["evidence"]["examples"])


def test_sampling_is_repeatable(customers_parquet: Path) -> None:
    a = scan(customers_parquet, sample_rows=500, seed=3)
    b = scan(customers_parquet, sample_rows=500, seed=3)
    assert [c.as_dict() for c in a.columns] == [c.as_dict() for c in b.columns]


def test_draft_policy_loads_and_runs(customers_csv: Path, tmp_path: Path, key_hex: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    src = data / "customers.csv"
    src.write_bytes(customers_csv.read_bytes())
    policy = tmp_path / "policies" / "draft.yaml"
    res = CliRunner().invoke(
        main, ["scan", str(src), "--policy-out", str(policy), "--sample-rows", "1000"]
    )
    assert res.exit_code == 0, res.output
    text = policy.read_text()
    assert "env: VEIL_KEY" in text and "# Pseudonyms and fake values are keyed" in text
    assert "# detected credit_card" in text
    loaded = veil.load_policy(policy)
    assert loaded.policy.columns["card_number"].transform is not None
    assert loaded.policy.source is not None and loaded.policy.output is not None
    result = veil.run(
        loaded, environ={"VEIL_KEY": key_hex, "VEIL_AUDIT_LOG": str(tmp_path / "a.jsonl")}
    )
    assert (
        result.output == default_output(src).resolve()
        or result.output.name == "customers.anonymized.parquet"
    )
    assert result.output.parent.resolve() == data.resolve()
    out = pq.read_table(result.output)
    orig = pa.csv.read_csv(src) if hasattr(pa, "csv") else None
    import pyarrow.csv as pacsv

    orig = pacsv.read_csv(src)
    assert out.num_rows == orig.num_rows
    assert "city" not in out.column_names  # suppressed quasi-identifier
    cards = out.column("card_number").to_pylist()
    assert all(c is None or c.startswith("XXXX-XXXX-XXXX-") for c in cards)
    assert set(out.column("email").to_pylist()).isdisjoint(orig.column("email").to_pylist())
    notes = " ".join(n for n in out.column("notes").to_pylist() if n)
    assert "<EMAIL>" in notes and "@" not in notes
    assert out.column("birth_date").to_pylist()[0].month == 1  # truncated to the year


def test_scan_directory_and_errors(tmp_path: Path, customers_parquet: Path) -> None:
    d = tmp_path / "data"
    d.mkdir()
    (d / "a.parquet").write_bytes(customers_parquet.read_bytes())
    r = scan(d, sample_rows=300)
    assert r.format == "parquet" and len(r.files) == 1
    assert default_output(d) == tmp_path / "data.anonymized.parquet"
    (d / "b.csv").write_text("x\n1\n")
    res = CliRunner().invoke(main, ["scan", str(d)])
    assert res.exit_code == 4  # mixed formats: a data error
    res = CliRunner().invoke(main, ["scan", str(tmp_path / "missing.csv")])
    assert res.exit_code == 4


def test_in_memory_and_draft_for_table(tmp_path: Path) -> None:
    table = pa.table(
        {
            "user_email": ["a.b@example.com", "c@d.org", None, "E.F@x.io"] * 25,
            "lat": [48.8566 + i / 1000 for i in range(100)],
            "age": [20 + i % 50 for i in range(100)],
            "api_key": ["sk_live_" + os.urandom(12).hex() for _ in range(100)],
        }
    )
    r = scan(table)
    types = {c.name: c.type for c in r.columns}
    assert types == {"user_email": "email", "lat": "coordinates", "age": "age", "api_key": "secret"}
    text = draft_policy(r, tmp_path / "p.yaml", source_path=tmp_path / "t.parquet")
    pq.write_table(table, tmp_path / "t.parquet")
    loaded = veil.load_policy_text(text) if hasattr(veil, "load_policy_text") else None
    (tmp_path / "p.yaml").write_text(text)
    loaded = veil.load_policy(tmp_path / "p.yaml")
    out = veil.run(
        loaded,
        environ={"VEIL_KEY": os.urandom(32).hex(), "VEIL_AUDIT_LOG": str(tmp_path / "a.jsonl")},
    )
    t = pq.read_table(out.output)
    assert t.column("api_key").null_count == 100
    assert set(t.column("age").to_pylist()) <= {
        "[20, 30)",
        "[30, 40)",
        "[40, 50)",
        "[50, 60)",
        "[60, 70)",
    }


def test_drafts_for_corpus_tables_load_and_run(tmp_path: Path) -> None:
    """Every kind of column the corpus holds gets a transform that loads and runs as drafted."""
    from tests.detect import corpus

    tables = [corpus._en_us(11), corpus._neutral(12), corpus._mixed(13), corpus._variants(14)]
    env = {"VEIL_KEY": os.urandom(32).hex(), "VEIL_AUDIT_LOG": str(tmp_path / "audit.jsonl")}
    for i, lt in enumerate(tables):
        data = tmp_path / f"t{i}.parquet"
        pq.write_table(lt.table, data)
        policy = tmp_path / f"p{i}.yaml"
        policy.write_text(draft_policy(scan(data), policy))
        out = veil.run(veil.load_policy(policy), environ=env)
        assert out.rows_out == lt.table.num_rows, lt.name
