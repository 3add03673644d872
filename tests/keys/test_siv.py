"""AES-SIV batch encryption: identical to the bare primitive, deterministic, versioned."""

from __future__ import annotations

import base64
import os

import pyarrow as pa
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from veil.crypto.siv import SivDecryptor, SivEncryptor, parse_version
from veil.errors import InvalidCiphertextError, KeyVersionError

KEY = os.urandom(64)


def bare(value: str, version: int = 1) -> str:
    ct = AESSIV(KEY).encrypt(value.encode(), None)
    return f"v{version}:" + base64.urlsafe_b64encode(ct).rstrip(b"=").decode()


def test_batch_equals_the_bare_primitive() -> None:
    values = ["a@x.org", None, "", "ünïcødé ✓", "a@x.org", "x" * 1000, None]
    out = SivEncryptor(KEY, 1).encrypt(pa.array(values)).to_pylist()
    assert out == [None if v is None else bare(v) for v in values]
    assert out[0] == out[4]  # deterministic
    assert SivDecryptor({1: KEY}).decrypt(out) == values


def test_slices_chunks_and_versions() -> None:
    arr = pa.array([f"v{i % 7}" for i in range(5000)])
    enc = SivEncryptor(KEY, 12)
    whole = enc.encrypt(arr).to_pylist()
    assert enc.encrypt(arr.slice(100, 50)).to_pylist() == whole[100:150]
    assert enc.encrypt(pa.chunked_array([arr.slice(0, 10), arr.slice(10)])).to_pylist() == whole
    assert len(set(whole)) == 7 and all(parse_version(c) == 12 for c in whole)
    assert enc.encrypt(pa.array([], pa.string())).to_pylist() == []


def test_decrypt_errors_name_positions_not_values() -> None:
    dec = SivDecryptor({1: KEY})
    good = bare("secret-value")
    with pytest.raises(InvalidCiphertextError, match="value #2 is not a veil ciphertext"):
        dec.decrypt([good, "secret-value"])
    with pytest.raises(KeyVersionError, match="version 2, which is not available"):
        dec.decrypt([bare("x", 2)])
    with pytest.raises(InvalidCiphertextError) as info:
        SivDecryptor({1: os.urandom(64)}).decrypt([good])
    assert "secret" not in str(info.value)
