"""Format-preserving encryption of string columns with FF1, a whole Arrow array at a time.

Each value's characters from the alphabet are encrypted as one FF1 numeral string; every other
character must be a *separator* and stays where it is, so ``123-45-6789`` becomes another
``ddd-dd-dddd``. Values are grouped by byte length and separator layout, and each group is one
batched FF1 call (see :mod:`veil.crypto.ff1`); strings are read from and written to the Arrow
buffers directly, without a Python object per value.

With ``luhn`` (digit alphabets only) the last digit is treated as a Luhn check digit: the other
digits are encrypted and the check digit recomputed, keeping its offset from the valid one, so a
Luhn-valid card number encrypts to a Luhn-valid card number and every value decrypts exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from veil.crypto import luhn
from veil.crypto.ff1 import FF1, MIN_DOMAIN
from veil.errors import DataError

SECURE_DOMAIN = 1_000_000
"""Smallest radix**n accepted without ``allow_small_domain`` (SP 800-38G Rev. 1 draft)."""

ALPHABETS = {
    "digits": "0123456789",
    "lower_alnum": "0123456789abcdefghijklmnopqrstuvwxyz",
    "upper_alnum": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "alnum": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
}


class FpeValueError(DataError):
    """A value cannot be format-preserving encrypted (message names no value)."""


@dataclass(frozen=True)
class Invalid:
    """Rows that could not be processed, by reason (indexes into the batch)."""

    rows: npt.NDArray[np.int64]
    reason: str


def as_string_array(values: pa.Array | pa.ChunkedArray) -> pa.StringArray:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    assert isinstance(values, pa.StringArray)
    return values


class FpeCodec:
    """FF1 over an ASCII alphabet, with separators kept in place."""

    def __init__(
        self,
        key: bytes,
        alphabet: str,
        *,
        separators: str = "",
        tweak: bytes = b"",
        luhn: bool = False,
        allow_small_domain: bool = False,
        label: str = "fpe",
    ) -> None:
        if not alphabet.isascii() or not separators.isascii():
            raise ValueError("the alphabet and separators must be ASCII characters")
        if set(alphabet) & set(separators):
            raise ValueError("a character is both in the alphabet and a separator")
        if luhn and alphabet != ALPHABETS["digits"]:
            raise ValueError("luhn needs the digits alphabet")
        self._ff1 = FF1(key, alphabet=alphabet)
        self.radix = len(alphabet)
        self._lut = np.full(256, -1, dtype=np.int16)
        for i, c in enumerate(alphabet.encode("ascii")):
            self._lut[c] = i
        self._sep = np.zeros(256, dtype=bool)
        for c in separators.encode("ascii"):
            self._sep[c] = True
        self._chars = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
        self._tweak = tweak
        self._luhn = luhn
        self._allow_small = allow_small_domain
        self._label = label

    def __repr__(self) -> str:
        return f"FpeCodec(radix={self.radix}, luhn={self._luhn})"

    def encrypt(self, values: pa.Array | pa.ChunkedArray, on_invalid: str = "fail") -> pa.Array:
        return self._apply(as_string_array(values), decrypt=False, on_invalid=on_invalid)

    def decrypt(self, values: pa.Array | pa.ChunkedArray, on_invalid: str = "fail") -> pa.Array:
        return self._apply(as_string_array(values), decrypt=True, on_invalid=on_invalid)

    # ------------------------------------------------------------------ internals
    def _check_domain(self, n: int) -> str | None:
        """None when n numerals may be encrypted, else why not (no value in the text)."""
        size = self.radix ** min(max(n, 0), 64)
        if n < 2 or size < MIN_DOMAIN:
            return (
                f"a value with {n + int(self._luhn)} alphabet characters is too short for FF1 "
                f"(radix**n must be at least {MIN_DOMAIN})"
            )
        if size < SECURE_DOMAIN and not self._allow_small:
            raise FpeValueError(
                f"{self._label}: a value with {n} encryptable characters spans a domain of "
                f"{self.radix}**{n} = {size:,} < {SECURE_DOMAIN:,} values, too small for FF1 "
                "to be secure; set allow_small_domain: true to accept this explicitly"
            )
        return None

    def _crypt_group(self, numerals: npt.NDArray[np.uint8], decrypt: bool) -> npt.NDArray[Any]:
        if not self._luhn:
            if decrypt:
                return self._ff1.decrypt_numerals(numerals, self._tweak)
            return self._ff1.encrypt_numerals(numerals, self._tweak)
        body, check = numerals[:, :-1], numerals[:, -1].astype(np.int64)
        delta = (check - luhn.check_digit(body.astype(np.int64))) % 10
        if decrypt:
            new_body = self._ff1.decrypt_numerals(body, self._tweak)
        else:
            new_body = self._ff1.encrypt_numerals(body, self._tweak)
        out = np.empty_like(numerals)
        out[:, :-1] = new_body
        out[:, -1] = (luhn.check_digit(new_body.astype(np.int64)) + delta) % 10
        return out

    def _apply(self, arr: pa.StringArray, *, decrypt: bool, on_invalid: str) -> pa.Array:
        count = len(arr)
        if count == 0:
            return arr
        raw_offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)
        offsets = raw_offsets[arr.offset : arr.offset + count + 1].astype(np.int64)
        data_buf = arr.buffers()[2]
        start, end = int(offsets[0]), int(offsets[-1])
        data = (
            np.frombuffer(data_buf, dtype=np.uint8)[start:end].copy()
            if data_buf is not None
            else np.zeros(0, dtype=np.uint8)
        )
        offsets -= start
        valid = (
            np.ones(count, dtype=bool)
            if arr.null_count == 0
            else np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        )
        lengths = np.diff(offsets)
        keep = valid.copy()
        invalid: list[Invalid] = []
        uniform = arr.null_count == 0 and len(data) == count * int(lengths[0])
        for length in [int(lengths[0])] if uniform else np.unique(lengths[valid]).tolist():
            if length == 0:
                continue
            if uniform:
                rows = np.arange(count)
                pos = None
                block = data.reshape(count, length)  # a view: written in place
            else:
                rows = np.nonzero(valid & (lengths == length))[0]
                pos = offsets[rows][:, None] + np.arange(length)
                block = np.take(data, pos)
            self._process(block, rows, decrypt, keep, invalid)
            if pos is not None:
                np.put(data, pos, block)
        if invalid and on_invalid == "fail":
            first = min(int(i.rows.min()) for i in invalid)
            reason = next(i.reason for i in invalid if int(i.rows.min()) == first)
            total = sum(len(i.rows) for i in invalid)
            raise FpeValueError(
                f"{self._label}: {total} value(s) cannot be "
                f"{'decrypted' if decrypt else 'encrypted'} (the first is value #{first + 1} "
                f"of the batch: {reason}); set on_invalid: null to null them instead"
            )
        result = pa.StringArray.from_buffers(
            count, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)
        )
        if not keep.all():
            return pc.if_else(pa.array(keep), result, pa.scalar(None, pa.string()))
        return result

    def _process(
        self,
        block: npt.NDArray[np.uint8],
        rows: npt.NDArray[np.int64],
        decrypt: bool,
        keep: npt.NDArray[np.bool_],
        invalid: list[Invalid],
    ) -> None:
        """Encrypt (or decrypt) the equal-length values in ``block`` (one row each) in place."""
        length = block.shape[1]
        nums = np.take(self._lut, block)
        is_num = nums >= 0
        all_num = bool(is_num.all())
        members: npt.NDArray[np.int64] | None = None  # None: every row
        if not all_num:
            ok = (is_num | np.take(self._sep, block)).all(axis=1)
            if not ok.all():
                invalid.append(Invalid(rows[~ok], "characters outside the alphabet and separators"))
                keep[rows[~ok]] = False
                members = np.nonzero(ok)[0]
                if len(members) == 0:
                    return
        if all_num:
            layouts: list[tuple[npt.NDArray[np.int64] | None, npt.NDArray[np.bool_]]] = [
                (None, np.ones(length, dtype=bool))
            ]
        else:
            sel = is_num if members is None else is_num[members]
            packed = np.packbits(sel, axis=1)
            _, first, inverse = np.unique(packed, axis=0, return_index=True, return_inverse=True)
            inverse = inverse.reshape(-1)
            base = np.arange(len(sel)) if members is None else members
            layouts = [(base[inverse == g], sel[f]) for g, f in enumerate(first)]
        for group, layout in layouts:
            cols = np.nonzero(layout)[0]
            if len(cols) == 0:
                continue  # only separators: nothing to encrypt, kept as it is
            problem = self._check_domain(len(cols) - int(self._luhn))
            if problem is not None:
                bad = rows if group is None else rows[group]
                invalid.append(Invalid(bad, problem))
                keep[bad] = False
                continue
            full_cols = len(cols) == length
            if group is None:
                sub = nums if full_cols else nums[:, cols]
            else:
                sub = nums[group] if full_cols else nums[np.ix_(group, cols)]
            out = np.take(self._chars, self._crypt_group(sub.astype(np.uint8), decrypt))
            if group is None:
                if full_cols:
                    block[:] = out
                else:
                    block[:, cols] = out
            else:
                block[np.ix_(group, cols)] = out
