"""Throughput of `veil run` (Parquet in -> Parquet out) against a plain DuckDB copy.

    python bench/throughput.py [--rows 10000000] [--repeat 3]

Compares, interleaved in every repetition (so machine noise hits all variants alike):

* baseline       DuckDB ``COPY (SELECT * FROM read_parquet(...)) TO ... (FORMAT parquet,
                 COMPRESSION zstd)`` in a fresh connection: all 14 input columns, unchanged.
* copy-8cols     the same COPY of only the 8 columns the policy outputs, unchanged (same I/O
                 volume as veil; the difference to veil is the cost of the transforms).
* veil           ``veil.run(bench/policies/nofake.yaml)`` in-process: 8 transformed columns.
* veil sql-hmac  the same with VEIL_NATIVE=0: keyed digests in plain SQL (four SHA-256
                 compressions each) instead of the native batch HMAC (two).
* veil CLI       ``veil run`` of the same policy as a subprocess (import + start-up included).
* veil+fake      ``veil.run(bench/policies/fake.yaml)``: the 8 columns PLUS fake first_name and
                 last_name (10 output columns; fake is added, nothing is replaced).
* veil+fake CLI  the same through ``veil run``.

The data (customers, examples/customers/generate.py, seed 7) is generated once into bench/data/.
The key is random per run, passed through $VEIL_BENCH_KEY and never printed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

import veil  # noqa: E402
from veil import native  # noqa: E402

NOFAKE_COLUMNS = list(c.load_template("nofake")["columns"])


def duckdb_copy(data: Path, out: Path, columns: list[str] | None = None) -> None:
    select = "*" if columns is None else ", ".join(f'"{x}"' for x in columns)
    con = duckdb.connect()
    try:
        con.execute(
            f"COPY (SELECT {select} FROM read_parquet('{data}')) TO '{out}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
    finally:
        con.close()


def veil_inprocess(policy: Path, env: dict[str, str], rows: int) -> None:
    result = veil.run(policy, environ=env)
    assert result.rows_out == rows, (result.rows_out, rows)


def without_native(fn: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        os.environ[native.DISABLE_ENV] = "0"
        try:
            fn()
        finally:
            del os.environ[native.DISABLE_ENV]

    return run


def veil_cli(policy: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(
        [str(c.VENV_BIN / "veil"), "run", str(policy)],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"veil run failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--only",
        nargs="+",
        metavar="VARIANT",
        help="run only these variants (baseline is always run), e.g. --only veil",
    )
    args = ap.parse_args(argv)

    print(__doc__.split("\n\n", 2)[2].split("The data")[0].rstrip())
    data = c.ensure_data(args.rows)
    c.OUT.mkdir(parents=True, exist_ok=True)
    env = c.bench_env()
    p_nofake = c.render_policy("nofake", data, f"tp_nofake_{args.rows}")
    p_fake = c.render_policy("fake", data, f"tp_fake_{args.rows}")
    out_base = c.OUT / f"tp_baseline_{args.rows}.parquet"
    out_base8 = c.OUT / f"tp_copy8_{args.rows}.parquet"

    variants = {
        "baseline": lambda: duckdb_copy(data, out_base),
        "copy-8cols": lambda: duckdb_copy(data, out_base8, NOFAKE_COLUMNS),
        "veil": lambda: veil_inprocess(p_nofake, env, args.rows),
        "veil sql-hmac": without_native(lambda: veil_inprocess(p_nofake, env, args.rows)),
        "veil CLI": lambda: veil_cli(p_nofake, env),
        "veil+fake": lambda: veil_inprocess(p_fake, env, args.rows),
        "veil+fake CLI": lambda: veil_cli(p_fake, env),
    }
    outputs = {
        "baseline": out_base,
        "copy-8cols": out_base8,
        "veil": c.OUT / f"tp_nofake_{args.rows}.parquet",
        "veil sql-hmac": c.OUT / f"tp_nofake_{args.rows}.parquet",
        "veil CLI": c.OUT / f"tp_nofake_{args.rows}.parquet",
        "veil+fake": c.OUT / f"tp_fake_{args.rows}.parquet",
        "veil+fake CLI": c.OUT / f"tp_fake_{args.rows}.parquet",
    }
    if args.only:
        unknown = set(args.only) - set(variants)
        if unknown:
            raise SystemExit(f"unknown variants {sorted(unknown)}; known: {list(variants)}")
        variants = {k: v for k, v in variants.items() if k == "baseline" or k in args.only}
    print(
        f"\ninput: {data.name}, {args.rows:,} rows, {c.file_size(data) / 1e6:.0f} MB; "
        f"repetitions: {args.repeat}; duckdb {duckdb.__version__}, veil {veil.__version__}"
    )
    c.warm_page_cache(data)
    times: dict[str, list[float]] = {k: [] for k in variants}
    sizes: dict[str, int] = {}
    for rep in range(args.repeat):
        line = []
        for name, fn in variants.items():
            t = c.timed(fn)
            times[name].append(t)
            sizes[name] = c.file_size(outputs[name])
            line.append(f"{name} {t:.2f}s")
        print(f"  rep {rep + 1}/{args.repeat}: " + ", ".join(line), flush=True)

    med = {k: c.median(v) for k, v in times.items()}
    base = med["baseline"]
    rows = []
    for name in variants:
        rows.append(
            [
                name,
                f"{med[name]:.2f}",
                f"{min(times[name]):.2f}",
                f"{args.rows / med[name] / 1e6:.2f}",
                f"{sizes[name] / 1e6:.0f}",
                f"{med[name] / base:.2f}x",
            ]
        )
    print()
    print(
        c.table(
            ["variant", "median s", "min s", "M rows/s", "out MB", "vs baseline"],
            rows,
        )
    )
    print()
    if "veil" in med:
        paired = sorted(v / b for v, b in zip(times["veil"], times["baseline"], strict=True))
        print(f"veil / baseline per repetition: {', '.join(f'{r:.2f}x' for r in paired)}")
    if {"veil", "copy-8cols"} <= med.keys():
        print(
            "veil / copy-8cols (transform cost, same output columns): "
            f"{med['veil'] / med['copy-8cols']:.2f}x"
        )
    if {"veil", "veil sql-hmac"} <= med.keys():
        print(f"native HMAC saves {med['veil sql-hmac'] - med['veil']:.2f}s over SQL HMAC")
    if {"veil", "veil CLI"} <= med.keys():
        print(f"CLI start-up + import overhead: {med['veil CLI'] - med['veil']:+.2f}s")
    if {"veil", "veil+fake"} <= med.keys():
        print(
            f"fake (first_name + last_name added): {med['veil+fake'] - med['veil']:+.2f}s "
            f"in-process ({med['veil+fake'] / med['veil'] - 1:+.0%} over veil)"
        )
    if {"veil CLI", "veil+fake CLI"} <= med.keys():
        print(f"fake via CLI: {med['veil+fake CLI'] - med['veil CLI']:+.2f}s")
    parts = []
    for name in ("veil", "veil sql-hmac", "veil CLI", "veil+fake", "veil+fake CLI"):
        if name in med:
            parts.append(f"{name}/baseline = {med[name] / base:.2f}x")
    lead = med.get("veil")
    verdict = ""
    if lead is not None:
        verdict = (
            f"; target veil <= 2x: {'met' if lead / base <= 2.0 else 'MISSED'}; "
            f"veil {args.rows / lead / 1e6:.2f} M rows/s"
        )
    print(
        f"\nRESULT throughput: {', '.join(parts)} (median of {args.repeat}, "
        f"{args.rows / 1e6:g}M rows){verdict}"
    )
    return 0


if __name__ == "__main__":
    c.run_main(main)
