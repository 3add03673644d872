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

Where the same spelling computes different values (number formatting, rounding, libm,
regular expressions, lower-casing, date truncation), :func:`prepare_for_spark` rewrites the
tree for Spark using the input types; see the "Spark: semantic parity" comment block.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.spark import Spark
from sqlglot.errors import UnsupportedError

from veil import native
from veil.errors import EngineError

# Characters treated as "content" by masking: any Unicode letter or digit. RE2 (DuckDB) and
# java.util.regex (Spark) accept the same \p{..} classes.
CONTENT_CLASS = r"[\p{L}\p{N}]"
NON_CONTENT_CLASS = r"[^\p{L}\p{N}]"


class VeilHexToInt(exp.Expression, exp.Func):
    """Unsigned integer value of a short (<= 15 hex digits) lowercase hex string."""

    arg_types = {"this": True}


class VeilAddDays(exp.Expression, exp.Func):
    """A date or timestamp plus an integer number of days (``date``: the value is a DATE;
    set by :func:`prepare_for_spark`, which knows the types)."""

    arg_types = {"this": True, "days": True, "date": False}


class VeilListAt(exp.Expression, exp.Func):
    """Element ``index`` (0-based) of a list."""

    arg_types = {"this": True, "index": True}


class VeilRaise(exp.Expression, exp.Func):
    """Fail the query with a fixed message (never a data value)."""

    arg_types = {"this": True}


class VeilHmacSha256Hex(exp.Expression, exp.Func):
    """Lowercase hex HMAC-SHA-256 (RFC 2104) of the UTF-8 bytes of the text ``this``. ``inner``
    and ``outer`` are the key's two 64-byte pad blocks, columns of the key table (never literals:
    key material stays out of SQL text)."""

    arg_types = {"this": True, "inner": True, "outer": True}


HMAC_SHA256_HEX = "__veil_hmac_sha256_hex"
"""DuckDB helper (veil.engines.duckdb_udfs, native code): the HMAC in two SHA-256 compressions."""


def _hmac_in_sql(e: VeilHmacSha256Hex) -> exp.Expression:
    """The HMAC as plain SQL: sha256(opad || sha256(ipad || message)), four compressions."""
    inner = sha256_hex(concat(e.args["inner"], utf8_bytes(e.this)))
    return sha256_hex(concat(e.args["outer"], unhex(inner)))


def _duckdb_hmac(gen: Any, e: VeilHmacSha256Hex) -> str:
    if not native.hmac_enabled():
        return str(gen.sql(_hmac_in_sql(e)))
    args = ", ".join(gen.sql(e, part) for part in ("this", "inner", "outer"))
    return f"{HMAC_SHA256_HEX}({args})"


def _duckdb_hex_to_int(gen: Any, e: VeilHexToInt) -> str:
    return f"CAST(('0x' || {gen.sql(e, 'this')}) AS BIGINT)"


def _spark_hex_to_int(gen: Any, e: VeilHexToInt) -> str:
    return f"CAST(CONV({gen.sql(e, 'this')}, 16, 10) AS BIGINT)"


def _duckdb_add_days(gen: Any, e: VeilAddDays) -> str:
    return f"({gen.sql(e, 'this')} + TO_DAYS(CAST({gen.sql(e, 'days')} AS INTEGER)))"


def _spark_add_days(gen: Any, e: VeilAddDays) -> str:
    return f"({gen.sql(e, 'this')} + MAKE_DT_INTERVAL(CAST({gen.sql(e, 'days')} AS INT)))"


