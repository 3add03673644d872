"""The histogram of distinct quasi-identifier combinations: the one input of the search.

The engine computes it with one GROUP BY (:func:`histogram_sql`), over the quasi-identifiers and
the sensitive attributes that a model needs; every later step works on it, so the search costs
grow with the number of distinct combinations, not with rows. Values are compared as text
(``CAST(... AS VARCHAR)``), which is also how hierarchies and lookup tables hold them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from veil.errors import PolicyError
from veil.privacy.stats import combine_keys

COUNT_COLUMN = "__veil_count"

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Histogram:
    """Counts of distinct (quasi-identifier..., sensitive...) combinations, dictionary-encoded.

    ``qi_codes[r, a]`` indexes ``qi_values[a]``; ``sensitive_codes[r, j]`` indexes
    ``sensitive_values[j]``; ``counts[r]`` is the number of records with that combination. A
    ``None`` value stands for SQL NULL.
    """

    qis: tuple[str, ...]
    sensitive: tuple[str, ...]
    qi_values: tuple[tuple[str | None, ...], ...]
    qi_codes: I32
    sensitive_values: tuple[tuple[str | None, ...], ...]
    sensitive_codes: I32
    counts: I64

    @property
    def n_records(self) -> int:
        return int(self.counts.sum())

    @property
    def n_rows(self) -> int:
        return len(self.counts)

    def distinct_qi_combinations(self) -> int:
        if not self.qis:
            return 1 if self.n_rows else 0
        _, n = combine_keys(list(self.qi_codes.T), [len(v) for v in self.qi_values])
        return n

    def value_counts(self, attribute: str) -> dict[str | None, int]:
        """Records per distinct value of one attribute."""
        if attribute in self.qis:
            a = self.qis.index(attribute)
            codes, values = self.qi_codes[:, a], self.qi_values[a]
        else:
            j = self.sensitive.index(attribute)
            codes, values = self.sensitive_codes[:, j], self.sensitive_values[j]
        c = np.bincount(codes, weights=self.counts, minlength=len(values))
        return {v: int(x) for v, x in zip(values, c, strict=True) if x}


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def histogram_sql(
    source_relation: str,
    qis: Sequence[str],
    sensitive: Sequence[str] = (),
) -> str:
    """One DuckDB GROUP BY that counts records per distinct combination, every value cast to
    text (the engines run the same query from :func:`veil.anonymization.histogram_query`).

    ``source_relation`` is anything that may follow FROM (a table name, a function call, a
    parenthesized subquery with an alias). Output columns are named like the inputs, plus
    ``__veil_count``.
    """
    cols = list(qis) + list(sensitive)
    if not cols:
        raise PolicyError("the histogram needs at least one quasi-identifier")
    if len(set(cols)) != len(cols):
        raise PolicyError("a column is listed twice among quasi-identifiers and sensitive ones")
    select = ", ".join(f"CAST({_ident(c)} AS VARCHAR) AS {_ident(c)}" for c in cols)
    groups = ", ".join(str(i) for i in range(1, len(cols) + 1))
    return (
        f"SELECT {select}, COUNT(*) AS {_ident(COUNT_COLUMN)} "
        f"FROM {source_relation} GROUP BY {groups}"
    )


def _ints(arr: pa.Array, dtype: type[np.signedinteger[Any]]) -> npt.NDArray[Any]:
    """Integer array without nulls -> NumPy, read from the buffer.

    ``Array.to_numpy`` imports pandas on first use (a second of start-up); this does not.
    """
    arr = pc.cast(arr, pa.from_numpy_dtype(dtype))
    if arr.null_count:
        raise ValueError("unexpected NULL in an integer column")
    buf = np.frombuffer(arr.buffers()[1], dtype=dtype, count=arr.offset + len(arr))
    return buf[arr.offset :].copy()


def _encode(col: pa.ChunkedArray | pa.Array) -> tuple[I32, tuple[str | None, ...]]:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
        col = pc.cast(col, pa.string())
    enc = pc.dictionary_encode(col, null_encoding="encode")
    return _ints(enc.indices, np.int32), tuple(enc.dictionary.to_pylist())


def _aggregate(qi: I32, sens: I32, counts: I64, sizes: Sequence[int]) -> tuple[I32, I32, I64]:
    cols = list(qi.T) + list(sens.T)
    ids, n = combine_keys(cols, sizes)
    if n == len(counts):
        return qi, sens, counts
    first = np.zeros(n, dtype=np.int64)
    first[ids[::-1]] = np.arange(len(ids) - 1, -1, -1)
    agg = np.bincount(ids, weights=counts, minlength=n).astype(np.int64)
    return qi[first], sens[first], agg


def histogram_from_arrow(
    table: pa.Table,
    qis: Sequence[str],
    sensitive: Sequence[str] = (),
    count_column: str | None = COUNT_COLUMN,
) -> Histogram:
    """Encode a GROUP BY result (or, with ``count_column=None``, raw records) as a Histogram."""
    missing = [c for c in [*qis, *sensitive] if c not in table.column_names]
    if missing:
        raise PolicyError(f"columns {missing} are not in the histogram table")
    n = table.num_rows
    qi_codes = np.zeros((n, len(qis)), dtype=np.int32)
    qi_values = []
    for a, c in enumerate(qis):
        qi_codes[:, a], vals = _encode(table.column(c))
        qi_values.append(vals)
    s_codes = np.zeros((n, len(sensitive)), dtype=np.int32)
    s_values = []
    for j, c in enumerate(sensitive):
        s_codes[:, j], vals = _encode(table.column(c))
        s_values.append(vals)
    if count_column is None:
        counts = np.ones(n, dtype=np.int64)
    else:
        counts = _ints(table.column(count_column).combine_chunks(), np.int64)
    qi_codes, s_codes, counts = _aggregate(
        qi_codes, s_codes, counts, [len(v) for v in qi_values + s_values]
    )
    return Histogram(
        tuple(qis), tuple(sensitive), tuple(qi_values), qi_codes, tuple(s_values), s_codes, counts
    )


def histogram_from_columns(
    columns: Mapping[str, Sequence[Any]], qis: Sequence[str], sensitive: Sequence[str] = ()
) -> Histogram:
    """A Histogram of in-memory records (one sequence per column); for tests and small data."""
    arrays = {
        c: pa.array([None if v is None else str(v) for v in columns[c]], pa.string())
        for c in [*qis, *sensitive]
    }
    return histogram_from_arrow(pa.table(arrays), qis, sensitive, count_column=None)


def build_histogram(
    con: Any, source_relation: str, qis: Sequence[str], sensitive: Sequence[str] = ()
) -> Histogram:
    """Run :func:`histogram_sql` on a DuckDB connection and encode the result."""
    table = con.sql(histogram_sql(source_relation, qis, sensitive)).to_arrow_table()
    return histogram_from_arrow(table, qis, sensitive)
