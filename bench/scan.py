"""Benchmark `veil scan`: wall time and peak memory on a wide 10-million-row table, and a side by
side with Presidio's structured analyzer (speed and column-level precision/recall).

Usage::

    python bench/scan.py                      # everything (generates data once, ~1 min)
    python bench/scan.py --rows 1000000       # a smaller big table
    python bench/scan.py --skip-presidio      # veil only
    python bench/scan.py --presidio-rows 2000 # rows Presidio analyzes per table (default 10000)

The big table (20 columns: ids, names, e-mails, phones, SSNs, Luhn-valid cards, IBANs, birth
dates, zips, cities, countries, salaries, timestamps, notes with PII inside, IPs, order
numbers, SKUs, amounts, statuses, coordinates) is generated with DuckDB SQL from small
Faker-drawn pools: no per-row Python. It is cached in bench/data/.

veil runs in a child process (DuckDB limited to 2 threads, like the reference machine) so its
peak RSS can be read from the OS. Presidio runs with pattern recognizers only
(``NoOpNlpEngine``): its default spaCy model cannot be downloaded here, so person names,
locations and organisations (its NER entities) are out of its reach in this comparison.
Presidio's structured analyzer examines every sampled cell with every recognizer; it is run
on ``--presidio-rows`` rows of the 100,000-row table (its own ``n`` parameter), and the time
for all 100,000 rows is extrapolated from the measured cost per cell (labelled as such).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
sys.path.insert(0, str(ROOT))


# ---------------------------------------------------------------- data


def _pools(seed: int = 7) -> dict[str, list[str]]:
    from faker import Faker

    f = Faker("en_US")
    f.seed_instance(seed)
    return {
        "first": [f.first_name() for _ in range(2000)],
        "last": [f.last_name() for _ in range(2000)],
        "city": [f.city() for _ in range(1000)],
        "country": ["US", "CA", "GB", "DE", "FR"],
        "domain": ["gmail.com", "yahoo.com", "outlook.com", "example.org", "proton.me"],
        "iban": [f.iban() for _ in range(2000)],
        "street": [f.street_address() for _ in range(2000)],
        "status": ["open", "paid", "shipped", "returned", "cancelled"],
        "word": [f.word() for _ in range(500)],
    }


def generate(rows: int, path: Path) -> None:
    """A 20-column table of ``rows`` rows, written by one DuckDB COPY."""
    import duckdb
    import pyarrow as pa

    pools = _pools()
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    con.register(
        "pools_arrow", pa.table({k: pa.array([v], pa.list_(pa.string())) for k, v in pools.items()})
    )
    con.execute("CREATE TABLE pools AS SELECT * FROM pools_arrow")

    def pick(pool: str, salt: int) -> str:
        n = len(pools[pool])
        return f"list_extract(p.{pool}, (hash(i, {salt}) % {n})::INTEGER + 1)"

    def digits(salt: int, n: int) -> str:
        return f"lpad(((hash(i, {salt}) % {10**n})::UBIGINT)::VARCHAR, {n}, '0')"

    # A Visa-like card: '4' + 14 random digits + Luhn check digit, computed in SQL.
    payload = f"('4' || {digits(11, 14)})"
    luhn_sum = (
        f"list_sum(list_transform(range(1, 16), lambda k: "
        f"CASE WHEN (15 - k) % 2 = 0 THEN "
        f"(CAST(substr({payload}, k, 1) AS INTEGER) * 2) - "
        f"CASE WHEN CAST(substr({payload}, k, 1) AS INTEGER) * 2 > 9 THEN 9 ELSE 0 END "
        f"ELSE CAST(substr({payload}, k, 1) AS INTEGER) END))"
    )
    card = (
        f"(substr({payload}, 1, 4) || '-' || substr({payload}, 5, 4) || '-' || "
        f"substr({payload}, 9, 4) || '-' || substr({payload}, 13, 3) || "
        f"CAST((10 - {luhn_sum} % 10) % 10 AS VARCHAR))"
    )
    first, last = pick("first", 1), pick("last", 2)
    select = f"""
    SELECT
      'C' || lpad(i::VARCHAR, 9, '0') AS customer_id,
      {first} AS first_name,
      {last} AS last_name,
      lower({first}) || '.' || lower({last}) || (i % 97)::VARCHAR || '@' || {pick("domain", 3)} AS email,
      '(' || (200 + hash(i, 4) % 700)::VARCHAR || ') ' || (200 + hash(i, 5) % 700)::VARCHAR
        || '-' || {digits(6, 4)} AS phone,
      lpad((1 + hash(i, 7) % 665)::VARCHAR, 3, '0') || '-' || lpad((1 + hash(i, 8) % 99)::VARCHAR, 2, '0')
        || '-' || lpad((1 + hash(i, 9) % 9999)::VARCHAR, 4, '0') AS ssn,
      {card} AS card_number,
      {pick("iban", 12)} AS iban,
      DATE '1940-01-01' + (hash(i, 13) % 24000)::INTEGER AS birth_date,
      {digits(14, 5)} AS zip,
      {pick("city", 15)} AS city,
      {pick("country", 16)} AS country,
      round(20000 + (hash(i, 17) % 180000000) / 1000.0, 2) AS salary,
      TIMESTAMP '2015-01-01' + to_seconds((hash(i, 18) % 340000000)::BIGINT) AS signup_ts,
      CASE hash(i, 19) % 4
        WHEN 0 THEN 'Called on ' || strftime(DATE '2020-01-01' + (hash(i, 20) % 1500)::INTEGER, '%Y-%m-%d')
          || ', reach at ' || lower({first}) || '@' || {pick("domain", 21)}
        WHEN 1 THEN 'Customer ' || {first} || ' ' || {last} || ' asked for a refund'
        WHEN 2 THEN 'New address ' || {pick("street", 22)}
        ELSE 'No issues reported, ' || {pick("word", 23)} || ' ' || {pick("word", 24)} || '.'
      END AS notes,
      (1 + hash(i, 25) % 223)::VARCHAR || '.' || (hash(i, 26) % 256)::VARCHAR || '.'
        || (hash(i, 27) % 256)::VARCHAR || '.' || (1 + hash(i, 28) % 254)::VARCHAR AS ip_address,
      'ORD-' || lpad((hash(i, 29) % 100000000)::VARCHAR, 8, '0') AS order_no,
      upper(substr(md5(i::VARCHAR), 1, 2)) || '-' || {digits(30, 4)} AS sku,
      round((hash(i, 31) % 100000) / 100.0, 2) AS amount,
      {pick("status", 32)} AS status
    FROM range({rows}) t(i), pools p
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.parquet")
    con.execute(
        f"COPY ({select}) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 262144)"
    )
    tmp.rename(path)
    con.close()


