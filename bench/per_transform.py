"""Cost of each veil transform alone, and of faster SQL for the expensive ones.

    python bench/per_transform.py [--rows 10000000] [--repeat 1] [--skip-e2e]

Three parts, every variant interleaved within each repetition:

1. end to end: ``veil.run`` of a one-column policy (the column's transform from
   bench/policies/fake.yaml, so the 8 no-fake transforms plus fake) against a DuckDB
   ``COPY (SELECT <that column> ...) TO parquet`` of the raw column. veil minus copy is the
   transform's cost including veil's fixed overhead, which the ``keep`` row measures (an
   untransformed column run through veil).
2. expression only: veil's rendered SQL expression for each column evaluated by DuckDB in
   ``SELECT count(<expr>)`` over the Parquet file, against ``count(<raw column>)``: the pure
   engine cost of the transform, without writing.
3. what-if: equivalent, cheaper SQL for the slowest expressions (checked to give identical
   results on every row), to show what a change in src/veil could gain.

The key is random per run ($VEIL_BENCH_KEY, never printed).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

import veil  # noqa: E402
from veil.engines import sql  # noqa: E402
from veil.engines.duckdb_engine import DuckDBEngine  # noqa: E402
from veil.plan import KEY_TABLE, SOURCE_TABLE, build_plan  # noqa: E402
from veil.run import _key_provider  # noqa: E402

ALL = c.load_template("fake")["columns"]
BY = {"signup_ts": "customer_id", "salary": "customer_id"}

# What-if rewrites (DuckDB SQL over __veil_source s CROSS JOIN __veil_keys k). The HMAC pads of
# each (key, purpose) are k.k<slot>_i / k.k<slot>_o; slots follow the nofake policy's order:
# k0 pseudonymize:customer, k1 noise:default, k2 date_shift:default.
_CONTENT = r"[\p{L}\p{N}]"
_OTHER = r"[^\p{L}\p{N}]"


def _hmac(slot: int, msg: str) -> str:
    return f"SHA256(k.k{slot}_o || UNHEX(SHA256(k.k{slot}_i || ENCODE({msg}))))"


def _mask_keep_last(col: str, n: int) -> str:
    # Suffix found by an anchored match on the reversed string instead of an unanchored
    # '(...){n}$' search; the count of content characters by length difference.
    rev = f"REVERSE(REGEXP_EXTRACT(REVERSE(s.{col}), '^((?:{_OTHER}*{_CONTENT}){{{n}}})', 1))"
    n_content = f"LENGTH(REGEXP_REPLACE(s.{col}, '{_OTHER}', '', 'g'))"
    return (
        f"CASE WHEN s.{col} IS NULL THEN NULL WHEN {n_content} <= {n} "
        f"THEN REGEXP_REPLACE(s.{col}, '{_CONTENT}', 'X', 'g') "
        f"ELSE REGEXP_REPLACE(LEFT(s.{col}, LENGTH(s.{col}) - LENGTH({rev})), '{_CONTENT}', 'X', 'g')"
        f" || {rev} END"
    )


def _mask_keep_last_once(col: str, n: int) -> tuple[str, str]:
    """(outer expression, inner query): the suffix is extracted once, in a subquery."""
    rev = f"REVERSE(REGEXP_EXTRACT(REVERSE(s.{col}), '^((?:{_OTHER}*{_CONTENT}){{{n}}})', 1))"
    inner = f"SELECT s.*, {rev} AS __suffix FROM {SOURCE_TABLE} s CROSS JOIN {KEY_TABLE} k"
    n_content = f"LENGTH(REGEXP_REPLACE(s.{col}, '{_OTHER}', '', 'g'))"
    outer = (
        f"CASE WHEN s.{col} IS NULL THEN NULL WHEN {n_content} <= {n} "
        f"THEN REGEXP_REPLACE(s.{col}, '{_CONTENT}', 'X', 'g') "
        f"ELSE REGEXP_REPLACE(LEFT(s.{col}, LENGTH(s.{col}) - LENGTH(s.__suffix)), "
        f"'{_CONTENT}', 'X', 'g') || s.__suffix END"
    )
    return outer, inner


WHAT_IF: dict[str, list[tuple[str, str | tuple[str, str]]]] = {
    # column -> [(label, expression)], compared with veil's own expression for that column.
    "signup_ts": [
        (
            "digest computed once (subquery)",
            # evaluated over a subquery that projects the digest once: see _what_if_sql
            "__SUBQUERY__",
        ),
    ],
    "salary": [("digest computed once (subquery)", "__SUBQUERY__")],
    "email": [
        (
            "repeat('X', len(local)) || domain",
            "CASE WHEN s.email IS NULL THEN NULL WHEN STRPOS(s.email, '@') > 0 THEN "
            "REPEAT('X', LENGTH(s.email) - LENGTH(REGEXP_EXTRACT(s.email, '@[^@]*$'))) || "
            "REGEXP_EXTRACT(s.email, '@[^@]*$') ELSE REPEAT('X', LENGTH(s.email)) END",
        )
    ],
    "card_number": [
        ("suffix via anchored match on reverse()", _mask_keep_last("card_number", 4)),
        ("+ suffix computed once (subquery)", _mask_keep_last_once("card_number", 4)),
        ("ASCII fast path: [0-9A-Za-z] + TRANSLATE", "__ASCII__"),
    ],
    "phone": [
        ("suffix via anchored match on reverse()", _mask_keep_last("phone", 2)),
        ("+ suffix computed once (subquery)", _mask_keep_last_once("phone", 2)),
        ("ASCII fast path: [0-9A-Za-z] + TRANSLATE", "__ASCII__"),
    ],
}


def _subquery_variant(col: str, veil_expr: str) -> tuple[str, str]:
    """veil's expression with its repeated HMAC replaced by a column computed once below."""
    slot = 2 if col == "signup_ts" else 1
    if col == "signup_ts":
        msg = '"s"."customer_id"'
    else:
        msg = (
            'COALESCE((CAST("s"."customer_id" AS TEXT) || \'|\') || CAST("s"."salary" AS TEXT), '
            'CAST("s"."salary" AS TEXT))'
        )
    veil_hmac = f'SHA256("k"."k{slot}_o" || UNHEX(SHA256("k"."k{slot}_i" || ENCODE({msg}))))'
    assert veil_hmac in veil_expr, "veil's rendered HMAC changed; update the what-if"
    outer = veil_expr.replace(veil_hmac, "s.__digest")
    inner = (
        f"SELECT s.*, {_hmac(slot, msg)} AS __digest FROM {SOURCE_TABLE} s CROSS JOIN {KEY_TABLE} k"
    )
    return outer, inner


