"""Luhn (mod 10) check digits, vectorized over rows of digits."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_DOUBLED = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.int64)


def check_digit(body: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The Luhn check digit to append to each row of ``body`` (digits, most significant first)."""
    if body.shape[1] == 0:
        return np.zeros(body.shape[0], dtype=np.int64)
    # Counting from the right of the body, positions 0, 2, 4, ... are doubled (the check digit
    # that follows them takes position 0 of the full number, which is not doubled).
    rev = body[:, ::-1]
    total = _DOUBLED[rev[:, 0::2]].sum(axis=1) + rev[:, 1::2].sum(axis=1)
    return np.asarray((10 - total % 10) % 10, dtype=np.int64)


def is_valid(digits: str) -> bool:
    """Whether a digit string passes the Luhn check."""
    if len(digits) < 2 or not digits.isdigit():
        return False
    arr = np.array([[int(c) for c in digits]], dtype=np.int64)
    return bool(check_digit(arr[:, :-1])[0] == arr[0, -1])
