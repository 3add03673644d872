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
from veil.vault.base import RowBatch, VaultBackend, VaultRow

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


def _lookup_macs(keys: Sequence[VersionKeys]) -> list[hmac.HMAC]:
    return [hmac.new(k.lookup, digestmod=hashlib.sha256) for k in keys]


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
        self._macs = _lookup_macs(self._keys)
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
    _TRANSIENT = ("_backend", "_aead", "_macs", "_cache", "_lock", "_rnd")

    def __getstate__(self) -> dict[str, object]:
        if self._opener is None:
            raise TypeError("a Tokenizer without an opener cannot be pickled")
        return {k: v for k, v in self.__dict__.items() if k not in self._TRANSIENT}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._backend = None
        self._aead = AESGCM(self._keys[0].seal)
        self._macs = _lookup_macs(self._keys)
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

    def _seal(
        self, values: Sequence[bytes], tokens: list[str], lookups: list[bytes] | None, now: int
    ) -> RowBatch:
        version = self._keys[0].version
        nonces = os.urandom(_NONCE * len(values))
        seal = self._aead.encrypt
        ns = self._ns
        sealed = []
        for i, (value, token) in enumerate(zip(values, tokens, strict=True)):
            nonce = nonces[_NONCE * i : _NONCE * i + _NONCE]
            sealed.append(nonce + seal(nonce, value, seal_aad(ns, token, version)))
        expires = now + self._ttl if self._ttl is not None else None
        return RowBatch(tokens, lookups, sealed, version, now, expires)

    def _lookup_hashes(self, values: Sequence[bytes]) -> list[list[bytes]]:
        """Each value's lookup hash under every key version, newest first."""
        return [_hmac_each(mac, values) for mac in self._macs]

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
            tokens = list(map(self._cache.get, slices))
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
                    tokens = list(map(self._cache.get, slices))
        out = pa.array(tokens, pa.string())
        if arr.null_count:
            return pc.if_else(arr.is_valid(), out, pa.scalar(None, pa.string()))
        return out

    def _resolve(self, values: list[bytes]) -> None:
        """Caches a token for each value: the one in the vault, else a new one."""
        now = int(time.time())
        per_version = self._lookup_hashes(values)
        pending, expired = self._adopt_found(values, per_version, now)
        newest = per_version[0]
        for _ in range(_ATTEMPTS):
            if not pending:
                return
            pending, expired = self._insert_new(values, newest, pending, expired, now)
        raise VaultError(
            f"{self._label}: no free token found for {len(pending)} value(s) after "
            f"{_ATTEMPTS} attempts; the token space for values of this shape is nearly "
            "exhausted (use format: opaque)"
        )

    def _adopt_found(
        self, values: list[bytes], per_version: list[list[bytes]], now: int
    ) -> tuple[list[int], list[bytes]]:
        """Caches the live tokens the vault holds for ``values`` under any key version; returns
        the positions of the values still without one, and the newest lookup hashes of expired
        rows in the way."""
        found = self.backend.find_by_lookup(self._ns, [h for hs in per_version for h in hs])
        newest = per_version[0]
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
        return pending, expired

    def _insert_new(
        self,
        values: list[bytes],
        newest: list[bytes],
        pending: list[int],
        expired: list[bytes],
        now: int,
    ) -> tuple[list[int], list[bytes]]:
        """One insert of new tokens for ``values[pending]``; caches the token each value ends
        up with (ours, or another writer's) and returns the positions to try again (our token
        was taken by another value) and the expired rows in their way."""
        chosen = [values[i] for i in pending]
        batch = self._seal(chosen, self._new_tokens(chosen), [newest[i] for i in pending], now)
        outcome = self.backend.insert(self._ns, batch, now, expired)
        rejected = set(outcome.rejected)
        self._cache.update(
            (v, t)
            for k, (v, t) in enumerate(zip(chosen, batch.tokens, strict=True))
            if k not in rejected
        )
        retry: list[int] = []
        in_the_way: list[bytes] = []
        for k in outcome.rejected:
            i = pending[k]
            row = outcome.holders.get(newest[i])
            if row is not None and (row.expires_at is None or row.expires_at > now):
                self._cache[values[i]] = row.token  # another writer's token for this value
                continue
            if row is not None:
                in_the_way.append(newest[i])  # another writer left an expired row
            retry.append(i)
        return retry, in_the_way

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
                batch = self._seal(chosen, self._new_tokens(chosen), None, now)
                rejected = set(self.backend.insert(self._ns, batch, now).rejected)
                for k, (i, t) in enumerate(zip(pending, batch.tokens, strict=True)):
                    if k not in rejected:
                        out[i] = t
                pending = [pending[k] for k in sorted(rejected)]
            if pending:
                raise VaultError(
                    f"{self._label}: no free token found for {len(pending)} value(s); the "
                    "token space for values of this shape is nearly exhausted"
                )
        return pa.array(out, pa.string())


def _hmac_each(mac: hmac.HMAC, values: Sequence[bytes]) -> list[bytes]:
    """HMAC of each value, from a keyed object copied per value (keying HMAC again for every
    value costs ~60% more)."""
    copy = mac.copy
    out = []
    for value in values:
        h = copy()
        h.update(value)
        out.append(h.digest())
    return out


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
