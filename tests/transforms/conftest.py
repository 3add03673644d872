"""Shared helpers for the per-transform tests.

Each test builds a policy with one column under test (plus a kept row-id column used to restore
the input order, since the engine's joins need not preserve it) and runs ``veil.anonymize`` on
a small in-memory pyarrow table. Expected values are computed independently of veil: by hand
or with the reference helpers below (Python's hmac/hashlib and cryptography's HKDF).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

import veil
from veil.policy.model import Policy

KEY_ENV = "VEIL_TEST_KEY"
KEY_NAME = "main"
TEST_KEY_HEX = bytes(range(32)).hex()  # 64 hex chars = 32 bytes
OTHER_KEY_HEX = bytes(range(100, 132)).hex()
ROW_ID = "_rid"
COLUMN = "value"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"

AnonymizeColumn = Callable[..., pa.Table]
TransformValues = Callable[..., list[Any]]


def make_policy(
    transform: Mapping[str, Any] | None,
    *,
    column: str = COLUMN,
    column_class: str = "quasi_identifier",
    extra_columns: Mapping[str, Mapping[str, Any]] | None = None,
) -> Policy:
    """A validated Policy: the row-id column kept, ``column`` transformed by ``transform``.

    Raises pydantic.ValidationError for invalid transform parameters."""
    col_spec: dict[str, Any] = {"class": column_class}
    if transform is not None:
        col_spec["transform"] = dict(transform)
    return Policy.model_validate(
        {
            "version": 1,
            "name": "transform-test",
            "keys": {KEY_NAME: {"env": KEY_ENV}},
            "columns": {
                ROW_ID: {"class": "insensitive", "transform": {"type": "keep"}},
                column: col_spec,
                **{k: dict(v) for k, v in (extra_columns or {}).items()},
            },
        }
    )


def anonymize_column(
    values: Sequence[Any] | pa.Array,
    transform: Mapping[str, Any],
    *,
    arrow_type: pa.DataType | None = None,
    column: str = COLUMN,
    column_class: str = "quasi_identifier",
    extra: Mapping[str, Sequence[Any] | pa.Array] | None = None,
    key_hex: str = TEST_KEY_HEX,
) -> pa.Table:
    """Run ``transform`` on one column of ``values`` (plus ``extra`` input columns, which the
    policy does not list and so are dropped from the output). Returns the output table in
    input order."""
    arr = values if isinstance(values, pa.Array) else pa.array(list(values), type=arrow_type)
    data: dict[str, pa.Array] = {ROW_ID: pa.array(range(len(arr)), pa.int64()), column: arr}
    for name, extra_values in (extra or {}).items():
        data[name] = (
            extra_values if isinstance(extra_values, pa.Array) else pa.array(list(extra_values))
        )
    policy = make_policy(transform, column=column, column_class=column_class)
    out = veil.anonymize(pa.table(data), policy, environ={KEY_ENV: key_hex})
    assert out.num_rows == len(arr)
    return out.sort_by(ROW_ID)


def transform_values(
    values: Sequence[Any] | pa.Array, transform: Mapping[str, Any], **kwargs: Any
) -> list[Any]:
    """Like :func:`anonymize_column` but returns the transformed column as a Python list."""
    column = kwargs.get("column", COLUMN)
    return anonymize_column(values, transform, **kwargs).column(column).to_pylist()


# ------------------------------------------------------------- independent crypto reference


def ref_subkey(key_hex: str, purpose: str) -> bytes:
    """HKDF-SHA-256 (RFC 5869), no salt, info = b"veil/v1/" + purpose, 32 bytes."""
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"veil/v1/" + purpose.encode("utf-8"),
    ).derive(bytes.fromhex(key_hex))


def ref_hmac_hex(key_hex: str, purpose: str, message: str) -> str:
    """Lowercase hex HMAC-SHA-256 of the UTF-8 message under the derived subkey."""
    return hmac.new(
        ref_subkey(key_hex, purpose), message.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def ref_hmac_digest(key_hex: str, purpose: str, message: str) -> bytes:
    return hmac.new(ref_subkey(key_hex, purpose), message.encode("utf-8"), hashlib.sha256).digest()


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture
def anonymize() -> AnonymizeColumn:
    return anonymize_column


@pytest.fixture
def run() -> TransformValues:
    return transform_values


@pytest.fixture
def policy_for() -> Callable[..., Policy]:
    return make_policy


@pytest.fixture
def ref_hmac() -> Callable[[str, str, str], str]:
    return ref_hmac_hex


@pytest.fixture
def ref_digest() -> Callable[[str, str, str], bytes]:
    return ref_hmac_digest


@pytest.fixture
def key_hex() -> str:
    return TEST_KEY_HEX


@pytest.fixture
def other_key_hex() -> str:
    return OTHER_KEY_HEX


@pytest.fixture
def data_dir() -> Path:
    return DATA_DIR
