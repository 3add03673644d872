"""The engine protocol: what `veil run` needs from an execution engine.

Plans are engine-neutral; an engine reads the input schema, registers the plan's bound tables
and UDFs, renders the plan with its SQL dialect (see :mod:`veil.engines.sql`) and writes the
output to the path it is given (the caller makes it atomic). Types in schemas are DuckDB type
names, the plan's lingua franca; engines translate their own types to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from veil.plan import Plan
from veil.policy.model import SourceSpec
from veil.transforms.base import InputKind

ProgressCallback = Callable[[float], None]


@dataclass(frozen=True)
class ExecResult:
    rows_out: int
    rows_rejected: int


class Engine(Protocol):
    name: str

    @property
    def version(self) -> str: ...

    def read_schema(
        self, source: SourceSpec, files: list[Path], required: dict[str, InputKind] | None = None
    ) -> tuple[dict[str, str], dict[str, str] | None]: ...

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
    ) -> ExecResult: ...

    def transform_table(self, table: Any, plan: Plan) -> Any: ...

    def table_schema(self, table: Any) -> dict[str, str]: ...


def get_engine(name: str, **options: Any) -> Engine:
    """Engine by name: ``duckdb`` (embedded, default) or ``spark``."""
    if name == "duckdb":
        from veil.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(
            threads=options.get("threads"), memory_limit=options.get("memory_limit")
        )
    if name == "spark":
        try:
            from veil.engines.spark_engine import SparkEngine  # type: ignore[import-not-found,unused-ignore]
        except ImportError as e:
            from veil.errors import EngineError

            raise EngineError(f"the Spark engine is not available: {e}") from None
        engine: Engine = SparkEngine(**options)
        return engine
    from veil.errors import EngineError

    raise EngineError(f"unknown engine {name!r}; available: duckdb, spark")
