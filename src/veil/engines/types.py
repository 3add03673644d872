"""Engine type names as the plan sees them (DuckDB's spelling) and the families transforms
need. Engines translate their own types to these names."""

from __future__ import annotations

INTEGER_TYPES = frozenset(
    {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
    }
)
FLOAT_TYPES = frozenset({"FLOAT", "DOUBLE", "REAL"})
NUMERIC_TYPES = INTEGER_TYPES | FLOAT_TYPES
DATE_TYPES = frozenset(
    {"DATE", "TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE"}
)


def normalize_type(engine_type: str) -> str:
    """Upper-case; DECIMAL(p, s) is treated as DOUBLE by the transforms."""
    t = engine_type.upper()
    return "DOUBLE" if t.startswith("DECIMAL") else t
