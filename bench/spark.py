"""veil on local Spark beside veil on DuckDB: the same policy, the same Parquet in and out.

    python bench/spark.py [--rows 10000000] [--scale 1000000 10000000 30000000]
                          [--transform-rows 1000000] [--privacy-rows 1000000]
                          [--repeat 1] [--cores 2] [--skip-compare] [--skip-scale]
                          [--skip-transforms] [--skip-privacy]

Five parts (one SparkSession, ``local[<cores>]``, started once and timed on its own):

1. start-up: creating the SparkSession (JVM launch), and the first, tiny (5,000-row) veil run
   on it, which pays for Python workers and code generation once per session.
2. compare: ``veil.run(bench/policies/nofake.yaml)`` on DuckDB (``threads`` = cores) and on
   Spark over the same ``--rows`` Parquet file, interleaved per repetition; wall time of each,
   Spark/DuckDB ratio, and how much of Spark's time is merging its part files into the single
   output file (the same run with ``veil.singleFile=false`` writes Spark's directory instead).
   The outputs are checked to be identical (sorted) on every row when ``--rows`` <= 2M.
3. scale: the same policy on Spark for each ``--scale`` row count; seconds, rows/s and the
   time per row relative to the smallest run (1.00 = linear).
4. transforms: each column of bench/policies/fake.yaml alone on Spark (``--transform-rows``):
   seconds beside ``keep`` (the same column untransformed), and how each one runs: native
   Spark SQL, native plus parity helper UDFs (DOUBLE text for hashing, C-library LN), or a
   Python UDF; plus ``noise`` with ``veil.exactMath=false`` (Spark's own LN) and one Python
   transform (``encrypt``, AES-SIV) to put UDF cost beside native expressions.
5. privacy: the Adult example policy (k=5, 8 quasi-identifiers, 1% suppression, optimal
   search) on DuckDB and on Spark over Adult scaled to each ``--privacy-rows`` (the perturbed
   replicas of bench/privacy_scale.py, so the histogram grows with the rows): wall time of
   each (histogram GROUP BY, search on the driver, one pass applying the result), and whether
   both engines chose the same levels and (up to 2M rows) wrote the same rows.

Data: bench/data/customers_<rows>.parquet (generated once, seed 7) and
bench/data/adult_<rows>.parquet (built once by bench/privacy_scale.py's recipe). The key is random per run
($VEIL_BENCH_KEY, never printed).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402
import privacy_scale  # noqa: E402
import yaml  # noqa: E402

import veil  # noqa: E402

NOFAKE = c.load_template("nofake")
FAKE_COLUMNS = c.load_template("fake")["columns"]
BY = {"signup_ts": "customer_id", "salary": "customer_id"}
ADULT_POLICY = c.ROOT / "examples" / "adult" / "policy.yaml"


def spark_conf(cores: int) -> dict[str, str]:
    return {
        "spark.driver.memory": "6g",
        "spark.sql.shuffle.partitions": str(cores),
        "spark.ui.enabled": "false",
    }


def run(policy: Path, env: dict[str, str], engine: str, **options: Any) -> veil.RunResult:
    return veil.run(policy, environ=env, engine=engine, **options)


def same_output(a: Path, b: Path) -> bool:
    import pyarrow.parquet as pq

    ta, tb = pq.read_table(a), pq.read_table(b)
    if ta.column_names != tb.column_names:
        return False
    keys = [(n, "ascending") for n in ta.column_names]
    # Values and types, not the schemas' nullability flags (DuckDB marks some columns NOT NULL).
    sa, sb = ta.sort_by(keys), tb.sort_by(keys)
    return all(x.equals(y) for x, y in zip(sa.columns, sb.columns, strict=True))


def part_startup(args: argparse.Namespace, env: dict[str, str]) -> dict[str, float]:
    from veil.engines.spark_engine import SparkEngine

    t0 = time.perf_counter()
    SparkEngine(master=f"local[{args.cores}]", conf=spark_conf(args.cores)).session()
    session_s = time.perf_counter() - t0
    tiny = c.ensure_data(5000)
    p = c.render_policy("nofake", tiny, "spark_tiny")
    first = c.timed(lambda: run(p, env, "spark"))
    second = c.timed(lambda: run(p, env, "spark"))
    duck = c.timed(lambda: run(p, env, "duckdb", threads=args.cores))
    print(
        f"\nstart-up: SparkSession (JVM, local[{args.cores}]) {session_s:.1f}s; first 5,000-row "
        f"run {first:.1f}s, second {second:.1f}s (DuckDB {duck:.2f}s)",
        flush=True,
    )
    return {"session": session_s, "first": first, "second": second}


def part_compare(args: argparse.Namespace, env: dict[str, str]) -> dict[str, float]:
    data = c.ensure_data(args.rows)
    c.warm_page_cache(data)
    p_duck = c.render_policy("nofake", data, f"spark_cmp_duck_{args.rows}")
    p_spark = c.render_policy("nofake", data, f"spark_cmp_spark_{args.rows}")
    p_dir = c.render_policy("nofake", data, f"spark_cmp_dir_{args.rows}")
    warm = c.render_policy("nofake", c.ensure_data(200_000), "spark_warm")
    print(
        f"  warm-up (untimed): 200,000 rows on Spark {c.timed(lambda: run(warm, env, 'spark')):.1f}s"
    )
    times: dict[str, list[float]] = {"duckdb": [], "spark": [], "spark-dir": []}
    for rep in range(args.repeat):
        times["duckdb"].append(c.timed(lambda: run(p_duck, env, "duckdb", threads=args.cores)))
        times["spark"].append(c.timed(lambda: run(p_spark, env, "spark")))
        times["spark-dir"].append(
            c.timed(lambda: run(p_dir, env, "spark", spark_conf={"veil.singleFile": "false"}))
        )
        print(
            f"  rep {rep + 1}/{args.repeat}: "
            + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in times.items()),
            flush=True,
        )
    med = {k: c.median(v) for k, v in times.items()}
    rows = [
        [k, f"{v:.1f}", f"{args.rows / v / 1e3:.0f}", f"{v / med['duckdb']:.2f}x"]
        for k, v in med.items()
    ]
    print(f"\ncompare: nofake policy (8 columns), {args.rows:,} rows, Parquet -> Parquet")
    print(c.table(["engine", "median s", "k rows/s", "vs duckdb"], rows))
    from veil.engines.spark_engine import _merge_parquet, _part_files

    parts = _part_files(c.OUT / f"spark_cmp_dir_{args.rows}.parquet")
    merged = c.OUT / f"spark_cmp_merged_{args.rows}.parquet"
    merged.unlink(missing_ok=True)
    med["merge"] = c.timed(lambda: _merge_parquet(parts, merged, "zstd", None))
    print(
        f"of Spark's time, merging its {len(parts)} part files into the one output file "
        f"(pyarrow, on the driver): {med['merge']:.1f}s"
    )
    if args.rows <= 2_000_000:
        out = c.OUT / f"spark_cmp_duck_{args.rows}.parquet"
        ok = same_output(out, c.OUT / f"spark_cmp_spark_{args.rows}.parquet")
        print(f"outputs identical row for row (sorted): {ok}")
    return med


def part_scale(
    args: argparse.Namespace, env: dict[str, str], known: dict[int, float]
) -> list[tuple[int, float]]:
    """``known``: row count -> seconds already measured (the compare part's Spark run)."""
    results: list[tuple[int, float]] = []
    for rows in args.scale:
        if rows in known:
            results.append((rows, known[rows]))
            print(f"  {rows:,} rows: {known[rows]:.1f}s (from the compare part)", flush=True)
            continue
        data = c.ensure_data(rows)
        c.warm_page_cache(data)
        p = c.render_policy("nofake", data, f"spark_scale_{rows}")
        t = c.median([c.timed(lambda p=p: run(p, env, "spark")) for _ in range(args.repeat)])
        results.append((rows, t))
        print(f"  {rows:,} rows: {t:.1f}s", flush=True)
    base_rows, base_t = results[0]
    table_rows = [
        [f"{r:,}", f"{t:.1f}", f"{r / t / 1e3:.0f}", f"{(t / r) / (base_t / base_rows):.2f}"]
        for r, t in results
    ]
    print("\nscale: Spark, nofake policy")
    print(c.table(["rows", "seconds", "k rows/s", "time/row vs first"], table_rows))
    return results


def _how(name: str, spec: dict[str, Any]) -> str:
    t = spec["transform"]["type"]
    if t == "noise":
        return "native + helper UDFs (DOUBLE text, LN)"
    if t in ("encrypt", "fpe", "tokenize"):
        return "Python UDF"
    return "native Spark SQL"


def part_transforms(args: argparse.Namespace, env: dict[str, str]) -> None:
    data = c.ensure_data(args.transform_rows)
    tiny = c.ensure_data(5000)
    c.warm_page_cache(data)
    variants: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
        "keep (salary)": ({"salary": {"class": "insensitive", "transform": {"type": "keep"}}}, {}),
        "keep (email)": ({"email": {"class": "insensitive", "transform": {"type": "keep"}}}, {}),
    }
    for name, spec in FAKE_COLUMNS.items():
        cols = {name: spec}
        if name in BY:
            cols[BY[name]] = {"class": "insensitive", "transform": {"type": "keep"}}
        variants[f"{spec['transform']['type']} ({name})"] = (cols, {})
    salary = FAKE_COLUMNS["salary"]
    cols = {
        "salary": salary,
        "customer_id": {"class": "insensitive", "transform": {"type": "keep"}},
    }
    variants["noise (salary), exactMath=false"] = (cols, {"veil.exactMath": "false"})
    enc = {"class": "identifier", "transform": {"type": "encrypt", "key": "main"}}
    variants["encrypt (email)"] = ({"email": enc}, {})
    results = []
    for label, (cols, conf) in variants.items():
        p = c.render_policy(NOFAKE, data, "spark_tf_" + label.split()[0], columns=cols)
        small = c.render_policy(NOFAKE, tiny, "spark_tfw_" + label.split()[0], columns=cols)
        run(small, env, "spark", spark_conf=conf)  # warm-up: code generation, Python workers
        t = c.median(
            [
                c.timed(lambda p=p, conf=conf: run(p, env, "spark", spark_conf=conf))
                for _ in range(args.repeat)
            ]
        )
        results.append((label, t))
        print(f"  {label}: {t:.1f}s", flush=True)
    keep = min(t for label, t in results if label.startswith("keep"))
    rows = []
    for label, t in results:
        name = label.split("(")[1].rstrip(")").split(")")[0] if "(" in label else ""
        spec = FAKE_COLUMNS.get(name, {"transform": {"type": label.split()[0]}})
        how = "-" if label.startswith("keep") else _how(name, spec)
        if "exactMath=false" in label:
            how = "native + DOUBLE-text UDF (Spark's own LN)"
        if label.startswith("encrypt"):
            how = "Python UDF"
        rows.append([label, f"{t:.1f}", f"{t - keep:+.1f}", how])
    print(
        f"\ntransforms alone on Spark, {args.transform_rows:,} rows (keep = the column untransformed)"
    )
    print(c.table(["column", "seconds", "vs keep", "runs as"], rows))