def ensure(rows: int) -> Path:
    path = DATA / f"scan_wide_{rows}.parquet"
    if not path.exists():
        print(
            f"# generating {rows:,} rows x 20 columns -> {path.relative_to(ROOT)} (once)",
            flush=True,
        )
        t0 = time.perf_counter()
        generate(rows, path)
        print(f"# generated in {time.perf_counter() - t0:.1f}s", flush=True)
    return path


# ---------------------------------------------------------------- veil

_CHILD = """
import json, sys, time
from veil.detect import scan
t0 = time.perf_counter()
r = scan(sys.argv[1], sample_rows=int(sys.argv[2]), threads=2)
wall = time.perf_counter() - t0
print(json.dumps({"wall": wall, "columns": {c.name: c.type for c in r.columns},
                  "qi": [list(q.columns) for q in r.quasi_identifier_sets]}))
"""


def veil_scan_child(path: Path, sample_rows: int) -> dict[str, Any]:
    """Scan in a fresh process; returns its wall time, peak RSS and column types."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), str(sample_rows)],
        check=True,
        capture_output=True,
        text=True,
    )
    total = time.perf_counter() - t0
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_wall"] = total
    res["peak_rss_mib"] = max(peak_kib, before) / 1024
    return res


# ---------------------------------------------------------------- Presidio


def presidio_builder() -> Any:
    """Presidio's structured (pandas) analysis builder with pattern recognizers only."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine
    from presidio_structured import PandasAnalysisBuilder

    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "none"}])
    nlp.load()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp)
    engine = AnalyzerEngine(nlp_engine=nlp, registry=registry)
    return PandasAnalysisBuilder(analyzer=engine)


PRESIDIO_TO_VEIL = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "US_SSN": "us_ssn",
    "US_ITIN": "us_itin",
    "IP_ADDRESS": "ip_address",
    "MAC_ADDRESS": "mac_address",
    "URL": "url",
    "DATE_TIME": "date",
    "UK_NHS": "national_id",
    "US_PASSPORT": "national_id",
    "US_DRIVER_LICENSE": "us_driver_license",
    "US_BANK_NUMBER": "us_bank_number",
    "MEDICAL_LICENSE": "medical_license",
    "CRYPTO": "crypto",
    "UUID": "uuid",
    "PERSON": "full_name",
    "LOCATION": "street_address",
}


def presidio_types(builder: Any, df: Any, n: int) -> dict[str, str | None]:
    analysis = builder.generate_analysis(df, n=min(n, len(df)))
    mapping = analysis.entity_mapping
    return {
        c: PRESIDIO_TO_VEIL.get(mapping[c], mapping[c].lower()) if c in mapping else None
        for c in df.columns
    }


# ---------------------------------------------------------------- corpus P/R


