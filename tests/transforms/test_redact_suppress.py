"""redact (to NULL or to a fixed text) and suppress (column removed from the output)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from pydantic import ValidationError

import veil
from veil.policy.model import Policy

COLUMN = "value"  # the column under test (see conftest.py)
ROW_ID = "_rid"  # the kept row-id column

TEXTS = ["secret", "", "é", "Müller", "李小龙", "😀", None]


# ------------------------------------------------------------------------------ redact


def test_redact_to_null(run):
    assert run(TEXTS, {"type": "redact"}) == [None] * len(TEXTS)


@pytest.mark.parametrize(
    ("values", "arrow_type"),
    [
        (["a", None], pa.string()),
        ([1, None], pa.int64()),
        ([1, None], pa.int32()),
        ([1.5, None], pa.float64()),
        ([dt.date(2024, 1, 2), None], pa.date32()),
        ([dt.datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("us")),
        ([True, None], pa.bool_()),
    ],
)
def test_redact_to_null_keeps_column_type(anonymize, values, arrow_type):
    out = anonymize(values, {"type": "redact"}, arrow_type=arrow_type)
    assert out.column(COLUMN).to_pylist() == [None, None]
    assert out.schema.field(COLUMN).type == arrow_type


@pytest.mark.parametrize(
    ("values", "arrow_type"),
    [
        # pandas' default datetime64[ns] arrives as timestamp[ns]; ms/s are common in Parquet.
        pytest.param([dt.datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("ns"), id="ts_ns"),
        pytest.param([dt.datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("ms"), id="ts_ms"),
        pytest.param([dt.datetime(2024, 1, 2, 3, 4, 5), None], pa.timestamp("s"), id="ts_s"),
        pytest.param([1, None], pa.uint64(), id="uint64"),
    ],
)
def test_redact_to_null_on_other_engine_types(run, values, arrow_type):
    assert run(values, {"type": "redact"}, arrow_type=arrow_type) == [None, None]


def test_redact_replacement_text(run):
    out = run(TEXTS, {"type": "redact", "replacement": "[REDACTED]"})
    assert out == ["[REDACTED]"] * (len(TEXTS) - 1) + [None]


@pytest.mark.parametrize("replacement", ["***-**-****", "", "█李😀", 'it\'s "quoted"'])
def test_redact_replacement_verbatim(run, replacement):
    assert run(["x", None, ""], {"type": "redact", "replacement": replacement}) == [
        replacement,
        None,
        replacement,
    ]


def test_redact_replacement_on_integer_column(run):
    assert run([123, None], {"type": "redact", "replacement": "***"}, arrow_type=pa.int64()) == [
        "***",
        None,
    ]


@pytest.mark.parametrize(
    "bad",
    [
        {"replacement": 5},
        {"replacement": ["a"]},
        {"with": "x"},
        {"type": "redacted"},
    ],
)
def test_redact_invalid_parameters(policy_for, bad):
    with pytest.raises(ValidationError):
        policy_for({"type": "redact", **bad})


def test_redact_satisfies_identifier_rule(policy_for):
    policy_for({"type": "redact"}, column_class="identifier")


# ------------------------------------------------------------------------------ suppress


def test_suppress_removes_column(anonymize):
    out = anonymize(TEXTS, {"type": "suppress"})
    assert COLUMN not in out.column_names
    assert out.column_names == [ROW_ID]
    assert out.column(ROW_ID).to_pylist() == list(range(len(TEXTS)))


@pytest.mark.parametrize(
    ("values", "arrow_type"),
    [
        ([1, None], pa.int64()),
        ([dt.date(2020, 1, 1), None], pa.date32()),
        ([dt.datetime(2020, 1, 1), None], pa.timestamp("ns")),
    ],
)
def test_suppress_any_type(anonymize, values, arrow_type):
    out = anonymize(values, {"type": "suppress"}, arrow_type=arrow_type)
    assert out.column_names == [ROW_ID]


def test_suppress_only_column_is_refused(key_hex):
    policy = Policy.model_validate(
        {"name": "t", "columns": {"a": {"class": "identifier", "transform": {"type": "suppress"}}}}
    )
    with pytest.raises(veil.PolicyError):
        veil.anonymize(pa.table({"a": ["x"]}), policy)


def test_suppress_takes_no_parameters(policy_for):
    with pytest.raises(ValidationError):
        policy_for({"type": "suppress", "replacement": "x"})
