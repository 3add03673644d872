"""The Spark engine: the same plan as the embedded engine, executed by Apache Spark.

``veil run policy.yaml --engine spark`` runs on ``local[*]`` without a cluster; ``--master``
(or the policy's ``engine.master``) targets a cluster and ``engine.conf`` / ``--conf`` pass
Spark configuration through. ``veil.anonymize(spark_df, policy)`` returns a lazy Spark
DataFrame.

How a plan runs:

* the source becomes a temporary view (CSV and JSON with the schema DuckDB's sniffer finds,
  so both engines type every column the same; Parquet with Spark's own reader, partition
  columns of Hive directories included);
* the plan's one-row context table (HMAC pads: secret) is built inside the JVM through Py4J,
  never as SQL literals, never through a temporary file, and joined with a broadcast hint;
  lookup tables (hierarchies) likewise are broadcast;
* the plan's tree is rewritten by :func:`veil.engines.sql.prepare_for_spark` (where Spark's
  functions compute other values than DuckDB's) and rendered as one Spark SQL SELECT;
  transforms that need Python (and the few parity helpers) run as vectorized Arrow UDFs;
* a policy's ``privacy:`` section: the histogram of distinct quasi-identifier combinations is
  one Spark GROUP BY over the same text values DuckDB groups (the engine-neutral query of
  :func:`veil.anonymization.histogram_query`), only its rows reach the driver, the search runs
  there on NumPy, and the chosen generalization joins the plan as a lookup table (broadcast
  unless large), so one pass applies it;
* single-file outputs (CSV, JSON Lines, Parquet) are written by Spark in parallel as part
  files next to the output and concatenated into one file, as the embedded engine writes;
  ``partition_by`` writes a Hive-partitioned Parquet directory. With the engine option
  ``veil.singleFile=false`` the output is Spark's directory of part files instead.

Engine options ride in the Spark conf under ``veil.`` (never passed to Spark):
``veil.exactMath`` (default true: LN/COS/SIN/EXP through the C library like DuckDB; false
keeps Spark's own, which differ in the last bit), ``veil.singleFile`` (default true) and
``veil.csv.multiLine`` (default true: quoted fields may hold newlines, as DuckDB accepts;
false lets Spark split one large CSV file across tasks, but a quoted newline then breaks the
record).

Row order is not preserved (Spark orders input splits by size); compare outputs sorted.
Executors need veil installed (the same version) for the Python UDFs.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyspark  # noqa: F401 - fail early (get_engine reports it) when pyspark is missing
from sqlglot import exp

from veil.anonymization import histogram_query
from veil.engines import sql
from veil.engines.base import ExecResult, ProgressCallback
from veil.engines.spark_types import schema_names, spark_schema, spark_type
from veil.engines.spark_udfs import helper_function, spark_udf
from veil.errors import DataError, EngineError, VeilError
from veil.plan import KEY_ALIAS, KEY_TABLE, SOURCE_ALIAS, SOURCE_TABLE, Plan
from veil.policy.model import SourceSpec
from veil.privacy import Histogram, histogram_from_arrow
from veil.transforms.base import InputKind

CORRUPT = "__veil_corrupt_record"

_SESSION_DEFAULTS = {
    "spark.app.name": "veil",
    # Spark logs failing tasks with their exception messages, which quote data values (the
    # value that failed a cast, a malformed record); veil reports errors itself, value-free.
    # Opt back in with --conf spark.log.level=WARN.
    "spark.log.level": "FATAL",
    "spark.sql.session.timeZone": "UTC",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
# Set while a plan is analysed: the analysed expressions capture them (ANSI casts and
# arithmetic that fail like DuckDB's, backslashes in literals, exact column names).
_PLAN_CONF = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.parser.escapedStringLiterals": "false",
    "spark.sql.caseSensitive": "true",
}
# Set while a job runs: Parquet timestamps as INT64 micros (not INT96). Like DuckDB, Spark
# converts (and so validates) only the CSV columns a query reads.
_RUN_CONF = {"spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS"}
_OPTIONS = {"exactMath": True, "singleFile": True, "csv.multiLine": True}
_CODECS = {"zstd": "zstd", "snappy": "snappy", "gzip": "gzip", "uncompressed": "none"}
_PQ_CODECS = {"zstd": "zstd", "snappy": "snappy", "gzip": "gzip", "uncompressed": "none"}
_ENCODINGS = {"utf-8": "UTF-8", "utf-16": "UTF-16", "latin-1": "ISO-8859-1"}
BROADCAST_MAX_BYTES = 64 << 20
"""Lookup tables up to this size (in Arrow) are broadcast to every executor; a larger one (the
privacy search's table of distinct combinations, on data with millions of them) is joined by
Spark's own strategy rather than copied whole into every executor's memory."""


def _flag(value: str | bool, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise EngineError(f"engine option veil.{name} must be true or false, not {value!r}")


# ---------------------------------------------------------------- errors


def _veil_error_names() -> set[str]:
    import veil.errors as errors

    return {n for n, c in vars(errors).items() if isinstance(c, type) and issubclass(c, VeilError)}


def translate_error(err: BaseException, files: list[Path] | None = None) -> VeilError:
    """A Spark failure as a veil error. Spark's messages quote data values (the malformed
    record, the value that failed a cast), so only fixed facts are kept: the error class,
    the file, the target type, or the message veil itself raised."""
    text = str(err)
    cond = ""
    for getter in ("getCondition", "getErrorClass"):
        fn = getattr(err, getter, None)
        if callable(fn):
            with contextlib.suppress(Exception):
                cond = str(fn() or "")
            if cond:
                break
    file_m = re.search(r"(?:file|path)[ =:]+[`'\"]?(file:[^\s`'\"]+|/[^\s`'\"]+)", text)
    file = file_m.group(1).removeprefix("file:").removeprefix("//") if file_m else None
    if file is None and files and len(files) == 1:
        file = str(files[0])
    where = f"file {file}: " if file else ""
    m = re.search(r"\[USER_RAISED_EXCEPTION\] (.*?)(?: SQLSTATE: \w+)?\s*$", text, re.M)
    if m:
        return DataError(m.group(1).strip())
    if "MALFORMED_RECORD_IN_PARSING" in text or "Malformed records are detected" in text:
        return DataError(f"{where}a malformed record (Spark FAILFAST)", file=file)
    m = re.search(r'\[CAST_INVALID_INPUT\].*?cannot be cast to "([A-Z_ ]+)"', text)
    if m or "CAST_INVALID_INPUT" in text:
        target = m.group(1) if m else "the column type"
        return DataError(f"{where}a value that is not a valid {target}", file=file)
    for marker in ("ARITHMETIC_OVERFLOW", "CAST_OVERFLOW", "DIVIDE_BY_ZERO", "NUMERIC_VALUE_OUT"):
        if marker in text:
            return DataError(f"{where}a value out of range ({marker.lower()})", file=file)
    if "PythonException" in type(err).__name__ or "PythonException" in text:
        names = _veil_error_names()
        for line in reversed(text.splitlines()):
            km = re.match(r"^\s*(?:[\w.]+\.)?(\w+): (.*)$", line)
            if km and km.group(1) in names:
                return EngineError(f"a veil UDF failed on Spark: {km.group(2).strip()}")
            if km and km.group(1).endswith(("Error", "Exception")):
                return EngineError(f"a veil UDF failed on Spark ({km.group(1)})")
        return EngineError("a veil UDF failed on Spark")
    if "PATH_NOT_FOUND" in text or "FileNotFoundException" in text:
        return DataError(f"{where}cannot read input (file not found)", file=file)
    return EngineError(f"Spark failed ({cond or type(err).__name__}); no data was written")


def _check_shippable(plan: Plan, name: str, fn: Callable[..., pa.Array]) -> None:
    """Spark runs a plan's Python functions on executors: they must survive pickling. Objects
    holding native state (cipher contexts, database connections, locks) do not unless their
    class says how to rebuild them (``__reduce__``)."""
    from pyspark import cloudpickle

    try:
        cloudpickle.dumps(fn)
    except Exception as e:  # noqa: BLE001 - any pickling failure means the same
        m = re.search(r"cannot pickle '([^']+)'", str(e))
        what = m.group(1) if m else type(e).__name__
        columns = [
            c.name
            for c in plan.columns
            if any(str(a.this) == name for a in c.expression.find_all(exp.Anonymous))
        ]
        m_name = re.match(r"__veil_udf\d+_(.+)$", name)
        transform = m_name.group(1) if m_name else name
        raise EngineError(
            f"the {transform} transform on column {', '.join(map(repr, columns)) or '?'} runs "
            f"Python code that cannot be sent to Spark executors (a {what} object cannot be "
            "pickled); the Spark engine cannot run it"
        ) from None


@contextlib.contextmanager
def quiet_query_context_logs() -> Iterator[None]:
    """PySpark logs every SQL error with its query context at ERROR level, and those messages
    quote data values; while veil drives Spark (and translates the errors value-free) they
    are switched off."""
    import logging

    loggers = [
        logging.getLogger(n) for n in ("SQLQueryContextLogger", "DataFrameQueryContextLogger")
    ]
    before = [lg.disabled for lg in loggers]
    for lg in loggers:
        lg.disabled = True
    try:
        yield
    finally:
        for lg, was in zip(loggers, before, strict=True):
            lg.disabled = was


def _is_spark_error(err: BaseException) -> bool:
    mod = type(err).__module__
    return mod.startswith(("pyspark", "py4j"))


@contextlib.contextmanager
def _spark_errors(files: list[Path] | None = None) -> Iterator[None]:
    """Spark's and py4j's exceptions as value-free veil errors; every other one unchanged."""
    try:
        yield
    except Exception as e:
        if _is_spark_error(e):
            raise translate_error(e, files) from None
        raise


# ---------------------------------------------------------------- the engine


class _Job:
    """One query's temporary views and functions, named uniquely in the (shared) session and
    dropped when the query has been analysed: the analysed DataFrame holds what it needs, and
    the session keeps no job leftovers."""

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self._suffix = uuid.uuid4().hex[:12]
        self._views: list[str] = []
        self._functions: list[str] = []

    def __enter__(self) -> _Job:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for v in self._views:
            with contextlib.suppress(Exception):
                self.spark.catalog.dropTempView(v)
        for f in self._functions:
            with contextlib.suppress(Exception):
                self.spark.sql(f"DROP TEMPORARY FUNCTION IF EXISTS {f}")

    def view(self, df: Any, name: str) -> str:
        unique = f"{name}_{self._suffix}"
        df.createOrReplaceTempView(unique)
        self._views.append(unique)
        return unique

    def function_name(self, name: str) -> str:
        unique = f"{name}_{self._suffix}"
        self._functions.append(unique)
        return unique


class SparkEngine:
    name = "spark"

    def __init__(
        self,
        master: str | None = None,
        conf: Mapping[str, str] | None = None,
        session: Any = None,
    ) -> None:
        conf = dict(conf or {})
        options: dict[str, bool] = dict(_OPTIONS)
        for k, v in conf.items():
            if k.startswith("veil."):
                name = k[len("veil.") :]
                if name not in _OPTIONS:
                    raise EngineError(
                        f"unknown engine option {k}; known: {', '.join('veil.' + o for o in _OPTIONS)}"
                    )
                options[name] = _flag(v, name)
        self.master = master
        self.conf = {k: str(v) for k, v in conf.items() if not k.startswith("veil.")}
        self.exact_math = options["exactMath"]
        self.single_file = options["singleFile"]
        self.csv_multiline = options["csv.multiLine"]
        self._spark = session
        self._json_schemas: dict[tuple[str, ...], dict[str, str]] = {}

    # ---------------------------------------------------------------- session
    @property
    def version(self) -> str:
        if self._spark is not None:
            return str(self._spark.version)
        return str(pyspark.__version__)

    def session(self) -> Any:
        """The SparkSession: the one given, else the active one (this engine's conf applied),
        else a new one on ``master`` (default ``local[*]``)."""
        if self._spark is not None:
            return self._spark
        from pyspark.sql import SparkSession

        active = SparkSession.getActiveSession()
        if active is not None:
            running = active.sparkContext.master
            if self.master and self.master != running:
                raise EngineError(
                    f"a Spark session on {running} is already running in this process; "
                    f"it cannot be moved to {self.master}"
                )
            for k, v in self.conf.items():
                try:
                    active.conf.set(k, v)
                except Exception as e:  # noqa: BLE001 - static settings cannot change
                    raise EngineError(
                        f"Spark setting {k} cannot be applied to the running Spark session "
                        f"({type(e).__name__}); set it when the session is created"
                    ) from None
            self._spark = active
            return active
        settings = dict(_SESSION_DEFAULTS)
        settings.update(self.conf)
        # Python workers run this interpreter (with veil and pyarrow), not whatever
        # 'python3' is first on PATH; PySpark reads the variable when the context starts.
        os.environ.setdefault(
            "PYSPARK_PYTHON", settings.get("spark.pyspark.python", sys.executable)
        )
        builder = SparkSession.builder.master(self.master or "local[*]")
        for k, v in settings.items():
            builder = builder.config(k, v)
        try:
            spark = builder.getOrCreate()
        except Exception as e:  # noqa: BLE001 - JVM or cluster start-up failure
            raise EngineError(f"cannot start Spark ({type(e).__name__}: {e})") from None
        spark.sparkContext.setLogLevel(settings["spark.log.level"])
        self._spark = spark
        return spark

    # ---------------------------------------------------------------- sources
    def read_schema(
        self, source: SourceSpec, files: list[Path], required: dict[str, InputKind] | None = None
    ) -> tuple[dict[str, str], dict[str, str] | None]:
        """Column types of the input. CSV and JSON Lines use DuckDB's sniffer (the same types
        as the embedded engine, forced types included); Parquet uses Spark's reader."""
        fmt = source.resolved_format()
        if fmt in ("csv", "jsonl"):
            from veil.engines.duckdb_engine import DuckDBEngine

            schema, cols = DuckDBEngine().read_schema(source, files, required)
            checked = cols if cols is not None else schema
            for name, t in checked.items():
                try:
                    spark_type(t)
                except EngineError:
                    raise EngineError(
                        f"column {name!r} is {t}, a type the Spark engine has no equivalent for"
                    ) from None
            if fmt == "jsonl":
                self._json_schemas[tuple(map(str, files))] = dict(schema)
            return schema, cols
        spark = self.session()
        with _spark_errors(files), quiet_query_context_logs():
            df = self._parquet(spark, files)
            return schema_names(df.schema), None

    @staticmethod
    def _base_path(files: list[Path]) -> str | None:
        """The directory above the first ``key=value`` level, when the files are Hive
        partitioned (so Spark adds the partition columns, as DuckDB does)."""
        parts = files[0].parts
        for i, p in enumerate(parts):
            if "=" in p and i < len(parts) - 1:
                base = Path(*parts[:i])
                if all(f.parts[:i] == parts[:i] for f in files):
                    return str(base)
                return None
        return None

    def _parquet(self, spark: Any, files: list[Path]) -> Any:
        reader = spark.read.option("mergeSchema", "true")
        base = self._base_path(files)
        if base is not None:
            reader = reader.option("basePath", base)
        return reader.parquet(*[str(f) for f in files])

    def _csv_reader(
        self, spark: Any, source: SourceSpec, columns: dict[str, str], reject: bool
    ) -> Any:
        o = source.csv
        if o.null_strings != [""]:
            # Spark reads every unquoted empty field as NULL; DuckDB reads it as '' unless ''
            # is a null string. Only the default gives the same values on both engines.
            raise EngineError(
                "the Spark engine reads CSV with the default null string only "
                "(csv.null_strings: ['']): with other null strings Spark and DuckDB would read "
                "empty fields differently"
            )
        schema = spark_schema(columns)
        if reject:
            from pyspark.sql import types as T

            schema = T.StructType([*schema.fields, T.StructField(CORRUPT, T.StringType(), True)])
        opts: dict[str, str] = {
            "header": str(o.header).lower(),
            "sep": o.delimiter,
            "quote": o.quote if o.quote else "\u0000",
            "escape": o.escape,
            "encoding": _ENCODINGS[o.encoding],
            "nullValue": "",
            "multiLine": str(self.csv_multiline).lower(),
            "ignoreLeadingWhiteSpace": "false",
            "ignoreTrailingWhiteSpace": "false",
            "enforceSchema": "true",
            "mode": "PERMISSIVE" if reject else "FAILFAST",
        }
        if reject:
            opts["columnNameOfCorruptRecord"] = CORRUPT
        if o.date_format:
            opts["dateFormat"] = strptime_to_java(o.date_format)
        if o.timestamp_format:
            opts["timestampNTZFormat"] = strptime_to_java(o.timestamp_format)
        reader = spark.read.schema(schema)
        for k, v in opts.items():
            reader = reader.option(k, v)
        return reader

    def _json_schema(self, source: SourceSpec, files: list[Path]) -> dict[str, str]:
        key = tuple(map(str, files))
        if key not in self._json_schemas:
            self.read_schema(source, files)
        return self._json_schemas[key]

    def source_frame(
        self,
        source: SourceSpec,
        files: list[Path],
        csv_columns: dict[str, str] | None,
        *,
        reject: bool = False,
    ) -> tuple[Any, Any]:
        """(rows to transform, rejected rows or None) as Spark DataFrames."""
        from pyspark.sql import functions as F

        spark = self.session()
        paths = [str(f) for f in files]
        fmt = source.resolved_format()
        if fmt == "parquet":
            return self._parquet(spark, files), None
        if fmt == "jsonl":
            schema = spark_schema(self._json_schema(source, files))
            return spark.read.schema(schema).option("mode", "FAILFAST").json(paths), None
        assert csv_columns is not None
        df = self._csv_reader(spark, source, csv_columns, reject).csv(paths)
        if not reject:
            return df, None
        good = df.where(F.col(CORRUPT).isNull()).drop(CORRUPT)
        bad = df.where(F.col(CORRUPT).isNotNull())
        return good, bad

    # ---------------------------------------------------------------- the plan
    def _context_frame(self, spark: Any, table: pa.Table) -> Any:
        """The one-row context table as a DataFrame built in the JVM through Py4J: the pads
        travel as byte arrays over the local gateway socket, never through a temporary file
        (as ``createDataFrame`` would) and never as SQL text. Constant string lists travel as
        one joined string each and are split in the JVM."""
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        if table.num_rows != 1:
            raise EngineError("the plan's context table must have exactly one row")
        fields: list[Any] = []
        values: list[Any] = []
        splits: dict[str, str] = {}
        row = table.to_pylist()[0]
        for f in table.schema:
            v = row[f.name]
            if pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type):
                fields.append(T.StructField(f.name, T.BinaryType(), True))
                values.append(None if v is None else bytes(v))
            elif pa.types.is_string(f.type) or pa.types.is_large_string(f.type):
                fields.append(T.StructField(f.name, T.StringType(), True))
                values.append(v)
            elif pa.types.is_list(f.type) and pa.types.is_string(f.type.value_type):
                items = list(v or [])
                sep = next(
                    (
                        chr(c)
                        for c in (0x1F, 0x1E, 0x1D, 0x1C, 0)
                        if not any(chr(c) in s for s in items)
                    ),
                    None,
                )
                if sep is None:
                    raise EngineError(f"context list {f.name} holds every separator character")
                fields.append(T.StructField(f.name, T.StringType(), True))
                values.append(sep.join(items) if items else None)
                splits[f.name] = sep
            elif pa.types.is_integer(f.type):
                fields.append(T.StructField(f.name, T.LongType(), True))
                values.append(v)
            else:
                raise EngineError(f"context column {f.name} of type {f.type} is not supported")
        schema = T.StructType(fields)
        if not hasattr(spark, "_jsparkSession"):
            raise EngineError(
                "the Spark engine needs a classic SparkSession (Spark Connect sessions cannot "
                "receive the key table without putting it in the plan)"
            )
        jvm = spark.sparkContext._jvm
        gateway = spark.sparkContext._gateway
        array = gateway.new_array(jvm.java.lang.Object, len(values))
        for i, (fld, v) in enumerate(zip(fields, values, strict=True)):
            if v is not None and isinstance(fld.dataType, T.LongType):
                v = jvm.java.lang.Long.valueOf(str(v))
            array[i] = v
        rows = jvm.java.util.ArrayList()
        rows.add(jvm.org.apache.spark.sql.RowFactory.create(array))
        jschema = spark._jsparkSession.parseDataType(schema.json())
        jdf = spark._jsparkSession.createDataFrame(rows, jschema)
        from pyspark.sql.classic.dataframe import DataFrame

        df = DataFrame(jdf, spark)
        if splits:
            df = df.select(
                *[
                    (
                        F.coalesce(
                            F.split(F.col(c), f"\\x{{{ord(splits[c]):x}}}", -1),
                            F.array().cast(T.ArrayType(T.StringType())),
                        ).alias(c)
                        if c in splits
                        else F.col(c)
                    )
                    for c in df.columns
                ]
            )
        return df

    def apply(self, src: Any, plan: Plan) -> Any:
        """The plan applied to a Spark DataFrame: a lazy DataFrame of the output columns."""
        with quiet_query_context_logs(), _Job(self.session()) as job:
            return self._apply(job, src, plan)

    def _apply(self, job: _Job, src: Any, plan: Plan) -> Any:
        from pyspark.sql import functions as F

        renames: dict[str, str] = {SOURCE_TABLE: job.view(src, SOURCE_TABLE)}
        tables: dict[str, dict[str, str]] = {SOURCE_ALIAS: schema_names(src.schema)}
        broadcast: list[str] = []
        if plan.key_table.num_columns:
            ctx = self._context_frame(job.spark, plan.key_table)
            renames[KEY_TABLE] = job.view(ctx, KEY_TABLE)
            tables[KEY_ALIAS] = schema_names(ctx.schema)
            broadcast.append(KEY_ALIAS)
        lookup_alias = self._lookup_aliases(plan)
        for name, table in plan.lookups.items():
            df = job.spark.createDataFrame(table)
            small = table.nbytes <= BROADCAST_MAX_BYTES
            renames[name] = job.view(F.broadcast(df) if small else df, name)
            alias = lookup_alias.get(name)
            if alias:
                tables[alias] = schema_names(df.schema)
                if small:
                    broadcast.append(alias)
        udfs: dict[str, tuple[tuple[str, ...], str]] = {}
        udf_names: dict[str, str] = {}
        for u in plan.udfs:
            _check_shippable(plan, u.name, u.fn)
            unique = job.function_name(u.name)
            udf_names[u.name] = unique
            udfs[unique] = (u.arg_types, u.return_type)
            self._register_udf(job.spark, unique, u.fn, u.arg_types, u.return_type)
        tree = self._renamed(plan.select(), renames, udf_names)
        return self._query(job.spark, tree, tables, udfs, broadcast)

    def _query(
        self,
        spark: Any,
        tree: exp.Expression,
        tables: Mapping[str, Mapping[str, str]],
        udfs: Mapping[str, tuple[tuple[str, ...], str]],
        broadcast: list[str],
    ) -> Any:
        """An engine-neutral query tree as a lazy Spark DataFrame: rewritten to compute what
        DuckDB computes, its helper UDFs registered, the broadcast hint set, and analysed under
        the plan settings (which the analysed expressions keep)."""
        prepared = sql.prepare_for_spark(tree, tables, udfs, exact_math=self.exact_math)
        for helper in sorted(prepared.helpers):
            args, ret = sql.SPARK_HELPERS[helper]
            self._register_udf(spark, helper, helper_function(helper), args, ret)
        query = prepared.tree
        if broadcast and isinstance(query, exp.Select):
            query.set(
                "hint",
                exp.Hint(
                    expressions=[
                        exp.Anonymous(
                            this="BROADCAST",
                            expressions=[exp.to_identifier(a) for a in broadcast],
                        )
                    ]
                ),
            )
        text = sql.render(query, "spark")
        with session_conf(spark, _PLAN_CONF), _spark_errors():
            return spark.sql(text)

    def histogram(
        self,
        source: SourceSpec,
        files: list[Path],
        csv_columns: dict[str, str] | None,
        qis: list[str],
        sensitive: list[str],
        *,
        skip_bad_rows: bool = False,
    ) -> Histogram:
        """The quasi-identifier histogram (``veil.privacy.Histogram``) in one Spark GROUP BY:
        only the distinct combinations and their counts reach the driver."""
        with quiet_query_context_logs(), _spark_errors(files):
            src, _ = self.source_frame(source, files, csv_columns, reject=skip_bad_rows)
            table = self._histogram_counts(src, qis, sensitive)
        return histogram_from_arrow(table, qis, sensitive)

    def table_histogram(self, df: Any, qis: list[str], sensitive: list[str]) -> Histogram:
        """The histogram of a DataFrame (``veil.anonymize``)."""
        with quiet_query_context_logs(), _spark_errors():
            table = self._histogram_counts(df, qis, sensitive)
        return histogram_from_arrow(table, qis, sensitive)

    def _histogram_counts(self, src: Any, qis: list[str], sensitive: list[str]) -> pa.Table:
        with _Job(self.session()) as job:
            renames = {SOURCE_TABLE: job.view(src, SOURCE_TABLE)}
            tree = self._renamed(histogram_query(qis, sensitive), renames, {})
            tables = {SOURCE_ALIAS: schema_names(src.schema)}
            counts = self._query(job.spark, tree, tables, {}, [])
        return counts.toArrow()

    @staticmethod
    def _lookup_aliases(plan: Plan) -> dict[str, str]:
        out: dict[str, str] = {}
        for j in plan.joins:
            t = j.this
            if isinstance(t, exp.Table):
                out[t.name] = t.alias_or_name
        return out

    @staticmethod
    def _renamed(
        tree: exp.Expression, tables: Mapping[str, str], functions: Mapping[str, str]
    ) -> exp.Expression:
        tree = tree.copy()
        for node in list(tree.walk()):
            if isinstance(node, exp.Table) and node.name in tables:
                node.set("this", exp.to_identifier(tables[node.name]))
            elif isinstance(node, exp.Anonymous) and str(node.this) in functions:
                node.set("this", functions[str(node.this)])
        return tree

    def _register_udf(
        self,
        spark: Any,
        name: str,
        fn: Callable[..., pa.Array],
        arg_types: tuple[str, ...],
        return_type: str,
    ) -> None:
        try:
            udf = spark_udf(fn, arg_types, return_type)
        except ValueError as e:
            raise EngineError(f"UDF {name}: {e}") from None
        spark.udf.register(name, udf)

    # ---------------------------------------------------------------- execution
    def transform_table(self, table: Any, plan: Plan) -> Any:
        return self.apply(table, plan)

    def table_schema(self, table: Any) -> dict[str, str]:
        return schema_names(table.schema)

    @quiet_query_context_logs()
    def execute(
        self,
        plan: Plan,
        source: SourceSpec,
        files: list[Path],
        csv_columns: dict[str, str] | None,
        out_path: Path,
        out_format: str,
        *,
        partition_by: list[str] | None = None,
        compression: str = "zstd",
        quarantine_path: Path | None = None,
        progress: ProgressCallback | None = None,
    ) -> ExecResult:
        from pyspark.sql import Observation
        from pyspark.sql import functions as F

        spark = self.session()
        with _spark_errors(files):
            src, bad = self.source_frame(
                source, files, csv_columns, reject=quarantine_path is not None
            )
            out = self.apply(src, plan)
            out = self._for_format(out, out_format)
            counter = Observation(f"veil_rows_{uuid.uuid4().hex[:8]}")
            out = out.observe(counter, F.count(F.lit(1)).alias("rows"))
            self._run(
                spark,
                lambda: self._write(out, out_path, out_format, partition_by or [], compression),
                progress,
            )
            rows_out = int(counter.get["rows"])
            rejected = 0
            if quarantine_path is not None and bad is not None:
                used = sorted(
                    {
                        c.name
                        for c in plan.select().find_all(exp.Column)
                        if c.table == SOURCE_ALIAS and c.name in bad.columns
                    }
                )
                with session_conf(spark, _RUN_CONF):
                    rejected = self._write_quarantine(bad, quarantine_path, used)
            return ExecResult(rows_out=rows_out, rows_rejected=rejected)

    def _run(
        self, spark: Any, action: Callable[[], None], progress: ProgressCallback | None
    ) -> None:
        if progress is None:
            with session_conf(spark, _RUN_CONF):
                action()
            return
        sc = spark.sparkContext
        group = f"veil-{uuid.uuid4().hex[:12]}"
        result: dict[str, BaseException] = {}

        def work() -> None:
            try:
                sc.setJobGroup(group, "veil run", interruptOnCancel=True)
                with session_conf(spark, _RUN_CONF):
                    action()
            except BaseException as e:  # re-raised in the calling thread
                result["error"] = e

        t = threading.Thread(target=work, name="veil-spark", daemon=True)
        t.start()
        tracker = sc.statusTracker()
        while t.is_alive():
            t.join(0.5)
            total = done = 0
            for job_id in tracker.getJobIdsForGroup(group):
                job = tracker.getJobInfo(job_id)
                for stage_id in job.stageIds if job else []:
                    stage = tracker.getStageInfo(stage_id)
                    if stage:
                        total += stage.numTasks
                        done += stage.numCompletedTasks
            if total:
                progress(min(99.0, 100.0 * done / total))
        if "error" in result:
            raise result["error"]
        progress(100.0)

    # ---------------------------------------------------------------- outputs
    def _for_format(self, df: Any, out_format: str) -> Any:
        """Text formats carry values as DuckDB writes them: CSV every value as DuckDB's text,
        JSON Lines timestamps as DuckDB's text (numbers stay JSON numbers)."""
        from pyspark.sql import functions as F
        from pyspark.sql import types as T

        if out_format == "parquet":
            return df
        cols = []
        for f in df.schema.fields:
            c = F.col(f"`{f.name}`")
            t = f.dataType
            if isinstance(t, T.TimestampType | T.BinaryType) or (
                out_format == "csv"
                and isinstance(t, T.FloatType | T.ArrayType | T.MapType | T.StructType)
            ):
                raise EngineError(
                    f"output column {f.name!r} ({t.simpleString()}) cannot be written to "
                    f"{out_format} identically by the Spark engine"
                )
            if out_format == "csv" and isinstance(t, T.DoubleType):
                helper = sql.SPARK_FLOAT_TEXT
                args, ret = sql.SPARK_HELPERS[helper]
                self._register_udf(df.sparkSession, helper, helper_function(helper), args, ret)
                c = F.call_function(helper, c)
            elif out_format == "csv" or isinstance(t, T.TimestampNTZType):
                c = c.cast("string")
            cols.append(c.alias(f.name))
        return df.select(*cols)

    def _write(
        self,
        df: Any,
        out_path: Path,
        out_format: str,
        partition_by: list[str],
        compression: str,
    ) -> None:
        if partition_by:
            writer = df.write.mode("errorifexists").partitionBy(*partition_by)
            writer.option("compression", _CODECS[compression]).parquet(str(out_path))
            _tidy(out_path)
            return
        if not self.single_file:
            self._write_parts(df, out_path, out_format, compression, header=True)
            _tidy(out_path)
            return
        parts = out_path.with_name(out_path.name + ".parts")
        try:
            # Parquet parts are written uncompressed and compressed once, when merged.
            self._write_parts(df, parts, out_format, "uncompressed")
            files = _part_files(parts)
            if out_format == "parquet":
                _merge_parquet(files, out_path, compression, df.schema)
            else:
                with open(out_path, "wb") as out:
                    if out_format == "csv":
                        out.write(_csv_header(df.columns))
                    for f in files:
                        with open(f, "rb") as fh:
                            shutil.copyfileobj(fh, out, 16 << 20)
        finally:
            shutil.rmtree(parts, ignore_errors=True)

    @staticmethod
    def _write_parts(
        df: Any, path: Path, out_format: str, compression: str, *, header: bool = False
    ) -> None:
        w = df.write.mode("errorifexists")
        if out_format == "parquet":
            w.option("compression", _CODECS[compression]).parquet(str(path))
        elif out_format == "csv":
            opts = {
                "header": str(header).lower(),
                "sep": ",",
                "quote": '"',
                "escape": '"',
                "escapeQuotes": "true",
                "quoteAll": "false",
                "nullValue": "",
                "emptyValue": '""',
                "ignoreLeadingWhiteSpace": "false",
                "ignoreTrailingWhiteSpace": "false",
                "lineSep": "\n",
                "encoding": "UTF-8",
            }
            for k, v in opts.items():
                w = w.option(k, v)
            w.csv(str(path))
        else:
            w.option("ignoreNullFields", "false").option("lineSep", "\n").json(str(path))

    def _write_quarantine(self, bad: Any, path: Path, used: list[str]) -> int:
        """Rejected CSV rows as the embedded engine writes them (file, line, column, error,
        raw_line). Spark does not know line numbers or the failing column: those stay empty.

        ``used``: the columns the plan reads. Spark (like DuckDB) converts only the columns a
        query reads, so this query reads the same ones as the plan's to find the same rows
        (and at least one: Spark refuses scans of the corrupt-record column alone)."""
        import csv

        from pyspark.sql import functions as F

        from veil.io.atomic import atomic_path

        data = used or [next(c for c in bad.columns if c != CORRUPT)]
        rows = bad.select(
            F.input_file_name().alias("file"),
            F.col(CORRUPT).alias("raw"),
            *[F.col(f"`{c}`") for c in data],
        )
        count = 0
        with (
            atomic_path(path, overwrite=True) as tmp,
            open(tmp, "w", newline="", encoding="utf-8") as fh,
        ):
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["file", "line", "column", "error", "raw_line"])
            for r in rows.toLocalIterator():
                file = str(r["file"]).removeprefix("file://").removeprefix("file:")
                w.writerow([file, "", "", "MALFORMED ROW", r["raw"]])
                count += 1
        return count


