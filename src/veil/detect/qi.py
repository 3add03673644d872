"""Quasi-identifier discovery: the smallest column combinations that single people out.

On the sample, for every combination of candidate columns (one, two, ... up to ``max_size``),
DuckDB counts the rows whose combination of values occurs once (``GROUP BY`` the columns,
count the groups of size 1). A combination whose unique share exceeds ``threshold`` is
reported, and its supersets are skipped, so only minimal sets remain.

Candidates are the columns already classified as quasi-identifiers plus the unclassified
columns that repeat values (distinct ratio at most ``max_distinct_ratio``): a column unique
on its own is an identifier or a measurement, not a quasi-identifier. Direct identifiers,
sensitive attributes, secrets and free text are never candidates.

A sample over-states uniqueness (rows unique in 10,000 may share values in 10 million), so
the sets found are an upper bound on risk: good for review, not a risk measurement.
"""

from __future__ import annotations

import itertools

import duckdb

from veil.detect.types import ColumnReport, QuasiIdentifierSet


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def candidate_columns(
    reports: list[ColumnReport], max_distinct_ratio: float = 0.9, limit: int = 14
) -> list[str]:
    qi = [r for r in reports if r.column_class == "quasi_identifier" and r.non_null]
    other = [
        r
        for r in reports
        if r.type is None
        and r.non_null
        and r.distinct >= 2
        and r.distinct_ratio <= max_distinct_ratio
        and r.engine_type not in ("BLOB",)
    ]
    # Detected quasi-identifiers first, then the unclassified, fewest distinct values first.
    ordered = qi + sorted(other, key=lambda r: r.distinct_ratio)
    return [r.name for r in ordered[:limit]]


def unique_share(con: duckdb.DuckDBPyConnection, table: str, columns: tuple[str, ...]) -> float:
    cols = ", ".join(_ident(c) for c in columns)
    row = con.execute(
        f"SELECT coalesce(sum(CASE WHEN c = 1 THEN 1 ELSE 0 END), 0), coalesce(sum(c), 0) "
        f"FROM (SELECT count(*) AS c FROM {table} GROUP BY {cols})"
    ).fetchone()
    if not row or not row[1]:
        return 0.0
    return float(row[0]) / float(row[1])


def discover_quasi_identifiers(
    con: duckdb.DuckDBPyConnection,
    table: str,
    reports: list[ColumnReport],
    *,
    threshold: float = 0.5,
    max_size: int = 3,
    max_distinct_ratio: float = 0.9,
    max_candidates: int = 14,
) -> list[QuasiIdentifierSet]:
    """Minimal column sets making more than ``threshold`` of the sampled rows unique."""
    cands = candidate_columns(reports, max_distinct_ratio, max_candidates)
    found: list[QuasiIdentifierSet] = []
    for size in range(1, max_size + 1):
        for combo in itertools.combinations(cands, size):
            if any(set(f.columns) <= set(combo) for f in found):
                continue
            share = unique_share(con, table, combo)
            if share > threshold:
                found.append(QuasiIdentifierSet(columns=combo, unique_share=share))
    found.sort(key=lambda q: (len(q.columns), -q.unique_share))
    return found
