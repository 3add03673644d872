"""The fpe transform and its codec: shapes kept, Luhn, small domains, invalid input, reversal."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import ValidationError

import veil
from veil.crypto import luhn
from veil.crypto.ff1 import FF1
from veil.crypto.fpe import ALPHABETS, FpeCodec, FpeValueError
from veil.policy.model import Policy

KEY = bytes(range(32))


def codec(**kw: object) -> FpeCodec:
    alphabet = str(kw.pop("alphabet", ALPHABETS["digits"]))
    return FpeCodec(KEY, alphabet, **kw)  # type: ignore[arg-type]


def test_separators_keep_their_place_and_values_roundtrip() -> None:
    c = codec(separators="- ")
    values = ["123-45-6789", "987654321", "12 34 56 78", None, "000-00-0000", "123-45-6789"]
    out = c.encrypt(pa.array(values)).to_pylist()
    assert out[3] is None and out[0] == out[5]
    for v, e in zip(values, out, strict=True):
        if v is None:
            continue
        assert len(e) == len(v) and e != v
        assert re.sub(r"\d", "d", e) == re.sub(r"\d", "d", v)  # same shape
    assert c.decrypt(pa.array(out)).to_pylist() == values


def test_digits_are_ff1_of_the_digits_only() -> None:
    """Separators are not part of the FF1 input: '123-45-6789' encrypts like '123456789'."""
    c = codec(separators="-")
    dashed = c.encrypt(pa.array(["123-45-6789"])).to_pylist()[0]
    plain = FF1(KEY, alphabet="0123456789").encrypt("123456789")
    assert dashed.replace("-", "") == plain


@pytest.mark.parametrize("name", ["lower_alnum", "upper_alnum", "alnum"])
def test_alphanumeric_alphabets(name: str) -> None:
    alphabet = ALPHABETS[name]
    c = FpeCodec(KEY, alphabet, separators="-")
    values = ["".join(alphabet[(i * 7 + j) % len(alphabet)] for j in range(8)) for i in range(50)]
    values[3] = values[3][:4] + "-" + values[3][4:]
    out = c.encrypt(pa.array(values)).to_pylist()
    assert all(set(o) <= set(alphabet) | {"-"} for o in out)
    assert out[3][4] == "-"
    assert c.decrypt(pa.array(out)).to_pylist() == values


def test_custom_alphabet() -> None:
    c = FpeCodec(KEY, "ACGT")
    dna = ["ACGTACGTACGTA", "TTTTGGGGCCCCA"]
    out = c.encrypt(pa.array(dna)).to_pylist()
    assert all(set(o) <= set("ACGT") and len(o) == 13 for o in out)
    assert c.decrypt(pa.array(out)).to_pylist() == dna


def test_luhn_valid_in_gives_luhn_valid_out_and_exact_reversal() -> None:
    c = codec(luhn=True, separators=" ")
    cards = ["4111111111111111", "5500005555555559", "4111 1111 1111 1111", "4111111111111112"]
    out = c.encrypt(pa.array(cards)).to_pylist()
    assert luhn.is_valid(out[0]) and luhn.is_valid(out[1])
    assert luhn.is_valid(out[2].replace(" ", "")) and out[2][4] == " "
    assert not luhn.is_valid(out[3])  # an invalid number stays invalid (same offset)
    assert c.decrypt(pa.array(out)).to_pylist() == cards


def test_small_domain_refused_unless_opted_in() -> None:
    with pytest.raises(FpeValueError, match=r"10\*\*5 = 100,000 < 1,000,000.*allow_small_domain"):
        codec().encrypt(pa.array(["12345"]))
    out = codec(allow_small_domain=True).encrypt(pa.array(["12345"])).to_pylist()
    assert len(out[0]) == 5
    # below FF1's absolute minimum (radix**n >= 100) even the opt-in cannot help
    with pytest.raises(FpeValueError, match="too short for FF1"):
        codec(allow_small_domain=True).encrypt(pa.array(["7"]))


def test_invalid_characters_fail_or_null_without_echoing_the_value() -> None:
    values = ["123456789", "12345X789", "1234567890"]
    with pytest.raises(FpeValueError) as info:
        codec().encrypt(pa.array(values))
    assert "12345X789" not in str(info.value) and "value #2" in str(info.value)
    out = codec().encrypt(pa.array(values), on_invalid="null").to_pylist()
    assert out[1] is None and out[0] is not None and out[2] is not None


def test_values_of_mixed_lengths_and_layouts() -> None:
    c = codec(separators="-./ ")
    values = [f"{i:0{6 + i % 9}d}" for i in range(500)]
    values += ["(+1) 555.123.4567", "555-123-4567", "5551234567", "", "---"]
    with pytest.raises(FpeValueError):  # '(' is not a separator here
        c.encrypt(pa.array(values))
    c = codec(separators="-./ ()+")
    out = c.encrypt(pa.array(values)).to_pylist()
    assert out[-2:] == ["", "---"]  # nothing to encrypt
    assert c.decrypt(pa.array(out)).to_pylist() == values


def test_sliced_and_chunked_inputs() -> None:
    c = codec()
    arr = pa.array([f"{i:09d}" for i in range(100)])
    whole = c.encrypt(arr).to_pylist()
    assert c.encrypt(arr.slice(10, 20)).to_pylist() == whole[10:30]
    chunked = pa.chunked_array([arr.slice(0, 50), arr.slice(50)])
    assert c.encrypt(chunked).to_pylist() == whole


def test_transform_validation() -> None:
    def make(**t: object) -> None:
        Policy.model_validate(
            {
                "name": "x",
                "keys": {"k": {"env": "E"}},
                "columns": {
                    "c": {"class": "identifier", "transform": {"type": "fpe", "key": "k", **t}}
                },
            }
        )

    make(alphabet="custom", characters="ACGT")
    with pytest.raises(ValidationError, match="needs 'characters'"):
        make(alphabet="custom")
    with pytest.raises(ValidationError, match="only for alphabet: custom"):
        make(characters="AB")
    with pytest.raises(ValidationError, match="luhn needs alphabet: digits"):
        make(alphabet="alnum", luhn=True)
    with pytest.raises(ValidationError, match="separator is also in the alphabet"):
        make(alphabet="custom", characters="AB-", separators="-")


def test_transform_end_to_end(tmp_path: Path) -> None:
    key_hex = os.urandom(32).hex()
    policy = Policy.model_validate(
        {
            "name": "fpe",
            "keys": {"k": {"env": "K"}},
            "columns": {
                "ssn": {"class": "identifier", "transform": {"type": "fpe", "key": "k"}},
                "card": {
                    "class": "identifier",
                    "transform": {"type": "fpe", "key": "k", "luhn": True, "domain": "card"},
                },
                "num": {"class": "identifier", "transform": {"type": "fpe", "key": "k"}},
            },
        }
    )
    n = 5000
    table = pa.table(
        {
            "ssn": [f"{i % 1000:03d}-{i % 100:02d}-{i:04d}" if i % 13 else None for i in range(n)],
            "card": ["4111111111111111"] * n,
            "num": pa.array([10**9 + i for i in range(n)], pa.int64()),
        }
    )
    out = veil.anonymize(table, policy, environ={"K": key_hex})
    ssn = out.column("ssn").to_pylist()
    assert ssn[0] is None and all(s is None or re.fullmatch(r"\d{3}-\d{2}-\d{4}", s) for s in ssn)
    assert len(set(out.column("card").to_pylist())) == 1
    assert luhn.is_valid(out.column("card")[0].as_py())
    assert out.schema.field("num").type == pa.string()  # numeric input: encrypted as text
    assert all(len(v) == 10 for v in out.column("num").to_pylist())
