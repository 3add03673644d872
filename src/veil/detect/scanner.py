"""`veil scan`: sample a dataset on the engine, profile every column, classify, find
quasi-identifiers.

How it scales: the engine draws a reservoir sample (``USING SAMPLE reservoir(N ROWS)
REPEATABLE (seed)``) in one streaming pass, so memory is bounded by the sample whatever the
input size. Every format of every column is then tested in *one* vectorized DuckDB query over
the sample (``regexp_full_match``, RE2); Python only sees a bounded number of distinct values
per column, and runs validators (checksums, phone parsing) only on those a format selected.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from veil.detect import validators as v
from veil.detect.classify import (
    DATE_ENGINE_TYPES,
    TIMESTAMP_ENGINE_TYPES,
    ColumnProfile,
    Settings,
    classify,
)
from veil.detect.formats import FORMATS, Format
from veil.detect.hints import name_hints
from veil.detect.qi import discover_quasi_identifiers
from veil.detect.types import ColumnReport, QuasiIdentifierSet, ScanResult
from veil.engines.duckdb_engine import DuckDBEngine, translate_error
from veil.engines.types import FLOAT_TYPES, INTEGER_TYPES
from veil.errors import DataError
from veil.io.files import resolve_files
from veil.policy.model import CsvOptions, SourceSpec, infer_format

SAMPLE_TABLE = "__veil_scan_sample"
INPUT_VIEW = "__veil_scan_input"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _scoped(pattern: str) -> str:
    """A pattern usable inside an alternation: leading global flags become a scoped group."""
    if pattern.startswith("(?") and ")" in pattern[:6] and ":" not in pattern[:6]:
        flags, rest = pattern[2 : pattern.index(")")], pattern[pattern.index(")") + 1 :]
        return f"(?{flags}:{rest})"
    return f"(?:{pattern})"


def _type_patterns() -> dict[str, str]:
    by_type: dict[str, list[Format]] = {}
    for f in FORMATS:
        by_type.setdefault(f.type, []).append(f)
    return {t: "|".join(_scoped(f.pattern) for f in fs) for t, fs in by_type.items()}


@dataclass
class SourceInfo:
    """Where the data came from (what the draft policy's ``source`` needs)."""

    path: Path | None
    format: str
    files: list[Path]
    csv: CsvOptions | None


def _detect_dir_format(path: Path) -> str:
    counts: Counter[str] = Counter()
    for p in path.rglob("*"):
        if p.is_file():
            try:
                counts[infer_format(str(p), None, ("csv", "parquet", "jsonl"))] += 1
            except ValueError:
                continue
    if not counts:
        raise DataError(
            f"directory {path} holds no CSV, Parquet or JSON-lines file", file=str(path)
        )
    if len(counts) > 1:
        kinds = ", ".join(f"{n} {k}" for k, n in counts.most_common())
        raise DataError(
            f"directory {path} mixes formats ({kinds}); scan one format at a time "
            "(a glob such as data/*.parquet, or --format)",
            file=str(path),
        )
    return counts.most_common(1)[0][0]


def _source(
    path: Path, fmt: str | None, csv: CsvOptions | None
) -> tuple[SourceSpec, list[Path], str]:
    if fmt is None:
        fmt = _detect_dir_format(path) if path.is_dir() else None
    if fmt is None:
        try:
            fmt = infer_format(str(path), None, ("csv", "parquet", "jsonl"))
        except ValueError as e:
            raise DataError(str(e), file=str(path)) from None
    spec = SourceSpec(path=str(path), format=fmt, csv=csv or CsvOptions())
    files = resolve_files(path, fmt)
    return spec, files, fmt


def _parquet_rows(files: list[Path]) -> int | None:
    try:
        import pyarrow.parquet as pq

        return int(sum(pq.ParquetFile(f).metadata.num_rows for f in files))
    except Exception:
        return None


def _regions_from_data(con: duckdb.DuckDBPyConnection, columns: dict[str, str]) -> list[str]:
    """Phone regions suggested by a country column (ISO 3166 alpha-2 codes), most common first."""
    import phonenumbers

    out: list[str] = []
    for name, typ in columns.items():
        if typ != "VARCHAR" or not any(h.type == "country" for h in name_hints(name)):
            continue
        rows = con.execute(
            f"SELECT upper(trim({_ident(name)})) AS c, count(*) AS n FROM {SAMPLE_TABLE} "
            f"WHERE length(trim({_ident(name)})) = 2 GROUP BY c ORDER BY n DESC LIMIT 8"
        ).fetchall()
        for code, _ in rows:
            if code in phonenumbers.SUPPORTED_REGIONS and code not in out:
                out.append(code)
    return out


LONG_TABLE = "__veil_scan_long"


def _profile(
    con: duckdb.DuckDBPyConnection,
    columns: dict[str, str],
    max_distinct: int,
) -> list[ColumnProfile]:
    type_patterns = _type_patterns()
    textual = [
        n
        for n, t in columns.items()
        if t not in FLOAT_TYPES
        and not t.startswith("DECIMAL")
        and t not in DATE_ENGINE_TYPES | TIMESTAMP_ENGINE_TYPES
        and t not in ("BOOLEAN", "BLOB")
    ]
    names = list(columns)
    alias = {n: f"v{i}" for i, n in enumerate(names)}
    inner = ", ".join(
        f"NULLIF(trim(CAST({_ident(n)} AS VARCHAR)), '') AS {alias[n]}" for n in names
    )
    aggs: list[str] = []
    for n in names:
        a = alias[n]
        aggs += [
            f"count({a})",
            f"count(DISTINCT {a})",
            f"coalesce(avg(length({a})), 0)",
            f"count(*) FILTER (WHERE regexp_matches({a}, '(?:\\S+\\s+){{4}}\\S'))",
        ]
    row = con.execute(
        f"SELECT count(*), {', '.join(aggs)} FROM (SELECT {inner} FROM {SAMPLE_TABLE})"
    ).fetchone()
    assert row is not None
    n_rows = int(row[0])
    profiles: dict[str, ColumnProfile] = {}
    for i, n in enumerate(names):
        non_null, distinct, avg_len, multi = row[1 + 4 * i : 5 + 4 * i]
        profiles[n] = ColumnProfile(
            name=n,
            engine_type=columns[n],
            rows=n_rows,
            non_null=int(non_null),
            distinct=int(distinct),
            avg_len=float(avg_len),
            multiword=(int(multi) / int(non_null)) if non_null else 0.0,
        )
    if textual:
        # One long (column, value) relation: every pattern is compiled once for all columns.
        on = ", ".join(alias[n] for n in textual)
        sel = ", ".join(
            f"NULLIF(trim(CAST({_ident(n)} AS VARCHAR)), '') AS {alias[n]}" for n in textual
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {LONG_TABLE} AS SELECT col, v FROM "
            f"(UNPIVOT (SELECT {sel} FROM {SAMPLE_TABLE}) ON {on} INTO NAME col VALUE v)"
        )
        type_names = list(type_patterns)
        hit_aggs = ", ".join(
            f"count(*) FILTER (WHERE regexp_full_match(v, {_lit(type_patterns[t])}))"
            for t in type_names
        )
        by_alias = {alias[n]: n for n in textual}
        for r in con.execute(f"SELECT col, {hit_aggs} FROM {LONG_TABLE} GROUP BY col").fetchall():
            p = profiles[by_alias[r[0]]]
            p.type_hits = {t: int(h) for t, h in zip(type_names, r[1:], strict=True) if h}
        _fill_values(con, profiles, by_alias, max_distinct)
    for p in profiles.values():
        if (
            p.engine_type in INTEGER_TYPES
            or p.engine_type in FLOAT_TYPES
            or p.engine_type.startswith("DECIMAL")
        ):
            _fill_numeric(con, p)
        if p.engine_type in DATE_ENGINE_TYPES | TIMESTAMP_ENGINE_TYPES:
            _fill_dates(con, p, max_distinct)
    return [profiles[n] for n in names]


def _fill_values(
    con: duckdb.DuckDBPyConnection,
    profiles: dict[str, ColumnProfile],
    by_alias: dict[str, str],
    limit: int,
) -> None:
    """A bounded, hash-ordered set of distinct values per column with the format flags."""
    wanted = {t for p in profiles.values() for t in p.type_hits}
    fmts = [f for f in FORMATS if f.type in wanted]
    flag_cols = "".join(f", regexp_full_match(v, {_lit(f.pattern)})" for f in fmts)
    rows = con.execute(
        f"SELECT col, v, n{flag_cols} FROM (SELECT col, v, count(*) AS n, "
        f"row_number() OVER (PARTITION BY col ORDER BY hash(v), v) AS rn "
        f"FROM {LONG_TABLE} GROUP BY col, v) WHERE rn <= {int(limit)} ORDER BY col, rn"
    ).fetchall()
    grouped: dict[str, list[tuple[Any, ...]]] = {}
    for r in rows:
        grouped.setdefault(r[0], []).append(r)
    for a, rs in grouped.items():
        p = profiles[by_alias[a]]
        p.values = [r[1] for r in rs]
        p.counts = [int(r[2]) for r in rs]
        p.flags = {
            f.id: [bool(r[3 + i]) for r in rs] for i, f in enumerate(fmts) if f.type in p.type_hits
        }


def _fill_numeric(con: duckdb.DuckDBPyConnection, p: ColumnProfile) -> None:
    c = _ident(p.name)
    row = con.execute(
        f"SELECT min({c})::DOUBLE, max({c})::DOUBLE, "
        f"avg(CASE WHEN {c}::DOUBLE = floor({c}::DOUBLE) THEN 1.0 ELSE 0.0 END), "
        f"avg(length(regexp_extract(CAST({c} AS VARCHAR), '\\.(\\d*?)0*$', 1))) "
        f"FROM {SAMPLE_TABLE} WHERE {c} IS NOT NULL AND isfinite({c}::DOUBLE)"
    ).fetchone()
    if row is not None and row[0] is not None:
        p.num_min, p.num_max = float(row[0]), float(row[1])
        p.num_integral = float(row[2])
        p.num_decimals = float(row[3] or 0.0)


def _fill_dates(con: duckdb.DuckDBPyConnection, p: ColumnProfile, limit: int) -> None:
    c = _ident(p.name)
    years = con.execute(
        f"SELECT year(x) FROM (SELECT DISTINCT {c} AS x FROM {SAMPLE_TABLE} WHERE {c} IS NOT NULL "
        f"AND isfinite({c})) ORDER BY hash(x) LIMIT {int(limit)}"
    ).fetchall()
    p.date_years = [int(y[0]) for y in years if y[0] is not None]
    if p.engine_type in TIMESTAMP_ENGINE_TYPES:
        row = con.execute(
            f"SELECT avg(CASE WHEN CAST({c} AS TIME) <> TIME '00:00:00' THEN 1.0 ELSE 0.0 END) "
            f"FROM {SAMPLE_TABLE} WHERE {c} IS NOT NULL"
        ).fetchone()
        p.time_share = float(row[0]) if row and row[0] is not None else 0.0
    else:
        p.time_share = 0.0


def scan(
    source: str | Path | Any,
    *,
    sample_rows: int = 10_000,
    seed: int = 42,
    format: str | None = None,
    csv: CsvOptions | None = None,
    regions: list[str] | None = None,
    min_confidence: float = 0.5,
    qi_threshold: float = 0.5,
    qi_max_size: int = 3,
    discover_qi: bool = True,
    max_distinct: int = 1000,
    threads: int | None = None,
    memory_limit: str | None = None,
    today: dt.date | None = None,
) -> ScanResult:
    """Find the sensitive columns of a file, glob, directory or in-memory table.

    ``source`` is a path (CSV, Parquet or JSON lines, by extension or ``format``) or a
    pandas/Polars/Arrow table. Only a reservoir sample of ``sample_rows`` rows is examined."""
    from veil.run import to_arrow

    started = time.perf_counter()
    engine = DuckDBEngine(threads=threads, memory_limit=memory_limit)
    con = engine.connect()
    con.execute("SET enable_progress_bar = false")
    notes: list[str] = []
    try:
        files: list[Path] = []
        if isinstance(source, str | Path):
            path = Path(source)
            spec, files, fmt = _source(path, format, csv)
            schema, csv_columns = engine.read_schema(spec, files)
            src = engine.source_sql(spec, files, csv_columns)
            if fmt == "csv":
                # A scan looks at a sample: rows the CSV reader cannot parse are skipped, not fatal.
                src = src.replace("strict_mode = true", "strict_mode = false, ignore_errors = true")
            rows_total = _parquet_rows(files) if fmt == "parquet" else None
            source_label = str(path)
        else:
            table = to_arrow(source)
            con.register(INPUT_VIEW, table)
            src = INPUT_VIEW
            fmt = "arrow"
            rows_total = table.num_rows
            source_label = "<in-memory table>"
        if rows_total is not None and rows_total <= sample_rows:
            sample_sql = f"SELECT * FROM {src}"
            method = f"all {rows_total} rows"
        else:
            sample_sql = (
                f"SELECT * FROM {src} USING SAMPLE reservoir({int(sample_rows)} ROWS) "
                f"REPEATABLE ({int(seed)})"
            )
            method = f"reservoir sample of {sample_rows} rows (seed {seed})"
        try:
            con.execute(f"CREATE TEMP TABLE {SAMPLE_TABLE} AS {sample_sql}")
            columns = {
                r[0]: str(r[1]).upper() for r in con.execute(f"DESCRIBE {SAMPLE_TABLE}").fetchall()
            }
        except duckdb.Error as e:
            raise translate_error(e, files) from None
        if regions:
            use_regions = tuple(r.upper() for r in regions)
        else:
            found = _regions_from_data(con, columns)
            use_regions = tuple(dict.fromkeys([*found, *v.DEFAULT_REGIONS]))
            if found:
                notes.append(f"phone regions taken from the data first: {', '.join(found)}")
        settings = Settings(
            regions=use_regions,
            min_confidence=min_confidence,
            seed=seed,
            today=today or dt.date.today(),
        )
        try:
            profiles = _profile(con, columns, max_distinct)
        except duckdb.Error as e:
            raise translate_error(e, files) from None
        reports = [classify(p, settings) for p in profiles]
        for p, r in zip(profiles, reports, strict=True):
            if p.num_min is not None and p.num_max is not None:
                r.value_range = (p.num_min, p.num_max)
        qi_sets: list[QuasiIdentifierSet] = []
        if discover_qi and profiles and profiles[0].rows > 1:
            qi_sets = discover_quasi_identifiers(
                con,
                SAMPLE_TABLE,
                reports,
                threshold=qi_threshold,
                max_size=qi_max_size,
            )
            _mark_quasi_identifiers(reports, qi_sets)
        n_sampled = profiles[0].rows if profiles else 0
        return ScanResult(
            source=source_label,
            format=fmt,
            files=[str(f) for f in files],
            rows_total=rows_total,
            rows_sampled=n_sampled,
            sample_method=method,
            columns=reports,
            quasi_identifier_sets=qi_sets,
            qi_threshold=qi_threshold,
            duration_s=time.perf_counter() - started,
            regions=list(use_regions),
            notes=notes,
        )
    finally:
        con.close()


def _mark_quasi_identifiers(reports: list[ColumnReport], sets: list[QuasiIdentifierSet]) -> None:
    by_name = {r.name: r for r in reports}
    for qs in sets:
        others = [c for c in qs.columns]
        for c in qs.columns:
            r = by_name[c]
            note = (
                f"with {', '.join(o for o in others if o != c) or 'nothing else'}: "
                f"{qs.unique_share:.0%} of sampled rows unique"
            )
            if r.type is None:
                r.type = "quasi_identifier"
                r.column_class = "quasi_identifier"
                r.confidence = round(min(0.95, 0.5 + qs.unique_share / 2), 3)
                r.evidence.detail = f"quasi-identifier: {note}"
            if note not in r.notes:
                r.notes.append(f"quasi-identifier set {list(qs.columns)}: {note}")


def arrow_of(result: ScanResult) -> pa.Table:
    """The column reports as an Arrow table (handy in notebooks)."""
    return pa.table(
        {
            "column": [c.name for c in result.columns],
            "type": [c.type for c in result.columns],
            "class": [c.column_class for c in result.columns],
            "confidence": [c.confidence for c in result.columns],
        }
    )
