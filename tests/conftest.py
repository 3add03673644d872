"""Shared fixtures: a random key, policy files written into tmp dirs, small input files."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
KEY_ENV = "VEIL_TEST_KEY"
ADULT = ROOT / "tests" / "data" / "adult"
ADULT_QIS: list[str] = list(
    yaml.safe_load((ROOT / "examples" / "adult" / "policy.yaml").read_text())["privacy"][
        "quasi_identifiers"
    ]
)
"""The eight quasi-identifiers of ARX's Adult benchmark, as the example policy names them."""


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never read or fill the user's veil cache (~/.cache/veil)."""
    os.environ["VEIL_CACHE_DIR"] = str(tmp_path_factory.mktemp("veil-cache"))


@pytest.fixture
def key_hex() -> str:
    return os.urandom(32).hex()


@pytest.fixture
def environ(key_hex: str) -> dict[str, str]:
    return {KEY_ENV: key_hex}


@pytest.fixture
def write_policy(tmp_path: Path) -> Callable[..., Path]:
    """Write a policy dict as YAML into tmp_path (relative paths resolve there)."""

    def write(policy: dict[str, Any], name: str = "policy.yaml") -> Path:
        p = tmp_path / name
        p.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
        return p

    return write


def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "customers_generate", ROOT / "examples" / "customers" / "generate.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def customers_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("customers") / "customers.csv"
    load_generator().generate(3000, out, "csv", seed=11)
    return out


@pytest.fixture(scope="session")
def customers_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("customers_pq") / "customers.parquet"
    load_generator().generate(3000, out, "parquet", seed=11)
    return out
