"""Adult scaled to 1M / 10M / 30M rows: DuckDB GROUP BY (the histogram) + search.

The scaled data replicates Adult with perturbations so that the histogram grows with the rows:
age moves by -3..+3 years, and 5% of education, occupation and native-country values are
replaced by another value of the column (pseudo-randomly from a hash of row and copy, so the
data is the same on every run). It is built by DuckDB into bench/data/adult_<rows>.parquet once.

Each size runs in a fresh process, timed from outside; the worker reports the GROUP BY and
search times, the histogram size and its peak resident memory (``VmHWM``). The search is the
optimal lattice search by default; ``--algorithm mondrian`` runs Mondrian partitioning instead
(which suppresses nothing, so its limit is 0).

    python bench/privacy_scale.py [--rows 1000000 10000000 30000000] [--limit 0.01]
        [--algorithm optimal|heuristic|mondrian]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ADULT, DATA, ROOT  # noqa: E402
from _common import ADULT_QIS as QIS  # noqa: E402

WORKER = r"""
import json, sys, time
t0 = time.perf_counter()

def peak_mb():
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child started by a
    # process that used much memory (building the data) would report the parent's peak.
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")

import duckdb
from veil.privacy import KAnonymity, anonymize_histogram, build_histogram, load_hierarchy
path, adult, qis, limit = sys.argv[1], sys.argv[2], sys.argv[3].split(","), float(sys.argv[4])
algorithm = sys.argv[5]
con = duckdb.connect()
t1 = time.perf_counter()
hist = build_histogram(con, f"read_parquet('{path}')", qis)
t2 = time.perf_counter()
hs = {q: load_hierarchy(f"{adult}/adult_hierarchy_{q}.csv") for q in qis}
r = anonymize_histogram(hist, hs, [KAnonymity(k=5)], limit, "loss", algorithm)
t3 = time.perf_counter()
print(json.dumps({"records": hist.n_records, "histogram_rows": hist.n_rows,
    "levels": list(r.levels.values()) if r.levels else f"{r.partitions:,} partitions",
    "suppressed": r.suppressed_records,
    "loss": r.metric_value, "checked": r.nodes_checked, "import": t1 - t0,
    "group_by": t2 - t1, "search": t3 - t2,
    "peak_rss_mb": peak_mb()}))
"""


def _q(name: str) -> str:
    return '"' + name + '"'


def ensure_data(rows: int) -> Path:
    path = DATA / f"adult_{rows}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    print(f"# building {path.relative_to(ROOT)} (once) ...", flush=True)
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE adult AS SELECT *, row_number() OVER () AS rid FROM "
        f"read_csv('{ADULT}/adult.csv', delim=';', header=true, all_varchar=true)"
    )
    n = con.sql("SELECT count(*) FROM adult").fetchall()[0][0]
    reps = -(-rows // n)

    def swap(col: str, salt: int) -> str:
        values = f"(SELECT list(DISTINCT {_q(col)} ORDER BY {_q(col)}) FROM adult)"
        return (
            f"CASE WHEN hash(rid, i, {salt}) % 20 = 0 THEN "
            f"list_extract({values}, 1 + CAST(hash(rid, i, {salt + 1}) % len({values}) AS INT)) "
            f"ELSE {_q(col)} END AS {_q(col)}"
        )

    select = ", ".join(
        [
            "CAST(LEAST(90, GREATEST(17, CAST(age AS INT) + CAST(hash(rid, i, 1) % 7 AS INT) - 3))"
            " AS VARCHAR) AS age",
            "sex",
            "race",
            _q("marital-status"),
            swap("education", 10),
            swap("native-country", 20),
            "workclass",
            swap("occupation", 30),
            _q("salary-class"),
        ]
    )
    con.execute(
        f"COPY (SELECT {select} FROM adult, range({reps}) t(i) LIMIT {rows}) TO '{path}' "
        "(FORMAT parquet)"
    )
    print(f"# built in {time.perf_counter() - t:.1f}s", flush=True)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, nargs="*", default=[1_000_000, 10_000_000, 30_000_000])
    ap.add_argument("--limit", type=float, default=None, help="default 0.01 (0 for Mondrian)")
    ap.add_argument("--algorithm", choices=["optimal", "heuristic", "mondrian"], default="optimal")
    args = ap.parse_args()
    mondrian = args.algorithm == "mondrian"
    limit = args.limit if args.limit is not None else (0.0 if mondrian else 0.01)
    if mondrian and limit > 0:
        ap.error("Mondrian does not suppress records; use --limit 0")
    print(
        f"# {args.algorithm}, k=5, {len(QIS)} QIs, suppression limit {limit:.0%}, Loss; load "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(
        "rows | histogram rows | wall s | GROUP BY s | search s | peak RSS MB | levels | supp | "
        "loss | checked"
    )
    for rows in args.rows:
        path = ensure_data(rows)
        t = time.perf_counter()
        out = subprocess.run(
            [
                sys.executable,
                "-W",
                "ignore",
                "-c",
                WORKER,
                str(path),
                str(ADULT),
                ",".join(QIS),
                str(limit),
                args.algorithm,
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        wall = time.perf_counter() - t
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['records']:,} | {r['histogram_rows']:,} | {wall:.1f} | {r['group_by']:.1f} | "
            f"{r['search']:.1f} | {r['peak_rss_mb']:.0f} | {r['levels']} | {r['suppressed']:,} | "
            f"{r['loss']:.5f} | {r['checked']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
