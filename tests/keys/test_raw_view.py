"""read_raw: veil.anonymize for an authenticated principal returns the columns it may read raw
untransformed, everything else as the policy says; default deny, always audited."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

import veil
from veil.errors import AuthenticationError

from .conftest import Principals

TABLE = pa.table(
    {
        "name": ["Ann", "Bob", None],
        "zip": ["90210", "10001", "73301"],
        "ssn": ["123-45-6789", "987-65-4321", "555-12-3456"],
        "note": ["a", "b", "c"],
    }
)
COLUMNS = {
    "name": {"class": "identifier", "transform": {"type": "pseudonymize", "key": "k"}},
    "zip": {
        "class": "quasi_identifier",
        "transform": {"type": "generalize", "method": "prefix", "keep": 2},
    },
    "ssn": {"class": "identifier", "transform": {"type": "suppress"}},
    "note": {"class": "insensitive", "transform": {"type": "keep"}},
}


def events(tmp_path: Path) -> list[dict]:
    log = tmp_path / ".veil" / "audit.jsonl"
    return [json.loads(x) for x in log.read_text().splitlines()]


@pytest.fixture
def setup(policy_file: Callable[..., Path], principals: Principals) -> tuple[Path, dict[str, str]]:
    policy = policy_file(COLUMNS)
    principals.role("analyst", {"permission": "read_raw", "columns": ["customers.zip"]})
    principals.role("auditor", {"permission": "read_raw", "columns": ["customers.*"]})
    principals.role("support", {"permission": "detokenize", "columns": ["customers.*"]})
    keys = {
        "alice": principals.add("alice", "analyst"),
        "carol": principals.add("carol", "auditor"),
        "bob": principals.add("bob", "support"),
    }
    return policy, keys


def test_read_raw_columns_come_back_untransformed_and_the_view_is_audited(
    setup: tuple[Path, dict[str, str]], kenv: dict[str, str], tmp_path: Path
) -> None:
    policy, keys = setup
    masked = veil.anonymize(TABLE, policy, environ=kenv)
    assert masked.column_names == ["name", "zip", "note"]  # ssn suppressed
    assert masked.column("zip").to_pylist() == ["90***", "10***", "73***"]

    alice = veil.anonymize(TABLE, policy, environ=kenv, principal="alice", api_key=keys["alice"])
    assert alice.column("zip").to_pylist() == ["90210", "10001", "73301"]
    assert alice.column("name").equals(masked.column("name"))  # still pseudonymized
    assert "ssn" not in alice.column_names

    carol = veil.anonymize(TABLE, policy, environ=kenv, principal="carol", api_key=keys["carol"])
    assert carol.column("name").to_pylist() == ["Ann", "Bob", None]
    assert carol.column("ssn").to_pylist() == TABLE.column("ssn").to_pylist()

    bob = veil.anonymize(TABLE, policy, environ=kenv, principal="bob", api_key=keys["bob"])
    assert bob.equals(masked)  # detokenize is not read_raw: nothing raw

    views = [e for e in events(tmp_path) if e["event"] == "anonymize.completed"]
    assert [(e["actor"], e["data"].get("raw_columns")) for e in views[1:]] == [
        ("alice", ["zip"]),
        ("carol", ["name", "zip", "ssn"]),
        ("bob", []),
    ]
    assert "principal" not in views[0]["data"]


def test_a_principal_that_does_not_authenticate_gets_nothing_and_is_audited(
    setup: tuple[Path, dict[str, str]], kenv: dict[str, str], tmp_path: Path
) -> None:
    policy, keys = setup
    with pytest.raises(AuthenticationError, match="could not be authenticated"):
        veil.anonymize(TABLE, policy, environ=kenv, principal="alice", api_key=keys["carol"])
    with pytest.raises(AuthenticationError):
        veil.anonymize(TABLE, policy, environ=kenv, principal="mallory", api_key="vk_guess")
    denied = [e for e in events(tmp_path) if e["event"] == "anonymize.denied"]
    assert [e["data"]["principal"] for e in denied] == ["alice", "mallory"]
    assert all(keys["carol"] not in json.dumps(e) for e in denied)
    assert not [e for e in events(tmp_path) if e["event"] == "anonymize.completed"]


def test_an_in_memory_policy_view_is_audited_too(
    principals: Principals, kenv: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from veil.policy.model import Policy

    principals.role("analyst", {"permission": "read_raw", "columns": ["mem.zip"]})
    key = principals.add("alice", "analyst")
    policy = Policy.model_validate(
        {"name": "mem", "columns": {"zip": COLUMNS["zip"], "note": COLUMNS["note"]}}
    )
    log = tmp_path / "audit.jsonl"
    env = {**kenv, "VEIL_AUDIT_LOG": str(log)}
    out = veil.anonymize(
        TABLE.select(["zip", "note"]),
        policy,
        environ=env,
        principal="alice",
        api_key=key,
        access=principals.path,
    )
    assert out.column("zip").to_pylist() == ["90210", "10001", "73301"]
    (record,) = [json.loads(x) for x in log.read_text().splitlines()]
    assert record["actor"] == "alice" and record["data"]["raw_columns"] == ["zip"]


def test_read_raw_exempts_a_quasi_identifier_from_generalization_not_from_suppression(
    policy_file: Callable[..., Path], principals: Principals, kenv: dict[str, str]
) -> None:
    people = pa.table(
        {
            "age": [23, 24, 25, 26, 41, 42, 43, 44, 67],
            "zip": ["90210", "90211", "90212", "90213", "10001", "10002", "10003", "10004", "555"],
        }
    )
    policy = policy_file(
        {"age": {"class": "quasi_identifier"}, "zip": {"class": "quasi_identifier"}},
        privacy={
            "quasi_identifiers": {
                "age": {"type": "interval", "width": 10, "fanouts": [2]},
                "zip": {"type": "prefix"},
            },
            "models": [{"type": "k-anonymity", "k": 4}],
            "suppression_limit": 0.2,
        },
    )
    principals.role("analyst", {"permission": "read_raw", "columns": ["customers.zip"]})
    key = principals.add("alice", "analyst")
    released = veil.anonymize(people, policy, environ=kenv)
    view = veil.anonymize(people, policy, environ=kenv, principal="alice", api_key=key)
    assert released.num_rows == view.num_rows == 8  # the 67-year-old is suppressed for both
    assert sorted(view.column("age").to_pylist()) == sorted(released.column("age").to_pylist())
    assert set(released.column("age").to_pylist()) == {"20-29", "40-49"}  # by hand: k=4
    assert sorted(view.column("zip").to_pylist()) == sorted(people.column("zip").to_pylist()[:8])
    assert not set(released.column("zip").to_pylist()) & set(people.column("zip").to_pylist())