# ---------------------------------------------------------------- helpers


@contextlib.contextmanager
def session_conf(spark: Any, values: Mapping[str, str]) -> Iterator[None]:
    """Set Spark SQL settings for the duration of a block, then restore them."""
    old: dict[str, str | None] = {}
    for k, v in values.items():
        old[k] = spark.conf.get(k, None)
        spark.conf.set(k, v)
    try:
        yield
    finally:
        for k, prev in old.items():
            if prev is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, prev)


def _part_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.name.startswith("part-"))


def _tidy(directory: Path) -> None:
    """Remove Spark's bookkeeping files (_SUCCESS, .crc) from an output directory."""
    for p in list(directory.rglob("*")):
        if p.is_file() and (p.name == "_SUCCESS" or p.name.endswith(".crc")):
            p.unlink()


def _csv_field(text: str) -> str:
    if any(ch in text for ch in ',"\n\r') or text == "":
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_header(columns: list[str]) -> bytes:
    return (",".join(_csv_field(c) for c in columns) + "\n").encode("utf-8")


def _merge_parquet(parts: list[Path], out: Path, compression: str, spark_schema_: Any) -> None:
    """Concatenate Parquet part files into one file, row group by row group."""
    import pyarrow.parquet as pq

    writer: pq.ParquetWriter | None = None
    try:
        for p in parts:
            pf = pq.ParquetFile(p)
            if pf.metadata.num_columns == 0:
                continue
            if writer is None:
                writer = pq.ParquetWriter(out, pf.schema_arrow, compression=_PQ_CODECS[compression])
            for i in range(pf.num_row_groups):
                writer.write_table(pf.read_row_group(i))
        if writer is None:
            from pyspark.sql.pandas.types import to_arrow_schema

            if spark_schema_ is None:
                raise EngineError("Spark wrote no output file")
            schema = to_arrow_schema(spark_schema_)
            writer = pq.ParquetWriter(out, schema, compression=_PQ_CODECS[compression])
    finally:
        if writer is not None:
            writer.close()


