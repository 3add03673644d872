"""Policies whose keys come from the keyring: runs, manifests, rotation, env/file keys still
working, the encrypt transform, and no key material anywhere it should not be."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from pydantic import ValidationError

import veil
from veil.keys.keyring import Keyring
from veil.keys.master import LocalMasterKey
from veil.keys.provider import derive_key
from veil.keys.resolve import key_provider_for_policy
from veil.policy.load import load_policy
from veil.policy.model import Policy

CSV = "id,email,ssn,day\nu1,ann@x.org,123-45-6789,2024-01-02\nu2,bob@y.org,987-65-4321,2024-02-03\nu1,ann@x.org,123-45-6789,2024-03-04\n"


def columns() -> dict[str, object]:
    return {
        "id": {"class": "identifier", "transform": {"type": "pseudonymize", "key": "k"}},
        "email": {"class": "identifier", "transform": {"type": "encrypt", "key": "k"}},
        "ssn": {"class": "identifier", "transform": {"type": "fpe", "key": "k"}},
        "day": {
            "class": "quasi_identifier",
            "transform": {"type": "date_shift", "key": "k", "by": "id"},
        },
    }


@pytest.fixture
def run_policy(tmp_path: Path, policy_file: Callable[..., Path]) -> Path:
    (tmp_path / "in.csv").write_text(CSV)
    return policy_file(
        columns(),
        source={"path": "in.csv"},
        output={"path": "out.parquet", "overwrite": True},
        keyring={"path": "ring/keyring.json", "master_key_env": "MY_MASTER"},
    )


def test_keyring_keys_in_a_run_and_the_manifest(
    run_policy: Path, master_hex: str, master: LocalMasterKey, ring_path: Path
) -> None:
    env = {"MY_MASTER": master_hex}
    result = veil.run(run_policy, environ=env)
    [rec] = result.manifest["keys"]
    ring = Keyring.open(ring_path, master)
    assert rec["name"] == "k" and rec["keyring_key"] == "main" and rec["source"] == "keyring"
    assert rec["version"] == 1 and rec["fingerprint"] == ring.entry("main").current.fingerprint
    assert sorted(rec["purposes"]) == [
        "date_shift:default",
        "encrypt:default",
        "fpe:default",
        "pseudonymize:default",
    ]
    import pyarrow.parquet as pq

    out = pq.read_table(result.output).to_pylist()
    assert out[0]["email"].startswith("v1:") and out[0]["email"] == out[2]["email"]
    assert out[0]["id"] == out[2]["id"]
    # the keyring material is derived exactly as documented: HKDF(key, veil/v1/encrypt:default)
    sub = derive_key(ring.material("main", 1), "encrypt:default", 64)
    body = out[0]["email"][3:]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    assert AESSIV(sub).decrypt(raw, None) == b"ann@x.org"
    # rotate: new runs use version 2, the manifest says so, ciphertexts carry v2
    Keyring.rotate(ring_path, master, "main")
    result2 = veil.run(run_policy, environ=env)
    assert result2.manifest["keys"][0]["version"] == 2
    out2 = pq.read_table(result2.output).to_pylist()
    assert out2[0]["email"].startswith("v2:") and out2[0]["id"] != out[0]["id"]
    # the audit log records key name, version and fingerprint
    audit = [
        json.loads(x)
        for x in (run_policy.parent / ".veil" / "audit.jsonl").read_text().splitlines()
    ]
    assert [k["version"] for a in audit for k in a["data"]["keys"]] == [1, 2]


def test_keyring_errors_surface_at_plan_time(run_policy: Path, master_hex: str) -> None:
    with pytest.raises(veil.MasterKeyError, match="MY_MASTER is not set"):
        veil.run(run_policy, environ={})
    with pytest.raises(veil.WrongMasterKeyError, match="wrong master key"):
        veil.run(run_policy, environ={"MY_MASTER": os.urandom(32).hex()})
    assert not (run_policy.parent / "out.parquet").exists()


def test_env_and_keyring_from_environment(
    policy_file: Callable[..., Path], kenv: dict[str, str]
) -> None:
    p = policy_file(columns())  # no keyring section: VEIL_KEYRING and VEIL_MASTER_KEY
    table = pa.table(
        {
            "id": ["a", "b"],
            "email": ["x@y", None],
            "ssn": ["123456789", "987654321"],
            "day": pa.array([None, None], pa.date32()),
        }
    )
    out = veil.anonymize(table, p, environ=kenv)
    assert out.column("email").to_pylist()[1] is None
    assert out.column("email").to_pylist()[0].startswith("v1:")


def test_env_and_file_keys_keep_working(tmp_path: Path) -> None:
    key_file = tmp_path / "k.key"
    key_file.write_text(os.urandom(32).hex())
    os.chmod(key_file, 0o600)
    policy = Policy.model_validate(
        {
            "name": "old",
            "keys": {"e": {"env": "K", "version": 3}, "f": {"file": str(key_file)}},
            "columns": {
                "a": {"class": "identifier", "transform": {"type": "encrypt", "key": "e"}},
                "b": {"class": "identifier", "transform": {"type": "encrypt", "key": "f"}},
            },
        }
    )
    out = veil.anonymize(
        pa.table({"a": ["x"], "b": ["y"]}), policy, environ={"K": os.urandom(32).hex()}
    )
    assert out.column("a")[0].as_py().startswith("v3:") and out.column("b")[0].as_py().startswith(
        "v1:"
    )


def test_key_spec_validation() -> None:
    def spec(**k: object) -> None:
        Policy.model_validate(
            {"name": "x", "keys": {"k": k}, "columns": {"a": {"class": "insensitive"}}}
        )

    spec(keyring="main")
    with pytest.raises(ValidationError, match="exactly one of 'env' or 'file' \\(or 'keyring'\\)"):
        spec(keyring="main", env="E")
    with pytest.raises(ValidationError, match="cannot be set for a keyring key"):
        spec(keyring="main", version=2)
    with pytest.raises(ValidationError, match="pattern"):
        spec(keyring="bad name")
    with pytest.raises(ValidationError, match="at most one"):
        Policy.model_validate(
            {
                "name": "x",
                "keyring": {"master_key_env": "A", "master_key_file": "b"},
                "columns": {"a": {"class": "insensitive"}},
            }
        )


def test_provider_versions_and_lazy_keyring(
    policy_file: Callable[..., Path], kenv: dict[str, str], master: LocalMasterKey, ring_path: Path
) -> None:
    Keyring.rotate(ring_path, master, "main")
    Keyring.destroy(ring_path, master, "main", 1)
    keys = key_provider_for_policy(load_policy(policy_file(columns())), kenv)
    assert keys.versions("k") == [2] and keys.info("k").version == 2
    with pytest.raises(veil.KeyVersionDestroyedError):
        keys.material_at("k", 1)
    # an env-only policy never opens a keyring (no master key needed)
    env_only = Policy.model_validate(
        {"name": "e", "keys": {"e": {"env": "K"}}, "columns": {"a": {"class": "insensitive"}}}
    )
    from veil.policy.load import LoadedPolicy

    loaded = LoadedPolicy(policy=env_only, path=ring_path.parent / "p.yaml", text="")
    provider = key_provider_for_policy(loaded, {"K": os.urandom(32).hex()})
    assert provider.versions("e") == [1]
    with pytest.raises(veil.KeyVersionError, match="version 2 is not available"):
        provider.material_at("e", 2)


def test_no_key_material_in_outputs_logs_or_reprs(
    run_policy: Path,
    master_hex: str,
    master: LocalMasterKey,
    ring_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = veil.run(run_policy, environ={"MY_MASTER": master_hex})
    ring = Keyring.open(ring_path, master)
    secrets_ = [master_hex, ring.material("main", 1).hex()]
    secrets_ += [
        derive_key(ring.material("main", 1), p, n).hex()
        for p, n in (("encrypt:default", 64), ("fpe:default", 32))
    ]
    texts = [
        result.manifest_path.read_text(),
        (run_policy.parent / ".veil" / "audit.jsonl").read_text(),
        ring_path.read_text(),
        caplog.text,
        repr(ring),
        repr(key_provider_for_policy(load_policy(run_policy), {"MY_MASTER": master_hex})),
        result.output.read_bytes().hex(),
    ]
    for text in texts:
        for s in secrets_:
            assert s not in text and s.upper() not in text


def test_tokenize_transform_over_many_batches_and_threads(
    policy_file: Callable[..., Path], kenv: dict[str, str], tmp_path: Path
) -> None:
    """DuckDB calls the vault UDF from several threads, 2,048 rows at a time: every
    occurrence of a value still gets the same token, and the vault holds one row per value."""
    p = policy_file(
        {
            "v": {
                "class": "identifier",
                "transform": {
                    "type": "tokenize",
                    "key": "k",
                    "vault": "vault.sqlite",
                    "prefix": "t_",
                },
            }
        }
    )
    n = 60_000
    values = [f"person-{(i * 7919) % 3000}" if i % 11 else None for i in range(n)]
    out = veil.anonymize(pa.table({"v": values}), p, environ=kenv).column("v").to_pylist()
    mapping: dict[str, str] = {}
    for v, t in zip(values, out, strict=True):
        if v is None:
            assert t is None
        else:
            assert t.startswith("t_") and mapping.setdefault(v, t) == t
    assert len(set(mapping.values())) == len(mapping) == 3000
    import sqlite3

    with sqlite3.connect(tmp_path / "vault.sqlite") as con:
        assert con.execute("SELECT count(*) FROM veil_tokens").fetchone() == (3000,)