# ====================================================================== Spark: semantic parity
#
# Rendering is not enough for Spark: several functions that both engines spell the same way
# compute different values. :func:`prepare_for_spark` rewrites a plan's tree (using the column
# types of the relations it reads) into one whose Spark rendering computes exactly what DuckDB
# computes, or refuses with :class:`~veil.errors.EngineError`. Each rule, DuckDB vs Spark:
#
# * DOUBLE -> text: DuckDB prints the shortest round-trip digits in Python's ``repr`` layout
#   (``1e+16``, ``1e-05``, ``100.0``); Spark prints Java's ``Double.toString`` (``1.0E16``),
#   which on Java 17 is not always the shortest. -> helper UDF :data:`SPARK_FLOAT_TEXT`
#   (exact: Python ``repr``). FLOAT (32-bit) -> text follows no rule we can reproduce (DuckDB
#   mostly prints the shortest float digits, sometimes the double's): refused.
# * DOUBLE -> integer cast: DuckDB rounds half to even, Spark truncates. -> ``BROUND(x, 0)``
#   first (DECIMAL -> integer: DuckDB rounds half away from zero -> ``ROUND(x, 0)``).
# * ``ROUND(double, d)``, d > 0: DuckDB computes ``round(x·10^d)/10^d`` in binary floating
#   point; Spark rounds the decimal string. -> the same formula in Spark.
# * ``FLOOR(double)``: DuckDB returns DOUBLE, Spark BIGINT (saturating past 2^63). -> an
#   expression that returns DOUBLE and keeps integral values (and -0.0) as they are.
# * ``LN``/``COS``/``SIN``/``EXP``: DuckDB calls the C library, Spark the JVM's math; they
#   differ in the last bit (measured: 7.5% of LN, 0.2% of COS results on uniform inputs). -> helper UDFs calling the C library
#   through Python's ``math`` (``exact_math=False`` keeps Spark's own, documented as not
#   bit-identical).
# * ``LOWER``: Java applies special casing (U+0130 -> 'i̇', final sigma -> 'ς'); DuckDB maps
#   code point by code point. -> ``LOWER(TRANSLATE(x, 'İΣ', 'iσ'))``.
# * regular expressions: RE2 (DuckDB) vs java.util.regex (Spark): ``$`` also matches before a
#   final newline in Java, ``.`` stops at \r and other line terminators, ``\s`` includes \v,
#   ``\b`` is Unicode-aware on Java 17, ``(?i)`` is ASCII-only. -> :func:`re2_to_java`.
# * ``date_trunc``: Spark's truncates a TIMESTAMP in the session time zone. -> ``TRUNC`` on
#   the DATE part (tz-free) for DATE and TIMESTAMP (no time zone) inputs.
# * adding days: DuckDB ``+ TO_DAYS(n)``; Spark ``DATE_ADD`` for DATE, ``+ MAKE_DT_INTERVAL``
#   for TIMESTAMP.
# * decimal literals (``0.5``): DECIMAL in both, but Spark keeps DECIMAL arithmetic where
#   DuckDB's operands turn DOUBLE (Spark's FLOOR returns BIGINT, BIGINT * DECIMAL = DECIMAL).
#   -> every non-integer literal is a DOUBLE literal (``0.5D``) in Spark.
# * UDF arguments: DuckDB casts arguments to the declared parameter types, Spark does not.
#   -> explicit casts.
#
# Refused on Spark (EngineError): FLOAT -> text, TIMESTAMP WITH TIME ZONE values in time-zone
# dependent operations (text, truncation, day arithmetic, year/month/day), BLOB -> text, types
# Spark lacks (TIMESTAMP_NS/_MS/_S, TIME, HUGEINT, unsigned integers, UUID, INTERVAL, JSON, BIT),
# regular expression constructs whose meaning differs (POSIX classes, back-references,
# inline flags other than i, lookarounds), and replacement texts containing '$' or '\'.

SPARK_FLOAT_TEXT = "__veil_float_text"
SPARK_LIBM: dict[type[exp.Expression], str] = {
    exp.Ln: "__veil_libm_ln",
    exp.Cos: "__veil_libm_cos",
    exp.Sin: "__veil_libm_sin",
    exp.Exp: "__veil_libm_exp",
}
SPARK_HELPERS: dict[str, tuple[tuple[str, ...], str]] = {
    SPARK_FLOAT_TEXT: (("DOUBLE",), "VARCHAR"),
    **{name: (("DOUBLE",), "DOUBLE") for name in SPARK_LIBM.values()},
}
"""Helper UDFs the Spark rendering may call: name -> (argument types, return type). Their
Python implementations are in :mod:`veil.engines.spark_udfs`."""

_TWO_52 = 4503599627370496.0


class VeilRoundDouble(exp.Expression, exp.Func):
    """``ROUND(x, digits)`` of a DOUBLE the way DuckDB computes it: round(x·10^d)/10^d, the
    input itself when that overflows."""

    arg_types = {"this": True, "digits": True}


class VeilFloorDouble(exp.Expression, exp.Func):
    """``FLOOR`` of a DOUBLE as a DOUBLE (integral values, -0.0, inf and NaN unchanged)."""

    arg_types = {"this": True}


