"""FF1 (NIST SP 800-38G): the nine NIST sample vectors, and the batched implementation against a
plain one-value-at-a-time reference written here straight from Algorithm 7."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from veil.crypto.ff1 import FF1

K128 = "2B7E151628AED2A6ABF7158809CF4F3C"
K192 = K128 + "EF4359D8D580AA4F"
K256 = K192 + "7F036D6F04FC6A94"
A36 = "0123456789abcdefghijklmnopqrstuvwxyz"
T10 = "39383736353433323130"
T11 = "3737373770717273373737"

# (sample, key, radix, tweak, plaintext, ciphertext) from NIST's FF1 examples (FF1samples.pdf)
NIST = [
    (1, K128, 10, "", "0123456789", "2433477484"),
    (2, K128, 10, T10, "0123456789", "6124200773"),
    (3, K128, 36, T11, "0123456789abcdefghi", "a9tv40mll9kdu509eum"),
    (4, K192, 10, "", "0123456789", "2830668132"),
    (5, K192, 10, T10, "0123456789", "2496655549"),
    (6, K192, 36, T11, "0123456789abcdefghi", "xbj3kv35jrawxv32ysr"),
    (7, K256, 10, "", "0123456789", "6657667009"),
    (8, K256, 10, T10, "0123456789", "1001623463"),
    (9, K256, 36, T11, "0123456789abcdefghi", "xs8a0azh2avyalyzuwd"),
]


@pytest.mark.parametrize(("sample", "key", "radix", "tweak", "pt", "ct"), NIST)
def test_nist_samples(sample: int, key: str, radix: int, tweak: str, pt: str, ct: str) -> None:
    ff1 = FF1(bytes.fromhex(key), alphabet=A36[:radix])
    assert ff1.encrypt(pt, bytes.fromhex(tweak)) == ct
    assert ff1.decrypt(ct, bytes.fromhex(tweak)) == pt


@pytest.mark.parametrize(("sample", "key", "radix", "tweak", "pt", "ct"), NIST)
def test_nist_samples_in_a_batch(
    sample: int, key: str, radix: int, tweak: str, pt: str, ct: str
) -> None:
    """The same vector as row 0 of a batch of random values gives the same result."""
    ff1 = FF1(bytes.fromhex(key), radix)
    rng = np.random.default_rng(sample)
    batch = rng.integers(0, radix, size=(257, len(pt)))
    batch[0] = [A36.index(c) for c in pt]
    out = ff1.encrypt_numerals(batch, bytes.fromhex(tweak))
    assert "".join(A36[i] for i in out[0]) == ct
    assert (ff1.decrypt_numerals(out, bytes.fromhex(tweak)) == batch).all()


def reference_ff1(key: bytes, radix: int, tweak: bytes, x: list[int], decrypt: bool) -> list[int]:
    """SP 800-38G Algorithms 7 and 8, one value, Python integers, per-block AES."""

    def aes(block: bytes) -> bytes:
        enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        return enc.update(block) + enc.finalize()

    def num(xs: list[int]) -> int:
        v = 0
        for d in xs:
            v = v * radix + d
        return v

    def string(v: int, m: int) -> list[int]:
        out = []
        for _ in range(m):
            out.append(v % radix)
            v //= radix
        return out[::-1]

    n, t = len(x), len(tweak)
    u, v = n // 2, n - n // 2
    a, b = x[:u], x[u:]
    bb = math.ceil(math.ceil(v * math.log2(radix)) / 8)
    d = 4 * math.ceil(bb / 4) + 4
    p = bytes([1, 2, 1]) + radix.to_bytes(3, "big") + bytes([10, u % 256])
    p += n.to_bytes(4, "big") + t.to_bytes(4, "big")
    rounds = range(9, -1, -1) if decrypt else range(10)
    for i in rounds:
        src = a if decrypt else b
        q = tweak + bytes((-t - bb - 1) % 16) + bytes([i]) + num(src).to_bytes(bb, "big")
        y_block = bytes(16)
        msg = p + q
        for k in range(0, len(msg), 16):
            y_block = aes(bytes(c ^ e for c, e in zip(y_block, msg[k : k + 16], strict=True)))
        s = y_block
        for j in range(1, math.ceil(d / 16)):
            s += aes(bytes(c ^ e for c, e in zip(y_block, j.to_bytes(16, "big"), strict=True)))
        y = int.from_bytes(s[:d], "big")
        m = u if i % 2 == 0 else v
        if decrypt:
            c = (num(b) - y) % radix**m
            b, a = a, string(c, m)
        else:
            c = (num(a) + y) % radix**m
            a, b = b, string(c, m)
    return a + b


CASES = [
    # (radix, length, tweak length): both arithmetic back ends, short and multi-block tweaks
    (10, 6, 0),
    (10, 16, 0),
    (10, 16, 7),
    (10, 18, 40),
    (10, 19, 3),  # b = 5: Python-integer path
    (10, 40, 0),
    (36, 12, 11),
    (36, 13, 0),  # b > 4
    (62, 10, 16),
    (62, 24, 5),
    (2, 30, 0),
    (2, 80, 20),
    (256, 5, 0),
    (1000, 4, 9),  # radix above 256: uint16 numerals
    (65536, 2, 0),
]


@pytest.mark.parametrize(("radix", "n", "tlen"), CASES)
def test_batched_matches_reference(radix: int, n: int, tlen: int) -> None:
    key = os.urandom(32)
    tweak = os.urandom(tlen)
    rng = np.random.default_rng(radix * 1000 + n)
    x = rng.integers(0, radix, size=(40, n))
    ff1 = FF1(key, radix)
    enc = ff1.encrypt_numerals(x, tweak)
    for row, out in zip(x, enc, strict=True):
        assert out.tolist() == reference_ff1(key, radix, tweak, row.tolist(), decrypt=False)
    assert (ff1.decrypt_numerals(enc, tweak) == x).all()


@settings(max_examples=60, deadline=None)
@given(
    radix=st.sampled_from([10, 16, 36, 62]),
    digits=st.lists(st.integers(0, 61), min_size=6, max_size=30),
    tweak=st.binary(max_size=24),
)
def test_roundtrip_property(radix: int, digits: list[int], tweak: bytes) -> None:
    x = np.array([[d % radix for d in digits]])
    ff1 = FF1(bytes(range(16)), radix)
    enc = ff1.encrypt_numerals(x, tweak)
    assert enc.shape == x.shape and (enc < radix).all()
    assert (ff1.decrypt_numerals(enc, tweak) == x).all()


def test_tweak_and_key_change_the_output() -> None:
    x = np.array([[1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6]])
    a = FF1(bytes(32), 10).encrypt_numerals(x, b"")
    assert (a != FF1(bytes(32), 10).encrypt_numerals(x, b"t")).any()
    assert (a != FF1(bytes(31) + b"\1", 10).encrypt_numerals(x, b"")).any()


def test_permutation_on_a_small_domain() -> None:
    """FF1 is a permutation: every value of a 3-digit domain maps to a distinct value."""
    ff1 = FF1(os.urandom(16), 10)
    x = np.array([[int(c) for c in f"{i:03d}"] for i in range(1000)])
    out = ff1.encrypt_numerals(x)
    assert len({tuple(r) for r in out.tolist()}) == 1000


def test_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="16, 24 or 32"):
        FF1(bytes(15), 10)
    with pytest.raises(ValueError, match="radix"):
        FF1(bytes(16), 1)
    ff1 = FF1(bytes(16), 10)
    with pytest.raises(ValueError, match="radix\\*\\*n >= 100"):
        ff1.encrypt_numerals([[1]])
    with pytest.raises(ValueError, match="0..radix-1"):
        ff1.encrypt_numerals([[1, 2, 10]])
    with pytest.raises(ValueError, match="alphabet"):
        FF1(bytes(16), alphabet="0123456789").encrypt("12a4")
