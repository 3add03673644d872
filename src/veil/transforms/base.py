"""What every transform is: typed parameters validated at policy load, and one method that
turns an input column into a vectorized, engine-neutral column expression.

A transform never sees data and never writes SQL text; it asks the :class:`PlanContext` for
column references, keyed hashes and lookup tables, and returns a sqlglot expression.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, Literal, Protocol

import pyarrow as pa
from pydantic import BaseModel, ConfigDict
from sqlglot import exp

InputKind = Literal["any", "string", "numeric", "date"]


class PlanContext(Protocol):
    """Services the planner offers to transforms while it builds column expressions."""

    base_dir: Path

    def source(self, column: str) -> exp.Expression:
        """Reference to an input column (the policy's columns are checked to exist)."""
        ...

    def column_type(self, column: str) -> str:
        """The input column's engine type, upper-case (VARCHAR, BIGINT, DOUBLE, DATE, ...)."""
        ...

    def hmac_hex(self, key: str, purpose: str, message: exp.Expression) -> exp.Expression:
        """Lowercase hex HMAC-SHA-256 of the UTF-8 bytes of ``message`` under a subkey of
        policy key ``key`` derived for ``purpose``. The key reaches the engine as a bound
        one-row table, never as SQL text."""
        ...

    def subkeys(self, key: str, purpose: str, length: int = 32) -> list[tuple[int, bytes]]:
        """``(version, subkey)`` for every available version of policy key ``key``, newest
        first, each derived with HKDF for ``purpose``. New values must be made under the first
        (newest); older ones serve only to recognise values made before a rotation. For UDF
        closures only: subkeys never go into expressions. The use is recorded in the manifest."""
        ...

    def share(self, expression: exp.Expression) -> exp.Expression:
        """Compute ``expression`` once per row, below the output projection, and return a
        reference to it (for values several output expressions or CASE branches use). It may
        refer to input columns and the context row only."""
        ...

    def pick(self, values: list[str], index: exp.Expression) -> exp.Expression:
        """Element ``index`` (0-based, an integer expression) of a constant list of strings,
        bound as a value of the one-row context table (cheap, keeps row order)."""
        ...

    def udf(
        self,
        name: str,
        fn: Callable[..., pa.Array],
        args: list[exp.Expression],
        arg_types: list[str],
        return_type: str,
    ) -> exp.Expression:
        """Call a vectorized Python function (Arrow arrays in, one Arrow array out) for what
        the engines cannot express natively (AES-SIV, FF1, vault lookups). ``fn`` receives
        whole batches, never single values; key material stays in its closure. Types are
        DuckDB type names."""
        ...

    def lookup(self, table: pa.Table, key: exp.Expression) -> exp.Expression:
        """Value of column ``v`` of ``table`` in the row whose column ``k`` equals ``key``
        (NULL when absent); the engine joins the table, which must have unique ``k``."""
        ...


class Transform(BaseModel):
    """Base of every transform's parameter model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    input_kind: ClassVar[InputKind] = "any"

    @abstractmethod
    def expression(self, column: str, ctx: PlanContext) -> exp.Expression | None:
        """The output column expression, or None when the column is dropped."""

    @abstractmethod
    def describe(self) -> str:
        """One line for `veil explain` (never a key or a data value)."""

    def key_names(self) -> list[str]:
        """Policy keys this transform uses."""
        return []

    def referenced_columns(self) -> list[str]:
        """Other input columns this transform reads (checked to exist at load)."""
        return []

    @property
    def is_reversible(self) -> bool:
        return False
