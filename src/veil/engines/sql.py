"""The one place where veil's engine-neutral expressions meet SQL text.

Transforms build sqlglot expression trees with the builders below and never write SQL text.
Each engine renders a plan with its dialect. Where two engines differ, the difference is
written here as data: a custom expression node (``Veil*``) and, per dialect, how it renders.

Known semantic gaps handled here:

* ``concat`` with NULL: DuckDB's ``concat`` skips NULLs, Spark's returns NULL. Builders use the
  ``||`` operator, which propagates NULL on both, and transforms guard NULL inputs explicitly.
* hex string to integer: DuckDB casts ``'0x…'`` strings, Spark needs ``conv``.
* adding days to a date or timestamp: different functions.
* raising an error from inside a query: ``error`` in DuckDB, ``raise_error`` in Spark.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.spark import Spark

# Characters treated as "content" by masking: any Unicode letter or digit. RE2 (DuckDB) and
# java.util.regex (Spark) accept the same \p{..} classes.
CONTENT_CLASS = r"[\p{L}\p{N}]"
NON_CONTENT_CLASS = r"[^\p{L}\p{N}]"


class VeilHexToInt(exp.Expression, exp.Func):
    """Unsigned integer value of a short (<= 15 hex digits) lowercase hex string."""

    arg_types = {"this": True}


class VeilAddDays(exp.Expression, exp.Func):
    """A date or timestamp plus an integer number of days."""

    arg_types = {"this": True, "days": True}


class VeilListAt(exp.Expression, exp.Func):
    """Element ``index`` (0-based) of a list."""

    arg_types = {"this": True, "index": True}


class VeilRaise(exp.Expression, exp.Func):
    """Fail the query with a fixed message (never a data value)."""

    arg_types = {"this": True}


def _duckdb_hex_to_int(gen: Any, e: VeilHexToInt) -> str:
    return f"CAST(('0x' || {gen.sql(e, 'this')}) AS BIGINT)"


def _spark_hex_to_int(gen: Any, e: VeilHexToInt) -> str:
    return f"CAST(CONV({gen.sql(e, 'this')}, 16, 10) AS BIGINT)"


def _duckdb_add_days(gen: Any, e: VeilAddDays) -> str:
    return f"({gen.sql(e, 'this')} + TO_DAYS(CAST({gen.sql(e, 'days')} AS INTEGER)))"


def _spark_add_days(gen: Any, e: VeilAddDays) -> str:
    return f"({gen.sql(e, 'this')} + MAKE_DT_INTERVAL(CAST({gen.sql(e, 'days')} AS INT)))"


class VeilDuckDB(DuckDB):
    class Generator(DuckDB.Generator):
        TRANSFORMS = {
            **DuckDB.Generator.TRANSFORMS,
            VeilHexToInt: _duckdb_hex_to_int,
            VeilAddDays: _duckdb_add_days,
            VeilRaise: lambda gen, e: f"ERROR({gen.sql(e, 'this')})",
            VeilListAt: lambda gen, e: (
                f"LIST_EXTRACT({gen.sql(e, 'this')}, {gen.sql(e, 'index')} + 1)"
            ),
        }


class VeilSpark(Spark):
    class Generator(Spark.Generator):
        TRANSFORMS = {
            **Spark.Generator.TRANSFORMS,
            VeilHexToInt: _spark_hex_to_int,
            VeilAddDays: _spark_add_days,
            VeilRaise: lambda gen, e: f"RAISE_ERROR({gen.sql(e, 'this')})",
            VeilListAt: lambda gen, e: (
                f"ELEMENT_AT({gen.sql(e, 'this')}, {gen.sql(e, 'index')} + 1)"
            ),
        }


DIALECTS: dict[str, type[sqlglot.Dialect]] = {"duckdb": VeilDuckDB, "spark": VeilSpark}


def render(expression: exp.Expression, dialect: str) -> str:
    """Render an expression tree to SQL text for one engine."""
    try:
        dialect_cls = DIALECTS[dialect]
    except KeyError:
        raise ValueError(f"unknown SQL dialect {dialect!r}; known: {sorted(DIALECTS)}") from None
    tree = expression.copy()
    for node in reversed(list(tree.walk())):
        if _needs_parens(node):
            node.replace(exp.Paren(this=node.copy()))
    return tree.sql(dialect=dialect_cls(), unsupported_level=sqlglot.ErrorLevel.RAISE)


_OPERATORS = (exp.Binary, exp.Unary)


def _needs_parens(node: exp.Expression) -> bool:
    """Trees built by hand carry no parentheses and sqlglot does not add them: every operator
    that is an operand of another operator is wrapped, so precedence is what the tree says."""
    if not isinstance(node, exp.Binary | exp.Neg | exp.Not) or isinstance(node, exp.Paren):
        return False
    parent = node.parent
    return isinstance(parent, _OPERATORS) and not isinstance(parent, exp.Paren)


# ---------------------------------------------------------------- builders used by transforms


def col(name: str, table: str | None = None) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def lit(value: str | int | float | bool | None) -> exp.Expression:
    if value is None:
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    return exp.Literal.number(value)


def cast(e: exp.Expression, to: str) -> exp.Cast:
    return exp.cast(e, exp.DataType.build(to, dialect="duckdb"))


def concat(*parts: exp.Expression) -> exp.Expression:
    """NULL-propagating string concatenation (the same on every engine)."""
    out = parts[0]
    for p in parts[1:]:
        out = exp.DPipe(this=out, expression=p, safe=False)
    return out


def if_null_then_null(value: exp.Expression, result: exp.Expression) -> exp.Expression:
    """``CASE WHEN value IS NULL THEN NULL ELSE result END``: keeps nulls null explicitly."""
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=value, expression=exp.null()), true=exp.null())],
        default=result,
    )


def case(whens: Sequence[tuple[exp.Expr, exp.Expr]], default: exp.Expression) -> exp.Case:
    return exp.Case(ifs=[exp.If(this=c, true=v) for c, v in whens], default=default)


def sha256_hex(data: exp.Expression) -> exp.Expression:
    """Lowercase hex SHA-256 of binary data."""
    return exp.SHA2(this=data, length=exp.Literal.number(256))


def unhex(hex_string: exp.Expression) -> exp.Expression:
    return exp.Unhex(this=hex_string)


def utf8_bytes(text: exp.Expression) -> exp.Expression:
    return exp.Encode(this=text, charset=exp.Literal.string("utf-8"))


def to_base64(data: exp.Expression) -> exp.Expression:
    return exp.ToBase64(this=data)


def hex_to_int(hex_string: exp.Expression) -> exp.Expression:
    return VeilHexToInt(this=hex_string)


def add_days(value: exp.Expression, days: exp.Expression) -> exp.Expression:
    return VeilAddDays(this=value, days=days)


def list_at(values: exp.Expression, index: exp.Expression) -> exp.Expression:
    return VeilListAt(this=values, index=index)


def raise_error(message: str) -> exp.Expression:
    return VeilRaise(this=exp.Literal.string(message))


def substring(
    e: exp.Expression, start: int | exp.Expression, length: int | exp.Expression
) -> exp.Expression:
    s = lit(start) if isinstance(start, int) else start
    n = lit(length) if isinstance(length, int) else length
    return exp.Substring(this=e, start=s, length=n)


def length(e: exp.Expression) -> exp.Expression:
    return exp.Length(this=e)


def left(e: exp.Expression, n: int) -> exp.Expression:
    return exp.Left(this=e, expression=lit(n))


def repeat(s: str, times: exp.Expression) -> exp.Expression:
    return exp.Repeat(this=lit(s), times=times)


def greatest(*args: exp.Expression) -> exp.Expression:
    return exp.Greatest(this=args[0], expressions=list(args[1:]))


def regexp_replace(e: exp.Expression, pattern: str, replacement: str) -> exp.Expression:
    """Replace every match (global) of an RE2/Java-compatible pattern."""
    return exp.RegexpReplace(
        this=e,
        expression=lit(pattern),
        replacement=lit(replacement),
        modifiers=lit("g"),
    )


def regexp_extract(e: exp.Expression, pattern: str, group: int = 1) -> exp.Expression:
    return exp.RegexpExtract(this=e, expression=lit(pattern), group=lit(group))


def lower(e: exp.Expression) -> exp.Expression:
    return exp.Lower(this=e)


def trim(e: exp.Expression) -> exp.Expression:
    """Strip leading and trailing whitespace of any kind (tabs, newlines), not only spaces."""
    return regexp_replace(e, r"^\s+|\s+$", "")


def as_text(e: exp.Expression, engine_type: str) -> exp.Expression:
    """A value as text for hashing and lookups; integral floats print without '.0' so that a
    float column holding 37.0 matches the text '37' (pandas turns int columns with NaN into
    floats)."""
    if engine_type == "VARCHAR":
        return e
    if engine_type in ("DOUBLE", "FLOAT", "REAL"):
        return case(
            [(exp.EQ(this=e, expression=floor(e)), cast(cast(e, "BIGINT"), "VARCHAR"))],
            cast(e, "VARCHAR"),
        )
    return cast(e, "VARCHAR")


def floor(e: exp.Expression) -> exp.Expression:
    return exp.Floor(this=e)


def func(name: str, *args: exp.Expression) -> exp.Expression:
    """A function that both dialects spell the same way (LN, SQRT, COS, ABS, SIGN, ROUND)."""
    out: exp.Expression = exp.func(name, *args)
    return out


def date_trunc(unit: str, e: exp.Expression) -> exp.Expression:
    return exp.TimestampTrunc(this=e, unit=exp.var(unit.upper()))


def parse_expression(sql: str) -> exp.Expression:
    """Parse a DuckDB-dialect SQL fragment (used by tests and tools, not by transforms)."""
    parsed: exp.Expression = sqlglot.parse_one(sql, read=VeilDuckDB)
    return parsed
