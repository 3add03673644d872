"""Generalization hierarchies in ARX's CSV format.

One row per original value: column 0 is the value, column i its generalization at level i; the
file has no header and, in ARX's exports, ``;`` as delimiter. Every row must have the same
number of levels.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from veil.errors import PolicyError


@dataclass(frozen=True)
class Hierarchy:
    path: str
    rows: tuple[tuple[str, ...], ...]

    @property
    def height(self) -> int:
        """Number of columns: level 0 (original) up to the most general level."""
        return len(self.rows[0])

    def level_table(self, level: int) -> pa.Table:
        """Lookup table k (original value) -> v (value at ``level``)."""
        return pa.table(
            {
                "k": pa.array([r[0] for r in self.rows], pa.string()),
                "v": pa.array([r[level] for r in self.rows], pa.string()),
            }
        )


def load_arx_hierarchy(path: Path, delimiter: str = ";", encoding: str = "utf-8") -> Hierarchy:
    """Load and check an ARX hierarchy file; errors name the file and line."""
    try:
        with path.open(newline="", encoding=encoding) as fh:
            raw = [row for row in csv.reader(fh, delimiter=delimiter)]
    except FileNotFoundError:
        raise PolicyError(f"hierarchy file {path} does not exist", file=str(path)) from None
    except UnicodeDecodeError as e:
        raise PolicyError(
            f"hierarchy file {path} is not valid {encoding} (byte {e.start})", file=str(path)
        ) from None
    rows = [tuple(c.strip() for c in r) for r in raw if any(c.strip() for c in r)]
    if not rows:
        raise PolicyError(f"hierarchy file {path} is empty", file=str(path))
    width = len(rows[0])
    if width < 2:
        raise PolicyError(
            f"hierarchy file {path}: line 1 has one column; expected the value and at least one "
            f"generalization level separated by {delimiter!r}",
            file=str(path),
        )
    seen: dict[str, int] = {}
    for i, r in enumerate(rows, start=1):
        if len(r) != width:
            raise PolicyError(
                f"hierarchy file {path}: line {i} has {len(r)} levels, line 1 has {width}",
                file=str(path),
            )
        if r[0] in seen:
            raise PolicyError(
                f"hierarchy file {path}: line {i} repeats the value of line {seen[r[0]]}",
                file=str(path),
            )
        seen[r[0]] = i
    return Hierarchy(path=str(path), rows=tuple(rows))
