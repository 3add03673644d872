"""Policy loading: valid policies load; invalid ones are refused with file, line, field path
and a 'did you mean' hint, before any data is read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import veil
from veil.policy.load import load_policy
from veil.policy.model import policy_json_schema

ROOT = Path(__file__).resolve().parent.parent

BAD = """\
name: demo
source:
  path: data.csv
output:
  path: out.parquet
keys:
  main: {env: VEIL_KEY}
columns:
  email:
    class: identifier
    transform:
      type: pseudonymise
      key: main
  ssn:
    class: identifer
    transform: {type: mask, keep_lst: 4}
  age:
    class: quasi_identifier
    transform: {type: generalize, method: intervall, width: 10}
  zip:
    class: quasi_identifier
    transform: {type: generalize, method: prefix, keep: "three"}
  name:
    class: identifier
"""


def _problems(tmp_path: Path, text: str) -> list[str]:
    p = tmp_path / "policy.yaml"
    p.write_text(text)
    with pytest.raises(veil.PolicyError) as info:
        load_policy(p)
    assert info.value.file == str(p)
    return info.value.problems


def test_example_policy_loads() -> None:
    loaded = load_policy(ROOT / "examples" / "customers" / "policy.yaml")
    assert loaded.policy.name == "customers"
    assert loaded.policy.unlisted_columns == "drop"


def test_bad_policy_reports_each_problem_with_line_and_hint(tmp_path: Path) -> None:
    problems = _problems(tmp_path, BAD)
    text = "\n".join(problems)
    assert (
        f"{tmp_path / 'policy.yaml'}:12: columns.email.transform.type: unknown transform 'pseudonymise'; did you mean 'pseudonymize'?"
        in text
    )
    assert ":15: columns.ssn.class:" in text and "did you mean 'identifier'?" in text
    assert (
        ":16: columns.ssn.transform.keep_lst: unknown field 'keep_lst'; did you mean 'keep_last'?"
        in text
    )
    assert (
        ":19: columns.age.transform.method: unknown generalize method 'intervall'; did you mean 'interval'?"
        in text
    )
    assert ":22: columns.zip.transform.keep:" in text and "'three'" in text
    assert ":23: columns.name:" in text and "identifier column needs a protecting transform" in text
    assert len(problems) == 6


def test_undeclared_key_is_refused(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        "name: x\ncolumns:\n  id:\n    class: identifier\n"
        "    transform: {type: pseudonymize, key: nokey}\n",
    )
    assert any(
        "key 'nokey' is not declared" in p and "columns.id.transform.key" in p for p in problems
    )


def test_misspelled_top_level_field(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path, "name: x\nunlisted_colums: keep\ncolumns:\n  a: {class: insensitive}\n"
    )
    assert any(
        ":2: unlisted_colums: unknown field" in p and "'unlisted_columns'" in p for p in problems
    )


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text("name: x\ncolumns:\n  a: [unclosed\n")
    with pytest.raises(veil.PolicyError, match=r"policy.yaml:\d+: invalid YAML"):
        load_policy(p)


def test_wrong_parameter_types_and_values(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        "name: x\nkeys: {k: {env: E}}\ncolumns:\n"
        "  a: {class: identifier, transform: {type: pseudonymize, key: k, length: 100}}\n"
        "  b: {class: sensitive, transform: {type: noise, distribution: laplace}}\n"
        "  c: {class: identifier, transform: {type: mask, char: XY}}\n",
    )
    text = "\n".join(problems)
    assert "columns.a.transform" in text and "exceeds 64" in text
    assert "columns.b.transform" in text and "laplace noise needs 'scale'" in text
    assert "columns.c.transform.char" in text


def test_key_needs_exactly_one_source(tmp_path: Path) -> None:
    problems = _problems(
        tmp_path,
        "name: x\nkeys: {k: {env: E, file: f.key}}\ncolumns:\n  a: {class: insensitive}\n",
    )
    assert any("keys.k" in p and "exactly one of 'env' or 'file'" in p for p in problems)


def test_missing_policy_file() -> None:
    with pytest.raises(veil.PolicyError, match="does not exist"):
        load_policy("/nonexistent/policy.yaml")


def test_published_json_schema_is_current() -> None:
    published = json.loads((ROOT / "schema" / "policy.schema.json").read_text())
    assert published == json.loads(json.dumps(policy_json_schema()))
    # The schema is usable by editors: transforms are a discriminated union on 'type'.
    text = json.dumps(published)
    for name in ("pseudonymize", "mask", "generalize", "date_shift", "noise", "fake"):
        assert f'"{name}"' in text
