"""Spark SQL types <-> the DuckDB type names plans use (see :mod:`veil.engines.base`)."""

from __future__ import annotations

import re
from typing import Any

from veil.errors import EngineError


def duckdb_name(dt: Any) -> str:
    """The DuckDB type name of a Spark ``DataType`` (TimestampNTZ is TIMESTAMP; a Spark
    TIMESTAMP, which has a session time zone, is TIMESTAMP WITH TIME ZONE)."""
    from pyspark.sql import types as T

    simple: list[tuple[type[Any], str]] = [
        (T.StringType, "VARCHAR"),
        (T.CharType, "VARCHAR"),
        (T.VarcharType, "VARCHAR"),
        (T.LongType, "BIGINT"),
        (T.IntegerType, "INTEGER"),
        (T.ShortType, "SMALLINT"),
        (T.ByteType, "TINYINT"),
        (T.DoubleType, "DOUBLE"),
        (T.FloatType, "FLOAT"),
        (T.BooleanType, "BOOLEAN"),
        (T.DateType, "DATE"),
        (T.TimestampNTZType, "TIMESTAMP"),
        (T.TimestampType, "TIMESTAMP WITH TIME ZONE"),
        (T.BinaryType, "BLOB"),
        (T.NullType, '"NULL"'),
    ]
    for cls, name in simple:
        if isinstance(dt, cls):
            return name
    if isinstance(dt, T.DecimalType):
        return f"DECIMAL({dt.precision},{dt.scale})"
    if isinstance(dt, T.ArrayType):
        return f"{duckdb_name(dt.elementType)}[]"
    if isinstance(dt, T.MapType):
        return f"MAP({duckdb_name(dt.keyType)}, {duckdb_name(dt.valueType)})"
    if isinstance(dt, T.StructType):
        fields = ", ".join(f'"{f.name}" {duckdb_name(f.dataType)}' for f in dt.fields)
        return f"STRUCT({fields})"
    return str(dt.simpleString()).upper()


_SIMPLE_SPARK = {
    "VARCHAR": "StringType",
    "TEXT": "StringType",
    "STRING": "StringType",
    "BIGINT": "LongType",
    "INTEGER": "IntegerType",
    "INT": "IntegerType",
    "SMALLINT": "ShortType",
    "TINYINT": "ByteType",
    "DOUBLE": "DoubleType",
    "FLOAT": "FloatType",
    "REAL": "FloatType",
    "BOOLEAN": "BooleanType",
    "DATE": "DateType",
    "TIMESTAMP": "TimestampNTZType",
    "TIMESTAMP WITH TIME ZONE": "TimestampType",
    "TIMESTAMPTZ": "TimestampType",
    "BLOB": "BinaryType",
}


def spark_type(duckdb_type: str) -> Any:
    """The Spark ``DataType`` for a DuckDB type name (scalar types, DECIMAL and lists);
    EngineError for types Spark lacks (TIME, HUGEINT, unsigned, TIMESTAMP_NS, ...)."""
    from pyspark.sql import types as T

    t = duckdb_type.strip().upper()
    if t.endswith("[]"):
        return T.ArrayType(spark_type(duckdb_type.strip()[:-2]), True)
    m = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", t)
    if m:
        return T.DecimalType(int(m.group(1)), int(m.group(2)))
    if t in _SIMPLE_SPARK:
        return getattr(T, _SIMPLE_SPARK[t])()
    raise EngineError(
        f"type {duckdb_type} has no Spark equivalent; the Spark engine cannot read it"
    )


def spark_schema(columns: dict[str, str]) -> Any:
    """A Spark ``StructType`` from column name -> DuckDB type name."""
    from pyspark.sql import types as T

    return T.StructType([T.StructField(n, spark_type(t), True) for n, t in columns.items()])


def schema_names(schema: Any) -> dict[str, str]:
    """Column name -> DuckDB type name of a Spark ``StructType``."""
    return {f.name: duckdb_name(f.dataType) for f in schema.fields}