_STRPTIME = {
    "%Y": "yyyy",
    "%y": "yy",
    "%m": "MM",
    "%-m": "M",
    "%d": "dd",
    "%-d": "d",
    "%H": "HH",
    "%-H": "H",
    "%I": "hh",
    "%M": "mm",
    "%S": "ss",
    "%f": "SSSSSS",
    "%p": "a",
    "%b": "MMM",
    "%B": "MMMM",
    "%a": "EEE",
    "%A": "EEEE",
    "%j": "DDD",
    "%%": "%",
}


def strptime_to_java(fmt: str) -> str:
    """A strptime date/timestamp format (DuckDB's CSV options) as a Java DateTimeFormatter
    pattern (Spark's); unsupported directives are refused."""
    out: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            text = "".join(literal).replace("'", "''")
            out.append(text if all(ch in " -/:.," for ch in text) else f"'{text}'")
            literal.clear()

    i = 0
    while i < len(fmt):
        if fmt[i] == "%":
            key = fmt[i : i + 3] if fmt[i + 1 : i + 2] == "-" else fmt[i : i + 2]
            if key not in _STRPTIME:
                raise EngineError(
                    f"date format directive {key} is not supported by the Spark engine"
                )
            if key == "%%":
                literal.append("%")
            else:
                flush()
                out.append(_STRPTIME[key])
            i += len(key)
        else:
            literal.append(fmt[i])
            i += 1
    flush()
    return "".join(out)