_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _ascii_variant(col: str, n: int, veil_expr: str) -> str:
    """For ASCII values (byte length = character length): ASCII classes [0-9A-Za-z], which
    match the same characters there as veil's Unicode classes and run far faster in RE2, and
    TRANSLATE instead of a global regex replace for the masking. Other values: veil's SQL."""
    x = f's."{col}"'
    suffix = f"REGEXP_EXTRACT({x}, '((?:[0-9A-Za-z][^0-9A-Za-z]*){{{n}}})$', 1)"
    xs = "X" * len(_ALNUM)
    fast = (
        f"CASE WHEN LENGTH(REGEXP_REPLACE({x}, '[^0-9A-Za-z]', '', 'g')) <= {n} "
        f"THEN TRANSLATE({x}, '{_ALNUM}', '{xs}') "
        f"ELSE TRANSLATE(LEFT({x}, LENGTH({x}) - LENGTH({suffix})), '{_ALNUM}', '{xs}') "
        f"|| {suffix} END"
    )
    return (
        f"CASE WHEN {x} IS NULL THEN NULL WHEN STRLEN({x}) = LENGTH({x}) THEN {fast} "
        f"ELSE {veil_expr} END"
    )


class Engine:
    """One DuckDB connection with the source view and veil's key table registered."""

    def __init__(self, data: Path, policy: Path, env: dict[str, str]) -> None:
        loaded = veil.load_policy(policy)
        eng = DuckDBEngine()
        files = [data]
        schema, _ = eng.read_schema(loaded.policy.source, files)
        self.plan = build_plan(loaded, schema, _key_provider(loaded, env))
        self.exprs = {col.name: sql.render(col.expression, "duckdb") for col in self.plan.columns}
        self.con = duckdb.connect()
        self.con.execute(f"CREATE VIEW {SOURCE_TABLE} AS SELECT * FROM read_parquet('{data}')")
        for name, table in self.plan.tables().items():
            self.con.register(name, table)
        self.joins = "".join(" " + sql.render(j, "duckdb") for j in self.plan.joins)

    def from_(self, inner: str | None = None) -> str:
        src = f"({inner})" if inner else SOURCE_TABLE
        return f"FROM {src} s CROSS JOIN {KEY_TABLE} k{self.joins}"

    def time_count(self, expr: str, inner: str | None = None) -> float:
        q = f"SELECT count({expr}) {self.from_(inner)}"
        t0 = time.perf_counter()
        self.con.execute(q).fetchall()
        return time.perf_counter() - t0

    def mismatches(self, a: str, b: str, inner: str | None = None) -> int:
        q = f"SELECT count(*) FILTER (WHERE ({a}) IS DISTINCT FROM ({b})) {self.from_(inner)}"
        return int(self.con.execute(q).fetchone()[0])  # type: ignore[index]


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
    what_t: dict[tuple[str, str], list[float]] = {}
    what_sql: dict[tuple[str, str], tuple[str, str | None]] = {}
    for col, alts in WHAT_IF.items():
        for label, expr in alts:
            if isinstance(expr, tuple):
                what_sql[(col, label)] = expr
            elif expr == "__ASCII__":
                keep = int(ALL[col]["transform"]["keep_last"])
                what_sql[(col, label)] = (_ascii_variant(col, keep, eng.exprs[col]), None)
            elif expr == "__SUBQUERY__":
                outer, inner = _subquery_variant(col, eng.exprs[col])
                what_sql[(col, label)] = (outer, inner)
            else:
                what_sql[(col, label)] = (expr, None)
            what_t[(col, label)] = []
    for rep in range(args.repeat):
        for col in ALL:
            e = eng if col in eng.exprs else eng_fake
            raw_t[col].append(e.time_count(f's."{col}"'))
            expr_t[col].append(e.time_count(e.exprs[col]))
            for (wcol, label), (expr, inner) in what_sql.items():
                if wcol == col:
                    what_t[(wcol, label)].append(e.time_count(expr, inner))
            print(
                f"  rep {rep + 1}: {col:<12} raw {raw_t[col][-1]:6.2f}s  "
                f"veil expr {expr_t[col][-1]:6.2f}s",
                flush=True,
            )
    total = sum(c.median(expr_t[k]) - c.median(raw_t[k]) for k in ALL)
    total_nofake = sum(c.median(expr_t[k]) - c.median(raw_t[k]) for k in ALL if k in eng.exprs)
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

    # ---------------------------------------------------------------- part 3: what-if
    rows = []
    for (col, label), (expr, inner) in what_sql.items():
        e = eng
        bad = e.mismatches(e.exprs[col], expr, inner)
        now, alt = c.median(expr_t[col]), c.median(what_t[(col, label)])
        rows.append(
            [
                col,
                label,
                f"{now:.2f}",
                f"{alt:.2f}",
                f"{now / alt:.1f}x",
                "identical" if bad == 0 else f"{bad:,} rows DIFFER",
            ]
        )
    print("\npart 3, what-if (same results, cheaper SQL; expression-only timings):")
    print(c.table(["column", "rewrite", "veil s", "rewrite s", "speed-up", "results"], rows))

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
