"""Deterministic, reversible encryption of strings with AES-SIV (RFC 5297).

A ciphertext is ``v<version>:`` followed by the unpadded base64url of the SIV output (16-byte
synthetic IV, then the ciphertext): ``v2:Hq3...``. The version names the key version it was
made under, so values made before a key rotation still decrypt, and equal plaintexts under one
key give equal ciphertexts (joins and GROUP BY survive).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from veil.crypto.fpe import as_string_array
from veil.errors import InvalidCiphertextError, KeyVersionError

SIV_KEY_BYTES = 64  # AES-256-SIV
_FORMAT = re.compile(r"^v([1-9][0-9]{0,8}):([A-Za-z0-9_-]{22,})$")


def parse_version(text: str) -> int | None:
    m = _FORMAT.match(text)
    return int(m.group(1)) if m else None


class SivEncryptor:
    """Encrypts whole Arrow arrays under one key version (deduplicating each batch first)."""

    def __init__(self, key: bytes, version: int) -> None:
        if len(key) != SIV_KEY_BYTES:
            raise ValueError(f"AES-SIV key must be {SIV_KEY_BYTES} bytes")
        self._key = key
        self._siv = AESSIV(key)
        self._prefix = f"v{version}:"
        self.version = version

    def __repr__(self) -> str:
        return f"SivEncryptor(version={self.version})"

    # Picklable (Spark ships batch functions to executors).
    def __getstate__(self) -> tuple[bytes, int]:
        return self._key, self.version

    def __setstate__(self, state: tuple[bytes, int]) -> None:
        self.__init__(*state)  # type: ignore[misc]

    def encrypt_one(self, value: str) -> str:
        ct = self._siv.encrypt(value.encode("utf-8"), None)
        return self._prefix + base64.urlsafe_b64encode(ct).rstrip(b"=").decode("ascii")

    @property
    def prefix(self) -> str:
        return self._prefix

    def encrypt(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """``v<N>:`` + base64url ciphertexts of a batch; nulls stay null.

        Values are read as bytes straight from the Arrow buffer (no str objects), each distinct
        value is encrypted and encoded once (binascii's C encoder), and the batch is gathered
        back with one Arrow ``take``."""
        arr = as_string_array(values)
        count = len(arr)
        if count == 0:
            return pa.array([], pa.string())
        offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)
        offsets = offsets[arr.offset : arr.offset + count + 1]
        start, end = int(offsets[0]), int(offsets[-1])
        buf = arr.buffers()[2]
        data = (
            buf.slice(start, end - start).to_pybytes() if buf is not None and end > start else b""
        )
        off = (offsets - start).tolist()
        slices = [data[a:b] for a, b in zip(off[:-1], off[1:], strict=True)]
        distinct = list(dict.fromkeys(slices))
        siv, b2a, table = self._siv.encrypt, binascii.b2a_base64, _URLSAFE
        prefix = self._prefix.encode("ascii")
        encoded = [
            prefix + b2a(siv(v, None), newline=False).translate(table).rstrip(b"=")
            for v in distinct
        ]
        out = pa.array(encoded, pa.binary()).cast(pa.string())
        if len(distinct) != count:
            position = dict(zip(distinct, range(len(distinct)), strict=True))
            out = out.take(pa.array([position[v] for v in slices], pa.int32()))
        if arr.null_count:
            out = pc.if_else(arr.is_valid(), out, pa.scalar(None, pa.string()))
        return out


_URLSAFE = bytes.maketrans(b"+/", b"-_")


class SivDecryptor:
    """Decrypts ciphertexts made under any of the given versions' keys."""

    def __init__(self, keys: Mapping[int, bytes], label: str = "encrypt") -> None:
        self._sivs = {v: AESSIV(k) for v, k in keys.items()}
        self._label = label

    def __repr__(self) -> str:
        return f"SivDecryptor(versions={sorted(self._sivs)})"

    def decrypt(self, values: Sequence[str | None]) -> list[str | None]:
        out: list[str | None] = []
        for i, text in enumerate(values, start=1):
            if text is None:
                out.append(None)
                continue
            m = _FORMAT.match(text)
            if m is None:
                raise InvalidCiphertextError(
                    f"{self._label}: value #{i} is not a veil ciphertext (expected v<N>:<base64url>)"
                )
            version = int(m.group(1))
            siv = self._sivs.get(version)
            if siv is None:
                raise KeyVersionError(
                    f"{self._label}: value #{i} was made under key version {version}, which is "
                    f"not available (available: {sorted(self._sivs)})"
                )
            body = m.group(2)
            try:
                raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
                plain = siv.decrypt(raw, None)
                out.append(plain.decode("utf-8"))
            except (InvalidTag, binascii.Error, ValueError, UnicodeDecodeError):
                raise InvalidCiphertextError(
                    f"{self._label}: value #{i} does not decrypt under key version {version}: it "
                    "is not a ciphertext of this column and key, or it was altered"
                ) from None
        return out