class VeilTruncDate(exp.Expression, exp.Func):
    """Truncate a DATE (``timestamp`` false) or a TIMESTAMP without time zone to a unit, time
    zone independent."""

    arg_types = {"this": True, "unit": True, "timestamp": True}


def _spark_add_days_typed(gen: Any, e: VeilAddDays) -> str:
    if e.args.get("date"):
        return f"DATE_ADD({gen.sql(e, 'this')}, CAST({gen.sql(e, 'days')} AS INT))"
    return _spark_add_days(gen, e)


def _spark_round_double(gen: Any, e: VeilRoundDouble) -> str:
    x = gen.sql(e, "this")
    m = f"{float(10 ** int(e.args['digits'].this))!r}D"
    r = f"(ROUND(({x}) * {m}, 0) / {m})"
    return f"CASE WHEN ISNAN({r}) OR ABS({r}) = CAST('Infinity' AS DOUBLE) THEN ({x}) ELSE {r} END"


def _spark_floor_double(gen: Any, e: VeilFloorDouble) -> str:
    x = gen.sql(e, "this")
    f = f"CAST(FLOOR({x}) AS DOUBLE)"
    return f"CASE WHEN NOT (ABS({x}) < {_TWO_52!r}D) OR ({x}) = {f} THEN ({x}) ELSE {f} END"


def _spark_trunc_date(gen: Any, e: VeilTruncDate) -> str:
    unit = str(e.args["unit"].name).upper()
    x = gen.sql(e, "this")
    if e.args.get("timestamp"):
        day = f"CAST({x} AS DATE)"
        truncated = day if unit == "DAY" else f"TRUNC({day}, '{unit}')"
        return f"CAST({truncated} AS TIMESTAMP_NTZ)"
    return x if unit == "DAY" else f"TRUNC({x}, '{unit}')"


def _duckdb_trunc_date(gen: Any, e: VeilTruncDate) -> str:
    return f"DATE_TRUNC('{str(e.args['unit'].name).upper()}', {gen.sql(e, 'this')})"


def _string_arg(e: exp.Expression, what: str) -> str:
    if not isinstance(e, exp.Literal) or not e.is_string:
        raise UnsupportedError(f"{what} must be a constant string on Spark")
    return str(e.this)


_WORD = "[A-Za-z0-9_]"
_RE2_SPACE = r"\t\n\f\r "


