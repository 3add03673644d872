"""Cost of each veil transform alone.

    python bench/per_transform.py [--rows 10000000] [--repeat 1] [--skip-e2e]

Two parts, every variant interleaved within each repetition:

1. end to end: ``veil.run`` of a one-column policy (the column's transform from
   bench/policies/fake.yaml, so the 8 no-fake transforms plus fake) against a DuckDB
   ``COPY (SELECT <that column> ...) TO parquet`` of the raw column. veil minus copy is the
   transform's cost including veil's fixed overhead, which the ``keep`` row measures (an
   untransformed column run through veil).
2. expression only: veil's query for each column alone (its shared digests included)
   evaluated by DuckDB in ``SELECT count(<column>)`` over the Parquet file, against
   ``count(<raw column>)``: the pure engine cost of the transform, without writing.
The key is random per run ($VEIL_BENCH_KEY, never printed).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

import veil  # noqa: E402
from veil.engines import sql  # noqa: E402
from veil.engines.duckdb_engine import DuckDBEngine  # noqa: E402
from veil.plan import SOURCE_TABLE, build_plan  # noqa: E402
from veil.run import _key_provider  # noqa: E402

ALL = c.load_template("fake")["columns"]


class Engine:
    """One DuckDB connection (veil's helper functions registered) with the source view and
    the plan's tables."""

    def __init__(self, data: Path, policy: Path, env: dict[str, str]) -> None:
        loaded = veil.load_policy(policy)
        eng = DuckDBEngine()
        schema, _ = eng.read_schema(loaded.policy.source, [data])
        self.plan = build_plan(loaded, schema, _key_provider(loaded, env))
        self.columns = [col.name for col in self.plan.columns]
        self.con = eng.connect()
        self.con.execute(f"CREATE VIEW {SOURCE_TABLE} AS SELECT * FROM read_parquet('{data}')")
        for name, table in self.plan.tables().items():
            self.con.register(name, table)

    def time_count(self, col: str, *, raw: bool = False) -> float:
        if raw:
            q = f'SELECT count("{col}") FROM {SOURCE_TABLE}'
        else:
            alone = replace(self.plan, columns=[c for c in self.plan.columns if c.name == col])
            q = f'SELECT count("{col}") FROM ({sql.render(alone.select(), "duckdb")})'
        t0 = time.perf_counter()
        self.con.execute(q).fetchall()
        return time.perf_counter() - t0


def copy_column(data: Path, col: str, out: Path) -> None:
    con = duckdb.connect()
    try:
        con.execute(
            f"COPY (SELECT \"{col}\" FROM read_parquet('{data}')) TO '{out}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--skip-e2e", action="store_true", help="skip part 1 (the slowest)")
    args = ap.parse_args(argv)
    print(__doc__.split("\n\n", 2)[2].split("The key")[0].rstrip())
    data = c.ensure_data(args.rows)
    env = c.bench_env()
    n = args.rows
    print(f"\n{n:,} rows, {args.repeat} repetition(s)", flush=True)
    c.warm_page_cache(data)

    # ---------------------------------------------------------------- part 1: end to end
    if not args.skip_e2e:
        cases: dict[str, dict[str, Any]] = {
            "keep (veil overhead)": {"zip": {"class": "insensitive"}}
        }
        for col, spec in ALL.items():
            cases[col] = {col: spec}
        policies = {
            name: c.render_policy("fake", data, f"pt_{name.split()[0]}_{n}", columns=cols)
            for name, cols in cases.items()
        }
        e2e: dict[str, list[float]] = {k: [] for k in cases}
        copies: dict[str, list[float]] = {k: [] for k in cases}
        for rep in range(args.repeat):
            for name, cols in cases.items():
                col = next(iter(cols))
                copies[name].append(
                    c.timed(lambda col=col: copy_column(data, col, c.OUT / f"pt_copy_{n}.parquet"))
                )
                e2e[name].append(c.timed(lambda p=policies[name]: veil.run(p, environ=env)))
                print(
                    f"  rep {rep + 1}: {name:<22} copy {copies[name][-1]:7.2f}s  "
                    f"veil {e2e[name][-1]:7.2f}s",
                    flush=True,
                )
        rows = []
        for name, cols in cases.items():
            col = next(iter(cols))
            t = cols[col].get("transform", {"type": "keep"})
            label = t["type"] + (f"/{t['method']}" if "method" in t else "")
            v, cp = c.median(e2e[name]), c.median(copies[name])
            rows.append(
                [
                    name,
                    label,
                    f"{cp:.2f}",
                    f"{v:.2f}",
                    f"{v - cp:.2f}",
                    f"{(v - cp) / n * 1e6:.2f}",
                    f"{(v - cp) / n * 1e7:.0f}",
                ]
            )
        print("\npart 1, end to end (veil.run of a one-column policy vs COPY of that column):")
        print(
            c.table(
                ["column", "transform", "copy s", "veil s", "cost s", "us/row", "s per 10M"],
                rows,
            )
        )

    # ---------------------------------------------------------------- part 2: expression only
    nofake = c.render_policy("nofake", data, f"pt_expr_{n}")
    fake = c.render_policy("fake", data, f"pt_expr_fake_{n}")
    eng = Engine(data, nofake, env)
    eng_fake = Engine(data, fake, env)
    expr_t: dict[str, list[float]] = {k: [] for k in ALL}
    raw_t: dict[str, list[float]] = {k: [] for k in ALL}
    for rep in range(args.repeat):
        for col in ALL:
            e = eng if col in eng.columns else eng_fake
            raw_t[col].append(e.time_count(col, raw=True))
            expr_t[col].append(e.time_count(col))
            print(
                f"  rep {rep + 1}: {col:<12} raw {raw_t[col][-1]:6.2f}s  "
                f"veil expr {expr_t[col][-1]:6.2f}s",
                flush=True,
            )
    total = sum(c.median(expr_t[k]) - c.median(raw_t[k]) for k in ALL)
    total_nofake = sum(c.median(expr_t[k]) - c.median(raw_t[k]) for k in ALL if k in eng.columns)
    rows = []
    for col in ALL:
        cost = c.median(expr_t[col]) - c.median(raw_t[col])
        t = ALL[col]["transform"]
        rows.append(
            [
                col,
                t["type"] + (f"/{t['method']}" if "method" in t else ""),
                f"{c.median(raw_t[col]):.2f}",
                f"{c.median(expr_t[col]):.2f}",
                f"{cost:.2f}",
                f"{cost / n * 1e6:.2f}",
                f"{cost / n * 1e7:.0f}",
                f"{cost / total:.0%}",
            ]
        )
    print("\npart 2, expression only (SELECT count(<veil expression>) vs count(<raw column>)):")
    print(
        c.table(
            ["column", "transform", "raw s", "veil s", "cost s", "us/row", "s per 10M", "share"],
            rows,
        )
    )

    worst = sorted(((c.median(expr_t[k]) - c.median(raw_t[k]), k) for k in ALL), reverse=True)[:3]
    print(
        f"\nRESULT per_transform: 8 no-fake transforms cost {total_nofake:.1f}s of engine time on "
        f"{n / 1e6:g}M rows ({total_nofake / n * 1e6:.1f} us/row); most expensive: "
        + ", ".join(f"{k} {s:.1f}s" for s, k in worst)
        + f" (median of {args.repeat})"
    )
    return 0


if __name__ == "__main__":
    c.run_main(main)
