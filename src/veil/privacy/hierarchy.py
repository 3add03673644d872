"""Generalization hierarchies for the privacy search: loading, building from a spec, validating.

A hierarchy is a table with one row per original value (a *leaf*); column ``i`` is the value's
generalization at level ``i`` (level 0 is the value itself). It is stored encoded: per level an
``int32`` array mapping leaf index -> code of the generalized label, and the labels per level.

Builders (each returns a :class:`GeneralizationHierarchy`):

* :func:`from_arx` / :func:`load_hierarchy`: ARX's CSV format (``value;level1;...;*``),
* :func:`interval_hierarchy`: numeric values -> intervals of a width, coarsened by fan-outs,
* :func:`date_hierarchy`: dates -> month -> year -> decade (configurable),
* :func:`prefix_hierarchy`: strings masked from the right one character per level (zip codes),
* :func:`ordered_grouping_hierarchy`: categories in a given order, grouped by fan-outs,
* :func:`tree_hierarchy`: a tree given inline as nested mappings / lists.

The builders that derive levels from the data (interval, date, prefix) take the column's
distinct values, e.g. ``histogram.value_counts(column)``; NULL is never covered and shows up in
:meth:`GeneralizationHierarchy.coverage`.

:func:`hierarchy_from_spec` builds any of them from a plain dict (what a policy file holds).
Every builder checks that levels *nest* (a value's level ``i+1`` generalization depends only on
its level ``i`` value); :meth:`GeneralizationHierarchy.coverage` reports data values the
hierarchy does not cover.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from veil.errors import DataError, PolicyError
from veil.policy.hierarchy import Hierarchy as ArxHierarchy
from veil.policy.hierarchy import load_arx_hierarchy

IntArray = npt.NDArray[np.int32]

TOP = "*"


class HierarchyCoverageError(DataError):
    """Data values are not covered by a hierarchy.

    The message names the attribute and the number of values only (never data values); the
    values themselves are on ``uncovered`` for the caller to show where appropriate.
    """

    def __init__(self, attribute: str, uncovered: Sequence[str | None]):
        self.attribute = attribute
        self.uncovered = list(uncovered)
        super().__init__(
            f"{len(self.uncovered)} distinct value(s) of column {attribute} are not covered by "
            "its hierarchy",
            column=attribute,
        )


@dataclass(frozen=True)
class Coverage:
    """Result of checking data values against a hierarchy."""

    attribute: str
    uncovered: tuple[str | None, ...]

    @property
    def ok(self) -> bool:
        return not self.uncovered

    def raise_if_uncovered(self) -> None:
        if self.uncovered:
            raise HierarchyCoverageError(self.attribute, self.uncovered)


@dataclass(frozen=True, eq=False)
class GeneralizationHierarchy:
    """An encoded, validated hierarchy. Build it with the functions of this module."""

    leaves: tuple[str, ...]
    labels: tuple[tuple[str, ...], ...]
    """``labels[l][c]``: the label of code ``c`` at level ``l``."""
    codes: tuple[IntArray, ...]
    """``codes[l][i]``: code at level ``l`` of leaf ``i``; ``codes[0]`` is ``arange``."""
    name: str = ""
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self._index:
            self._index.update({v: i for i, v in enumerate(self.leaves)})

    # -- shape ---------------------------------------------------------------------------------

    @property
    def height(self) -> int:
        """Number of levels including level 0 (ARX's hierarchy height)."""
        return len(self.codes)

    @property
    def domain_size(self) -> int:
        return len(self.leaves)

    def level_sizes(self) -> list[int]:
        return [len(lab) for lab in self.labels]

    def rows(self) -> list[tuple[str, ...]]:
        """The hierarchy as a table of labels, one row per leaf (ARX's CSV layout)."""
        return [
            tuple(self.labels[lv][int(self.codes[lv][i])] for lv in range(self.height))
            for i in range(len(self.leaves))
        ]

    # -- lookups -------------------------------------------------------------------------------

    def leaf_index(self, value: str | None) -> int:
        """Index of ``value`` among the leaves, or -1."""
        if value is None:
            return -1
        return self._index.get(value, -1)

    def encode(self, values: Sequence[str | None]) -> IntArray:
        """Leaf indexes of ``values`` (-1 where not covered)."""
        get = self._index.get
        return np.fromiter(
            (-1 if v is None else get(v, -1) for v in values), dtype=np.int32, count=len(values)
        )

    def coverage(self, values: Iterable[str | None], attribute: str = "") -> Coverage:
        """Which of ``values`` have no row in the hierarchy (``None`` stands for SQL NULL)."""
        missing = sorted(
            {v for v in values if v is None or v not in self._index},
            key=lambda v: (v is not None, v or ""),
        )
        return Coverage(attribute or self.name, tuple(missing))

    @cached_property
    def leaves_per_code(self) -> tuple[npt.NDArray[np.int64], ...]:
        """Per level: number of leaves under each code (the domain share numerator)."""
        return tuple(
            np.bincount(c, minlength=len(lab)).astype(np.int64)
            for c, lab in zip(self.codes, self.labels, strict=True)
        )

    @cached_property
    def _representative(self) -> tuple[IntArray, ...]:
        out = []
        for c, lab in zip(self.codes, self.labels, strict=True):
            rep = np.zeros(len(lab), dtype=np.int32)
            rep[c[::-1]] = np.arange(len(c) - 1, -1, -1, dtype=np.int32)
            out.append(rep)
        return tuple(out)

    def up(self, src: int, dst: int) -> IntArray:
        """Map codes at level ``src`` to codes at level ``dst >= src`` (levels nest)."""
        if dst < src:
            raise ValueError("dst must not be below src")
        return self.codes[dst][self._representative[src]]

    def generalize(self, value: str, level: int) -> str:
        i = self.leaf_index(value)
        if i < 0:
            raise KeyError(value)
        return self.labels[level][int(self.codes[level][i])]


# -- construction from rows ----------------------------------------------------------------------


def from_rows(rows: Sequence[Sequence[str]], name: str = "") -> GeneralizationHierarchy:
    """Build from a table of labels (one row per leaf, one column per level); checks nesting."""
    if not rows:
        raise PolicyError(f"hierarchy {name or '(unnamed)'} has no rows")
    width = len(rows[0])
    if width < 1 or any(len(r) != width for r in rows):
        raise PolicyError(f"hierarchy {name or '(unnamed)'}: every row needs the same levels")
    leaves = tuple(str(r[0]) for r in rows)
    if len(set(leaves)) != len(leaves):
        raise PolicyError(f"hierarchy {name or '(unnamed)'} repeats a value at level 0")
    codes: list[IntArray] = []
    labels: list[tuple[str, ...]] = []
    for lv in range(width):
        col = [str(r[lv]) for r in rows]
        index: dict[str, int] = {}
        c = np.fromiter(
            (index.setdefault(v, len(index)) for v in col), dtype=np.int32, count=len(col)
        )
        codes.append(c)
        labels.append(tuple(index))
    _check_nesting(codes, labels, name)
    return GeneralizationHierarchy(leaves, tuple(labels), tuple(codes), name)


def _check_nesting(codes: Sequence[IntArray], labels: Sequence[Sequence[str]], name: str) -> None:
    problems = []
    for lv in range(1, len(codes)):
        lo, hi = codes[lv - 1].astype(np.int64), codes[lv].astype(np.int64)
        pairs = np.unique(lo * (len(labels[lv]) + 1) + hi)
        parents = pairs // (len(labels[lv]) + 1)
        dup = parents[1:][parents[1:] == parents[:-1]]
        for p in np.unique(dup)[:5]:
            problems.append(
                f"level {lv - 1} value {labels[lv - 1][int(p)]!r} generalizes to several level "
                f"{lv} values"
            )
    if problems:
        raise PolicyError(f"hierarchy {name or '(unnamed)'}: levels do not nest", problems=problems)


def from_arx(h: ArxHierarchy, name: str = "") -> GeneralizationHierarchy:
    """Convert a hierarchy loaded by :func:`veil.policy.hierarchy.load_arx_hierarchy`."""
    return from_rows(h.rows, name or h.path)


def load_hierarchy(
    path: str | Path, delimiter: str = ";", encoding: str = "utf-8", name: str = ""
) -> GeneralizationHierarchy:
    """Load an ARX-format hierarchy CSV (``value;level1;...``, no header)."""
    return from_arx(load_arx_hierarchy(Path(path), delimiter, encoding), name or str(path))


# -- builders from a spec ------------------------------------------------------------------------


def _add_top(rows: list[list[str]]) -> list[list[str]]:
    if len({r[-1] for r in rows}) > 1:
        for r in rows:
            r.append(TOP)
    return rows


def _num(v: str, name: str) -> float:
    try:
        x = float(v)
    except ValueError:
        raise HierarchyCoverageError(name, [v]) from None
    if math.isnan(x):
        raise HierarchyCoverageError(name, [v])
    return x


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def interval_hierarchy(
    values: Iterable[str | None],
    width: float,
    fanouts: Sequence[int] = (),
    origin: float = 0.0,
    name: str = "",
) -> GeneralizationHierarchy:
    """Numeric values -> intervals ``[origin + i*width, origin + (i+1)*width)`` at level 1,
    then ``fanouts[j]`` consecutive intervals of level ``j+1`` merged into one at level ``j+2``,
    then ``*``. Integral bounds print as ``lo-hi`` (inclusive), others as ``[lo, hi)``.
    """
    if width <= 0 or any(f < 2 for f in fanouts):
        raise PolicyError("interval hierarchy: width must be > 0 and fan-outs >= 2")
    vals = sorted({v for v in values if v is not None}, key=lambda v: _num(v, name))
    integral = (
        float(width).is_integer()
        and float(origin).is_integer()
        and all(_num(v, name).is_integer() for v in vals)
    )

    def label(lo: float, hi: float) -> str:
        if integral:
            return f"{_fmt(lo)}-{_fmt(hi - 1)}"
        return f"[{_fmt(lo)}, {_fmt(hi)})"

    rows: list[list[str]] = []
    for v in vals:
        i = math.floor((_num(v, name) - origin) / width)
        row = [v]
        span = 1
        for f in (1, *fanouts):
            span *= f
            j = math.floor(i / span) * span
            row.append(label(origin + j * width, origin + (j + span) * width))
        rows.append(row)
    return from_rows(_add_top(rows), name)


_DATE_LEVELS = ("day", "month", "year", "decade", "century")


def date_hierarchy(
    values: Iterable[str | None],
    levels: Sequence[str] = ("month", "year", "decade"),
    name: str = "",
) -> GeneralizationHierarchy:
    """ISO dates (or timestamps, of which the date part is used) -> ``YYYY-MM`` -> ``YYYY`` ->
    ``YYYYs`` (decade) -> ``YYYYs`` (century) as chosen in ``levels``, then ``*``."""
    if any(lv not in _DATE_LEVELS for lv in levels) or list(levels) != sorted(
        levels, key=_DATE_LEVELS.index
    ):
        raise PolicyError(f"date hierarchy levels must be increasing among {_DATE_LEVELS}")
    rows: list[list[str]] = []
    bad: list[str] = []
    for v in sorted({v for v in values if v is not None}):
        try:
            d = _dt.date.fromisoformat(v[:10])
        except ValueError:
            bad.append(v)
            continue
        row = [v]
        for lv in levels:
            if lv == "day":
                row.append(d.isoformat())
            elif lv == "month":
                row.append(f"{d.year:04d}-{d.month:02d}")
            elif lv == "year":
                row.append(f"{d.year:04d}")
            elif lv == "decade":
                row.append(f"{d.year // 10 * 10:04d}s")
            else:
                row.append(f"{d.year // 100 * 100:04d}s")
        rows.append(row)
    if bad:
        raise HierarchyCoverageError(name, bad)
    return from_rows(_add_top(rows), name)


def prefix_hierarchy(
    values: Iterable[str | None], mask: str = "*", step: int = 1, name: str = ""
) -> GeneralizationHierarchy:
    """Mask ``step`` more characters from the right at each level (``12345`` -> ``1234*`` ->
    ``123**`` ...) until everything is masked, then ``*`` if lengths differ."""
    if len(mask) != 1 or step < 1:
        raise PolicyError("prefix hierarchy: mask must be one character and step >= 1")
    vals = sorted({v for v in values if v is not None})
    longest = max((len(v) for v in vals), default=0)
    rows = []
    for v in vals:
        row = [v]
        for masked in range(step, math.ceil(longest / step) * step + 1, step):
            m = min(masked, len(v))
            row.append(v[: len(v) - m] + mask * m)
        rows.append(row)
    return from_rows(_add_top(rows), name)


def ordered_grouping_hierarchy(
    order: Sequence[str], fanouts: Sequence[int], name: str = ""
) -> GeneralizationHierarchy:
    """Categories in ``order`` grouped into runs of ``fanouts[0]`` at level 1, those into runs of
    ``fanouts[1]`` at level 2, ..., then ``*``. A group is labelled ``[first..last]``."""
    if not fanouts or any(f < 2 for f in fanouts):
        raise PolicyError("ordered grouping: give fan-outs >= 2")
    if len(set(order)) != len(order):
        raise PolicyError("ordered grouping: the order repeats a value")
    rows: list[list[str]] = []
    for i, v in enumerate(order):
        row = [v]
        span = 1
        for f in fanouts:
            span *= f
            lo = i // span * span
            hi = min(lo + span, len(order)) - 1
            row.append(order[lo] if lo == hi else f"[{order[lo]}..{order[hi]}]")
        rows.append(row)
    return from_rows(_add_top(rows), name)


def tree_hierarchy(tree: Mapping[str, Any], name: str = "") -> GeneralizationHierarchy:
    """A tree given inline: ``{"*": {"Europe": ["England", "France"], "Asia": ["Japan"]}}``.

    Inner nodes are mappings (label -> subtree) or lists of leaves. Leaves at a depth smaller
    than the deepest keep their own value at the extra low levels, so all rows have one height.
    """
    paths: list[list[str]] = []

    def walk(node: Any, ancestors: list[str]) -> None:
        if isinstance(node, Mapping):
            for k, sub in node.items():
                walk(sub, [str(k), *ancestors])
        elif isinstance(node, list | tuple):
            for leaf in node:
                if isinstance(leaf, Mapping):
                    walk(leaf, ancestors)
                else:
                    paths.append([str(leaf), *ancestors])
        elif node is None:
            paths.append(ancestors)
        else:
            paths.append([str(node), *ancestors])

    walk(tree, [])
    if not paths:
        raise PolicyError("tree hierarchy is empty")
    depth = max(len(p) for p in paths)
    rows = [[p[0]] * (depth - len(p)) + p for p in paths]
    return from_rows(_add_top(rows), name)


def hierarchy_from_spec(
    spec: Mapping[str, Any],
    values: Iterable[str | None] = (),
    base_dir: Path | None = None,
    name: str = "",
) -> GeneralizationHierarchy:
    """Build a hierarchy from a policy-style spec.

    ``{"type": "arx", "file": "h.csv", "delimiter": ";"}``,
    ``{"type": "interval", "width": 5, "fanouts": [2, 2], "origin": 0}``,
    ``{"type": "date", "levels": ["month", "year", "decade"]}``,
    ``{"type": "prefix", "mask": "*", "step": 1}``,
    ``{"type": "ordered", "order": [...], "fanouts": [2, 3]}``,
    ``{"type": "tree", "tree": {...}}``. ``values`` are the data's distinct values (used by the
    interval, date and prefix builders).
    """
    kind = spec.get("type")
    opts = {k: v for k, v in spec.items() if k != "type"}
    try:
        if kind == "arx":
            path = Path(opts.pop("file"))
            if base_dir is not None and not path.is_absolute():
                path = base_dir / path
            return load_hierarchy(path, name=name or str(path), **opts)
        if kind == "interval":
            return interval_hierarchy(values, name=name, **opts)
        if kind == "date":
            return date_hierarchy(values, name=name, **opts)
        if kind == "prefix":
            return prefix_hierarchy(values, name=name, **opts)
        if kind == "ordered":
            return ordered_grouping_hierarchy(name=name, **opts)
        if kind == "tree":
            return tree_hierarchy(opts["tree"], name=name)
    except (TypeError, KeyError) as e:
        raise PolicyError(f"hierarchy spec for {name or '(unnamed)'} is invalid: {e}") from None
    raise PolicyError(
        f"unknown hierarchy type {kind!r}; expected arx, interval, date, prefix, ordered or tree"
    )


HierarchyLike = GeneralizationHierarchy | ArxHierarchy


def as_hierarchy(h: HierarchyLike, name: str = "") -> GeneralizationHierarchy:
    if isinstance(h, GeneralizationHierarchy):
        return h
    return from_arx(h, name)