def adult_policy(data: Path, out_name: str) -> Path:
    """The Adult example policy for ``data``, its hierarchy files by absolute path."""
    doc = yaml.safe_load(ADULT_POLICY.read_text())
    for spec in doc["privacy"]["quasi_identifiers"].values():
        spec["file"] = str((ADULT_POLICY.parent / spec["file"]).resolve())
    return c.render_policy(doc, data, out_name)


def part_privacy(args: argparse.Namespace, env: dict[str, str]) -> list[str]:
    results = []
    for rows in args.privacy_rows:
        data = privacy_scale.ensure_data(rows)
        c.warm_page_cache(data)
        policies = {e: adult_policy(data, f"spark_privacy_{e}_{rows}") for e in ("duckdb", "spark")}
        times: dict[str, list[float]] = {"duckdb": [], "spark": []}
        reports: dict[str, veil.RunResult] = {}
        for _ in range(args.repeat):
            for engine, policy in policies.items():
                t0 = time.perf_counter()
                reports[engine] = run(policy, env, engine)
                times[engine].append(time.perf_counter() - t0)
        duck, spark = reports["duckdb"].manifest, reports["spark"].manifest
        same_levels = duck["privacy"]["levels"] == spark["privacy"]["levels"]
        same_rows = (
            same_output(reports["duckdb"].output, reports["spark"].output)
            if rows <= 2_000_000
            else None
        )
        med = {k: c.median(v) for k, v in times.items()}
        results.append(
            [
                f"{rows:,}",
                f"{med['duckdb']:.1f}",
                f"{med['spark']:.1f}",
                f"{med['spark'] / med['duckdb']:.2f}x",
                f"{spark['privacy']['suppressed_records']:,}",
                str(same_levels),
                "not checked" if same_rows is None else str(same_rows),
            ]
        )
        print(f"  {rows:,} rows: " + ", ".join(f"{k} {v:.1f}s" for k, v in med.items()), flush=True)
    print("\nprivacy: Adult example policy (k=5, 1%), scaled Adult Parquet -> Parquet")
    headers = ["rows", "duckdb s", "spark s", "spark/duckdb", "suppressed", "same levels"]
    print(c.table([*headers, "same rows"], results))
    return [f"privacy {r[0]} rows: DuckDB {r[1]}s, Spark {r[2]}s ({r[3]})" for r in results]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--scale", type=int, nargs="+", default=[1_000_000, 10_000_000, 30_000_000])
    ap.add_argument("--transform-rows", type=int, default=1_000_000)
    ap.add_argument("--privacy-rows", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--skip-compare", action="store_true")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--skip-transforms", action="store_true")
    ap.add_argument("--skip-privacy", action="store_true")
    args = ap.parse_args(argv)
    print(__doc__.split("\n\n", 2)[2].split("Data:")[0].rstrip())
    import pyspark

    print(f"\nveil {veil.__version__}, pyspark {pyspark.__version__}, {os.cpu_count()} CPUs")
    c.OUT.mkdir(parents=True, exist_ok=True)
    env = c.bench_env()
    startup = part_startup(args, env)
    summary = [
        f"Spark session start-up {startup['session']:.1f}s, first-run warm-up {startup['first']:.1f}s"
    ]
    known: dict[int, float] = {}
    if not args.skip_compare:
        med = part_compare(args, env)
        known[args.rows] = med["spark"]
        summary.append(
            f"{args.rows / 1e6:g}M rows: DuckDB {med['duckdb']:.1f}s, Spark {med['spark']:.1f}s "
            f"(Spark/DuckDB {med['spark'] / med['duckdb']:.2f}x, of which merging part files "
            f"{med['merge']:.1f}s)"
        )
    if not args.skip_scale:
        res = part_scale(args, env, known)
        (r0, t0), (r1, t1) = res[0], res[-1]
        summary.append(
            f"scale {r0 / 1e6:g}M -> {r1 / 1e6:g}M rows: {t0:.1f}s -> {t1:.1f}s "
            f"(time/row {(t1 / r1) / (t0 / r0):.2f}x the smallest run's)"
        )
    if not args.skip_transforms:
        part_transforms(args, env)
    if not args.skip_privacy:
        summary += part_privacy(args, env)
    print("\nRESULT spark: " + "; ".join(summary))
    return 0


if __name__ == "__main__":
    c.run_main(main)
