"""Hierarchy loading, building from specs, and validation (coverage and nesting)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.privacy.conftest import ADULT
from veil.errors import PolicyError
from veil.privacy import (
    HierarchyCoverageError,
    date_hierarchy,
    from_rows,
    hierarchy_from_spec,
    interval_hierarchy,
    load_hierarchy,
    ordered_grouping_hierarchy,
    prefix_hierarchy,
    tree_hierarchy,
)


def test_arx_csv_loads_with_levels_and_shares() -> None:
    h = load_hierarchy(ADULT / "adult_hierarchy_education.csv")
    assert h.height == 4 and h.domain_size == 16
    assert h.generalize("Bachelors", 1) == "Undergraduate"
    assert h.generalize("Bachelors", 3) == "*"
    assert h.leaves_per_code[3].tolist() == [16]


def test_interval_levels() -> None:
    h = interval_hierarchy(["17", "23", "39", "40", "90"], width=10, fanouts=[2])
    assert [h.generalize("23", lv) for lv in range(h.height)] == ["23", "20-29", "20-39", "*"]
    assert h.generalize("40", 2) == "40-59"
    f = interval_hierarchy(["1.5", "2.25"], width=0.5)
    assert f.generalize("2.25", 1) == "[2, 2.5)"


def test_date_levels() -> None:
    h = date_hierarchy(["1984-07-23", "1991-01-02 10:00:00"])
    assert [h.generalize("1984-07-23", lv) for lv in range(h.height)] == [
        "1984-07-23",
        "1984-07",
        "1984",
        "1980s",
        "*",
    ]
    with pytest.raises(HierarchyCoverageError) as e:
        date_hierarchy(["not a date"], name="birth")
    assert e.value.uncovered == ["not a date"]
    assert "not a date" not in str(e.value)


def test_prefix_masking() -> None:
    h = prefix_hierarchy(["10115", "10117", "2009"])
    assert [h.generalize("10115", lv) for lv in range(h.height)] == [
        "10115",
        "1011*",
        "101**",
        "10***",
        "1****",
        "*****",
        "*",
    ]
    assert h.generalize("2009", 5) == "****"


def test_ordered_grouping_and_tree() -> None:
    h = ordered_grouping_hierarchy(["a", "b", "c", "d", "e"], [2, 2])
    assert [h.generalize("c", lv) for lv in range(h.height)] == ["c", "[c..d]", "[a..d]", "*"]
    assert h.generalize("e", 1) == "e"
    t = tree_hierarchy({"*": {"Europe": ["England", "France"], "Asia": ["Japan"]}, "x": None})
    assert t.generalize("France", 1) == "Europe"
    assert t.generalize("x", 1) == "x"


def test_spec_builds_every_kind(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("a;x;*\nb;x;*\n", encoding="utf-8")
    assert hierarchy_from_spec({"type": "arx", "file": "h.csv"}, base_dir=tmp_path).height == 3
    assert hierarchy_from_spec({"type": "interval", "width": 5}, ["1", "7"]).height == 3
    assert hierarchy_from_spec({"type": "date", "levels": ["year"]}, ["2020-01-01"]).height == 2
    assert hierarchy_from_spec({"type": "prefix"}, ["ab"]).height == 3
    spec = {"type": "ordered", "order": ["a", "b", "c"], "fanouts": [2]}
    assert hierarchy_from_spec(spec).height == 3
    assert hierarchy_from_spec({"type": "tree", "tree": {"*": ["a", "b"]}}).height == 2
    with pytest.raises(PolicyError, match="unknown hierarchy type"):
        hierarchy_from_spec({"type": "nope"})
    with pytest.raises(PolicyError, match="invalid"):
        hierarchy_from_spec({"type": "interval", "widht": 5}, ["1"])


def test_nesting_is_validated() -> None:
    with pytest.raises(PolicyError, match="do not nest") as e:
        from_rows([("a", "x", "*"), ("b", "x", "*"), ("c", "y", "*"), ("d", "y", "z")])
    assert any("'y'" in p for p in e.value.problems)


def test_coverage_reports_uncovered_values() -> None:
    h = tree_hierarchy({"*": ["M", "F"]}, name="sex")
    cov = h.coverage(["M", "F", "X", None])
    assert not cov.ok and cov.uncovered == (None, "X")
    with pytest.raises(HierarchyCoverageError):
        cov.raise_if_uncovered()
    assert h.coverage(["M"]).ok
