"""generalize: interval, date truncation, age bands, prefix and ARX hierarchies."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import ValidationError

import veil

COLUMN = "value"  # the column under test (see conftest.py)


# =============================================================================== interval


def interval(**params):
    return {"type": "generalize", "method": "interval", **params}


def ref_interval_label(x: float, width: int, origin: int = 0) -> str:
    lower = math.floor((x - origin) / width) * width + origin
    return f"[{lower}, {lower + width})"


def test_interval_width_docstring_example(run):
    assert run([37], interval(width=10), arrow_type=pa.int64()) == ["[30, 40)"]


def test_interval_width_boundaries_and_negatives(run):
    values = [0, 9, 10, 39, 40, -1, -5, -10, -11]
    assert run(values, interval(width=10), arrow_type=pa.int64()) == [
        "[0, 10)",
        "[0, 10)",
        "[10, 20)",
        "[30, 40)",
        "[40, 50)",
        "[-10, 0)",
        "[-10, 0)",
        "[-10, 0)",
        "[-20, -10)",
    ]


def test_interval_width_on_floats(run):
    values = [37.2, 39.999, 40.0, -0.001, 0.0]
    assert run(values, interval(width=10), arrow_type=pa.float64()) == [
        "[30, 40)",
        "[30, 40)",
        "[40, 50)",
        "[-10, 0)",
        "[0, 10)",
    ]


def test_interval_width_matches_reference(run):
    values = list(range(-123, 250, 7))
    for width, origin in [(10, 0), (5, 0), (10, 5), (25, -3)]:
        out = run(values, interval(width=width, origin=origin), arrow_type=pa.int64())
        assert out == [ref_interval_label(v, width, origin) for v in values], (width, origin)


def test_interval_origin(run):
    assert run([37, 34, 5, 4], interval(width=10, origin=5), arrow_type=pa.int64()) == [
        "[35, 45)",
        "[25, 35)",
        "[5, 15)",
        "[-5, 5)",
    ]


def test_interval_bounds(run):
    values = [-3, 0, 17, 18, 29.9, 30, 64, 65, 120]
    assert run(values, interval(bounds=[18, 30, 65]), arrow_type=pa.float64()) == [
        "<18",
        "<18",
        "<18",
        "[18, 30)",
        "[18, 30)",
        "[30, 65)",
        "[30, 65)",
        ">=65",
        ">=65",
    ]


def test_interval_single_bound(run):
    assert run([17, 18, 19], interval(bounds=[18]), arrow_type=pa.int64()) == [
        "<18",
        ">=18",
        ">=18",
    ]


def test_interval_top_and_bottom_coding(run):
    values = [-1, 0, 5, 89, 90, 91, 200]
    assert run(values, interval(width=10, bottom=0, top=90), arrow_type=pa.int64()) == [
        "<0",
        "[0, 10)",
        "[0, 10)",
        "[80, 90)",
        ">=90",
        ">=90",
        ">=90",
    ]


def test_interval_top_only(run):
    assert run([89.5, 90.0], interval(width=10, top=90), arrow_type=pa.float64()) == [
        "[80, 90)",
        ">=90",
    ]


def test_interval_output_lower(anonymize):
    out = anonymize(
        [37, 40, -1, -10, None], interval(width=10, output="lower"), arrow_type=pa.int64()
    )
    assert out.column(COLUMN).to_pylist() == [30, 40, -10, -10, None]
    assert pa.types.is_integer(out.schema.field(COLUMN).type)


def test_interval_output_lower_float_values(run):
    assert run([37.9, -0.5], interval(width=10, output="lower"), arrow_type=pa.float64()) == [
        30,
        -10,
    ]


def test_interval_nulls_stay_null(run):
    assert run([None, 1, None], interval(width=10), arrow_type=pa.int64()) == [
        None,
        "[0, 10)",
        None,
    ]
    assert run([None, 20], interval(bounds=[18]), arrow_type=pa.int64()) == [None, ">=18"]


@pytest.mark.parametrize("arrow_type", [pa.int8(), pa.int32(), pa.float32(), pa.decimal128(9, 2)])
def test_interval_other_numeric_types(run, arrow_type):
    assert run([37, None], interval(width=10), arrow_type=arrow_type) == ["[30, 40)", None]


def test_interval_string_column_rejected(run):
    with pytest.raises(veil.DataError):
        run(["37", "é", "", "😀"], interval(width=10))


@pytest.mark.parametrize(
    "params",
    [
        {},  # neither width nor bounds
        {"width": 10, "bounds": [1, 2]},
        {"width": 0},
        {"width": -5},
        {"bounds": []},
        {"bounds": [30, 18]},
        {"bounds": [18, 18]},
        {"bounds": [18, 30], "top": 50},
        {"bounds": [18, 30], "bottom": 0},
        {"bounds": [18, 30], "output": "lower"},
        {"width": 10, "top": 90, "output": "lower"},
        {"width": 10, "bottom": 90, "top": 90},
        {"width": 10, "bottom": 100, "top": 90},
        {"width": 10, "output": "upper"},
        {"width": "ten"},
    ],
)
def test_interval_invalid_parameters(policy_for, params):
    with pytest.raises(ValidationError):
        policy_for(interval(**params))


# =============================================================================== date


def date_trunc(unit):
    return {"type": "generalize", "method": "date", "unit": unit}


def ref_trunc(d: dt.date, unit: str) -> dt.date:
    if unit == "year":
        return dt.date(d.year, 1, 1)
    if unit == "quarter":
        return dt.date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    if unit == "month":
        return dt.date(d.year, d.month, 1)
    if unit == "week":
        return d - dt.timedelta(days=d.weekday())  # ISO week starts on Monday
    return d


DATES = [dt.date(2023, 12, 20) + dt.timedelta(days=i) for i in range(0, 120, 3)] + [
    dt.date(2024, 2, 29),
    dt.date(2024, 11, 10),  # a Sunday
    dt.date(2024, 11, 11),  # a Monday
    dt.date(1970, 1, 1),
    dt.date(1899, 12, 31),
    dt.date(2021, 1, 3),  # Sunday of ISO week 2020-W53
]


@pytest.mark.parametrize("unit", ["year", "quarter", "month", "week", "day"])
def test_date_truncation_on_date(anonymize, unit):
    out = anonymize(DATES, date_trunc(unit), arrow_type=pa.date32())
    assert out.schema.field(COLUMN).type == pa.date32()
    assert out.column(COLUMN).to_pylist() == [ref_trunc(d, unit) for d in DATES]


@pytest.mark.parametrize("unit", ["year", "quarter", "month", "week", "day"])
def test_date_truncation_on_timestamp(anonymize, unit):
    stamps = [dt.datetime.combine(d, dt.time(h % 24, 17, 42, 123456)) for h, d in enumerate(DATES)]
    out = anonymize(stamps, date_trunc(unit), arrow_type=pa.timestamp("us"))
    assert out.schema.field(COLUMN).type == pa.timestamp("us")
    assert out.column(COLUMN).to_pylist() == [
        dt.datetime.combine(ref_trunc(s.date(), unit), dt.time()) for s in stamps
    ]


def test_date_truncation_examples(run):
    d = [dt.date(1984, 7, 23), dt.date(2024, 5, 15), dt.date(2024, 11, 10)]
    assert run(d, date_trunc("month"), arrow_type=pa.date32())[0] == dt.date(1984, 7, 1)
    assert run(d, date_trunc("quarter"), arrow_type=pa.date32()) == [
        dt.date(1984, 7, 1),
        dt.date(2024, 4, 1),
        dt.date(2024, 10, 1),
    ]
    assert run(d, date_trunc("week"), arrow_type=pa.date32()) == [
        dt.date(1984, 7, 23),  # a Monday stays
        dt.date(2024, 5, 13),
        dt.date(2024, 11, 4),  # Sunday goes back to the previous Monday
    ]


def test_date_truncation_nulls(run):
    assert run([None, dt.date(2024, 5, 15)], date_trunc("year"), arrow_type=pa.date32()) == [
        None,
        dt.date(2024, 1, 1),
    ]
    assert run([None], date_trunc("day"), arrow_type=pa.timestamp("us")) == [None]


@pytest.mark.parametrize("precision", ["ns", "ms", "s"])
def test_date_truncation_on_other_timestamp_precisions(anonymize, precision):
    # pandas' default datetime64[ns] arrives as timestamp[ns]; Parquet files often hold ms.
    stamp = dt.datetime(2024, 5, 15, 13, 45, 12)
    expected = dt.datetime(2024, 5, 1)
    out = anonymize([stamp, None], date_trunc("month"), arrow_type=pa.timestamp(precision))
    assert pa.types.is_timestamp(out.schema.field(COLUMN).type)
    assert out.column(COLUMN).cast(pa.timestamp("us")).to_pylist() == [expected, None]


def test_date_truncation_string_column_rejected(run):
    with pytest.raises(veil.DataError):
        run(["2024-05-15", "", "é李😀"], date_trunc("month"))


@pytest.mark.parametrize("unit", ["decade", "hour", "Month", "", None])
def test_date_truncation_invalid_unit(policy_for, unit):
    with pytest.raises(ValidationError):
        policy_for(date_trunc(unit))


def test_date_truncation_unit_required(policy_for):
    with pytest.raises(ValidationError):
        policy_for({"type": "generalize", "method": "date"})


# =============================================================================== age


def age_band(**params):
    return {"type": "generalize", "method": "age", **params}


def ref_age(birth: dt.date, as_of: dt.date) -> int:
    return as_of.year - birth.year - ((as_of.month, as_of.day) < (birth.month, birth.day))


def ref_band(age: int, width: int, top: int | None = None) -> str:
    if top is not None and age >= top:
        return f"{top}+"
    lower = age // width * width
    return str(lower) if width == 1 else f"{lower}-{lower + width - 1}"


def test_age_birthday_on_before_and_after_as_of(run):
    births = [
        dt.date(1990, 1, 1),  # 30th birthday on the as_of day: counts
        dt.date(1989, 12, 31),  # birthday the day before: 30
        dt.date(1990, 1, 2),  # birthday the day after: still 29
    ]
    assert run(births, age_band(as_of="2020-01-01", width=10), arrow_type=pa.date32()) == [
        "30-39",
        "30-39",
        "20-29",
    ]
    assert run(births, age_band(as_of="2020-01-01", width=1), arrow_type=pa.date32()) == [
        "30",
        "30",
        "29",
    ]


def test_age_mid_year_birthday(run):
    births = [dt.date(1985, 6, 14), dt.date(1985, 6, 15), dt.date(1985, 6, 16)]
    assert run(births, age_band(as_of="2025-06-15", width=1), arrow_type=pa.date32()) == [
        "40",
        "40",
        "39",
    ]


def test_age_leap_day_birthday(run):
    births = [dt.date(2000, 2, 29)]
    for as_of, age in [("2021-02-28", "20"), ("2021-03-01", "21"), ("2024-02-29", "24")]:
        assert run(births, age_band(as_of=as_of, width=1), arrow_type=pa.date32()) == [age]


def test_age_top_coding(run):
    as_of = dt.date(2020, 6, 15)
    births = [
        dt.date(1930, 6, 16),  # 89
        dt.date(1930, 6, 15),  # 90
        dt.date(1900, 1, 1),  # 120
        dt.date(2010, 1, 1),  # 10
    ]
    assert run(
        births, age_band(as_of=as_of.isoformat(), width=10, top=90), arrow_type=pa.date32()
    ) == ["80-89", "90+", "90+", "10-19"]


def test_age_birth_on_as_of_is_zero(run):
    assert run([dt.date(2020, 6, 15)], age_band(as_of="2020-06-15"), arrow_type=pa.date32()) == [
        "0-9"
    ]


def test_age_birth_after_as_of_is_an_error(run):
    with pytest.raises(veil.DataError):
        run(
            [dt.date(1990, 1, 1), dt.date(2020, 6, 16)],
            age_band(as_of="2020-06-15"),
            arrow_type=pa.date32(),
        )


def test_age_nulls_stay_null(run):
    assert run(
        [None, dt.date(1990, 1, 1), None], age_band(as_of="2020-01-01"), arrow_type=pa.date32()
    ) == [None, "30-39", None]


def test_age_on_timestamp(run):
    births = [dt.datetime(1990, 1, 1, 23, 59), dt.datetime(1990, 1, 2, 0, 0)]
    assert run(births, age_band(as_of="2020-01-01", width=5), arrow_type=pa.timestamp("us")) == [
        "30-34",
        "25-29",
    ]


@pytest.mark.parametrize(("width", "top"), [(10, None), (5, 80), (1, None), (7, 90), (20, 60)])
def test_age_matches_reference(run, width, top):
    as_of = dt.date(2024, 3, 1)
    births = [dt.date(1920, 1, 1) + dt.timedelta(days=i) for i in range(0, 38000, 37)]
    births = [b for b in births if b <= as_of] + [dt.date(2020, 2, 29), dt.date(1960, 3, 1)]
    params = {"as_of": as_of.isoformat(), "width": width}
    if top is not None:
        params["top"] = top
    out = run(births, age_band(**params), arrow_type=pa.date32())
    assert out == [ref_band(ref_age(b, as_of), width, top) for b in births]


def test_age_string_column_rejected(run):
    with pytest.raises(veil.DataError):
        run(["1990-01-01", "", "李😀"], age_band(as_of="2020-01-01"))


@pytest.mark.parametrize(
    "params",
    [
        {},  # as_of is required
        {"as_of": "2020-02-30"},
        {"as_of": "yesterday"},
        {"as_of": "2020-01-01", "width": 0},
        {"as_of": "2020-01-01", "width": 201},
        {"as_of": "2020-01-01", "top": 0},
        {"as_of": "2020-01-01", "bands": 3},
    ],
)
def test_age_invalid_parameters(policy_for, params):
    with pytest.raises(ValidationError):
        policy_for(age_band(**params))


# =============================================================================== prefix


def prefix(**params):
    return {"type": "generalize", "method": "prefix", **params}


def test_prefix_zip(run):
    assert run(["90210", "10001"], prefix(keep=3)) == ["902**", "100**"]


def test_prefix_shorter_than_keep(run):
    assert run(["90", "902", "9"], prefix(keep=3)) == ["90", "902", "9"]


def test_prefix_fill_empty_shortens(run):
    assert run(["90210", "90", ""], prefix(keep=3, fill="")) == ["902", "90", ""]


def test_prefix_custom_fill(run):
    assert run(["90210"], prefix(keep=2, fill="#")) == ["90###"]
    assert run(["90210"], prefix(keep=2, fill="•")) == ["90•••"]


def test_prefix_keep_zero(run):
    assert run(["abc", ""], prefix(keep=0)) == ["***", ""]
    assert run(["abc"], prefix(keep=0, fill="")) == [""]


def test_prefix_unicode_counts_characters(run):
    values = ["München", "李小龙", "😀😀😀😀", "éa"]
    assert run(values, prefix(keep=2)) == ["Mü*****", "李小*", "😀😀**", "éa"]


def test_prefix_nulls_and_empty(run):
    assert run([None, "", "12345", None], prefix(keep=3)) == [None, "", "123**", None]


def test_prefix_integer_column(run):
    assert run([90210, None], prefix(keep=3), arrow_type=pa.int64()) == ["902**", None]


@pytest.mark.parametrize(
    "params",
    [
        {},  # keep is required
        {"keep": -1},
        {"keep": 3, "fill": "**"},
        {"keep": "three"},
        {"keep": 3, "pad": "*"},
    ],
)
def test_prefix_invalid_parameters(policy_for, params):
    with pytest.raises(ValidationError):
        policy_for(prefix(**params))


# =============================================================================== hierarchy


def hierarchy(file, level, **params):
    return {
        "type": "generalize",
        "method": "hierarchy",
        "file": str(file),
        "level": level,
        **params,
    }


def read_arx(path: Path) -> dict[str, list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return {row[0]: row for row in csv.reader(fh, delimiter=";") if row}


@pytest.fixture
def age_h(data_dir):
    return data_dir / "adult" / "adult_hierarchy_age.csv"


@pytest.fixture
def edu_h(data_dir):
    return data_dir / "adult" / "adult_hierarchy_education.csv"


def test_hierarchy_files_are_vendored(age_h, edu_h):
    assert age_h.is_file() and edu_h.is_file()
    assert len(read_arx(age_h)) == 100
    assert len(read_arx(edu_h)) == 16


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        # Labels as in ARX's adult hierarchy (whose 5-year bands run 1-5, 6-10, ..., 86-90).
        (0, ["17", "37", "90", "100"]),
        (1, ["15-19", "35-39", "85-89", "95-99"]),
        (2, ["10-19", "30-39", "80-89", "90-99"]),
        (3, ["0-19", "20-39", "80-99", "80-99"]),
        (4, ["*", "*", "*", "*"]),
    ],
)
def test_hierarchy_age_levels(run, age_h, level, expected):
    assert run([17, 37, 90, 100], hierarchy(age_h, level), arrow_type=pa.int64()) == expected


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_hierarchy_age_matches_file(run, age_h, level):
    table = read_arx(age_h)
    ages = list(range(1, 101))
    out = run(ages, hierarchy(age_h, level), arrow_type=pa.int64())
    assert out == [table[str(a)][level] for a in ages]


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (1, ["Undergraduate", "High School", "Graduate", "Primary School"]),
        (2, ["Higher education", "Secondary education", "Higher education", "Primary education"]),
        (3, ["*", "*", "*", "*"]),
    ],
)
def test_hierarchy_education_levels(run, edu_h, level, expected):
    values = ["Bachelors", "HS-grad", "Doctorate", "Preschool"]
    assert run(values, hierarchy(edu_h, level)) == expected


def test_hierarchy_nulls_stay_null(run, edu_h):
    assert run([None, "Masters", None], hierarchy(edu_h, 1)) == [None, "Graduate", None]
    assert run([None], hierarchy(edu_h, 1, on_missing="suppress"), arrow_type=pa.string()) == [None]


@pytest.mark.parametrize("missing", ["PhD", "", "bachelors", "Bachelors ", "李", "😀"])
def test_hierarchy_value_not_covered_is_error(run, edu_h, missing):
    with pytest.raises(veil.DataError):
        run(["Bachelors", missing], hierarchy(edu_h, 1))


def test_hierarchy_number_not_covered_is_error(run, age_h):
    with pytest.raises(veil.DataError):
        run([37, 0], hierarchy(age_h, 2), arrow_type=pa.int64())


def test_hierarchy_on_missing_suppress(run, edu_h, age_h):
    values = ["Bachelors", "PhD", "", None, "李"]
    assert run(values, hierarchy(edu_h, 1, on_missing="suppress")) == [
        "Undergraduate",
        "*",
        "*",
        None,
        "*",
    ]
    assert run([0, 37, 101], hierarchy(age_h, 1, on_missing="suppress"), arrow_type=pa.int64()) == [
        "*",
        "35-39",
        "*",
    ]


def test_hierarchy_unicode_values(run, tmp_path):
    h = tmp_path / "places.csv"
    h.write_text(
        "München;Bayern;Deutschland;*\nZürich;ZH;Schweiz;*\n北京;华北;中国;*\n😀;emoji;symbol;*\n",
        encoding="utf-8",
    )
    values = ["Zürich", "北京", "😀", "München", None]
    assert run(values, hierarchy(h, 1)) == ["ZH", "华北", "emoji", "Bayern", None]
    assert run(values, hierarchy(h, 2)) == ["Schweiz", "中国", "symbol", "Deutschland", None]


def test_hierarchy_custom_delimiter(run, tmp_path):
    h = tmp_path / "h.csv"
    h.write_text("a,x,*\nb,x,*\nc,y,*\n", encoding="utf-8")
    assert run(["a", "c", "b"], hierarchy(h, 1, delimiter=",")) == ["x", "y", "x"]


def test_hierarchy_relative_to_policy_file(tmp_path, edu_h, key_hex):
    (tmp_path / "hier").mkdir()
    (tmp_path / "hier" / "edu.csv").write_bytes(edu_h.read_bytes())
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "version: 1\n"
        "name: rel\n"
        "audit: {path: audit.jsonl}\n"
        "columns:\n"
        "  edu:\n"
        "    class: quasi_identifier\n"
        "    transform: {type: generalize, method: hierarchy, file: hier/edu.csv, level: 2}\n",
        encoding="utf-8",
    )
    out = veil.anonymize(pa.table({"edu": ["Masters", "9th"]}), str(policy), environ={})
    assert sorted(out.column("edu").to_pylist()) == ["Higher education", "Secondary education"]


@pytest.mark.parametrize(("file", "level"), [("age", 5), ("age", 99), ("edu", 4)])
def test_hierarchy_level_out_of_range(run, age_h, edu_h, file, level):
    path = age_h if file == "age" else edu_h
    values, typ = ([37], pa.int64()) if file == "age" else (["Masters"], pa.string())
    with pytest.raises(veil.PolicyError):
        run(values, hierarchy(path, level), arrow_type=typ)


def test_hierarchy_missing_file(run, tmp_path):
    with pytest.raises(veil.PolicyError):
        run(["x"], hierarchy(tmp_path / "nope.csv", 1))


def test_hierarchy_ragged_file(run, tmp_path):
    h = tmp_path / "bad.csv"
    h.write_text("a;x;*\nb;*\n", encoding="utf-8")
    with pytest.raises(veil.PolicyError):
        run(["a"], hierarchy(h, 1))


@pytest.mark.parametrize(
    "params",
    [
        {"level": -1},
        {"level": 1, "delimiter": ";;"},
        {"level": 1, "delimiter": ""},
        {"level": 1, "on_missing": "keep"},
        {"level": "top"},
    ],
)
def test_hierarchy_invalid_parameters(policy_for, edu_h, params):
    with pytest.raises(ValidationError):
        policy_for({"type": "generalize", "method": "hierarchy", "file": str(edu_h), **params})


def test_hierarchy_requires_file_and_level(policy_for, edu_h):
    with pytest.raises(ValidationError):
        policy_for({"type": "generalize", "method": "hierarchy", "level": 1})
    with pytest.raises(ValidationError):
        policy_for({"type": "generalize", "method": "hierarchy", "file": str(edu_h)})


def test_generalize_unknown_method(policy_for):
    with pytest.raises(ValidationError):
        policy_for({"type": "generalize", "method": "bucket", "width": 10})
