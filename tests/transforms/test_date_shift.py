"""date_shift: per-person offsets from HMAC(subkey, id), checked against the formula in the
module docstring: offset = HMAC(subkey, id) mod (2·max_days + 1) − max_days with
``allow_zero``; otherwise the 2·max_days non-zero offsets -max..-1, 1..max."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pyarrow as pa
import pytest
from pydantic import ValidationError

import veil

COLUMN = "value"  # the column under test (see conftest.py)
BASE = dt.date(2024, 1, 1)


def shift(**params):
    return {"type": "date_shift", "key": "main", "by": "pid", **params}


def ref_offset(ref_hmac, key_hex, ident: str, max_days=180, allow_zero=False, domain="default"):
    n = int(ref_hmac(key_hex, f"date_shift:{domain}", ident)[:12], 16)
    if allow_zero:
        return n % (2 * max_days + 1) - max_days
    m = n % (2 * max_days)
    return m - max_days if m < max_days else m - max_days + 1


def as_date(v):
    """Tolerate a DATE column coming back as midnight timestamps (reported separately by
    test_date_column_keeps_date_type) so the offset tests check the offsets themselves."""
    if isinstance(v, dt.datetime):
        assert v.time() == dt.time(0, 0)
        return v.date()
    return v


def shifted_days(run, ids, dates=None, arrow_type=None, **params):
    dates = dates or [BASE] * len(ids)
    arrow_type = arrow_type or pa.date32()
    out = run(dates, shift(**params), arrow_type=arrow_type, extra={"pid": ids})
    return [None if o is None else (as_date(o) - d).days for o, d in zip(out, dates, strict=True)]


def test_same_id_same_offset_intervals_preserved(run):
    ids = ["p1", "p1", "p1", "p2", "p2"]
    dates = [
        dt.date(2024, 1, 1),
        dt.date(2024, 1, 11),  # 10-day stay
        dt.date(2025, 6, 30),
        dt.date(1980, 2, 29),
        dt.date(1980, 3, 1),
    ]
    out = [as_date(v) for v in run(dates, shift(), arrow_type=pa.date32(), extra={"pid": ids})]
    offsets = [(o - d).days for o, d in zip(out, dates, strict=True)]
    assert offsets[0] == offsets[1] == offsets[2]
    assert offsets[3] == offsets[4]
    assert (out[1] - out[0]).days == 10
    assert (out[2] - out[0]).days == (dates[2] - dates[0]).days
    assert (out[4] - out[3]).days == 1


def test_offsets_match_reference_formula(run, ref_hmac, key_hex):
    ids = [f"patient-{i}" for i in range(50)] + ["", "é", "ü", "李", "😀", "Zoë"]
    got = shifted_days(run, ids)
    assert got == [ref_offset(ref_hmac, key_hex, i) for i in ids]


@pytest.mark.parametrize("max_days", [1, 3, 30, 365])
def test_offsets_match_reference_for_max_days(run, ref_hmac, key_hex, max_days):
    ids = [f"id{i}" for i in range(100)]
    got = shifted_days(run, ids, max_days=max_days)
    assert got == [ref_offset(ref_hmac, key_hex, i, max_days) for i in ids]


def test_allow_zero_matches_reference(run, ref_hmac, key_hex):
    ids = [f"id{i}" for i in range(100)]
    got = shifted_days(run, ids, max_days=5, allow_zero=True)
    assert got == [ref_offset(ref_hmac, key_hex, i, 5, allow_zero=True) for i in ids]


def test_offset_within_max_days_and_never_zero(run):
    ids = [f"id{i}" for i in range(2000)]
    got = shifted_days(run, ids, max_days=3)
    counts = Counter(got)
    assert set(counts) == {-3, -2, -1, 1, 2, 3}  # every non-zero offset occurs, zero never
    assert min(counts.values()) > 200  # roughly uniform (expected ~333 each)


def test_default_max_days_is_180(run):
    got = shifted_days(run, [f"id{i}" for i in range(3000)])
    assert all(1 <= abs(d) <= 180 for d in got)
    assert min(got) < -170 and max(got) > 170


def test_allow_zero_includes_zero(run):
    got = shifted_days(run, [f"id{i}" for i in range(2000)], max_days=2, allow_zero=True)
    assert set(got) == {-2, -1, 0, 1, 2}


def test_different_ids_mostly_different_offsets(run):
    got = shifted_days(run, [f"person{i}" for i in range(200)])
    # 200 draws from 360 offsets: about 152 distinct values are expected.
    assert len(set(got)) >= 120


def test_offset_changes_with_key_and_domain(run, other_key_hex):
    ids = [f"id{i}" for i in range(100)]
    base = shifted_days(run, ids)
    other_key = run(
        [BASE] * 100, shift(), arrow_type=pa.date32(), extra={"pid": ids}, key_hex=other_key_hex
    )
    other_domain = shifted_days(run, ids, domain="visits")
    assert sum(a != (as_date(b) - BASE).days for a, b in zip(base, other_key, strict=True)) > 90
    assert sum(a != b for a, b in zip(base, other_domain, strict=True)) > 90


def test_stable_across_runs(run):
    ids = ["a", "b", "c", "李"]
    assert shifted_days(run, ids) == shifted_days(run, ids)


def test_null_id_gives_null(run):
    dates = [BASE, BASE, BASE]
    out = run(dates, shift(), arrow_type=pa.date32(), extra={"pid": ["p1", None, "p1"]})
    assert out[1] is None
    assert out[0] is not None and out[0] == out[2]


def test_null_date_stays_null(run):
    out = run([None, BASE], shift(), arrow_type=pa.date32(), extra={"pid": ["p1", "p1"]})
    assert out[0] is None and out[1] is not None


def test_empty_string_id_is_shifted(run, ref_hmac, key_hex):
    assert shifted_days(run, [""]) == [ref_offset(ref_hmac, key_hex, "")]


def test_date_column_keeps_date_type(anonymize, ref_hmac, key_hex):
    out = anonymize([BASE, None], shift(), arrow_type=pa.date32(), extra={"pid": ["p1", "p1"]})
    assert out.schema.field(COLUMN).type == pa.date32()
    expected = BASE + dt.timedelta(days=ref_offset(ref_hmac, key_hex, "p1"))
    assert out.column(COLUMN).to_pylist() == [expected, None]


def test_timestamp_column(anonymize, ref_hmac, key_hex):
    stamps = [dt.datetime(2024, 1, 1, 10, 30, 15, 123456), dt.datetime(2024, 1, 3, 23, 59), None]
    out = anonymize(stamps, shift(), arrow_type=pa.timestamp("us"), extra={"pid": ["x", "x", "x"]})
    assert out.schema.field(COLUMN).type == pa.timestamp("us")
    delta = dt.timedelta(days=ref_offset(ref_hmac, key_hex, "x"))
    assert out.column(COLUMN).to_pylist() == [stamps[0] + delta, stamps[1] + delta, None]


@pytest.mark.parametrize("precision", ["ns", "ms"])
def test_timestamp_other_precisions(anonymize, ref_hmac, key_hex, precision):
    # pandas' default datetime64[ns] arrives as timestamp[ns]; Parquet often holds ms.
    stamp = dt.datetime(2024, 1, 1, 10, 30, 15)
    out = anonymize(
        [stamp, None], shift(), arrow_type=pa.timestamp(precision), extra={"pid": ["x", "x"]}
    )
    delta = dt.timedelta(days=ref_offset(ref_hmac, key_hex, "x"))
    assert out.column(COLUMN).cast(pa.timestamp("us")).to_pylist() == [stamp + delta, None]


def test_integer_id_column(run, ref_hmac, key_hex):
    ids = pa.array([1, 2, 12345, None], pa.int64())
    got = shifted_days(run, ids, dates=[BASE] * 4)
    assert got == [ref_offset(ref_hmac, key_hex, str(i)) for i in (1, 2, 12345)] + [None]


def test_by_column_is_not_output(anonymize):
    out = anonymize([BASE], shift(), arrow_type=pa.date32(), extra={"pid": ["x"]})
    assert "pid" not in out.column_names


def test_by_column_missing_from_data(run):
    with pytest.raises(veil.PolicyError):
        run([BASE], shift(by="patient_id"), arrow_type=pa.date32(), extra={"pid": ["x"]})


def test_string_column_rejected(run):
    with pytest.raises(veil.DataError):
        run(["2024-01-01", "", "é李😀"], shift(), extra={"pid": ["a", "b", "c"]})


@pytest.mark.parametrize(
    "params",
    [
        {"max_days": 0},
        {"max_days": -5},
        {"max_days": 36501},
        {"domain": ""},
        {"allow_zero": "maybe"},
        {"days": 3},
    ],
)
def test_invalid_parameters(policy_for, params):
    with pytest.raises(ValidationError):
        policy_for(shift(**params))


def test_key_and_by_required(policy_for):
    with pytest.raises(ValidationError):
        policy_for({"type": "date_shift", "by": "pid"})
    with pytest.raises(ValidationError):
        policy_for({"type": "date_shift", "key": "main"})
    with pytest.raises(ValidationError):
        policy_for({"type": "date_shift", "key": "other", "by": "pid"})
