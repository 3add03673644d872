"""NIST SP 800-38G FF1 format-preserving encryption, batched over many values.

Written from the specification (Algorithms 7 and 8 of SP 800-38G) on top of AES from the
``cryptography`` package; checked against the nine NIST sample vectors in the tests.

Batching. For N values of the same length n under the same tweak T, everything in a round
except the bytes that hold the round number and NUM(B) is the same for every value: the
CBC-MAC of P and of the leading blocks of Q is computed **once**, and each of the ten rounds'
PRF is then **one AES-ECB call over N blocks** (the varying tail of Q always sits in the last
block while b < 16). Values are kept as integers NUM(A), NUM(B) between rounds (NUM of STR is
the identity), and converted to numerals only at the ends.

Two arithmetic back ends share that structure:

* NumPy ``uint64`` when ``b <= 4`` (radix**v < 2**32, so d = 8 and y fits one machine word):
  up to 18 digits, 12 base-36 or 10 base-62 characters. 16-digit card numbers take this path.
* Python integers (NumPy object arrays) otherwise: any length, any tweak, still one batched
  AES call per block and round.

FF1 has a 128-bit security argument only for large domains: callers enforce the minimum
domain size (SP 800-38G Rev. 1 draft: radix**n >= 1,000,000); this module enforces the original
minimum radix**n >= 100 and n >= 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

ROUNDS = 10
MIN_DOMAIN = 100
MAX_RADIX = 1 << 16

Numerals = npt.NDArray[Any]
"""Numerals: unsigned integers, uint8 for radix <= 256 (uint16 above) on output."""


@dataclass(frozen=True)
class _Shape:
    """Everything about a batch that depends only on (n, tweak)."""

    n: int
    u: int
    v: int
    b: int
    d: int
    state: bytes
    """CBC-MAC chaining value after P and the constant leading blocks of Q."""
    tail: bytes
    """The remaining blocks of Q, with the round byte and NUM(B) positions zeroed."""


def _byte_len(radix: int, v: int) -> int:
    """b = ceil(ceil(v * log2(radix)) / 8), in exact integer arithmetic."""
    bits = int(radix**v - 1).bit_length()
    return (bits + 7) // 8


class FF1:
    """FF1 under one AES key (16, 24 or 32 bytes) and one radix (2..65536).

    ``encrypt_numerals``/``decrypt_numerals`` take an ``(N, n)`` integer array of numerals
    (each row one value, most significant numeral first) and return the same shape.
    ``encrypt``/``decrypt`` are the one-value convenience forms over an alphabet string.
    """

    def __init__(self, key: bytes, radix: int | None = None, alphabet: str | None = None):
        if len(key) not in (16, 24, 32):
            raise ValueError("FF1 needs an AES key of 16, 24 or 32 bytes")
        if alphabet is not None:
            if len(set(alphabet)) != len(alphabet):
                raise ValueError("the alphabet repeats a character")
            radix = len(alphabet) if radix is None else radix
            if radix != len(alphabet):
                raise ValueError("radix and alphabet length differ")
        if radix is None or not 2 <= radix <= MAX_RADIX:
            raise ValueError(f"FF1 radix must be in 2..{MAX_RADIX}")
        self._key = key
        self._cipher = Cipher(algorithms.AES(key), modes.ECB())
        self.radix = radix
        self.alphabet = alphabet
        self._shape_cached = lru_cache(maxsize=64)(self._shape)

    def __repr__(self) -> str:
        return f"FF1(radix={self.radix})"

    # Picklable (Spark ships batch functions to executors): state is key, radix, alphabet.
    def __getstate__(self) -> tuple[bytes, int, str | None]:
        return self._key, self.radix, self.alphabet

    def __setstate__(self, state: tuple[bytes, int, str | None]) -> None:
        key, radix, alphabet = state
        self.__init__(key, radix, alphabet)  # type: ignore[misc]

    # ------------------------------------------------------------------ helpers
    def _aes(self, blocks: bytes) -> bytes:
        # A fresh encryptor per call: encryptor objects are not shared between threads.
        enc = self._cipher.encryptor()
        return enc.update(blocks) + enc.finalize()

    def min_length(self, min_domain: int = MIN_DOMAIN) -> int:
        """Smallest n with radix**n >= min_domain (and n >= 2)."""
        n = 2
        while self.radix**n < min_domain:
            n += 1
        return n

    def _shape(self, n: int, tweak: bytes) -> _Shape:
        if n < 2 or self.radix**n < MIN_DOMAIN:
            raise ValueError(
                f"FF1 needs radix**n >= {MIN_DOMAIN} and n >= 2 (radix {self.radix}, n {n})"
            )
        if n >= 1 << 32 or len(tweak) >= 1 << 32:
            raise ValueError("FF1 input or tweak too long")
        u = n // 2
        v = n - u
        b = _byte_len(self.radix, v)
        d = 4 * ((b + 3) // 4) + 4
        t = len(tweak)
        p = (
            bytes([1, 2, 1])
            + self.radix.to_bytes(3, "big")
            + bytes([10, u % 256])
            + n.to_bytes(4, "big")
            + t.to_bytes(4, "big")
        )
        # Q = T || 0^((-t-b-1) mod 16) || [i]^1 || [NUM(B)]^b; its varying part is its last
        # b+1 bytes. Blocks wholly before them are constant: chain them now.
        q_template = tweak + bytes((-t - b - 1) % 16) + bytes(1 + b)
        msg = p + q_template
        first_varying_block = (len(msg) - (b + 1)) // 16
        state = bytes(16)
        for k in range(first_varying_block):
            block = bytes(x ^ y for x, y in zip(state, msg[16 * k : 16 * k + 16], strict=True))
            state = self._aes(block)
        return _Shape(n, u, v, b, d, state, msg[16 * first_varying_block :])

    # ------------------------------------------------------------------ public API
    def encrypt_numerals(self, x: npt.ArrayLike, tweak: bytes = b"") -> Numerals:
        return self._crypt(np.asarray(x), tweak, decrypt=False)

    def decrypt_numerals(self, x: npt.ArrayLike, tweak: bytes = b"") -> Numerals:
        return self._crypt(np.asarray(x), tweak, decrypt=True)

    def encrypt(self, text: str | Sequence[int], tweak: bytes = b"") -> str | list[int]:
        return self._one(text, tweak, decrypt=False)

    def decrypt(self, text: str | Sequence[int], tweak: bytes = b"") -> str | list[int]:
        return self._one(text, tweak, decrypt=True)

    def _one(self, text: str | Sequence[int], tweak: bytes, decrypt: bool) -> str | list[int]:
        if isinstance(text, str):
            if self.alphabet is None:
                raise ValueError("string input needs an FF1 built with an alphabet")
            index = {c: i for i, c in enumerate(self.alphabet)}
            try:
                nums = [index[c] for c in text]
            except KeyError:
                raise ValueError("the input has a character outside the alphabet") from None
            out = self._crypt(np.array([nums], dtype=np.int64), tweak, decrypt)[0]
            return "".join(self.alphabet[int(i)] for i in out)
        arr = np.array([list(text)], dtype=np.int64)
        return [int(i) for i in self._crypt(arr, tweak, decrypt)[0]]

    # ------------------------------------------------------------------ core
    def _crypt(self, x: Numerals, tweak: bytes, decrypt: bool) -> Numerals:
        if x.ndim != 2:
            raise ValueError("numerals must be a 2-D array (values x positions)")
        count, n = x.shape
        shape = self._shape_cached(n, bytes(tweak))
        if count == 0:
            return x.copy()
        if x.dtype.kind not in "iu" or x.min() < 0 or x.max() >= self.radix:
            raise ValueError("numerals must be integers in 0..radix-1")
        x = x.astype(_numeral_dtype(self.radix), copy=False)
        if shape.b <= 4:
            return self._crypt_u64(x, shape, decrypt)
        return self._crypt_int(x, shape, decrypt)

    def _crypt_u64(self, x: Numerals, s: _Shape, decrypt: bool) -> Numerals:
        count = x.shape[0]
        a = _num_u64(x[:, : s.u], self.radix)
        b = _num_u64(x[:, s.u :], self.radix)
        mod = {s.u: np.uint64(self.radix**s.u), s.v: np.uint64(self.radix**s.v)}
        # The last block of P||Q, pre-chained with the CBC-MAC state, as four big-endian
        # words: block = state ^ tail ^ ([i] at byte 15-b) ^ (NUM(B) in the last b bytes).
        # With b <= 4, NUM(B) lies in word 3 and the round byte in word 3 (b < 4) or word 2.
        base = np.frombuffer(bytes(p ^ q for p, q in zip(s.state, s.tail, strict=True)), ">u4")
        words = np.empty((count, 4), dtype=">u4")
        words[:, 0] = base[0]
        words[:, 1] = base[1]
        words[:, 2] = base[2]
        flat = memoryview(words.reshape(-1).view(np.uint8))  # type: ignore[arg-type]
        out_buf = bytearray(16 * count + 15)
        r_view = np.frombuffer(out_buf, dtype=">u8", count=2 * count)[0::2]
        order = range(ROUNDS - 1, -1, -1) if decrypt else range(ROUNDS)
        enc = self._cipher.encryptor()
        for i in order:
            m = mod[s.u] if i % 2 == 0 else mod[s.v]
            src = a if decrypt else b
            if s.b < 4:
                words[:, 3] = src.astype(np.uint32) ^ np.uint32(int(base[3]) ^ (i << (8 * s.b)))
            else:
                words[:, 2] = np.uint32(int(base[2]) ^ i)
                words[:, 3] = src.astype(np.uint32) ^ np.uint32(int(base[3]))
            enc.update_into(flat, out_buf)
            y = r_view.astype(np.uint64)  # d = 8: y = NUM(S) is the first 8 bytes of R
            y -= (y // m) * m  # y mod m (floor division by a scalar is the fast one)
            if decrypt:
                c = b + (m - y)
                b, a = a, c
            else:
                c = a + y
                a, b = b, c
            np.subtract(c, m, out=c, where=c >= m)
        out = np.empty(x.shape, dtype=_numeral_dtype(self.radix))
        _str_u64(a, self.radix, out[:, : s.u])
        _str_u64(b, self.radix, out[:, s.u :])
        return out

    def _crypt_int(self, x: Numerals, s: _Shape, decrypt: bool) -> Numerals:
        radix = self.radix
        a = _num_obj(x[:, : s.u], radix)
        b = _num_obj(x[:, s.u :], radix)
        count = x.shape[0]
        tail_blocks = len(s.tail) // 16
        state = np.frombuffer(s.state, dtype=np.uint8)
        tail = np.frombuffer(s.tail, dtype=np.uint8)
        extra = (s.d + 15) // 16 - 1
        order = range(ROUNDS - 1, -1, -1) if decrypt else range(ROUNDS)
        for i in order:
            m = radix**s.u if i % 2 == 0 else radix**s.v
            src = a if decrypt else b
            var = b"".join(bytes([i]) + int(z).to_bytes(s.b, "big") for z in src)
            q = np.tile(tail, (count, 1))
            q[:, len(s.tail) - s.b - 1 :] = np.frombuffer(var, np.uint8).reshape(count, s.b + 1)
            y_state = np.tile(state, (count, 1))
            for k in range(tail_blocks):
                chained = y_state ^ q[:, 16 * k : 16 * k + 16]
                y_state = np.frombuffer(self._aes(chained.tobytes()), np.uint8).reshape(count, 16)
            pieces = [y_state]
            for j in range(1, extra + 1):
                counter = np.frombuffer(j.to_bytes(16, "big"), np.uint8)
                pieces.append(
                    np.frombuffer(self._aes((y_state ^ counter).tobytes()), np.uint8).reshape(
                        count, 16
                    )
                )
            s_bytes = np.concatenate(pieces, axis=1)[:, : s.d]
            y = np.array([int.from_bytes(row.tobytes(), "big") for row in s_bytes], dtype=object)
            if decrypt:
                c = (b - y) % m
                b, a = a, c
            else:
                c = (a + y) % m
                a, b = b, c
        out = np.empty_like(x)
        out[:, : s.u] = _str_obj(a, radix, s.u)
        out[:, s.u :] = _str_obj(b, radix, s.v)
        return out


def _numeral_dtype(radix: int) -> type[np.unsignedinteger[Any]]:
    return np.uint8 if radix <= 256 else np.uint16


def _num_u64(x: npt.NDArray[Any], radix: int) -> npt.NDArray[np.uint64]:
    """NUM_radix of each row (fits 64 bits: callers ensure radix**n < 2**32)."""
    acc = np.zeros(x.shape[0], dtype=np.uint64)
    r = np.uint64(radix)
    for col in range(x.shape[1]):
        acc *= r
        acc += x[:, col]
    return acc


@lru_cache(maxsize=16)
def _digit_table(radix: int) -> tuple[int, npt.NDArray[Any]]:
    """(k, table): the k numerals of every number below radix**k <= 65536."""
    k = 1
    while radix ** (k + 1) <= 1 << 16:
        k += 1
    size = radix**k
    table = np.empty((size, k), dtype=_numeral_dtype(radix))
    v = np.arange(size)
    for col in range(k - 1, -1, -1):
        table[:, col] = v % radix
        v //= radix
    return k, table


def _str_u64(v: npt.NDArray[np.uint64], radix: int, out: npt.NDArray[Any]) -> None:
    """STR^m_radix of each value into ``out`` (shape (N, m)), k numerals per table lookup."""
    k, table = _digit_table(radix)
    chunk = np.uint64(radix**k)
    v = v.copy()
    end = out.shape[1]
    while end > 0:
        width = min(k, end)
        q = v // chunk
        low = (v - q * chunk).astype(np.intp)
        out[:, end - width : end] = np.take(table, low, axis=0)[:, k - width :]
        v = q
        end -= width


def _num_obj(x: Numerals, radix: int) -> npt.NDArray[np.object_]:
    acc = np.zeros(x.shape[0], dtype=object)
    for col in range(x.shape[1]):
        acc = acc * radix + x[:, col].astype(object)
    return acc


def _str_obj(v: npt.NDArray[np.object_], radix: int, m: int) -> npt.NDArray[Any]:
    out = np.empty((v.shape[0], m), dtype=_numeral_dtype(radix))
    v = v.copy()
    for col in range(m - 1, -1, -1):
        out[:, col] = (v % radix).astype(np.int64)
        v //= radix
    return out
