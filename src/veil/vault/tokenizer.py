"""Tokenization and detokenization against a vault backend.

* ``convergent`` mode: the same value always gets the same token (joins survive). The token is
  random the first time a value is seen; later lookups find it by the value's keyed lookup hash
  ``HMAC-SHA-256(lookup subkey, value)``. Lookup hashes of every available key version are
  tried, so values tokenized before a key rotation keep their tokens.
* ``random`` mode: every occurrence gets a fresh token; nothing links two occurrences.

Tokens are ``opaque`` (26 base32 characters after an optional prefix) or ``preserve`` (same
length, digits stay digits, lower/upper-case letters stay letters of that case, every other
character is kept). Values are sealed with AES-256-GCM under the newest key version with
associated data ``veil-vault/v1|namespace|token|version``, so a row cannot be edited, or moved
to another token, unnoticed.

Work happens per batch of *distinct* values: one lookup round trip for the batch, and for
values not yet in the vault one insert transaction (see :class:`VaultBackend`). Tokens resolved
in this process are cached for the life of the tokenizer (one job).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from veil.crypto.fpe import as_string_array
from veil.errors import TokenExpiredError, TokenNotFoundError, VaultCorruptError, VaultError
from veil.vault.base import VaultBackend, VaultRow

_NONCE = 12
_ATTEMPTS = 16
_CACHE_LIMIT = 2_000_000
_TOKEN_CHARS = 26
_B32 = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz234567", dtype=np.uint8)
_DIGITS = "0123456789"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()


def seal_aad(namespace: str, token: str, version: int) -> bytes:
    return f"veil-vault/v1|{namespace}|{token}|{version}".encode()


class _RandomPool:
    """Unbiased small random integers from a buffer of OS randomness."""

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0

    def below(self, n: int) -> int:
        limit = 256 - 256 % n
        while True:
            if self._pos >= len(self._buf):
                self._buf = os.urandom(4096)
                self._pos = 0
            x = self._buf[self._pos]
            self._pos += 1
            if x < limit:
                return x % n


def preserve_token(value: str, rnd: _RandomPool) -> str:
    out = []
    for c in value:
        if c.isdigit():
            out.append(_DIGITS[rnd.below(10)])
        elif c.isalpha():
            out.append(_UPPER[rnd.below(26)] if c.isupper() else _LOWER[rnd.below(26)])
        else:
            out.append(c)
    return "".join(out)


@dataclass(frozen=True)
class VersionKeys:
    version: int
    seal: bytes
    lookup: bytes

    def __repr__(self) -> str:
        return f"VersionKeys(version={self.version})"


class Tokenizer:
    def __init__(
        self,
        backend: VaultBackend,
        namespace: str,
        keys: Sequence[VersionKeys],
        *,
        mode: str = "convergent",
        token_format: str = "opaque",
        prefix: str = "",
        ttl_seconds: int | None = None,
        label: str = "tokenize",
        opener: Callable[[], VaultBackend] | None = None,
    ) -> None:
        """``opener`` (picklable, e.g. a ``functools.partial`` of :func:`open_backend`) lets
        a pickled copy open its own connection, as on Spark executors."""
        if not keys:
            raise VaultError("tokenize needs at least one key version")
        self._backend: VaultBackend | None = backend
        self._opener = opener
        self._description = backend.description
        self._ns = namespace
        self._keys = list(keys)  # newest first
        self._aead = AESGCM(self._keys[0].seal)
        self._mode = mode
        self._format = token_format
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._label = label
        self._cache: dict[bytes, str] = {}
        self._lock = threading.Lock()
        self._rnd = _RandomPool()

    def __repr__(self) -> str:
        return f"Tokenizer({self._description}, namespace={self._ns!r})"

    # Picklable when built with an ``opener``: the copy opens its own vault connection and
    # starts with an empty cache, a fresh lock and fresh randomness.
    _TRANSIENT = ("_backend", "_aead", "_cache", "_lock", "_rnd")

    def __getstate__(self) -> dict[str, object]:
        if self._opener is None:
            raise TypeError("a Tokenizer without an opener cannot be pickled")
        return {k: v for k, v in self.__dict__.items() if k not in self._TRANSIENT}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._backend = None
        self._aead = AESGCM(self._keys[0].seal)
        self._cache = {}
        self._lock = threading.Lock()
        self._rnd = _RandomPool()

    @property
    def backend(self) -> VaultBackend:
        if self._backend is None:
            assert self._opener is not None
            self._backend = self._opener()
        return self._backend

    @property
    def version(self) -> int:
        return self._keys[0].version

    # ------------------------------------------------------------------ tokens
    def _new_tokens(self, values: Sequence[bytes]) -> list[str]:
        if self._format == "preserve":
            return [self._prefix + preserve_token(v.decode("utf-8"), self._rnd) for v in values]
        # 26 characters of the RFC 4648 base32 alphabet (lower case), 5 random bits each:
        # 130 bits per token. 256 is a multiple of 32, so "byte & 31" is unbiased.
        k = len(values)
        raw = np.frombuffer(os.urandom(_TOKEN_CHARS * k), dtype=np.uint8) & 31
        text = np.take(_B32, raw).tobytes().decode("ascii")
        p = self._prefix
        return [p + text[i : i + _TOKEN_CHARS] for i in range(0, _TOKEN_CHARS * k, _TOKEN_CHARS)]

    def _rows(
        self,
        values: Sequence[bytes],
        tokens: Sequence[str],
        lookups: Sequence[bytes | None],
        now: int,
    ) -> list[VaultRow]:
        version = self._keys[0].version
        expires = now + self._ttl if self._ttl is not None else None
        nonces = os.urandom(_NONCE * len(values))
        seal = self._aead.encrypt
        ns = self._ns
        out = []
        for i, (value, token, lookup) in enumerate(zip(values, tokens, lookups, strict=True)):
            nonce = nonces[_NONCE * i : _NONCE * i + _NONCE]
            sealed = nonce + seal(nonce, value, seal_aad(ns, token, version))
            out.append(VaultRow(token, lookup, version, sealed, now, expires))
        return out

    # ------------------------------------------------------------------ tokenize
    def tokenize(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        arr = as_string_array(values)
        if len(arr) == 0:
            return arr
        if self._mode == "random":
            return self._tokenize_random(arr)
        # Values as bytes straight from the Arrow buffer; the per-job cache is keyed by them.
        slices = _slices(arr)
        with self._lock:
            get = self._cache.get
            tokens = [get(v) for v in slices]
            if None in tokens:
                valid = arr.is_valid().to_pylist() if arr.null_count else None
                missing = list(
                    dict.fromkeys(
                        v
                        for i, (v, t) in enumerate(zip(slices, tokens, strict=True))
                        if t is None and (valid is None or valid[i])
                    )
                )
                if missing:
                    if len(self._cache) + len(missing) > _CACHE_LIMIT:
                        self._cache.clear()
                    self._resolve(missing)
                    get = self._cache.get
                    tokens = [get(v) for v in slices]
        out = pa.array(tokens, pa.string())
        if arr.null_count:
            return pc.if_else(arr.is_valid(), out, pa.scalar(None, pa.string()))
        return out

    def _resolve(self, values: list[bytes]) -> None:
        now = int(time.time())
        encoded = values
        per_version = [
            [hmac.digest(k.lookup, e, hashlib.sha256) for e in encoded] for k in self._keys
        ]
        newest = per_version[0]
        found = self.backend.find_by_lookup(self._ns, [h for hs in per_version for h in hs])
        pending: list[int] = []
        expired: list[bytes] = []
        for i, v in enumerate(values):
            for hashes in per_version:
                row = found.get(hashes[i])
                if row is not None:
                    if row.expires_at is None or row.expires_at > now:
                        self._cache[v] = row.token
                        break
                    if hashes is newest:
                        expired.append(hashes[i])
            else:
                pending.append(i)
        for _ in range(_ATTEMPTS):
            if not pending:
                return
            chosen = [values[i] for i in pending]
            rows = self._rows(chosen, self._new_tokens(chosen), [newest[i] for i in pending], now)
            winners, _inserted = self.backend.insert(self._ns, rows, now, expired)
            retry: list[int] = []
            expired = []
            for i in pending:
                row = winners.get(newest[i])
                if row is not None and (row.expires_at is None or row.expires_at > now):
                    self._cache[values[i]] = row.token
                else:
                    if row is not None:
                        expired.append(newest[i])  # another writer left an expired row
                    retry.append(i)  # else our token collided with another value's token
            pending = retry
        if pending:
            raise VaultError(
                f"{self._label}: no free token found for {len(pending)} value(s) after "
                f"{_ATTEMPTS} attempts; the token space for values of this shape is nearly "
                "exhausted (use format: opaque)"
            )

    def _tokenize_random(self, arr: pa.StringArray) -> pa.Array:
        values = arr.to_pylist()
        out: list[str | None] = [None] * len(values)
        now = int(time.time())
        with self._lock:
            pending = [i for i, v in enumerate(values) if v is not None]
            for _ in range(_ATTEMPTS):
                if not pending:
                    break
                chosen = [str(values[i]).encode("utf-8") for i in pending]
                tokens = self._new_tokens(chosen)
                rows = self._rows(chosen, tokens, [None] * len(chosen), now)
                _winners, inserted = self.backend.insert(self._ns, rows, now)
                retry = []
                for i, t in zip(pending, tokens, strict=True):
                    if t in inserted:
                        out[i] = t
                    else:
                        retry.append(i)
                pending = retry
            if pending:
                raise VaultError(
                    f"{self._label}: no free token found for {len(pending)} value(s); the "
                    "token space for values of this shape is nearly exhausted"
                )
        return pa.array(out, pa.string())


def _slices(arr: pa.StringArray) -> list[bytes]:
    """Each value's UTF-8 bytes (b"" for nulls), read from the Arrow buffers."""
    count = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[arr.offset : arr.offset + count + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    buf = arr.buffers()[2]
    data = buf.slice(start, end - start).to_pybytes() if buf is not None and end > start else b""
    off = (offsets - start).tolist()
    return [data[a:b] for a, b in zip(off[:-1], off[1:], strict=True)]


class Detokenizer:
    """Turns tokens back into values; key versions are fetched as rows need them."""

    def __init__(
        self,
        backend: VaultBackend,
        namespace: str,
        seal_key: Callable[[int], bytes],
        label: str = "tokenize",
    ) -> None:
        self._backend = backend
        self._ns = namespace
        self._seal_key = seal_key
        self._aeads: dict[int, AESGCM] = {}
        self._label = label

    def __repr__(self) -> str:
        return f"Detokenizer({self._backend.description}, namespace={self._ns!r})"

    def detokenize(self, tokens: Sequence[str | None]) -> tuple[list[str | None], set[int]]:
        """The values, and the key versions that were used to unseal them."""
        wanted = sorted({t for t in tokens if t is not None})
        rows: Mapping[str, VaultRow] = self._backend.find_by_token(self._ns, wanted)
        now = int(time.time())
        out: list[str | None] = []
        versions: set[int] = set()
        for i, t in enumerate(tokens, start=1):
            if t is None:
                out.append(None)
                continue
            row = rows.get(t)
            if row is None:
                raise TokenNotFoundError(
                    f"{self._label}: value #{i} is not a token in {self._backend.description} "
                    f"(namespace {self._ns!r})"
                )
            if row.expires_at is not None and row.expires_at <= now:
                raise TokenExpiredError(
                    f"{self._label}: the token of value #{i} expired at "
                    f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(row.expires_at))}"
                )
            aead = self._aeads.get(row.key_version)
            if aead is None:
                aead = AESGCM(self._seal_key(row.key_version))
                self._aeads[row.key_version] = aead
            try:
                plain = aead.decrypt(
                    row.sealed[:_NONCE],
                    row.sealed[_NONCE:],
                    seal_aad(self._ns, row.token, row.key_version),
                )
                out.append(plain.decode("utf-8"))
            except (InvalidTag, ValueError, UnicodeDecodeError):
                raise VaultCorruptError(
                    f"{self._label}: the vault row of value #{i} fails its integrity check "
                    f"(edited, swapped or damaged, or sealed under another key); "
                    f"{self._backend.description}"
                ) from None
            versions.add(row.key_version)
        return out, versions