def re2_to_java(pattern: str) -> str:
    """An RE2 pattern (DuckDB) rewritten so that java.util.regex (Spark) matches the same
    strings the same way, for the constructs transforms use; anything else is refused."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise UnsupportedError(f"regular expression {pattern!r} ends with a backslash")
            d = pattern[i + 1]
            if d in "sS":
                body = _RE2_SPACE
                if d == "s":
                    out.append(body if in_class else f"[{body}]")
                else:
                    out.append(f"[^{body}]")  # inside a class: Java's nested class is a union
            elif d in "bB" and not in_class:
                before, after = f"(?<={_WORD})", f"(?={_WORD})"
                nb, na = f"(?<!{_WORD})", f"(?!{_WORD})"
                out.append(
                    f"(?:{before}{na}|{nb}{after})" if d == "b" else f"(?:{before}{after}|{nb}{na})"
                )
            elif d in "pP":
                if i + 2 < n and pattern[i + 2] == "{":
                    j = pattern.index("}", i)
                    out.append(pattern[i : j + 1])
                    i = j + 1
                else:
                    out.append(pattern[i : i + 3])
                    i += 3
                class_start = False
                continue
            elif d.isdigit() or d in "CQEbBAzZ":
                if d in "Az" and not in_class:
                    out.append(pattern[i : i + 2])
                else:
                    raise UnsupportedError(
                        f"regular expression {pattern!r}: \\{d} differs on Spark"
                    )
            else:
                out.append(pattern[i : i + 2])
            i += 2
            class_start = False
            continue
        if in_class:
            if c == "]" and not class_start:
                in_class = False
                out.append(c)
            elif c == "[":
                if pattern.startswith("[:", i):
                    raise UnsupportedError(f"regular expression {pattern!r}: POSIX classes")
                out.append("\\[")  # literal in RE2, a nested class in Java
            elif c == "&" and pattern.startswith("&&", i):
                out.append("\\&")  # literal in RE2, an intersection in Java
            elif c == "]":
                out.append("\\]")  # a leading ']' is literal in RE2
            elif c == "^" and class_start and out[-1] == "[":
                out.append(c)
                i += 1
                continue
            else:
                out.append(c)
            class_start = False
            i += 1
            continue
        if c == "[":
            in_class, class_start = True, True
            out.append(c)
        elif c == ".":
            out.append("[^\\n]")
        elif c == "$":
            out.append("\\z")
        elif c == "(" and pattern.startswith("(?", i):
            rest = pattern[i + 2 :]
            if rest.startswith(":"):
                out.append("(?:")
                i += 3
                continue
            if rest.startswith("P<"):
                out.append("(?<")
                i += 4
                continue
            if rest.startswith("i)") or rest.startswith("i:"):
                out.append("(?iu" + rest[1])
                i += 4
                continue
            raise UnsupportedError(f"regular expression {pattern!r}: group flags differ on Spark")
        else:
            out.append(c)
        i += 1
    if in_class:
        raise UnsupportedError(f"regular expression {pattern!r}: unterminated character class")
    return "".join(out)


def _spark_regexp_replace(gen: Any, e: exp.RegexpReplace) -> str:
    modifiers = e.args.get("modifiers")
    if modifiers is None or _string_arg(modifiers, "a regexp_replace modifier") != "g":
        raise UnsupportedError("regexp_replace without the 'g' modifier (first match only)")
    pattern = re2_to_java(_string_arg(e.expression, "a regular expression"))
    replacement = _string_arg(e.args["replacement"], "a regexp_replace replacement")
    if "$" in replacement or "\\" in replacement:
        raise UnsupportedError("regexp_replace replacements with '$' or '\\' differ on Spark")
    return (
        f"REGEXP_REPLACE({gen.sql(e, 'this')}, {gen.sql(exp.Literal.string(pattern))}, "
        f"{gen.sql(exp.Literal.string(replacement))})"
    )


def _spark_regexp_extract(gen: Any, e: exp.RegexpExtract) -> str:
    pattern = re2_to_java(_string_arg(e.expression, "a regular expression"))
    group = gen.sql(e, "group") if e.args.get("group") is not None else "0"
    return f"REGEXP_EXTRACT({gen.sql(e, 'this')}, {gen.sql(exp.Literal.string(pattern))}, {group})"


def _spark_regexp_like(gen: Any, e: exp.RegexpLike) -> str:
    if e.args.get("flag") is not None:
        raise UnsupportedError("regexp_matches flags differ on Spark")
    pattern = re2_to_java(_string_arg(e.expression, "a regular expression"))
    return f"({gen.sql(e, 'this')} RLIKE {gen.sql(exp.Literal.string(pattern))})"


_SPARK_TYPES: dict[str, str] = {
    "BOOLEAN": "BOOLEAN",
    "TINYINT": "TINYINT",
    "SMALLINT": "SMALLINT",
    "INT": "INT",
    "BIGINT": "BIGINT",
    "FLOAT": "FLOAT",
    "DOUBLE": "DOUBLE",
    "TEXT": "STRING",
    "VARCHAR": "STRING",
    "CHAR": "STRING",
    "NVARCHAR": "STRING",
    "NCHAR": "STRING",
    "BINARY": "BINARY",
    "VARBINARY": "BINARY",
    "BLOB": "BINARY",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP_NTZ",
    "TIMESTAMPNTZ": "TIMESTAMP_NTZ",
    "TIMESTAMPTZ": "TIMESTAMP",
    "TIMESTAMPLTZ": "TIMESTAMP",
}


# DuckDB: RE2 with the Unicode classes \p{L}\p{N} is slow (about 1.3 µs per short value for a
# masking pattern) and the same pattern with ASCII classes is twenty times faster. On an ASCII
# value (byte length = character length) both classes match the same characters, so patterns using
# the content classes get an ASCII branch; masking every content character of an ASCII value with
# an ASCII character is a vectorized byte table (veil.engines.duckdb_udfs). Same results, always.
MASK_ASCII_CONTENT = "__veil_mask_ascii_content"
"""DuckDB helper (veil.engines.duckdb_udfs): mask the ASCII letters and digits of ASCII text."""


def _ascii_pattern(pattern: exp.Expression) -> str | None:
    """The pattern with its content classes spelled in ASCII, or None if it has none (or uses
    other Unicode classes, which have no ASCII spelling here)."""
    if not pattern.is_string or CONTENT_CLASS[1:-1] not in pattern.this:
        return None
    text = pattern.this.replace(NON_CONTENT_CLASS, "[^A-Za-z0-9]")
    text = text.replace(CONTENT_CLASS, "[A-Za-z0-9]")
    return None if "\\p" in text or "\\P" in text else text


def _ascii_fast_path(gen: Any, e: exp.Expression, ascii_sql: str, unicode_sql: str) -> str:
    x = gen.sql(e, "this")
    return f"CASE WHEN STRLEN({x}) = LENGTH({x}) THEN {ascii_sql} ELSE {unicode_sql} END"


def _duckdb_regexp_replace(gen: Any, e: exp.RegexpReplace) -> str:
    x = gen.sql(e, "this")
    pattern, replacement = e.expression, e.args["replacement"]
    modifiers = e.args.get("modifiers")
    tail = f", {gen.sql(replacement)}" + (f", {gen.sql(modifiers)}" if modifiers else "")
    unicode_sql = f"REGEXP_REPLACE({x}, {gen.sql(pattern)}{tail})"
    ascii_pattern = _ascii_pattern(pattern)
    if ascii_pattern is None:
        return unicode_sql
    char = replacement.this if replacement.is_string else ""
    if (
        pattern.this == CONTENT_CLASS
        and modifiers is not None
        and modifiers.is_string
        and modifiers.this == "g"
        and len(char) == 1
        and char.isascii()
    ):
        ascii_sql = f"{MASK_ASCII_CONTENT}({x}, {gen.sql(replacement)})"
    else:
        ascii_sql = f"REGEXP_REPLACE({x}, {gen.sql(exp.Literal.string(ascii_pattern))}{tail})"
    return _ascii_fast_path(gen, e, ascii_sql, unicode_sql)


def _duckdb_regexp_extract(gen: Any, e: exp.RegexpExtract) -> str:
    x = gen.sql(e, "this")
    pattern = e.expression
    group = f", {gen.sql(e, 'group')}" if e.args.get("group") is not None else ""
    unicode_sql = f"REGEXP_EXTRACT({x}, {gen.sql(pattern)}{group})"
    ascii_pattern = _ascii_pattern(pattern)
    if ascii_pattern is None:
        return unicode_sql
    ascii_sql = f"REGEXP_EXTRACT({x}, {gen.sql(exp.Literal.string(ascii_pattern))}{group})"
    return _ascii_fast_path(gen, e, ascii_sql, unicode_sql)


class VeilDuckDB(DuckDB):
    class Generator(DuckDB.Generator):
        TRANSFORMS = {
            **DuckDB.Generator.TRANSFORMS,
            VeilHexToInt: _duckdb_hex_to_int,
            VeilHmacSha256Hex: _duckdb_hmac,
            VeilAddDays: _duckdb_add_days,
            VeilRaise: lambda gen, e: f"ERROR({gen.sql(e, 'this')})",
            VeilListAt: lambda gen, e: (
                f"LIST_EXTRACT({gen.sql(e, 'this')}, {gen.sql(e, 'index')} + 1)"
            ),
            # Produced only by prepare_for_spark; DuckDB's spelling of the same computation.
            VeilRoundDouble: lambda gen, e: f"ROUND({gen.sql(e, 'this')}, {gen.sql(e, 'digits')})",
            VeilFloorDouble: lambda gen, e: f"FLOOR({gen.sql(e, 'this')})",
            VeilTruncDate: _duckdb_trunc_date,
            exp.RegexpReplace: _duckdb_regexp_replace,
            exp.RegexpExtract: _duckdb_regexp_extract,
        }


class VeilSpark(Spark):
    """Spark SQL with veil's parity rules (see the comment block above the helpers)."""

    class Generator(Spark.Generator):
        TRANSFORMS = {
            **Spark.Generator.TRANSFORMS,
            VeilHexToInt: _spark_hex_to_int,
            VeilHmacSha256Hex: lambda gen, e: gen.sql(_hmac_in_sql(e)),
            VeilAddDays: _spark_add_days_typed,
            VeilRaise: lambda gen, e: f"RAISE_ERROR({gen.sql(e, 'this')})",
            VeilListAt: lambda gen, e: (
                f"ELEMENT_AT({gen.sql(e, 'this')}, CAST({gen.sql(e, 'index')} + 1 AS INT))"
            ),
            VeilRoundDouble: _spark_round_double,
            VeilFloorDouble: _spark_floor_double,
            VeilTruncDate: _spark_trunc_date,
            exp.RegexpReplace: _spark_regexp_replace,
            exp.RegexpExtract: _spark_regexp_extract,
            exp.RegexpLike: _spark_regexp_like,
            exp.Lower: lambda gen, e: f"LOWER(TRANSLATE({gen.sql(e, 'this')}, 'İΣ', 'iσ'))",
        }

        def literal_sql(self, expression: exp.Literal) -> str:
            text = str(super().literal_sql(expression))
            if not expression.is_string and any(ch in text for ch in ".eE"):
                return f"{text}D"  # DOUBLE, as DuckDB's arithmetic on it ends up
            return text

        def datatype_sql(self, expression: exp.DataType) -> str:
            t = expression.this
            name = t.value if isinstance(t, exp.DataType.Type) else str(t)
            if name in ("DECIMAL", "ARRAY", "MAP", "STRUCT"):
                return str(super().datatype_sql(expression))
            if name not in _SPARK_TYPES:
                raise UnsupportedError(f"type {name} has no Spark equivalent")
            return _SPARK_TYPES[name]


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
    try:
        return tree.sql(dialect=dialect_cls(), unsupported_level=sqlglot.ErrorLevel.RAISE)
    except UnsupportedError as e:
        if dialect != "spark":
            raise
        raise EngineError(f"the Spark engine cannot run this plan identically: {e}") from None


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


