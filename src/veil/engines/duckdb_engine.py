"""The embedded engine: DuckDB executes a plan as one streaming COPY from source to output.

Memory stays bounded for inputs larger than memory: DuckDB streams the scan, the projection and
the writer, and joins only small lookup tables. Key material reaches DuckDB as a registered
one-row Arrow table; SQL text holds column and table names only.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from veil.engines import duckdb_udfs, sql
from veil.engines.base import ExecResult, ProgressCallback
from veil.errors import DataError, EngineError, VeilError
from veil.plan import SOURCE_TABLE, Plan, kind_accepts
from veil.policy.model import SourceSpec
from veil.transforms.base import InputKind

_REJECTS = "__veil_rejects"
_REJECT_SCANS = "__veil_reject_scans"


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _file_list(files: list[Path]) -> str:
    return "[" + ", ".join(_q(str(f)) for f in files) + "]"


def translate_error(err: Exception, files: list[Path] | None = None) -> VeilError:
    """A DuckDB error as a veil error: file, line and column kept, data values dropped."""
    text = str(err)
    line_m = re.search(r"CSV Error on Line: (\d+)", text)
    file_m = re.search(r"^\s*file = (.+)$", text, re.M)
    col_m = re.search(r'converting column "([^"]+)"', text)
    file = (
        file_m.group(1).strip()
        if file_m
        else (str(files[0]) if files and len(files) == 1 else None)
    )
    line = int(line_m.group(1)) if line_m else None
    column = col_m.group(1) if col_m else None
    where = ", ".join(
        p
        for p in (
            f"file {file}" if file else "",
            f"line {line}" if line else "",
            f"column {column!r}" if column else "",
        )
        if p
    )
    if "Could not convert" in text or "Conversion Error" in text:
        target = re.search(r"to '([A-Z]+)'", text)
        what = (
            f"a value that is not a valid {target.group(1)}" if target else "an unconvertible value"
        )
        return DataError(f"{where}: {what}", file=file, line=line, column=column)
    if "Expected Number of Columns" in text:
        m = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
        detail = (
            f"expected {m.group(1)} fields, found {m.group(2)}" if m else "wrong number of fields"
        )
        return DataError(f"{where}: {detail}", file=file, line=line)
    if "Invalid unicode" in text or "INVALID ENCODING" in text:
        return DataError(
            f"{where}: bytes that are not valid in the declared encoding", file=file, line=line
        )
    if line_m:
        first = text.splitlines()[0]
        kind = first.split(":", 1)[0]
        return DataError(f"{where}: malformed CSV ({kind})", file=file, line=line)
    # Errors raised on purpose by plan expressions carry fixed, value-free messages.
    m = re.search(r"Invalid Input Error: (.*)", text)
    if m and isinstance(err, duckdb.InvalidInputException) and "CSV" not in text:
        msg = m.group(1).strip().splitlines()[0]
        return DataError(msg)
    if isinstance(err, duckdb.IOException):
        return DataError(f"cannot read input: {text.splitlines()[0]}")
    # Anything else: report the error class only; its text may quote data.
    return EngineError(f"DuckDB failed ({type(err).__name__}); no data was written")


class DuckDBEngine:
    name = "duckdb"

    DEFAULT_MEMORY_LIMIT = "2GB"
    """DuckDB's own COPY ... TO parquet grows with the input under its default limit (80% of
    RAM): 2.1 GiB at 10M rows, 3.5 GiB at 20M (bench/memory.py). A 2 GB limit keeps the peak
    flat (1.2 GiB at 10M and at 20M rows) while preserving row order. 1 GB is flat too (0.9
    GiB) but makes the order-preserving writer wait: 57 s instead of 33 s for the 10M-row bench
    policy. Pass memory_limit to change it."""

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        self.threads = threads
        self.memory_limit = memory_limit or self.DEFAULT_MEMORY_LIMIT

    @property
    def version(self) -> str:
        return str(duckdb.__version__)

    def connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(config={"enable_external_access": True})
        duckdb_udfs.register(con)
        if self.threads:
            con.execute(f"SET threads = {int(self.threads)}")
        if self.memory_limit:
            con.execute(f"SET memory_limit = {_q(self.memory_limit)}")
        return con

    # ---------------------------------------------------------------- sources
    def _csv_columns(
        self, con: duckdb.DuckDBPyConnection, source: SourceSpec, files: list[Path]
    ) -> dict[str, str]:
        o = source.csv
        opts = [
            f"delim = {_q(o.delimiter)}",
            f"header = {str(o.header).lower()}",
            f"quote = {_q(o.quote)}",
            f"escape = {_q(o.escape)}",
            "ignore_errors = true",
            "sample_size = 20480",
        ]
        if o.encoding != "utf-8":
            opts.append(f"encoding = {_q(o.encoding)}")
        if o.date_format:
            opts.append(f"dateformat = {_q(o.date_format)}")
        if o.timestamp_format:
            opts.append(f"timestampformat = {_q(o.timestamp_format)}")
        try:
            row = con.execute(
                f"SELECT Columns FROM sniff_csv({_q(str(files[0]))}, {', '.join(opts)})"
            ).fetchone()
        except duckdb.Error as e:
            raise translate_error(e, files) from None
        assert row is not None
        return {c["name"]: c["type"] for c in row[0]}

    def source_sql(
        self,
        source: SourceSpec,
        files: list[Path],
        columns: dict[str, str] | None = None,
        reject: bool = False,
    ) -> str:
        fmt = source.resolved_format()
        if fmt == "parquet":
            return f"read_parquet({_file_list(files)}, union_by_name = true)"
        if fmt == "jsonl":
            return f"read_json({_file_list(files)}, format = 'newline_delimited', union_by_name = true)"
        o = source.csv
        assert columns is not None
        cols = "{" + ", ".join(f"{_q(n)}: {_q(t)}" for n, t in columns.items()) + "}"
        opts = [
            f"columns = {cols}",
            "auto_detect = false",
            f"header = {str(o.header).lower()}",
            f"delim = {_q(o.delimiter)}",
            f"quote = {_q(o.quote)}",
            f"escape = {_q(o.escape)}",
            f"nullstr = [{', '.join(_q(s) for s in o.null_strings)}]",
            "strict_mode = true",
        ]
        if o.encoding != "utf-8":
            opts.append(f"encoding = {_q(o.encoding)}")
        if o.date_format:
            opts.append(f"dateformat = {_q(o.date_format)}")
        if o.timestamp_format:
            opts.append(f"timestampformat = {_q(o.timestamp_format)}")
        if reject:
            opts += [
                "store_rejects = true",
                f"rejects_table = {_q(_REJECTS)}",
                f"rejects_scan = {_q(_REJECT_SCANS)}",
            ]
        return f"read_csv({_file_list(files)}, {', '.join(opts)})"

    def read_schema(
        self, source: SourceSpec, files: list[Path], required: dict[str, InputKind] | None = None
    ) -> tuple[dict[str, str], dict[str, str] | None]:
        """Column types of the input (after forcing the types transforms need, for CSV).

        Returns (schema, csv_columns); csv_columns is what the CSV reader is told."""
        required = required or {}
        con = self.connect()
        try:
            if source.resolved_format() == "csv":
                cols = self._csv_columns(con, source, files)
                for name, kind in required.items():
                    if name in cols and not kind_accepts(kind, cols[name].upper()):
                        cols[name] = "DOUBLE" if kind == "numeric" else "DATE"
                return dict(cols), cols
            try:
                rows = con.execute(
                    f"DESCRIBE SELECT * FROM {self.source_sql(source, files)}"
                ).fetchall()
            except duckdb.Error as e:
                raise translate_error(e, files) from None
            return {r[0]: str(r[1]) for r in rows}, None
        finally:
            con.close()

    # ---------------------------------------------------------------- execution
    def _register(self, con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
        for name, table in plan.tables().items():
            con.register(name, table)
        from duckdb import func as ddb_func

        for u in plan.udfs:
            params: Any = [duckdb.sqltype(t) for t in u.arg_types]
            con.create_function(
                u.name,
                u.fn,
                params,
                duckdb.sqltype(u.return_type),
                type=ddb_func.PythonUDFType.ARROW,
                null_handling=ddb_func.FunctionNullHandling.SPECIAL,
                exception_handling=duckdb.PythonExceptionHandling.DEFAULT,  # raise, never NULL
                side_effects=False,
            )

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
        con = self.connect()
        try:
            reject = quarantine_path is not None
            src = self.source_sql(source, files, csv_columns, reject=reject)
            con.execute(f"CREATE TEMP VIEW {SOURCE_TABLE} AS SELECT * FROM {src}")
            self._register(con, plan)
            query = sql.render(plan.select(), "duckdb")
            opts = [f"FORMAT {'json' if out_format == 'jsonl' else out_format}"]
            if out_format == "parquet":
                opts.append(f"COMPRESSION {compression}")
            if out_format == "csv":
                opts.append("HEADER true")
            if partition_by:
                opts.append("PARTITION_BY (" + ", ".join(f'"{p}"' for p in partition_by) + ")")
            copy = f"COPY ({query}) TO {_q(str(out_path))} ({', '.join(opts)})"
            rows_out = self._run_with_progress(con, copy, files, progress)
            rejected = 0
            if reject and quarantine_path is not None:
                rejected = self._write_quarantine(con, quarantine_path)
            return ExecResult(rows_out=rows_out, rows_rejected=rejected)
        finally:
            con.close()

    def _run_with_progress(
        self,
        con: duckdb.DuckDBPyConnection,
        statement: str,
        files: list[Path],
        progress: ProgressCallback | None,
    ) -> int:
        result: dict[str, Any] = {}

        def work() -> None:
            try:
                row = con.execute(statement).fetchone()
                result["rows"] = int(row[0]) if row else 0
            except BaseException as e:  # re-raised in the calling thread
                result["error"] = e

        if progress is None:
            work()
        else:
            t = threading.Thread(target=work, name="veil-duckdb", daemon=True)
            t.start()
            while t.is_alive():
                t.join(0.2)
                try:
                    p = float(con.query_progress())
                except duckdb.Error:
                    p = -1.0
                if p >= 0:
                    progress(min(p, 100.0))
            progress(100.0)
        if "error" in result:
            e = result["error"]
            if isinstance(e, duckdb.Error):
                raise translate_error(e, files) from None
            raise e
        return int(result["rows"])

    def _write_quarantine(self, con: duckdb.DuckDBPyConnection, path: Path) -> int:
        from veil.io.atomic import atomic_path

        row = con.execute(
            f"SELECT count(DISTINCT (scan_id, file_id, line)) FROM {_REJECTS}"
        ).fetchone()
        count = int(row[0]) if row else 0
        with atomic_path(path, overwrite=True) as tmp:
            con.execute(
                # One record per bad line: DuckDB reports one error per missing column.
                f"""COPY (SELECT s.file_path AS file, r.line,
                                 array_to_string(list_sort(list(DISTINCT r.column_name)), ';')
                                     AS column,
                                 array_to_string(
                                     list_sort(list(DISTINCT CAST(r.error_type AS VARCHAR))), ';'
                                 ) AS error,
                                 any_value(r.csv_line) AS raw_line
                          FROM {_REJECTS} r JOIN {_REJECT_SCANS} s USING (scan_id, file_id)
                          GROUP BY s.file_path, r.line
                          ORDER BY s.file_path, r.line)
                    TO {_q(str(tmp))} (FORMAT csv, HEADER true)"""
            )
        return count

    def histogram(
        self,
        source: SourceSpec,
        files: list[Path],
        csv_columns: dict[str, str] | None,
        qis: list[str],
        sensitive: list[str],
        *,
        skip_bad_rows: bool = False,
    ) -> Any:
        """The quasi-identifier histogram (``veil.privacy.Histogram``) in one GROUP BY."""
        con = self.connect()
        try:
            src = self.source_sql(source, files, csv_columns, reject=skip_bad_rows)
            con.execute(f"CREATE TEMP VIEW {SOURCE_TABLE} AS SELECT * FROM {src}")
            return self._histogram(con, qis, sensitive, files)
        finally:
            con.close()

    def table_histogram(self, table: pa.Table, qis: list[str], sensitive: list[str]) -> Any:
        """The histogram of an in-memory table (``veil.anonymize``)."""
        con = self.connect()
        try:
            con.register(SOURCE_TABLE, table)
            return self._histogram(con, qis, sensitive)
        finally:
            con.close()

    @staticmethod
    def _histogram(
        con: duckdb.DuckDBPyConnection,
        qis: list[str],
        sensitive: list[str],
        files: list[Path] | None = None,
    ) -> Any:
        from veil.anonymization import histogram_query
        from veil.privacy import histogram_from_arrow

        query = sql.render(histogram_query(qis, sensitive), "duckdb")
        try:
            return histogram_from_arrow(con.sql(query).to_arrow_table(), qis, sensitive)
        except duckdb.Error as e:
            raise translate_error(e, files) from None

    def transform_table(self, table: pa.Table, plan: Plan) -> pa.Table:
        con = self.connect()
        try:
            con.register(SOURCE_TABLE, table)
            self._register(con, plan)
            try:
                return con.sql(sql.render(plan.select(), "duckdb")).to_arrow_table()
            except duckdb.Error as e:
                raise translate_error(e) from None
        finally:
            con.close()

    def table_schema(self, table: pa.Table) -> dict[str, str]:
        con = self.connect()
        try:
            con.register("__veil_probe", table)
            return {r[0]: str(r[1]) for r in con.execute("DESCRIBE __veil_probe").fetchall()}
        finally:
            con.close()

    def elapsed_probe(self) -> float:
        return time.perf_counter()
