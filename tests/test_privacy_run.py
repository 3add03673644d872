"""The policy's privacy section in `veil run`: ARX's optimal results end to end, outputs
re-checked by pycanon (an independent implementation), dry runs, and unmet models."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from pycanon import anonymity

import veil
from veil.audit import AuditLog

from .conftest import ADULT, ROOT
from .conftest import ADULT_QIS as QIS

# ARX 3.x reference (tests/data/adult/REFERENCE.md): k=5, 8 QIs, Loss metric.
ARX = {
    0.0: (
        {
            "age": 4,
            "sex": 0,
            "race": 0,
            "marital-status": 2,
            "education": 3,
            "native-country": 2,
            "workclass": 2,
            "occupation": 1,
        },
        0,
        0.59158,
    ),
    0.01: (
        {
            "age": 3,
            "sex": 0,
            "race": 0,
            "marital-status": 1,
            "education": 3,
            "native-country": 1,
            "workclass": 1,
            "occupation": 2,
        },
        273,
        0.35879,
    ),
    0.04: (
        {
            "age": 3,
            "sex": 0,
            "race": 0,
            "marital-status": 0,
            "education": 2,
            "native-country": 1,
            "workclass": 1,
            "occupation": 2,
        },
        1038,
        0.26084,
    ),
}


def adult_policy(tmp_path: Path, **privacy: Any) -> Path:
    policy = yaml.safe_load((ROOT / "examples" / "adult" / "policy.yaml").read_text())
    policy["source"]["path"] = str(ADULT / "adult.csv")
    policy["output"]["path"] = str(tmp_path / "out.parquet")
    for qi, spec in policy["privacy"]["quasi_identifiers"].items():
        spec["file"] = str(ADULT / f"adult_hierarchy_{qi}.csv")
    policy["privacy"].update(privacy)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    return path


@pytest.mark.parametrize("limit", [0.0, 0.01, 0.04])
def test_adult_k5_matches_arx_and_pycanon_confirms(tmp_path: Path, limit: float) -> None:
    levels, suppressed, loss = ARX[limit]
    result = veil.run(adult_policy(tmp_path, suppression_limit=limit))
    privacy = result.manifest["privacy"]
    assert privacy["levels"] == levels
    assert privacy["suppressed_records"] == suppressed
    assert privacy["metric_value"] == pytest.approx(loss, abs=5e-6)
    assert privacy["search"] == "optimal"
    assert result.manifest["rows"] == {
        "in": 30162,
        "out": 30162 - suppressed,
        "quarantined": 0,
        "suppressed": suppressed,
    }
    out = pq.read_table(result.output).to_pandas()
    assert len(out) == 30162 - suppressed
    assert anonymity.k_anonymity(out, QIS) >= 5  # independent check
    # Generalized values come from the hierarchies (e.g. age ranges, not raw ages).
    assert not out["age"].str.fullmatch(r"\d+").any()


def test_dry_run_reports_without_writing(tmp_path: Path) -> None:
    result = veil.run(adult_policy(tmp_path, suppression_limit=0.04), dry_run=True)
    assert result.manifest["dry_run"] is True
    assert result.manifest["privacy"]["levels"] == ARX[0.04][0]
    assert not (tmp_path / "out.parquet").exists()
    events = [r["event"] for r in AuditLog(tmp_path / ".veil" / "audit.jsonl").records()]
    assert events == ["run.dry_run"]


def test_unmet_models_write_nothing_and_say_why(tmp_path: Path) -> None:
    with pytest.raises(veil.VeilError) as info:
        veil.run(adult_policy(tmp_path, models=[{"type": "k-anonymity", "k": 40000}]))
    err = info.value
    assert err.exit_code == 10
    assert "cannot be met" in str(err) and "No output was written" in str(err)
    assert not (tmp_path / "out.parquet").exists()
    records = list(AuditLog(tmp_path / ".veil" / "audit.jsonl").records())
    assert (
        records[-1]["event"] == "run.failed" and records[-1]["data"]["error"] == "PrivacyUnmetError"
    )


def test_l_diversity_with_sensitive_attribute(tmp_path: Path, write_policy) -> None:
    policy = yaml.safe_load(adult_policy(tmp_path).read_text())
    policy["columns"]["salary-class"] = {"class": "sensitive"}
    policy["privacy"]["sensitive"] = ["salary-class"]
    policy["privacy"]["models"] = [
        {"type": "k-anonymity", "k": 5},
        {"type": "distinct-l-diversity", "attribute": "salary-class", "l": 2},
    ]
    result = veil.run(write_policy(policy, name="ldiv.yaml"))
    out = pq.read_table(result.output).to_pandas()
    assert anonymity.k_anonymity(out, QIS) >= 5
    assert anonymity.l_diversity(out, QIS, ["salary-class"]) >= 2


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (
            lambda p: p["columns"]["age"].update(
                transform={"type": "generalize", "method": "interval", "width": 10}
            ),
            "generalized by the privacy section",
        ),
        (lambda p: p["columns"]["age"].update({"class": "sensitive"}), "not quasi_identifier"),
        (
            lambda p: p["privacy"]["models"].append(
                {"type": "distinct-l-diversity", "attribute": "salary-class", "l": 2}
            ),
            "not listed in privacy.sensitive",
        ),
        (
            lambda p: p["privacy"].update(algorithm="mondrian", suppression_limit=0.01),
            "Mondrian does not suppress",
        ),
        (lambda p: p["privacy"]["models"].append({"type": "k-anonymit", "k": 2}), "k-anonymity"),
    ],
)
def test_invalid_privacy_sections_are_refused(tmp_path: Path, mutate: Any, fragment: str) -> None:
    path = adult_policy(tmp_path)
    policy = yaml.safe_load(path.read_text())
    mutate(policy)
    path.write_text(yaml.safe_dump(policy, sort_keys=False))
    with pytest.raises(veil.PolicyError, match=fragment):
        veil.load_policy(path)


def test_mondrian_run_is_k_anonymous(tmp_path: Path) -> None:
    result = veil.run(
        adult_policy(
            tmp_path,
            algorithm="mondrian",
            suppression_limit=0.0,
            models=[{"type": "k-anonymity", "k": 10}],
        )
    )
    out = pq.read_table(result.output).to_pandas()
    assert len(out) == 30162
    assert anonymity.k_anonymity(out, QIS) >= 10


def test_cli_dry_run_prints_levels_and_writes_nothing(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from veil.cli import main

    res = CliRunner().invoke(
        main, ["run", "--dry-run", str(adult_policy(tmp_path, suppression_limit=0.01))]
    )
    assert res.exit_code == 0, res.output
    assert (
        "nothing was written" in res.stdout
        and "'age': 3" in res.stdout
        and "273 of 30,162" in res.stdout
    )
    assert not (tmp_path / "out.parquet").exists()


def test_explain_says_the_privacy_search_generalizes_the_quasi_identifiers(
    tmp_path: Path,
) -> None:
    explanation = veil.explain(adult_policy(tmp_path, suppression_limit=0.01)).as_dict()
    by_name = {c["name"]: c for c in explanation["columns"]}
    for qi in QIS:
        assert by_name[qi]["transform"] == "privacy/optimal"
        assert (
            by_name[qi]["description"]
            == "generalized along its arx hierarchy by the privacy search"
        )
    assert by_name["salary-class"]["description"] == "kept unchanged"
    assert explanation["privacy"] == (
        "5-anonymity; at most 1% of records suppressed; metric loss; optimal search"
    )


def csv_with_bad_rows(directory: Path, n: int = 2000, seed: int = 5) -> Path:
    """A CSV of (id, age, zip, city) records with malformed rows among them: a row with a
    field too many, one with a field too few, an age that is not a number."""
    import random

    rng = random.Random(seed)
    lines = ["id,age,zip,city"]
    for i in range(n):
        lines.append(
            f"p{i},{rng.randrange(18, 90)},{rng.choice(['90210', '90211', '10001', '10002'])},"
            f"{rng.choice(['Oslo', 'Rome', 'Lima'])}"
        )
    lines[10] = "p9,44,90210,Oslo,extra"
    lines[20] = "p19,44"
    lines[30] = "p29,forty,10001,Rome"
    doc = {
        "version": 1,
        "name": "people",
        "source": {"path": "people.csv", "format": "csv"},
        "output": {"path": "out.parquet", "overwrite": True},
        "on_error": "quarantine",
        "quarantine": {"path": "bad.csv"},
        "columns": {
            "id": {"class": "insensitive"},
            "age": {"class": "quasi_identifier"},
            "zip": {"class": "quasi_identifier"},
            "city": {"class": "sensitive"},
        },
        "privacy": {
            "quasi_identifiers": {
                "age": {"type": "interval", "width": 5, "fanouts": [2, 2, 2]},
                "zip": {"type": "prefix"},
            },
            "sensitive": ["city"],
            "models": [
                {"type": "k-anonymity", "k": 20},
                {"type": "distinct-l-diversity", "attribute": "city", "l": 2},
            ],
            "suppression_limit": 0.02,
        },
    }
    (directory / "people.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    policy = directory / "policy.yaml"
    policy.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return policy


def test_privacy_with_quarantine_leaves_bad_rows_out_of_the_search_and_the_output(
    tmp_path: Path,
) -> None:
    result = veil.run(csv_with_bad_rows(tmp_path))
    rows = result.manifest["rows"]
    suppressed = result.manifest["privacy"]["suppressed_records"]
    assert rows["quarantined"] == 3
    assert rows["out"] == 2000 - 3 - suppressed
    with open(tmp_path / "bad.csv", newline="", encoding="utf-8") as fh:
        bad = [r[1:] for r in csv.reader(fh)][1:]
    assert bad == [  # one record per bad line, with its line number, columns and error
        ["11", "", "TOO MANY COLUMNS", "p9,44,90210,Oslo,extra"],
        ["21", "city;zip", "MISSING COLUMNS", "p19,44"],
        ["31", "age", "CAST", "p29,forty,10001,Rome"],
    ]
    out = pq.read_table(result.output).to_pandas()
    assert not set(out["id"]) & {"p9", "p19", "p29"}
    assert anonymity.k_anonymity(out, ["age", "zip"]) >= 20
    assert all(g["city"].nunique() >= 2 for _, g in out.groupby(["age", "zip"]))


def test_privacy_input_with_a_bad_number_fails_with_its_line_and_column(tmp_path: Path) -> None:
    policy = csv_with_bad_rows(tmp_path)
    doc = yaml.safe_load(policy.read_text())
    del doc["on_error"], doc["quarantine"]
    policy.write_text(yaml.safe_dump(doc))
    (tmp_path / "people.csv").write_text(
        "\n".join(
            line
            for line in (tmp_path / "people.csv").read_text().splitlines()
            if line.count(",") == 3  # only the unparsable age is left
        )
        + "\n"
    )
    with pytest.raises(veil.DataError) as err:
        veil.run(policy)
    assert "line 29" in str(err.value) and "'age'" in str(err.value)  # 31 less the 2 removed
    assert "forty" not in str(err.value)  # data values never go into messages
    assert not (tmp_path / "out.parquet").exists()


def adult_table() -> Any:
    import duckdb

    return duckdb.sql(
        f"SELECT * FROM read_csv('{ADULT / 'adult.csv'}', delim=';', header=true)"
    ).to_arrow_table()


def test_anonymize_in_memory_applies_the_privacy_models_like_run(tmp_path: Path) -> None:
    policy = adult_policy(tmp_path, suppression_limit=0.01)
    out = veil.anonymize(adult_table(), policy)
    levels, suppressed, _ = ARX[0.01]
    assert out.num_rows == 30162 - suppressed
    frame = out.to_pandas()
    assert anonymity.k_anonymity(frame, QIS) >= 5
    assert not frame["age"].astype(str).str.fullmatch(r"\d+").any()
    ran = pq.read_table(veil.run(policy).output)
    key = list(ran.column_names)
    assert (
        out.select(key)
        .sort_by([(c, "ascending") for c in key])
        .equals(ran.sort_by([(c, "ascending") for c in key]))
    )
    (event,) = [
        r
        for r in AuditLog(tmp_path / ".veil" / "audit.jsonl").records()
        if r["event"] == "anonymize.completed"
    ]
    assert event["data"]["privacy"]["levels"] == levels
    assert event["data"]["privacy"]["suppressed_records"] == suppressed


def test_anonymize_refuses_a_text_column_where_an_interval_hierarchy_needs_numbers(
    tmp_path: Path,
) -> None:
    policy = csv_with_bad_rows(tmp_path)
    table = pa.table({"id": ["p1"], "age": ["44"], "zip": ["90210"], "city": ["Oslo"]})
    with pytest.raises(
        veil.DataError, match="'age' is VARCHAR; its privacy hierarchy needs a numeric"
    ):
        veil.anonymize(table, policy)