def corpus_scores(presidio_rows: int, with_presidio: bool) -> dict[str, Any]:
    from tests.detect.corpus import build_corpus, score
    from veil.detect import scan
    from veil.detect.types import TYPES

    ids = {t for t, (c, _) in TYPES.items() if c == "identifier"}
    corpus = [lt for lt in build_corpus(seed=7) if not lt.holdout]
    veil_preds, pres_preds = [], []
    t_veil = t_pres = 0.0
    builder = presidio_builder() if with_presidio else None
    for lt in corpus:
        t0 = time.perf_counter()
        r = scan(lt.table, discover_qi=False, today=dt.date(2026, 1, 1))
        t_veil += time.perf_counter() - t0
        for c in r.columns:
            veil_preds.append((lt.name, c.name, lt.labels[c.name], c.type))
        if builder is not None:
            df = lt.table.to_pandas().astype(object).where(lambda d: d.notna(), None)
            df = df.apply(lambda s: s.map(lambda x: None if x is None else str(x)))
            t0 = time.perf_counter()
            types = presidio_types(builder, df, presidio_rows)
            t_pres += time.perf_counter() - t0
            for c in lt.table.column_names:
                pres_preds.append((lt.name, c, lt.labels[c], types[c]))
    out: dict[str, Any] = {"veil": score(veil_preds, ids), "veil_s": t_veil}
    if builder is not None:
        out["presidio"] = score(pres_preds, ids)
        out["presidio_s"] = t_pres
    return out


def print_pr(name: str, s: Any, only: set[str] | None = None) -> None:
    types = sorted(
        t for t, (tp, _, fn) in s.per_type.items() if tp + fn > 0 and (only is None or t in only)
    )
    f1s = [s.precision_recall(t)[2] for t in types]
    macro = sum(f1s) / len(f1s) if f1s else 0.0
    tp = sum(s.per_type[t][0] for t in types)
    fp = sum(s.per_type[t][1] for t in types)
    fn = sum(s.per_type[t][2] for t in types)
    micro_p = tp / (tp + fp) if tp + fp else 1.0
    micro_r = tp / (tp + fn) if tp + fn else 1.0
    print(
        f"  {name:10} macro F1 {macro:.3f}   micro P {micro_p:.3f}  R {micro_r:.3f}   ({len(types)} types)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--sample-rows", type=int, default=10_000)
    ap.add_argument("--presidio-rows", type=int, default=10_000)
    ap.add_argument("--corpus-presidio-rows", type=int, default=100)
    ap.add_argument("--skip-presidio", action="store_true")
    args = ap.parse_args()
    print(f"# veil scan benchmark; {os.cpu_count()} cores; python {sys.version.split()[0]}")

    big = ensure(args.rows)
    res = veil_scan_child(big, args.sample_rows)
    print(
        f"\n## veil scan, {args.rows:,} rows x 20 columns ({big.stat().st_size / 2**20:.0f} MiB Parquet)"
    )
    print(
        f"  scan wall time      {res['wall']:.2f}s  (process incl. start-up {res['process_wall']:.2f}s; target < 30s)"
    )
    print(f"  peak RSS            {res['peak_rss_mib']:.0f} MiB")
    print(f"  detected            {json.dumps(res['columns'])}")
    print(f"  quasi-identifiers   {res['qi']}")

    mid = ensure(100_000)
    veil_mid = veil_scan_child(mid, args.sample_rows)
    print(
        "\n## same 20-column table, 100,000 rows: veil vs Presidio structured (pattern recognizers)"
    )
    print(
        f"  veil scan           {veil_mid['wall']:.2f}s (reservoir sample of {args.sample_rows:,} rows)"
    )
    if not args.skip_presidio:
        import pyarrow.parquet as pq

        df = pq.read_table(mid).to_pandas()
        df = df.apply(lambda s: s.map(lambda x: None if x is None else str(x)))
        builder = presidio_builder()
        n = args.presidio_rows
        t0 = time.perf_counter()
        ptypes = presidio_types(builder, df, n)
        pres_s = time.perf_counter() - t0
        per_cell = pres_s / (min(n, len(df)) * df.shape[1])
        full = per_cell * len(df) * df.shape[1]
        print(
            f"  presidio            {pres_s:.2f}s on {min(n, len(df)):,} sampled rows ({per_cell * 1e3:.2f} ms per cell)"
        )
        print(f"  presidio, all rows  {full:.0f}s (extrapolated from the cost per cell)")
        print(
            f"  speed-up            {pres_s / veil_mid['wall']:.1f}x at equal sample size; "
            f"{full / veil_mid['wall']:.0f}x vs Presidio on all rows"
        )
        print(f"  presidio detected   {json.dumps(ptypes)}")

    print(
        "\n## column-level precision/recall on the labelled corpus (tests/detect/corpus.py, seed 7)"
    )
    sc = corpus_scores(args.corpus_presidio_rows, not args.skip_presidio)
    print_pr("veil", sc["veil"])
    print(sc["veil"].table())
    if "presidio" in sc:
        print_pr("presidio", sc["presidio"])
        print(sc["presidio"].table())
        presidio_can = {
            "email",
            "phone",
            "credit_card",
            "iban",
            "us_ssn",
            "us_itin",
            "ip_address",
            "mac_address",
            "url",
            "date",
            "national_id",
        }
        print("  on the types Presidio's pattern recognizers cover:")
        print_pr("veil", sc["veil"], presidio_can)
        print_pr("presidio", sc["presidio"], presidio_can)
        print(
            f"  corpus time: veil {sc['veil_s']:.1f}s (all rows); presidio {sc['presidio_s']:.1f}s "
            f"({args.corpus_presidio_rows} rows per table)"
        )


if __name__ == "__main__":
    main()
