"""Reversal with access control: who may reveal what, with a purpose, every attempt audited,
and specific errors for bad input (unknown token, destroyed key version, not a ciphertext)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import veil
from veil.access.control import AccessControl, hash_api_key, verify_api_key
from veil.audit import AuditLog
from veil.keys.keyring import Keyring
from veil.keys.master import LocalMasterKey

from .conftest import Principals

NAMES = ["Ann Smith", "Bob Jones", None, "Ann Smith"]
EMAILS = ["ann@x.org", "bob@y.org", "carl@z.org", None]
SSNS = ["123-45-6789", None, "555-12-3456", "987-65-4321"]


@pytest.fixture
def setup(
    tmp_path: Path, policy_file: Callable[..., Path], principals: Principals, kenv: dict[str, str]
) -> dict[str, Any]:
    policy = policy_file(
        {
            "name": {
                "class": "identifier",
                "transform": {"type": "tokenize", "key": "k", "vault": "vault.sqlite"},
            },
            "email": {"class": "identifier", "transform": {"type": "encrypt", "key": "k"}},
            "ssn": {"class": "identifier", "transform": {"type": "fpe", "key": "k"}},
            "age": {"class": "insensitive"},
        }
    )
    table = pa.table({"name": NAMES, "email": EMAILS, "ssn": SSNS, "age": [30, 40, 50, 60]})
    out = veil.anonymize(table, policy, environ=kenv)
    principals.role(
        "support",
        {"permission": "detokenize", "columns": ["customers.name"]},
        {"permission": "decrypt", "columns": ["customers.*"]},
    )
    principals.role("analyst", {"permission": "read_raw", "columns": ["customers.age"]})
    principals.add("alice", "support")
    principals.add("bob", "analyst")
    return {"policy": policy, "out": out, "env": kenv, "p": principals}


def do_reveal(
    s: dict[str, Any], column: str, values: list[Any], who: str = "alice", **kw: Any
) -> list[Any]:
    return veil.reveal(
        s["policy"],
        column,
        values,
        principal=who,
        api_key=kw.pop("api_key", s["p"].keys.get(who)),
        purpose=kw.pop("purpose", "customer asked for a copy of their record (ticket 4711)"),
        environ=s["env"],
        **kw,
    )


def audit(s: dict[str, Any]) -> list[dict[str, Any]]:
    path = s["policy"].parent / ".veil" / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_authorized_reveal_of_all_three_kinds(setup: dict[str, Any]) -> None:
    out = setup["out"]
    assert do_reveal(setup, "name", out.column("name").to_pylist()) == NAMES
    assert do_reveal(setup, "email", out.column("email").to_pylist()) == EMAILS
    assert do_reveal(setup, "ssn", out.column("ssn").to_pylist()) == SSNS
    events = [r for r in audit(setup) if r["event"].startswith("reveal.")]
    assert [e["event"] for e in events] == ["reveal.completed"] * 3
    first = events[0]
    assert first["actor"] == "alice" and first["data"]["principal"] == "alice"
    assert first["data"]["purpose"].startswith("customer asked")
    assert first["data"]["values"] == 3 and first["data"]["permission"] == "detokenize"
    assert first["data"]["key_versions"] == [1] and len(first["data"]["key_fingerprints"]) == 1
    text = (setup["policy"].parent / ".veil" / "audit.jsonl").read_text()
    for v in [*NAMES, *EMAILS, *SSNS, *out.column("email").to_pylist()]:
        if v:
            assert v not in text
    assert AuditLog(setup["policy"].parent / ".veil" / "audit.jsonl").verify().ok


def test_default_deny_and_refusals_are_audited(setup: dict[str, Any]) -> None:
    tokens = setup["out"].column("name").to_pylist()
    with pytest.raises(veil.AccessDeniedError, match="'bob' may not detokenize customers.name"):
        do_reveal(setup, "name", tokens, who="bob")
    with pytest.raises(veil.AuthenticationError, match="could not be authenticated"):
        do_reveal(setup, "name", tokens, api_key="vk_wrong")
    with pytest.raises(veil.AuthenticationError):
        do_reveal(setup, "name", tokens, who="mallory", api_key="vk_anything")
    with pytest.raises(veil.AccessDeniedError, match="stated purpose"):
        do_reveal(setup, "name", tokens, purpose=" ")
    events = [r for r in audit(setup) if r["event"].startswith("reveal.")]
    assert [e["event"] for e in events] == ["reveal.denied"] * 4
    assert events[0]["data"]["authenticated"] is True and events[0]["actor"] == "bob"
    assert events[1]["data"]["authenticated"] is False and events[1]["actor"] != "alice"
    assert all(e["data"]["values"] == 3 for e in events)
    text = json.dumps(events)
    assert all(t not in text for t in tokens if t) and "vk_wrong" not in text


def test_bad_input_errors(setup: dict[str, Any], master: LocalMasterKey, ring_path: Path) -> None:
    emails = setup["out"].column("email").to_pylist()
    with pytest.raises(veil.TokenNotFoundError, match="value #1 is not a token"):
        do_reveal(setup, "name", ["zzzzzzzzzzzzzzzzzzzzzzzzzz"])
    with pytest.raises(veil.InvalidCiphertextError, match="value #2 is not a veil ciphertext"):
        do_reveal(setup, "email", [emails[0], "hello"])
    tampered = emails[0][:-2] + ("A" if emails[0][-2] != "A" else "B") + emails[0][-1]
    with pytest.raises(veil.InvalidCiphertextError, match="does not decrypt under key version 1"):
        do_reveal(setup, "email", [tampered])
    with pytest.raises(veil.KeyVersionError, match="no version 7"):
        do_reveal(setup, "email", ["v7:" + emails[0][3:]])
    with pytest.raises(veil.PolicyError, match="cannot be reversed"):
        do_reveal(setup, "age", ["30-39"])
    with pytest.raises(veil.PolicyError, match="no column"):
        do_reveal(setup, "nope", ["x"])
    with pytest.raises(veil.DataError, match="cannot be decrypted"):
        do_reveal(setup, "ssn", ["12-AB"])
    # rotate, then destroy version 1: old ciphertexts can no longer be reversed
    Keyring.rotate(ring_path, master, "main")
    with pytest.raises(veil.KeyVersionError, match="give key_version"):
        do_reveal(setup, "ssn", [SSNS[0]])
    Keyring.destroy(ring_path, master, "main", 1)
    with pytest.raises(veil.KeyVersionDestroyedError, match="version 1 was destroyed"):
        do_reveal(setup, "email", emails[:1])
    with pytest.raises(veil.KeyVersionDestroyedError):
        do_reveal(setup, "name", setup["out"].column("name").to_pylist()[:1])
    failed = [r for r in audit(setup) if r["event"] == "reveal.failed"]
    assert {r["data"]["error"] for r in failed} >= {
        "TokenNotFoundError",
        "InvalidCiphertextError",
        "KeyVersionDestroyedError",
        "PolicyError",
    }


def test_values_made_before_a_rotation_still_reveal(
    setup: dict[str, Any], master: LocalMasterKey, ring_path: Path
) -> None:
    Keyring.rotate(ring_path, master, "main")
    old = setup["out"]
    new = veil.anonymize(
        pa.table({"name": NAMES, "email": EMAILS, "ssn": SSNS, "age": [1, 2, 3, 4]}),
        setup["policy"],
        environ=setup["env"],
    )
    assert new.column("email")[0].as_py().startswith("v2:")
    mixed = old.column("email").to_pylist()[:2] + new.column("email").to_pylist()[:2]
    assert do_reveal(setup, "email", mixed) == EMAILS[:2] * 2
    assert new.column("name").to_pylist() == old.column("name").to_pylist()  # convergent
    assert do_reveal(setup, "ssn", old.column("ssn").to_pylist(), key_version=1) == SSNS
    assert do_reveal(setup, "ssn", new.column("ssn").to_pylist(), key_version=2) == SSNS
    manifest = setup["policy"].parent / "m.json"
    manifest.write_text(json.dumps({"keys": [{"name": "k", "version": 2}]}))
    assert do_reveal(setup, "ssn", new.column("ssn").to_pylist(), manifest=manifest) == SSNS
    last = [r for r in audit(setup) if r["event"] == "reveal.completed"][0]
    assert last["data"]["key_versions"] == [1, 2]


def test_access_file_validation_and_permissions(tmp_path: Path) -> None:
    path = tmp_path / "access.yaml"
    path.write_text("principals:\n  a: {roles: [ghost], api_key_hash: 'scrypt$1$1$1$AA$AA'}\n")
    with pytest.raises(veil.PolicyError, match="role 'ghost'"):
        AccessControl.load(path)
    path.write_text("roles:\n  r: {grants: [{permission: decrypt}]}\n")
    with pytest.raises(veil.PolicyError, match="columns"):
        AccessControl.load(path)
    path.write_text("roles:\n  r: {grants: [{permission: administer_keys, columns: [x]}]}\n")
    with pytest.raises(veil.PolicyError, match="keys"):
        AccessControl.load(path)
    with pytest.raises(veil.PolicyError, match="does not exist"):
        AccessControl.load(tmp_path / "missing.yaml")
    p = Principals(path)
    p.role("raw", {"permission": "read_raw", "columns": ["hr.salary", "hr.a?e"]})
    p.role("admin", {"permission": "administer_keys", "keys": ["main*"]})
    p.add("carol", "raw", "admin")
    p.add("dave")
    ac = AccessControl.load(path)
    carol = ac.authenticate("carol", p.keys["carol"])
    assert ac.allows(carol, "read_raw", "hr.salary") and ac.allows(carol, "read_raw", "hr.age")
    assert not ac.allows(carol, "read_raw", "hr.name") and not ac.allows(
        carol, "decrypt", "hr.salary"
    )
    assert ac.allows(carol, "administer_keys", "main-2024") and not ac.allows(
        carol, "administer_keys", "other"
    )
    dave = ac.authenticate("dave", p.keys["dave"])
    assert not any(
        ac.allows(dave, perm, "hr.salary") for perm in ("read_raw", "decrypt", "detokenize")
    )


def test_api_keys_are_stored_as_salted_scrypt_hashes() -> None:
    h1, h2 = hash_api_key("vk_same"), hash_api_key("vk_same")
    assert h1 != h2 and h1.startswith("scrypt$16384$8$1$") and "vk_same" not in h1
    assert verify_api_key("vk_same", h1) and not verify_api_key("vk_other", h1)
    assert not verify_api_key("vk_same", "scrypt$bad") and not verify_api_key("x", "md5$1$2$3$4$5")
