"""Throughput of veil's reversible transforms: FF1, AES-SIV and vault tokenization.

    python bench/crypto.py [--rows 1000000] [--distinct 100000] [--no-postgres] [--repeat 3]

Everything runs on ONE core (DuckDB ``threads=1``; NumPy and AES are single-threaded here).
Keys come from a throw-away keyring in a temporary directory; nothing is printed but figures.

* FF1: ``rows`` random 16-digit strings.
  - ``FF1 core``      veil.crypto.ff1 on an (N, 16) numeral array (one batch).
  - ``fpe codec``     the fpe transform's Arrow batch function on one N-value array.
  - ``fpe transform`` end to end through DuckDB (2,048-value UDF batches).
  - ``fastfpe`` / ``libffx`` per-value calls on a sample, when importable (not dependencies).
* AES-SIV: ``rows`` distinct short strings (``user<i>@example.com``).
  - ``bare AESSIV``   cryptography's AESSIV.encrypt in a Python loop (bytes in, bytes out).
  - ``batch fn``      the encrypt transform's UDF over 2,048-value Arrow batches (bytes
                      straight from the Arrow buffer, dedupe, encrypt, ``v1:`` + base64url,
                      Arrow out), interleaved with the bare loop.
  - ``encrypt transform`` end to end through DuckDB.
* tokenize: ``rows`` values with ``distinct`` distinct ones, convergent opaque tokens, end to
  end through DuckDB, into a fresh vault (first run), then again with a fresh process-level
  cache so that every token is found in the vault (second run); ``repeat`` times, each into
  another fresh vault, best time shown. SQLite files in a temporary directory; PostgreSQL at
  $VEIL_BENCH_PG (default postgresql://postgres@127.0.0.1:5432/test) in a throw-away schema
  that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from veil.engines.duckdb_engine import DuckDBEngine
from veil.keys.keyring import Keyring
from veil.keys.master import LocalMasterKey
from veil.keys.resolve import key_provider_for_policy
from veil.plan import build_plan
from veil.policy.load import LoadedPolicy
from veil.policy.model import Policy

PG_URL = os.environ.get("VEIL_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best = float("inf")
    out: Any = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def line(label: str, n: int, seconds: float, extra: str = "") -> None:
    print(f"{label:<34} {n / seconds:>14,.0f} values/s   ({seconds:7.3f} s){extra}", flush=True)


class Setup:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.master = LocalMasterKey(os.urandom(32), "bench")
        self.ring = tmp / "keyring.json"
        Keyring.create_key(self.ring, self.master, "bench")

    def run(self, table: pa.Table, transform: dict[str, Any]) -> tuple[float, pa.Table]:
        policy = Policy.model_validate(
            {
                "name": "bench",
                "keyring": {"path": str(self.ring)},
                "keys": {"k": {"keyring": "bench"}},
                "columns": {"v": {"class": "identifier", "transform": transform}},
            }
        )
        loaded = LoadedPolicy(policy=policy, path=self.tmp / "bench.yaml", text="bench")
        engine = DuckDBEngine(threads=1)
        t0 = time.perf_counter()
        keys = key_provider_for_policy(loaded, master=self.master)
        plan = build_plan(loaded, {"v": "VARCHAR"}, keys)
        out = engine.transform_table(table, plan)
        return time.perf_counter() - t0, out


def bench_ff1(setup: Setup, rows: int, repeat: int) -> None:
    from veil.crypto.ff1 import FF1
    from veil.crypto.fpe import FpeCodec

    print(f"\n## FF1 (NIST SP 800-38G), {rows:,} 16-digit values, one core")
    rng = np.random.default_rng(7)
    digits = rng.integers(0, 10, size=(rows, 16), dtype=np.int64)
    key = secrets.token_bytes(32)
    ff1 = FF1(key, 10)
    t, enc = timed(lambda: ff1.encrypt_numerals(digits), repeat)
    line("FF1 core (numerals, 1 batch)", rows, t)
    assert (ff1.decrypt_numerals(enc) == digits).all()
    strings = pa.array(["".join(map(str, r)) for r in digits[: min(rows, 1_000_000)]], pa.string())
    codec = FpeCodec(key, "0123456789")
    t, _ = timed(lambda: codec.encrypt(strings), repeat)
    line("fpe codec (Arrow, 1 batch)", len(strings), t)
    table = pa.table({"v": strings})
    best = min(setup.run(table, {"type": "fpe", "key": "k"})[0] for _ in range(repeat))
    line("fpe transform (DuckDB, threads=1)", len(strings), best)
    sample = [s.as_py() for s in strings[:50_000]]
    try:
        from fastfpe import ff1 as fast  # type: ignore[import-not-found]

        hexkey = key.hex()
        t, _ = timed(lambda: [fast.encrypt(hexkey, "", "0123456789", s) for s in sample], 1)
        line("fastfpe (per value, sample)", len(sample), t)
    except ImportError:
        print("fastfpe: not installed (pip install fastfpe to compare)")
    try:
        from ffx import FF1 as LibFF1  # type: ignore[import-not-found]

        lib = LibFF1(key, radix=10)
        small = sample[:10_000]
        t, _ = timed(lambda: [lib.encrypt(s) for s in small], 1)
        line("libffx (per value, sample)", len(small), t)
    except ImportError:
        print("libffx: not installed (pip install libffx to compare)")


def bench_siv(setup: Setup, rows: int, repeat: int) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESSIV

    from veil.crypto.siv import SivEncryptor

    print(f"\n## AES-SIV, {rows:,} distinct short strings, one core")
    values = [f"user{i}@example.com" for i in range(rows)]
    arr = pa.array(values, pa.string())
    key = secrets.token_bytes(64)
    siv = AESSIV(key)
    enc = SivEncryptor(key, 1)

    def bare() -> list[bytes]:
        e = siv.encrypt
        return [e(v.encode(), None) for v in values]

    batches = [arr.slice(i, 2048) for i in range(0, rows, 2048)]

    def text() -> None:
        for b in batches:
            enc.encrypt(b)

    bare_t: list[float] = []
    text_t: list[float] = []
    for _ in range(repeat):  # interleaved, side by side
        for fn, acc in ((bare, bare_t), (text, text_t)):
            t0 = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t0)
    b, w = min(bare_t), min(text_t)
    line("bare AESSIV loop (bytes->bytes)", rows, b)
    line("veil batch fn (Arrow->'v1:'text)", rows, w, f"   ratio veil/bare time {w / b:.2f}x")
    table = pa.table({"v": arr})
    best = min(setup.run(table, {"type": "encrypt", "key": "k"})[0] for _ in range(repeat))
    line("encrypt transform (DuckDB, threads=1)", rows, best, f"   ratio vs bare {best / b:.2f}x")
    print(
        f"(medians: bare {statistics.median(bare_t):.3f}s, "
        f"veil batch fn {statistics.median(text_t):.3f}s)"
    )


def bench_tokenize(setup: Setup, rows: int, distinct: int, postgres: bool, repeat: int) -> None:
    print(f"\n## tokenize, {rows:,} values ({distinct:,} distinct), convergent, one core")
    rng = np.random.default_rng(11)
    ids = rng.integers(0, distinct, size=rows)
    # every distinct value occurs at least once
    ids[:distinct] = rng.permutation(distinct)
    values = pa.array([f"customer-{i:08d}" for i in ids], pa.string())
    table = pa.table({"v": values})
    targets: list[tuple[str, Callable[[int], dict[str, Any]], Callable[[], None]]] = [
        ("SQLite", lambda i: {"vault": str(setup.tmp / f"vault{i}.sqlite")}, lambda: None)
    ]
    if postgres:
        try:
            import psycopg

            schema = f"veil_bench_{secrets.token_hex(4)}"
            with psycopg.connect(PG_URL, autocommit=True, connect_timeout=5) as con:
                con.execute(f"CREATE SCHEMA {schema}")

            def drop() -> None:
                with psycopg.connect(PG_URL, autocommit=True) as con:
                    con.execute(f"DROP SCHEMA {schema} CASCADE")

            targets.append(
                ("PostgreSQL", lambda i: {"vault": PG_URL, "table": f"{schema}.tokens{i}"}, drop)
            )
        except Exception as e:  # noqa: BLE001 - a benchmark reports and goes on
            print(f"PostgreSQL: skipped ({type(e).__name__})")
    for name, vault, cleanup in targets:
        try:
            firsts: list[float] = []
            seconds: list[float] = []
            for i in range(repeat):  # a fresh vault each time
                transform = {"type": "tokenize", "key": "k", **vault(i)}
                t1, out1 = setup.run(table, transform)
                t2, out2 = setup.run(table, transform)
                assert out1.column("v").equals(out2.column("v"))
                firsts.append(t1)
                seconds.append(t2)
            line(f"{name}: first run (fills vault)", rows, min(firsts), _spread(firsts))
            line(f"{name}: second run (all found)", rows, min(seconds), _spread(seconds))
        finally:
            cleanup()


def _spread(times: list[float]) -> str:
    if len(times) == 1:
        return ""
    return f"   best of {len(times)}, median {statistics.median(times):.3f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--distinct", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-postgres", action="store_true")
    ap.add_argument("--only", choices=["ff1", "siv", "tokenize"], default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="veil-bench-") as d:
        setup = Setup(Path(d))
        if args.only in (None, "ff1"):
            bench_ff1(setup, args.rows, args.repeat)
        if args.only in (None, "siv"):
            bench_siv(setup, args.rows, args.repeat)
        if args.only in (None, "tokenize"):
            bench_tokenize(setup, args.rows, args.distinct, not args.no_postgres, args.repeat)


if __name__ == "__main__":
    main()
