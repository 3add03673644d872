"""Quasi-identifier discovery, and the redact_entities transform."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

import veil
from veil.detect import scan
from veil.errors import PolicyError
from veil.policy.load import parse_policy as _parse
from veil.policy.model import Policy


def parse_policy(policy: dict[str, object]) -> Policy:
    return _parse(yaml.safe_dump(policy), Path("inline.yaml"))


def test_minimal_quasi_identifier_sets() -> None:
    rng = random.Random(5)
    n = 1000
    table = pa.table(
        {
            "row_id": list(range(n)),  # unique alone: an identifier-like column, not a QI
            "department": [rng.randrange(40) for _ in range(n)],
            "height_cm": [150 + rng.randrange(60) for _ in range(n)],
            "status": [rng.choice(["a", "b", "c"]) for _ in range(n)],
        }
    )
    r = scan(table, qi_threshold=0.5)
    sets = [q.columns for q in r.quasi_identifier_sets]
    assert ("department", "height_cm") in sets
    for q in r.quasi_identifier_sets:
        assert q.unique_share > 0.5
        assert not any(set(o) < set(q.columns) for o in sets)  # minimal
    assert r.column("department").column_class == "quasi_identifier"
    assert r.column("height_cm").type == "quasi_identifier"
    assert r.column("status").column_class == "insensitive"
    assert "row_id" not in {c for s in sets for c in s}


def _anon(
    texts: list[str | None], transform: dict[str, object], key: str | None = None
) -> list[str | None]:
    policy = {"name": "t", "columns": {"t": {"class": "sensitive", "transform": transform}}}
    env = {}
    if key:
        policy["keys"] = {"k": {"env": "K"}}
        env = {"K": key}
    out = veil.anonymize(
        pa.table({"t": pa.array(texts, pa.string())}), parse_policy(policy), environ=env
    )
    return out.column("t").to_pylist()


TEXTS = [
    "Call Anna Schmidt at +1 415-555-0134 or anna@example.org",
    "Card 4111 1111 1111 1111 was declined on 2024-03-05",
    "IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789",
    None,
    "nothing to see here, order 12345",
]


def test_redact_entities_labels() -> None:
    out = _anon(TEXTS, {"type": "redact_entities"})
    assert out[0] == "Call <PERSON> at <PHONE> or <EMAIL>"
    assert out[1] == "Card <CREDIT_CARD> was declined on <DATE>"
    assert out[2] == "IBAN <IBAN>, SSN <US_SSN>"
    assert out[3] is None and out[4] == TEXTS[4]


def test_redact_entities_mask_and_subset() -> None:
    out = _anon(
        TEXTS,
        {"type": "redact_entities", "replace_with": "mask", "entities": ["email", "credit_card"]},
    )
    assert out[0] == "Call Anna Schmidt at +1 415-555-0134 or XXXX@XXXXXXX.XXX"
    assert out[1] == "Card XXXX XXXX XXXX XXXX was declined on 2024-03-05"


def test_redact_entities_pseudonyms_are_keyed_and_stable() -> None:
    key = os.urandom(32).hex()
    t = {"type": "redact_entities", "replace_with": "pseudonym", "key": "k", "entities": ["email"]}
    a = _anon(["x a@b.co", "y a@b.co", "z c@d.co"], t, key)
    b = _anon(["x a@b.co"], t, key)
    c = _anon(["x a@b.co"], t, os.urandom(32).hex())
    assert a[0] is not None and a[0].startswith("x <EMAIL_")
    assert a[0][2:] == a[1][2:] != a[2][2:]  # same span, same pseudonym
    assert a[0] == b[0] != c[0]  # deterministic per key, different under another key


def test_redact_entities_validation() -> None:
    with pytest.raises(PolicyError):
        parse_policy(
            {
                "name": "t",
                "columns": {
                    "t": {
                        "class": "sensitive",
                        "transform": {"type": "redact_entities", "replace_with": "pseudonym"},
                    }
                },
            }
        )
    with pytest.raises(PolicyError):
        parse_policy(
            {
                "name": "t",
                "columns": {
                    "t": {
                        "class": "sensitive",
                        "transform": {"type": "redact_entities", "entities": ["emails"]},
                    }
                },
            }
        )


def test_redact_entities_in_the_schema() -> None:
    schema = (Path(__file__).resolve().parents[2] / "schema" / "policy.schema.json").read_text()
    assert "redact_entities" in schema


def test_redact_entities_udf_is_batched() -> None:
    n = 5_000
    texts = [f"row {i} mail u{i}@x.org call +44 20 7946 {i % 10000:04d}" for i in range(n)]
    out = _anon(texts, {"type": "redact_entities", "entities": ["email", "phone"]})
    assert out[7] == "row 7 mail <EMAIL> call <PHONE>"
    assert len(out) == n
