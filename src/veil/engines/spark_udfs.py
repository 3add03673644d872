"""Python side of the Spark engine: the helper functions Spark runs as vectorized Arrow UDFs
where its own functions compute something else than DuckDB (see the "Spark: semantic parity"
block of :mod:`veil.engines.sql`), and the wrapper that turns a plan's Arrow UDF into a Spark
UDF.

This module is imported by Spark's Python workers (executors), so it depends on pyarrow and
the standard library only; pyspark is imported lazily, on the driver.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from veil.engines import sql

ArrowFn = Callable[..., pa.Array]


# ---------------------------------------------------------------- number text, as DuckDB


def double_text(x: float) -> str:
    """DuckDB's ``CAST(double AS VARCHAR)``: shortest round-trip digits in ``repr`` layout,
    ``nan``/``-nan`` by the sign bit, ``inf``/``-inf``."""
    if x != x:
        return "-nan" if math.copysign(1.0, x) < 0 else "nan"
    return repr(x)


def _map(values: pa.Array, fn: Callable[[Any], Any], out_type: pa.DataType) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pa.array([None if v is None else fn(v) for v in values.to_pylist()], out_type)


def float_text_batch(values: pa.Array) -> pa.Array:
    return _map(values, double_text, pa.string())


# ---------------------------------------------------------------- the C library, as DuckDB


def libm_ln(x: float) -> float:
    """DuckDB's LN: C ``log`` (-inf at 0, NaN below)."""
    if x > 0:
        return math.log(x)
    if x == 0:
        return -math.inf
    return math.nan


def _periodic(fn: Callable[[float], float]) -> Callable[[float], float]:
    def call(x: float) -> float:
        return fn(x) if math.isfinite(x) else math.nan

    return call


def libm_exp(x: float) -> float:
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


_LIBM: dict[str, Callable[[float], float]] = {
    "__veil_libm_ln": libm_ln,
    "__veil_libm_cos": _periodic(math.cos),
    "__veil_libm_sin": _periodic(math.sin),
    "__veil_libm_exp": libm_exp,
}


def _libm_batch(name: str) -> ArrowFn:
    fn = _LIBM[name]

    def batch(values: pa.Array) -> pa.Array:
        return _map(values, fn, pa.float64())

    batch.__name__ = name
    return batch


def helper_function(name: str) -> ArrowFn:
    """The Arrow batch function of a helper UDF named in :data:`veil.engines.sql.SPARK_HELPERS`."""
    if name == sql.SPARK_FLOAT_TEXT:
        return float_text_batch
    if name in _LIBM:
        return _libm_batch(name)
    raise KeyError(name)


# ---------------------------------------------------------------- Arrow UDF -> Spark UDF


def arrow_type(duckdb_type: str) -> pa.DataType:
    """The Arrow type of a UDF argument or result, from its DuckDB type name."""
    family = sql.type_family(duckdb_type)
    table: dict[str | None, pa.DataType] = {
        "text": pa.string(),
        "float": pa.float32() if duckdb_type.upper() in ("FLOAT", "REAL") else pa.float64(),
        "binary": pa.binary(),
        "date": pa.date32(),
        "ts": pa.timestamp("us"),
        "bool": pa.bool_(),
    }
    if family == "int":
        ints = {"TINYINT": pa.int8(), "SMALLINT": pa.int16(), "INTEGER": pa.int32()}
        return ints.get(duckdb_type.upper(), pa.int64())
    if family in table:
        return table[family]
    raise ValueError(f"UDF type {duckdb_type} is not supported on Spark")


def _conform(result: Any, out_type: pa.DataType, n: int) -> pa.Array:
    if isinstance(result, pa.ChunkedArray):
        result = result.combine_chunks()
    if not isinstance(result, pa.Array):
        result = pa.array(result, out_type)
    if result.type != out_type:
        result = result.cast(out_type)
    if len(result) != n:
        raise ValueError(f"a veil UDF returned {len(result)} values for {n} inputs")
    return result


def spark_udf(fn: ArrowFn, arg_types: tuple[str, ...], return_type: str) -> Any:
    """A Spark UDF running ``fn`` on whole Arrow batches (``arrow_udf`` from PySpark 4.1; a
    pandas UDF converting to and from Arrow on 4.0)."""
    from pyspark.sql import functions as F

    from veil.engines.spark_types import spark_type

    out_type = arrow_type(return_type)
    in_types = [arrow_type(t) for t in arg_types]
    rtype = spark_type(return_type)

    if hasattr(F, "arrow_udf"):
        from pyspark.sql.functions import ArrowUDFType

        def on_arrow(*arrays: pa.Array) -> pa.Array:
            n = len(arrays[0]) if arrays else 0
            args = [a.cast(t) if a.type != t else a for a, t in zip(arrays, in_types, strict=True)]
            return _conform(fn(*args), out_type, n)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "prefer type hints": varargs have none
            return F.arrow_udf(on_arrow, rtype, ArrowUDFType.SCALAR)

    # PySpark 4.0: a pandas UDF, converting each batch to Arrow and back.
    from pyspark.sql.functions import PandasUDFType

    def on_pandas(*series: Any) -> Any:
        arrays = [pa.Array.from_pandas(s, type=t) for s, t in zip(series, in_types, strict=True)]
        n = len(series[0]) if series else 0
        return _conform(fn(*arrays), out_type, n).to_pandas()

    return F.pandas_udf(on_pandas, rtype, PandasUDFType.SCALAR)