def hmac_sha256_hex(
    message: exp.Expression, inner_pad: exp.Expression, outer_pad: exp.Expression
) -> exp.Expression:
    """Lowercase hex HMAC-SHA-256 of the text ``message`` under the key whose pad blocks are
    the binary columns ``inner_pad`` and ``outer_pad``."""
    return VeilHmacSha256Hex(this=message, inner=inner_pad, outer=outer_pad)


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


# ---------------------------------------------------------------- types, for the rewrite

_FLOAT = {"DOUBLE", "FLOAT"}
_INT = {
    "TINYINT",
    "SMALLINT",
    "INT",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINT",
    "UBIGINT",
    "INT128",
}
_TEXT = {"TEXT", "VARCHAR", "CHAR", "NVARCHAR", "NCHAR"}
_BINARY = {"BINARY", "VARBINARY", "BLOB"}
_TS = {"TIMESTAMP", "TIMESTAMPNTZ"}
_TSTZ = {"TIMESTAMPTZ", "TIMESTAMPLTZ"}


def type_family(duckdb_type: str | None) -> str | None:
    """'float', 'int', 'decimal', 'text', 'binary', 'date', 'ts', 'tstz', 'bool' or the raw
    sqlglot type name, for a DuckDB type name."""
    if duckdb_type is None:
        return None
    try:
        t = exp.DataType.build(duckdb_type, dialect="duckdb").this
    except Exception:  # noqa: BLE001 - an unparsable type name is simply unknown
        return None
    return _family_of(t.value if isinstance(t, exp.DataType.Type) else str(t))


