"""Tests for examples/customers/generate.py (loaded by path: examples/ is not a package)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

GENERATOR = Path(__file__).resolve().parents[1] / "examples" / "customers" / "generate.py"
ROWS = 2_000

EXPECTED_SCHEMA = [
    ("customer_id", pa.string()),
    ("first_name", pa.string()),
    ("last_name", pa.string()),
    ("email", pa.string()),
    ("phone", pa.string()),
    ("ssn", pa.string()),
    ("card_number", pa.string()),
    ("birth_date", pa.date32()),
    ("zip", pa.string()),
    ("city", pa.string()),
    ("country", pa.string()),
    ("salary", pa.float64()),
    ("signup_ts", pa.timestamp("us")),
    ("notes", pa.string()),
]
EMAIL_RE = re.compile(r"^[a-z]+\.[a-z]+\d{1,2}@[a-z0-9-]+(\.[a-z0-9-]+)+$")
PHONE_RE = re.compile(
    r"^(\+1 \d{3}-\d{3}-\d{4}|\(\d{3}\) \d{3}-\d{4}|\d{3}\.\d{3}\.\d{4}|\d{3}-\d{3}-\d{4})$"
)
SSN_RE = re.compile(r"^(\d{3})-(\d{2})-(\d{4})$")
CARD_RE = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{4}$")


def _load_generator():
    spec = importlib.util.spec_from_file_location("customers_generate", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


gen = _load_generator()


def luhn_ok(number: str) -> bool:
    """Independent, textbook Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("customers")
    # Small chunks so the multi-chunk path is exercised too.
    return {
        fmt: gen.generate(ROWS, tmp / f"customers.{fmt}", fmt, seed=7, chunk_rows=700)
        for fmt in ("parquet", "csv")
    }


@pytest.fixture(scope="module")
def table(files) -> pa.Table:
    return pq.read_table(files["parquet"])


def test_luhn_helper_itself():
    assert luhn_ok("4111111111111111")
    assert luhn_ok("79927398713")
    assert not luhn_ok("4111111111111112")


def test_parquet_schema_and_rows(table):
    assert table.num_rows == ROWS
    assert [(f.name, f.type) for f in table.schema] == EXPECTED_SCHEMA


def test_csv_rows_and_columns(files, table):
    csv = pacsv.read_csv(
        files["csv"],
        convert_options=pacsv.ConvertOptions(
            column_types={name: typ for name, typ in EXPECTED_SCHEMA},
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    assert csv.num_rows == ROWS
    assert csv.column_names == [name for name, _ in EXPECTED_SCHEMA]
    # Same data as the parquet file, including null vs empty string in notes.
    assert csv.equals(table)
    header, first = files["csv"].read_text(encoding="utf-8").splitlines()[:2]
    assert re.search(r",\d{4}-\d{2}-\d{2},", first)  # ISO birth_date


def test_customer_id_unique_and_sequential(table):
    ids = table["customer_id"].to_pylist()
    assert len(set(ids)) == ROWS
    assert ids[0] == "C00000001"
    assert ids[-1] == f"C{ROWS:08d}"


def test_card_numbers_pass_luhn(table):
    cards = table["card_number"].to_pylist()
    assert None not in cards
    for card in cards:
        assert CARD_RE.match(card), card
        digits = card.replace("-", "")
        assert len(digits) == 16
        assert luhn_ok(digits), card
        assert (
            digits[0] == "4" or digits[:2] in {"51", "52", "53", "54", "55"} or digits[:4] == "6011"
        )


def test_ssn_rules(table):
    for ssn in table["ssn"].to_pylist():
        m = SSN_RE.match(ssn)
        assert m, ssn
        area, group, serial = (int(x) for x in m.groups())
        assert 1 <= area <= 899 and area != 666, ssn
        assert 1 <= group <= 99, ssn
        assert 1 <= serial <= 9999, ssn


def test_emails(table):
    emails = table["email"].to_pylist()
    for email in emails:
        assert email.isascii() and EMAIL_RE.match(email), email


def test_phones_and_nulls(table):
    phones = table["phone"].to_pylist()
    assert 0 < phones.count(None) < ROWS * 0.05
    for phone in phones:
        assert phone is None or PHONE_RE.match(phone), phone
    assert table["zip"].null_count > 0
    assert table["salary"].null_count > 0
    assert all(z is None or (len(z) == 5 and z.isdigit()) for z in table["zip"].to_pylist())


def test_value_ranges(table):
    births = table["birth_date"].to_pylist()
    assert min(births) >= dt.date(1935, 1, 1) and max(births) <= dt.date(2006, 12, 31)
    signups = table["signup_ts"].to_pylist()
    assert min(signups) >= dt.datetime(2015, 1, 1)
    assert max(signups) < dt.datetime(2026, 1, 1)
    countries = table["country"].to_pylist()
    assert set(countries) <= {"US", "CA", "GB", "DE"}
    assert countries.count("US") > ROWS * 0.75
    salaries = [s for s in table["salary"].to_pylist() if s is not None]
    assert all(s > 0 and round(s, 2) == s for s in salaries)


def test_notes_mix(table):
    notes = table["notes"].to_pylist()
    emails = table["email"].to_pylist()
    assert ROWS * 0.05 < notes.count(None) < ROWS * 0.15
    assert notes.count("") > 0
    assert any(n and e in n for n, e in zip(notes, emails, strict=True))  # PII inside free text


def test_unicode_names_in_pools():
    pools = gen.Pools(7)
    names = set(pools.first.to_pylist()) | set(pools.last.to_pylist())
    assert any("é" in n for n in names)
    assert any("ü" in n for n in names)
    assert any("ñ" in n for n in names)
    assert "李" in names


def test_deterministic_parquet(tmp_path, files):
    gen._pools.cache_clear()  # rebuild the Faker pools too, not just the NumPy part
    again = gen.generate(ROWS, tmp_path / "again.parquet", "parquet", seed=7, chunk_rows=700)
    assert again.read_bytes() == files["parquet"].read_bytes()
    other = gen.generate(ROWS, tmp_path / "other.parquet", "parquet", seed=8, chunk_rows=700)
    assert other.read_bytes() != files["parquet"].read_bytes()


def test_deterministic_csv(tmp_path, files):
    gen._pools.cache_clear()
    again = gen.generate(ROWS, tmp_path / "again.csv", "csv", seed=7, chunk_rows=700)
    assert again.read_bytes() == files["csv"].read_bytes()


def test_cli(tmp_path):
    out = tmp_path / "cli.csv"
    assert gen._main(["--rows", "10", "--format", "csv", "--out", str(out), "--seed", "3"]) == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 11


def test_zero_rows(tmp_path):
    assert pq.read_table(gen.generate(0, tmp_path / "e.parquet", "parquet")).num_rows == 0
    text = gen.generate(0, tmp_path / "e.csv", "csv").read_text(encoding="utf-8")
    assert text.startswith('"customer_id"')


def test_rejects_bad_format(tmp_path):
    with pytest.raises(ValueError):
        gen.generate(10, tmp_path / "x.json", "json")
