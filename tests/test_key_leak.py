"""Key material (keys, derived subkeys, HMAC pads) never appears in SQL text, query plans,
manifests, audit records, logs or error messages."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import veil
from veil.cli import main
from veil.engines import sql
from veil.engines.duckdb_engine import DuckDBEngine
from veil.io.files import resolve_files
from veil.plan import build_plan
from veil.policy.load import load_policy
from veil.run import _key_provider, required_kinds

from .conftest import KEY_ENV

PURPOSES = ["pseudonymize:default", "date_shift:default", "noise:default", "fake:name:default"]


def secret_strings(key_hex: str) -> list[str]:
    """Every encoding of the key and of each derived subkey and pad we can think of."""
    key = bytes.fromhex(key_hex)
    blobs = [key]
    for purpose in PURPOSES:
        sub = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"veil/v1/" + purpose.encode()
        ).derive(key)
        block = sub.ljust(64, b"\0")
        blobs += [sub, bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)]
    out = []
    for b in blobs:
        out += [b.hex(), b.hex().upper(), base64.b64encode(b).decode(), b[:12].hex()]
        out.append("".join(f"\\x{c:02X}" for c in b[:8]))  # DuckDB's BLOB literal style
    return out


def assert_clean(text: str, key_hex: str) -> None:
    for s in secret_strings(key_hex):
        assert s not in text


@pytest.fixture
def policy_path(tmp_path: Path, write_policy) -> Path:
    (tmp_path / "in.csv").write_text(
        "id,name,day,amount\nu1,Ann,2024-01-02,10\nu2,Bob,2024-02-03,20\n"
    )
    return write_policy(
        {
            "name": "leak",
            "source": {"path": "in.csv"},
            "output": {"path": "out.parquet", "overwrite": True},
            "keys": {"main": {"env": KEY_ENV}},
            "columns": {
                "id": {"class": "identifier", "transform": {"type": "pseudonymize", "key": "main"}},
                "name": {
                    "class": "identifier",
                    "transform": {"type": "fake", "kind": "name", "key": "main", "pool_size": 100},
                },
                "day": {
                    "class": "quasi_identifier",
                    "transform": {"type": "date_shift", "key": "main", "by": "id"},
                },
                "amount": {
                    "class": "sensitive",
                    "transform": {
                        "type": "noise",
                        "distribution": "laplace",
                        "scale": 1,
                        "key": "main",
                    },
                },
            },
        }
    )


def test_sql_text_and_query_plans_hold_no_key_material(
    policy_path: Path, key_hex: str, environ
) -> None:
    loaded = load_policy(policy_path)
    engine = DuckDBEngine()
    files = resolve_files(loaded.resolve("in.csv"), "csv")
    schema, _ = engine.read_schema(loaded.policy.source, files, required_kinds(loaded))  # type: ignore[arg-type]
    plan = build_plan(loaded, schema, _key_provider(loaded, environ))
    pad_columns = [c for c in plan.key_table.column_names if c.startswith("k")]
    assert len(pad_columns) == 2 * len(PURPOSES)  # every purpose really used a key
    con = engine.connect()  # with veil's helper functions registered
    con.execute(f"CREATE TABLE __veil_source AS SELECT * FROM read_csv('{files[0]}')")
    for name, table in plan.tables().items():
        con.register(name, table)
    for dialect in ("duckdb", "spark"):
        assert_clean(sql.render(plan.select(), dialect), key_hex)
    query = sql.render(plan.select(), "duckdb")
    for explain in ("EXPLAIN", "EXPLAIN ANALYZE"):
        rows = con.execute(f"{explain} {query}").fetchall()
        assert_clean("\n".join(str(r) for r in rows), key_hex)
    # The pads really are in the bound table (so the check above is meaningful).
    pads = {v.hex() for c in pad_columns for v in plan.key_table.column(c).to_pylist()}
    assert any(p in secret_strings(key_hex) for p in pads)


def test_outputs_manifest_audit_and_logs_hold_no_key_material(
    policy_path: Path, key_hex: str, environ, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    result = veil.run(policy_path, environ=environ)
    assert_clean(result.manifest_path.read_text(), key_hex)
    assert_clean((policy_path.parent / ".veil" / "audit.jsonl").read_text(), key_hex)
    assert_clean(result.output.read_bytes().hex(), key_hex)
    assert_clean(caplog.text, key_hex)
    runner = CliRunner()
    for args in (
        ["run", str(policy_path)],
        ["--log-format", "json", "run", str(policy_path)],
        ["explain", str(policy_path)],
    ):
        res = runner.invoke(main, args, env={KEY_ENV: key_hex})
        assert res.exit_code == 0, res.output
        assert_clean(res.output, key_hex)


def test_errors_hold_no_key_material(policy_path: Path, key_hex: str) -> None:
    bad = key_hex[:40]  # too short: error must not echo it
    with pytest.raises(veil.KeyMaterialError) as info:
        veil.run(policy_path, environ={KEY_ENV: bad})
    assert bad not in str(info.value)
    with pytest.raises(veil.KeyMaterialError) as info2:
        veil.run(policy_path, environ={KEY_ENV: "not a key!" + key_hex})
    assert key_hex not in str(info2.value)
    audit_text = (policy_path.parent / ".veil" / "audit.jsonl").read_text()
    assert bad not in audit_text and key_hex not in audit_text
    records = [json.loads(line) for line in audit_text.splitlines()]
    assert [r["event"] for r in records] == ["run.failed", "run.failed"]


def test_key_provider_repr_hides_material(policy_path: Path, key_hex: str, environ) -> None:
    provider = _key_provider(load_policy(policy_path), environ)
    provider.material("main")
    assert key_hex not in repr(provider) and key_hex not in str(vars(provider).get("_sources"))