def _family_of(name: str) -> str:
    if name in _FLOAT:
        return "float"
    if name in _INT:
        return "int"
    if name == "DECIMAL":
        return "decimal"
    if name in _TEXT:
        return "text"
    if name in _BINARY:
        return "binary"
    if name == "DATE":
        return "date"
    if name in _TS:
        return "ts"
    if name in _TSTZ:
        return "tstz"
    if name == "BOOLEAN":
        return "bool"
    return name


@dataclass
class SparkPrepared:
    tree: exp.Expression
    helpers: set[str] = field(default_factory=set)
    """Helper UDFs (keys of :data:`SPARK_HELPERS`) the rendered query calls."""


@dataclass
class _SparkRewriter:
    tables: Mapping[str, Mapping[str, str]]
    udfs: Mapping[str, tuple[tuple[str, ...], str]]
    exact_math: bool
    helpers: set[str] = field(default_factory=set)
    _memo: dict[int, str | None] = field(default_factory=dict)

    def family(self, e: exp.Expression) -> str | None:
        key = id(e)
        if key not in self._memo:
            self._memo[key] = self._family(e)
        return self._memo[key]

    def _family(self, e: exp.Expression) -> str | None:  # noqa: PLR0911, PLR0912
        f = self.family
        if isinstance(e, exp.Paren):
            return f(e.this)
        if isinstance(e, exp.Column):
            cols = self.tables.get(e.table, {})
            return type_family(cols.get(e.name))
        if isinstance(e, exp.Cast):
            t = e.to.this
            return _family_of(t.value if isinstance(t, exp.DataType.Type) else str(t))
        if isinstance(e, exp.Literal):
            if e.is_string:
                return "text"
            return "float" if "e" in e.this.lower() else "decimal" if "." in e.this else "int"
        if isinstance(e, exp.Boolean | exp.Predicate | exp.Connector | exp.Not):
            return "bool"
        if isinstance(e, exp.Div | exp.Sqrt | exp.Ln | exp.Cos | exp.Sin | exp.Exp):
            return "float"
        if isinstance(e, VeilFloorDouble | VeilRoundDouble):
            return "float"
        if isinstance(e, exp.Add | exp.Sub | exp.Mul | exp.Mod):
            fams = {f(e.this), f(e.expression)}
            for fam in ("float", "decimal", "int"):
                if fam in fams:
                    return fam
            return None
        if isinstance(e, exp.Neg | exp.Abs | exp.Floor | exp.Ceil | exp.Round):
            return f(e.this)
        if isinstance(e, exp.Sign | exp.Length | exp.Year | exp.Month | exp.Day | VeilHexToInt):
            return "int"
        if isinstance(e, exp.DPipe):
            return "binary" if "binary" in (f(e.this), f(e.expression)) else "text"
        if isinstance(e, exp.Unhex | exp.Encode):
            return "binary"
        if isinstance(
            e,
            exp.SHA2
            | VeilHmacSha256Hex
            | exp.ToBase64
            | exp.Substring
            | exp.Left
            | exp.Repeat
            | exp.Lower
            | exp.Upper
            | exp.Trim
            | exp.RegexpReplace
            | exp.RegexpExtract
            | VeilListAt,
        ):
            return "text"
        if isinstance(e, VeilAddDays):
            return "date" if e.args.get("date") else f(e.this)
        if isinstance(e, exp.TimestampTrunc | VeilTruncDate):
            return f(e.this)
        if isinstance(e, exp.Case):
            return self._common(
                [i.args["true"] for i in e.args.get("ifs", [])] + [e.args.get("default")]
            )
        if isinstance(e, exp.Coalesce | exp.Greatest):
            return self._common([e.this, *e.expressions])
        if isinstance(e, exp.Anonymous):
            spec = self.udfs.get(str(e.this)) or SPARK_HELPERS.get(str(e.this))
            return type_family(spec[1]) if spec else None
        return None

    def _common(self, parts: list[Any]) -> str | None:
        fams = {self.family(p) for p in parts if isinstance(p, exp.Expression)} - {None}
        for fam in ("float", "decimal", "int"):
            if fam in fams and fams <= {"float", "decimal", "int"}:
                return fam
        return fams.pop() if len(fams) == 1 else None

    # ------------------------------------------------------------------ rewrite
    def rewrite(self, node: exp.Expression) -> exp.Expression:
        for key, value in list(node.args.items()):
            if isinstance(value, exp.Expression):
                node.set(key, self.rewrite(value))
            elif isinstance(value, list):
                node.set(
                    key, [self.rewrite(v) if isinstance(v, exp.Expression) else v for v in value]
                )
        return self.node(node)

    def _refuse(self, what: str) -> None:
        raise EngineError(f"the Spark engine cannot run this plan identically: {what}")

    def node(self, e: exp.Expression) -> exp.Expression:  # noqa: PLR0911, PLR0912
        fam = self.family
        if isinstance(e, exp.Cast):
            target = _family_of(
                e.to.this.value if isinstance(e.to.this, exp.DataType.Type) else str(e.to.this)
            )
            source = fam(e.this)
            if target == "text":
                if source == "float":
                    if self._is_float32(e.this):
                        self._refuse(
                            "FLOAT (32-bit) values as text: DuckDB's FLOAT formatting is not "
                            "reproducible elsewhere; cast the column to DOUBLE upstream"
                        )
                    self.helpers.add(SPARK_FLOAT_TEXT)
                    return exp.Anonymous(this=SPARK_FLOAT_TEXT, expressions=[e.this])
                if source == "tstz":
                    self._refuse(
                        "TIMESTAMP WITH TIME ZONE as text depends on the engine's time zone"
                    )
                if source == "binary":
                    self._refuse("BLOB as text is written differently by DuckDB and Spark")
            if target == "int" and source in ("float", "decimal"):
                rounding = "BROUND" if source == "float" else "ROUND"
                e.set(
                    "this",
                    exp.Anonymous(this=rounding, expressions=[e.this, exp.Literal.number(0)]),
                )
                return e
            if target in ("date", "ts") and source == "tstz":
                self._refuse("TIMESTAMP WITH TIME ZONE to DATE/TIMESTAMP depends on the time zone")
            return e
        if isinstance(e, exp.Round) and fam(e.this) == "float":
            digits = e.args.get("decimals")
            if digits is None:
                return e
            if not isinstance(digits, exp.Literal) or digits.is_string:
                self._refuse("ROUND of a DOUBLE needs constant digits")
            if int(digits.this) > 0:
                return VeilRoundDouble(this=e.this, digits=digits)
            if int(digits.this) < 0:
                self._refuse("ROUND to negative digits")
            return e
        if isinstance(e, exp.Floor) and fam(e.this) == "float":
            if e.args.get("decimals") is not None:
                self._refuse("FLOOR with digits")
            return VeilFloorDouble(this=e.this)
        if type(e) in SPARK_LIBM and self.exact_math:
            name = SPARK_LIBM[type(e)]
            self.helpers.add(name)
            return exp.Anonymous(this=name, expressions=[exp.cast(e.this, "DOUBLE")])
        if isinstance(e, VeilAddDays):
            source = fam(e.this)
            if source == "date":
                e.set("date", exp.true())
            elif source == "tstz":
                self._refuse("adding days to a TIMESTAMP WITH TIME ZONE depends on the time zone")
            elif source != "ts":
                self._refuse(f"adding days to a value of type {source or 'unknown'}")
            return e
        if isinstance(e, exp.TimestampTrunc):
            source = fam(e.this)
            unit = e.args.get("unit")
            unit_name = str(unit.name).upper() if unit is not None else ""
            if unit_name not in ("YEAR", "QUARTER", "MONTH", "WEEK", "DAY"):
                self._refuse(f"date_trunc to {unit_name or 'an unknown unit'}")
            if source == "tstz":
                self._refuse("date_trunc of a TIMESTAMP WITH TIME ZONE depends on the time zone")
            if source not in ("date", "ts"):
                self._refuse(f"date_trunc of a value of type {source or 'unknown'}")
            return VeilTruncDate(
                this=e.this, unit=exp.var(unit_name), timestamp=exp.Boolean(this=source == "ts")
            )
        if isinstance(e, exp.Year | exp.Month | exp.Day) and fam(e.this) == "tstz":
            self._refuse("year/month/day of a TIMESTAMP WITH TIME ZONE depend on the time zone")
        if isinstance(e, exp.Anonymous) and str(e.this) in self.udfs:
            arg_types, _ = self.udfs[str(e.this)]
            e.set(
                "expressions",
                [cast(a, t) for a, t in zip(e.expressions, arg_types, strict=True)],
            )
            return e
        return e

    def _is_float32(self, e: exp.Expression) -> bool:
        if isinstance(e, exp.Paren):
            return self._is_float32(e.this)
        if isinstance(e, exp.Cast):
            t = e.to.this
            return (t.value if isinstance(t, exp.DataType.Type) else str(t)) == "FLOAT"
        if isinstance(e, exp.Column):
            t = self.tables.get(e.table, {}).get(e.name, "")
            return t.upper() in ("FLOAT", "REAL", "FLOAT4")
        return False


def prepare_for_spark(
    tree: exp.Expression,
    tables: Mapping[str, Mapping[str, str]],
    udfs: Mapping[str, tuple[tuple[str, ...], str]] | None = None,
    *,
    exact_math: bool = True,
) -> SparkPrepared:
    """Rewrite a plan's tree so that its Spark rendering computes what DuckDB computes.

    ``tables`` maps each table alias the tree reads (``s``, ``k``, ``l0``...) to its columns'
    DuckDB type names; ``udfs`` the plan's UDFs to (argument types, return type). Raises
    :class:`~veil.errors.EngineError` for what Spark cannot do identically."""
    rewriter = _SparkRewriter(tables=tables, udfs=udfs or {}, exact_math=exact_math)
    out = rewriter.rewrite(tree.copy())
    return SparkPrepared(tree=out, helpers=rewriter.helpers)
