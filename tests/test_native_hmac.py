"""The native batch HMAC (veil._hmac_sha256, used by DuckDB plans) against Python's hmac, and
whole runs with it against the same runs in plain SQL (VEIL_NATIVE=0)."""

from __future__ import annotations

import hashlib
import hmac
import os
import random

import numpy as np
import pyarrow as pa
import pytest

import veil
from veil import native
from veil.engines import duckdb_udfs, sql
from veil.policy.model import Policy

KEY = bytes(range(7, 39))
IPAD = bytes(b ^ 0x36 for b in KEY.ljust(64, b"\0"))
OPAD = bytes(b ^ 0x5C for b in KEY.ljust(64, b"\0"))


def reference(values: list[str | None]) -> list[str | None]:
    return [
        None if v is None else hmac.new(KEY, v.encode("utf-8"), hashlib.sha256).hexdigest()
        for v in values
    ]


def pads(n: int) -> tuple[pa.Array, pa.Array]:
    return pa.array([IPAD] * n, pa.binary()), pa.array([OPAD] * n, pa.binary())


def sample_values(n: int, seed: int) -> list[str | None]:
    rng = random.Random(seed)
    alphabet = "abcXYZ019 -@.éü李😀\u0301"
    out: list[str | None] = []
    for _ in range(n):
        if rng.random() < 0.1:
            out.append(None)
        else:
            # lengths around the SHA-256 block boundaries (55/56/64 bytes) and beyond
            out.append("".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 90))))
    return out


def test_native_extension_is_built_here():
    assert native.hmac_module is not None, (
        "veil._hmac_sha256 did not build (needs a C compiler and the OpenSSL headers); "
        "veil still works, in the slower SQL form"
    )


def test_batch_matches_python_hmac_including_nulls_empty_and_unicode():
    values = ["", "a", "x" * 55, "x" * 56, "y" * 64, "z" * 200, "李😀é", None, " padded "]
    values += sample_values(3000, seed=1)
    out = duckdb_udfs.hmac_sha256_hex(pa.array(values, pa.string()), *pads(len(values)))
    assert out.to_pylist() == reference(values)


def test_batch_honours_slices_chunks_and_large_strings():
    values = sample_values(500, seed=2)
    arr = pa.array(values, pa.string())
    sliced = arr.slice(37, 300)
    assert duckdb_udfs.hmac_sha256_hex(sliced, *pads(300)).to_pylist() == reference(values[37:337])
    chunked = pa.chunked_array([arr.slice(0, 100), arr.slice(100)])
    assert duckdb_udfs.hmac_sha256_hex(chunked, *pads(500)).to_pylist() == reference(values)
    large = pa.array(values, pa.large_string())
    assert duckdb_udfs.hmac_sha256_hex(large, *pads(500)).to_pylist() == reference(values)
    assert duckdb_udfs.hmac_sha256_hex(pa.array([], pa.string()), *pads(0)).to_pylist() == []


def test_batch_refuses_pads_that_vary_between_rows():
    inner, outer = pads(3)
    other = pa.array([IPAD, IPAD, OPAD], pa.binary())
    with pytest.raises(ValueError, match="one non-null value"):
        duckdb_udfs.hmac_sha256_hex(pa.array(["a", "b", "c"]), other, outer)
    with pytest.raises(ValueError, match="one non-null value"):
        duckdb_udfs.hmac_sha256_hex(pa.array(["a", "b", "c"]), inner, pa.array([OPAD, None, OPAD]))


def test_native_function_checks_every_buffer_before_hashing():
    module = native.hmac_module
    assert module is not None
    offsets = np.array([0, 1, 3], dtype=np.int32)
    data = b"abc"
    out = bytearray(128)
    module.hmac_sha256_hex(IPAD, OPAD, offsets, 0, 2, data, out)
    assert out.decode() == "".join(reference(["a", "bc"]))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="64 bytes"):
        module.hmac_sha256_hex(IPAD[:10], OPAD, offsets, 0, 2, data, out)
    with pytest.raises(ValueError, match="offsets buffer is shorter"):
        module.hmac_sha256_hex(IPAD, OPAD, offsets, 1, 2, data, out)
    with pytest.raises(ValueError, match="output buffer"):
        module.hmac_sha256_hex(IPAD, OPAD, offsets, 0, 2, data, bytearray(127))
    with pytest.raises(ValueError, match="point past the data"):
        module.hmac_sha256_hex(IPAD, OPAD, offsets, 0, 2, b"ab", out)
    with pytest.raises(ValueError, match="not increasing"):
        module.hmac_sha256_hex(IPAD, OPAD, np.array([0, 2, 1], np.int32), 0, 2, data, out)
    with pytest.raises(ValueError, match="not increasing"):
        module.hmac_sha256_hex(IPAD, OPAD, np.array([-1, 1, 2], np.int32), 0, 2, data, out)


KEYED_POLICY = {
    "version": 1,
    "name": "native-vs-sql",
    "keys": {"main": {"env": "VEIL_TEST_KEY"}},
    "columns": {
        "rid": {"class": "insensitive", "transform": {"type": "keep"}},
        "id": {
            "class": "identifier",
            "transform": {"type": "pseudonymize", "key": "main", "length": 64},
        },
        "name": {
            "class": "identifier",
            "transform": {"type": "fake", "kind": "first_name", "key": "main"},
        },
        "day": {
            "class": "quasi_identifier",
            "transform": {"type": "date_shift", "key": "main", "by": "id", "max_days": 30},
        },
        "salary": {
            "class": "sensitive",
            "transform": {
                "type": "noise",
                "distribution": "laplace",
                "scale": 100,
                "key": "main",
                "by": "id",
            },
        },
    },
}


def keyed_table(n: int) -> pa.Table:
    ids = sample_values(n, seed=3)
    rng = np.random.default_rng(4)
    return pa.table(
        {
            "rid": pa.array(range(n), pa.int64()),
            "id": pa.array(ids, pa.string()),
            "name": pa.array(sample_values(n, seed=5), pa.string()),
            "day": pa.array(
                np.datetime64("2020-01-01") + rng.integers(0, 2000, n).astype("timedelta64[D]")
            ),
            "salary": pa.array(rng.normal(50_000, 9_000, n)),
        }
    )


def test_runs_give_identical_results_with_and_without_native_hmac(monkeypatch):
    table = keyed_table(5000)  # several DuckDB vectors of 2048 rows
    policy = Policy.model_validate(KEYED_POLICY)
    env = {"VEIL_TEST_KEY": os.urandom(32).hex()}
    monkeypatch.setenv(native.DISABLE_ENV, "0")
    in_sql = veil.anonymize(table, policy, environ=env).sort_by("rid")
    monkeypatch.setenv(native.DISABLE_ENV, "1")
    in_native = veil.anonymize(table, policy, environ=env).sort_by("rid")
    assert in_native.equals(in_sql)
    assert in_native.column("id").null_count == table.column("id").null_count


def test_duckdb_rendering_switches_with_the_environment(monkeypatch):
    e = sql.hmac_sha256_hex(sql.col("m", "t"), sql.col("i", "k"), sql.col("o", "k"))
    monkeypatch.setenv(native.DISABLE_ENV, "1")
    assert sql.render(e, "duckdb").startswith(sql.HMAC_SHA256_HEX + "(")
    monkeypatch.setenv(native.DISABLE_ENV, "0")
    plain = sql.render(e, "duckdb")
    assert sql.HMAC_SHA256_HEX not in plain and plain.upper().count("SHA256") == 2
    assert sql.HMAC_SHA256_HEX not in sql.render(e, "spark")
