"""Fixtures for keyring, reversible-transform, vault, access and reveal tests."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from veil.access.control import hash_api_key, new_api_key
from veil.keys.keyring import Keyring
from veil.keys.master import LocalMasterKey

PG_URL = os.environ.get("VEIL_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def master_hex() -> str:
    return os.urandom(32).hex()


@pytest.fixture
def master(master_hex: str) -> LocalMasterKey:
    return LocalMasterKey(bytes.fromhex(master_hex), "test")


@pytest.fixture
def kenv(master_hex: str, tmp_path: Path) -> dict[str, str]:
    """Environment for policies whose keys come from the keyring in tmp_path."""
    return {
        "VEIL_MASTER_KEY": master_hex,
        "VEIL_KEYRING": str(tmp_path / "ring" / "keyring.json"),
    }


@pytest.fixture
def ring_path(tmp_path: Path, master: LocalMasterKey) -> Path:
    path = tmp_path / "ring" / "keyring.json"
    Keyring.create_key(path, master, "main")
    return path


@pytest.fixture
def policy_file(tmp_path: Path, ring_path: Path) -> Callable[..., Path]:
    """Write a policy (YAML) whose key ``k`` is keyring key ``main``."""

    def write(columns: dict[str, Any], name: str = "customers", **extra: Any) -> Path:
        doc = {
            "name": name,
            "keys": {"k": {"keyring": "main"}},
            "columns": columns,
            **extra,
        }
        p = tmp_path / "policy.yaml"
        p.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        return p

    return write


class Principals:
    """An access file next to the policy, with principals and their API keys."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.keys: dict[str, str] = {}
        self.roles: dict[str, Any] = {}
        self.principals: dict[str, Any] = {}

    def role(self, name: str, *grants: dict[str, Any]) -> None:
        self.roles[name] = {"grants": list(grants)}
        self._write()

    def add(self, name: str, *roles: str) -> str:
        key = new_api_key()
        self.keys[name] = key
        self.principals[name] = {"roles": list(roles), "api_key_hash": hash_api_key(key)}
        self._write()
        return key

    def _write(self) -> None:
        doc = {"version": 1, "roles": self.roles, "principals": self.principals}
        self.path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


@pytest.fixture
def principals(tmp_path: Path) -> Principals:
    return Principals(tmp_path / "access.yaml")


@pytest.fixture
def pg_table() -> Iterator[str]:
    """A schema-qualified table name in a throw-away PostgreSQL schema (dropped afterwards)."""
    import psycopg

    schema = f"veil_test_{secrets.token_hex(6)}"
    # PostgreSQL is a required service for these tests: unreachable is a failure, not a skip.
    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{schema}.tokens"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def vault_location(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """(vault location, table) for both backends."""
    if request.param == "sqlite":
        return str(tmp_path / "vault.sqlite"), "veil_tokens"
    table = request.getfixturevalue("pg_table")
    return PG_URL, table
