"""The `veil` CLI: subcommands, exit codes a scheduler can act on, JSON logs, audit verify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from veil.cli import main

from .conftest import KEY_ENV


@pytest.fixture
def policy(tmp_path: Path, write_policy) -> Path:
    (tmp_path / "in.csv").write_text("id,card\nu1,4111-1111-1111-1234\nu2,5500-0000-0000-0004\n")
    return write_policy(
        {
            "name": "cli",
            "source": {"path": "in.csv"},
            "output": {"path": "out.parquet", "overwrite": True},
            "keys": {"main": {"env": KEY_ENV}},
            "columns": {
                "id": {"class": "identifier", "transform": {"type": "pseudonymize", "key": "main"}},
                "card": {"class": "identifier", "transform": {"type": "mask", "keep_last": 4}},
            },
        }
    )


def invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, args, env=env or {})
    return res.exit_code, res.stdout, res.stderr


def test_help_everywhere() -> None:
    for args in ([], ["run"], ["explain"], ["audit"], ["audit", "verify"], ["keygen"], ["schema"]):
        code, out, _ = invoke([*args, "--help"])
        assert code == 0 and "Usage:" in out


def test_run_explain_and_verify(policy: Path, environ) -> None:
    code, _, err = invoke(["run", str(policy)], environ)
    assert code == 0 and "wrote 2 rows" in err
    code, out, _ = invoke(["explain", "--json", str(policy)])
    ex = json.loads(out)
    assert code == 0
    assert [c["transform"] for c in ex["columns"]] == ["pseudonymize", "mask"]
    assert ex["keys"] == ["main"]
    code, out, _ = invoke(["audit", "verify", "--policy", str(policy)])
    assert code == 0 and "1 records, chain intact" in out


def test_json_logs_and_quiet(policy: Path, environ) -> None:
    code, _, err = invoke(["--log-format", "json", "run", str(policy)], environ)
    assert code == 0
    event = json.loads(err.strip().splitlines()[-1])
    assert event["event"] == "run.completed" and event["rows"]["out"] == 2
    code, out, err = invoke(["--quiet", "run", str(policy)], environ)
    assert code == 0 and out == "" and err == ""


def test_exit_codes(policy: Path, tmp_path: Path, environ) -> None:
    bad_policy = tmp_path / "bad.yaml"
    bad_policy.write_text("name: x\ncolumns:\n  a: {class: insensitive, transform: {type: nope}}\n")
    code, _, err = invoke(["run", str(bad_policy)], environ)
    assert code == 2 and "unknown transform 'nope'" in err
    code, _, err = invoke(["run", str(policy)], {})
    assert code == 3 and f"{KEY_ENV} is not set" in err
    (tmp_path / "in.csv").write_text("id,card\nu1,4111\nu2,5500,extra\n")
    code, _, err = invoke(["run", str(policy)], environ)
    assert code == 4 and "line 3" in err
    code, _, err = invoke(["--log-format", "json", "run", str(policy)], environ)
    assert code == 4 and json.loads(err.strip().splitlines()[-1])["exit_code"] == 4


def test_audit_verify_detects_tampering(policy: Path, environ) -> None:
    for _ in range(3):
        assert invoke(["run", str(policy)], environ)[0] == 0
    log = policy.parent / ".veil" / "audit.jsonl"
    lines = log.read_text().splitlines()
    record = json.loads(lines[1])
    record["data"]["rows"]["out"] = 999
    lines[1] = json.dumps(record, sort_keys=True, separators=(",", ":"))
    log.write_text("\n".join(lines) + "\n")
    code, out, err = invoke(["audit", "verify", str(log)])
    assert code == 7 and "TAMPERED" in err and "line 2" in err
    code, out, _ = invoke(["audit", "verify", "--json", str(log)])
    assert code == 7 and json.loads(out)["ok"] is False


def test_keygen_writes_private_key_once(tmp_path: Path) -> None:
    key = tmp_path / "k.key"
    assert invoke(["keygen", "--out", str(key)])[0] == 0
    assert key.stat().st_mode & 0o077 == 0 and len(key.read_text().strip()) == 64
    before = key.read_text()
    assert invoke(["keygen", "--out", str(key)])[0] == 2
    assert key.read_text() == before
