"""`veil keys`, `veil access new-key` and `veil reveal` from the command line."""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from click.testing import CliRunner

import veil
from veil.cli import main
from veil.keys.keyring import Keyring
from veil.keys.master import LocalMasterKey

from .conftest import Principals


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_keys_lifecycle(runner: CliRunner, tmp_path: Path, master_hex: str) -> None:
    env = {"VEIL_MASTER_KEY": master_hex, "VEIL_KEYRING": str(tmp_path / "ring.json")}
    r = runner.invoke(main, ["keys", "create", "main"], env=env)
    assert r.exit_code == 0, r.output
    assert "created key 'main' version 1" in r.output
    assert runner.invoke(main, ["keys", "rotate", "main"], env=env).exit_code == 0
    assert runner.invoke(main, ["keys", "create", "other"], env=env).exit_code == 0
    r = runner.invoke(main, ["keys", "list", "--json"], env=env)
    assert r.exit_code == 0, r.output
    listing = json.loads(r.stdout)
    main_key = next(k for k in listing["keys"] if k["name"] == "main")
    assert main_key["current_version"] == 2 and len(main_key["versions"]) == 2
    r = runner.invoke(main, ["keys", "list"], env=env)
    assert r.exit_code == 0 and "main" in r.output and "(current)" in r.output
    ring = Keyring.open(tmp_path / "ring.json", LocalMasterKey(bytes.fromhex(master_hex), "t"))
    material = [ring.material("main", 1).hex(), ring.material("main", 2).hex(), master_hex]
    r = runner.invoke(main, ["keys", "destroy", "main", "--version", "1"], env=env)
    assert r.exit_code == 2 and "--yes" in r.output
    r = runner.invoke(main, ["keys", "destroy", "main", "--version", "1", "--yes"], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["keys", "list", "--json"], env=env)
    statuses = [
        v["status"]
        for k in json.loads(r.stdout)["keys"]
        for v in k["versions"]
        if k["name"] == "main"
    ]
    assert statuses == ["destroyed", "active"]
    events = [json.loads(x)["event"] for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert events == ["keys.created", "keys.rotated", "keys.created", "keys.destroyed"]
    everything = (tmp_path / "audit.jsonl").read_text() + (tmp_path / "ring.json").read_text()
    assert all(m not in everything for m in material)


def test_keys_errors_and_exit_codes(runner: CliRunner, tmp_path: Path, master_hex: str) -> None:
    ring = str(tmp_path / "ring.json")
    env = {"VEIL_MASTER_KEY": master_hex, "VEIL_KEYRING": ring}
    assert runner.invoke(main, ["keys", "create", "main"], env=env).exit_code == 0
    wrong = {**env, "VEIL_MASTER_KEY": os.urandom(32).hex()}
    r = runner.invoke(main, ["keys", "list"], env=wrong)
    assert r.exit_code == 3 and "wrong master key" in r.output
    r = runner.invoke(
        main, ["keys", "rotate", "main"], env={"VEIL_KEYRING": ring, "VEIL_MASTER_KEY": ""}
    )
    assert r.exit_code == 3 and "no master key" in r.output
    r = runner.invoke(main, ["keys", "rotate", "missing"], env=env)
    assert r.exit_code == 3 and "no key 'missing'" in r.output
    r = runner.invoke(main, ["keys", "create", "bad name"], env=env)
    assert r.exit_code == 3 and "invalid key name" in r.output
    Path(ring).write_bytes(Path(ring).read_bytes()[:100])
    r = runner.invoke(main, ["keys", "list"], env=env)
    assert r.exit_code == 3 and "truncated" in r.output


def test_keys_admin_needs_the_permission_when_an_access_file_is_given(
    runner: CliRunner, tmp_path: Path, master_hex: str
) -> None:
    access = Principals(tmp_path / "access.yaml")
    access.role("admin", {"permission": "administer_keys", "keys": ["team-*"]})
    admin_key = access.add("root", "admin")
    access.add("eve")
    env = {
        "VEIL_MASTER_KEY": master_hex,
        "VEIL_KEYRING": str(tmp_path / "ring.json"),
        "VEIL_ACCESS": str(tmp_path / "access.yaml"),
    }
    r = runner.invoke(main, ["keys", "create", "team-a"], env=env)
    assert r.exit_code == 2 and "--principal" in r.output
    r = runner.invoke(
        main,
        ["keys", "create", "team-a", "--principal", "root"],
        env={**env, "VEIL_API_KEY": admin_key},
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        main,
        ["keys", "create", "other", "--principal", "root"],
        env={**env, "VEIL_API_KEY": admin_key},
    )
    assert r.exit_code == 9 and "may not administer keys other" in r.output
    r = runner.invoke(
        main,
        ["keys", "rotate", "team-a", "--principal", "eve"],
        env={**env, "VEIL_API_KEY": admin_key},
    )
    assert r.exit_code == 9 and "could not be authenticated" in r.output
    events = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["keys.created", "keys.denied", "keys.denied"]
    assert events[0]["actor"] == "root"


def test_keys_rewrap_moves_the_keyring_to_a_new_master_key(
    runner: CliRunner, tmp_path: Path, master_hex: str
) -> None:
    ring = tmp_path / "ring.json"
    new_hex = os.urandom(32).hex()
    env = {"VEIL_MASTER_KEY": master_hex, "VEIL_KEYRING": str(ring), "NEW_MASTER": new_hex}
    assert runner.invoke(main, ["keys", "create", "main"], env=env).exit_code == 0
    assert runner.invoke(main, ["keys", "rotate", "main"], env=env).exit_code == 0
    old_master = LocalMasterKey(bytes.fromhex(master_hex), "old")
    before = Keyring.open(ring, old_master)
    material = {v: before.material("main", v) for v in (1, 2)}

    r = runner.invoke(main, ["keys", "rewrap"], env=env)
    assert r.exit_code == 2 and "exactly one of" in r.output
    unchanged = ring.read_bytes()
    wrong = {**env, "VEIL_MASTER_KEY": os.urandom(32).hex()}
    r = runner.invoke(main, ["keys", "rewrap", "--new-master-key-env", "NEW_MASTER"], env=wrong)
    assert r.exit_code == 3 and "wrong master key" in r.output
    assert ring.read_bytes() == unchanged

    r = runner.invoke(main, ["keys", "rewrap", "--new-master-key-env", "NEW_MASTER"], env=env)
    assert r.exit_code == 0, r.output
    assert "re-wrapped" in r.output and "env:NEW_MASTER" in r.output
    after = Keyring.open(ring, LocalMasterKey(bytes.fromhex(new_hex), "new"))
    assert {v: after.material("main", v) for v in (1, 2)} == material
    assert after.current_version("main") == 2
    assert stat.S_IMODE(ring.stat().st_mode) == 0o600
    r = runner.invoke(main, ["keys", "list"], env=env)  # the old master key no longer opens it
    assert r.exit_code == 3 and "wrong master key" in r.output
    r = runner.invoke(main, ["keys", "list"], env={**env, "VEIL_MASTER_KEY": new_hex})
    assert r.exit_code == 0, r.output

    audit = (tmp_path / "audit.jsonl").read_text()
    events = [json.loads(x) for x in audit.splitlines()]
    assert events[-1]["event"] == "keys.rewrapped"
    assert events[-1]["data"]["new_master"] == "env:NEW_MASTER"
    secrets_ = [master_hex, new_hex, *(m.hex() for m in material.values())]
    assert all(x not in audit + r.output for x in secrets_)


def test_keys_rewrap_needs_administer_keys_on_every_key(
    runner: CliRunner, tmp_path: Path, master_hex: str
) -> None:
    access = Principals(tmp_path / "access.yaml")
    access.role("team_admin", {"permission": "administer_keys", "keys": ["team-*"]})
    access.role("admin", {"permission": "administer_keys", "keys": ["*"]})
    team_key = access.add("team", "team_admin")
    root_key = access.add("root", "admin")
    ring = tmp_path / "ring.json"
    env = {
        "VEIL_MASTER_KEY": master_hex,
        "VEIL_KEYRING": str(ring),
        "VEIL_ACCESS": str(tmp_path / "access.yaml"),
        "NEW_MASTER": os.urandom(32).hex(),
    }
    rewrap = ["keys", "rewrap", "--new-master-key-env", "NEW_MASTER", "--principal"]
    r = runner.invoke(
        main,
        ["keys", "create", "team-a", "--principal", "team"],
        env={**env, "VEIL_API_KEY": team_key},
    )
    assert r.exit_code == 0, r.output
    unchanged = ring.read_bytes()
    r = runner.invoke(main, [*rewrap, "team"], env={**env, "VEIL_API_KEY": team_key})
    assert r.exit_code == 9 and "may not administer keys *" in r.output
    assert ring.read_bytes() == unchanged
    r = runner.invoke(main, [*rewrap, "root"], env={**env, "VEIL_API_KEY": root_key})
    assert r.exit_code == 0, r.output
    events = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["keys.created", "keys.denied", "keys.rewrapped"]
    assert events[-1]["actor"] == "root"


def test_access_new_key(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "alice.key"
    r = runner.invoke(main, ["access", "new-key", "alice", "--out", str(out)])
    assert r.exit_code == 0, r.output
    key = out.read_text().strip()
    assert key.startswith("vk_") and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert key not in r.output and 'api_key_hash: "scrypt$' in r.stdout
    from veil.access.control import verify_api_key

    stored = r.stdout.split('api_key_hash: "')[1].split('"')[0]
    assert verify_api_key(key, stored)
    assert runner.invoke(main, ["access", "new-key", "alice", "--out", str(out)]).exit_code == 2


def test_reveal_cli(
    runner: CliRunner,
    tmp_path: Path,
    policy_file: Callable[..., Path],
    principals: Principals,
    kenv: dict[str, str],
) -> None:
    policy = policy_file(
        {
            "name": {
                "class": "identifier",
                "transform": {"type": "tokenize", "key": "k", "vault": "v.sqlite"},
            },
            "email": {"class": "identifier", "transform": {"type": "encrypt", "key": "k"}},
        }
    )
    out = veil.anonymize(
        pa.table({"name": ["Ann", "Bob"], "email": ["a@x", "b@y"]}), policy, environ=kenv
    )
    principals.role("support", {"permission": "decrypt", "columns": ["customers.email"]})
    key = principals.add("alice", "support")
    env = {**kenv, "VEIL_API_KEY": key}
    emails = out.column("email").to_pylist()
    base = ["reveal", str(policy), "--principal", "alice", "--purpose", "GDPR access request 17"]
    r = runner.invoke(main, [*base, "--column", "email", *emails], env=env)
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == ["a@x", "b@y"] and "audited" in r.output
    inp = tmp_path / "in.txt"
    inp.write_text("\n".join([emails[1], "", emails[0]]) + "\n")
    r = runner.invoke(main, [*base, "--column", "email", "--input", str(inp), "--json"], env=env)
    assert json.loads(r.stdout) == ["b@y", None, "a@x"]
    dest = tmp_path / "revealed.txt"
    r = runner.invoke(main, [*base, "--column", "email", emails[0], "--output", str(dest)], env=env)
    assert r.exit_code == 0 and dest.read_text() == "a@x\n" and "a@x" not in r.stdout
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    tokens = out.column("name").to_pylist()
    r = runner.invoke(main, [*base, "--column", "name", *tokens], env=env)
    assert r.exit_code == 9 and "may not detokenize customers.name" in r.output
    assert "Ann" not in r.output
    r = runner.invoke(
        main, [*base, "--column", "email", *emails], env={**kenv, "VEIL_API_KEY": "vk_x"}
    )
    assert r.exit_code == 9
    principals.role("support", {"permission": "detokenize", "columns": ["customers.*"]})
    r = runner.invoke(main, [*base, "--column", "name", "nosuchtoken"], env=env)
    assert r.exit_code == 8 and "value #1 is not a token" in r.output
    r = runner.invoke(main, [*base, "--column", "name"], env=env)
    assert r.exit_code == 2 and "no values" in r.output


def test_vault_purge_deletes_only_expired_tokens_and_is_audited(
    runner: CliRunner,
    tmp_path: Path,
    policy_file: Callable[..., Path],
    principals: Principals,
    kenv: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sqlite3

    import veil.vault.purge as purge_module

    policy = policy_file(
        {
            "name": {
                "class": "identifier",
                "transform": {"type": "tokenize", "key": "k", "vault": "v.sqlite", "ttl_days": 1},
            },
            "city": {
                "class": "identifier",
                "transform": {"type": "tokenize", "key": "k", "vault": "v.sqlite", "domain": "c"},
            },
        }
    )
    table = pa.table({"name": ["Ann", "Bob", "Cy"], "city": ["Oslo", "Rome", "Oslo"]})
    veil.anonymize(table, policy, environ=kenv)

    def rows() -> dict[str, int]:
        with sqlite3.connect(tmp_path / "v.sqlite") as con:
            return dict(
                con.execute("SELECT namespace, count(*) FROM veil_tokens GROUP BY 1").fetchall()
            )

    assert rows() == {"default": 3, "c": 2}
    r = runner.invoke(main, ["vault", "purge", str(policy)], env=kenv)
    assert r.exit_code == 0, r.output
    assert "column 'name': purged 0 expired tokens" in r.output
    assert rows() == {"default": 3, "c": 2}  # nothing has expired yet

    later = time.time() + 2 * 86400
    monkeypatch.setattr(purge_module.time, "time", lambda: later)
    r = runner.invoke(main, ["vault", "purge", str(policy), "--column", "name"], env=kenv)
    assert r.exit_code == 0, r.output
    assert "column 'name': purged 3 expired tokens" in r.output and "'city'" not in r.output
    assert rows() == {"c": 2}  # tokens without ttl_days never expire

    r = runner.invoke(main, ["vault", "purge", str(policy), "--column", "email"], env=kenv)
    assert r.exit_code == 2 and "no tokenize column 'email'" in r.output

    principals.role("reader", {"permission": "detokenize", "columns": ["customers.*"]})
    key = principals.add("bob", "reader")
    r = runner.invoke(
        main,
        ["vault", "purge", str(policy), "--principal", "bob", "--access", str(principals.path)],
        env={**kenv, "VEIL_API_KEY": key},
    )
    assert r.exit_code == 9 and "may not administer keys main" in r.output
    events = [json.loads(x) for x in (tmp_path / ".veil" / "audit.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events if e["event"].startswith(("vault", "keys"))] == [
        "vault.purged",
        "vault.purged",
        "vault.purged",
        "keys.denied",
    ]
    assert [e["data"]["rows"] for e in events if e["event"] == "vault.purged"] == [0, 0, 3]
