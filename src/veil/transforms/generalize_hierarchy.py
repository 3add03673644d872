"""generalize / hierarchy: replace each value by its ancestor at a level of a hierarchy table in
ARX's CSV format (value;level1;level2;...). A value the hierarchy does not cover fails the job
(``on_missing: error``, the default) or becomes ``*`` (``on_missing: suppress``)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field
from sqlglot import exp

from veil.engines import sql
from veil.policy.hierarchy import Hierarchy, load_arx_hierarchy
from veil.transforms.base import PlanContext, Transform


class GeneralizeHierarchy(Transform):
    type: Literal["generalize"] = "generalize"
    method: Literal["hierarchy"] = "hierarchy"

    file: str
    """Path of the hierarchy CSV, relative to the policy file."""
    level: int = Field(ge=0)
    delimiter: str = Field(";", min_length=1, max_length=1)
    on_missing: Literal["error", "suppress"] = "error"

    def describe(self) -> str:
        return f"generalized to level {self.level} of hierarchy {self.file}"

    @cached_property
    def _resolved(self) -> dict[str, Hierarchy]:
        return {}

    def hierarchy(self, base_dir: Path) -> Hierarchy:
        path = Path(self.file) if Path(self.file).is_absolute() else base_dir / self.file
        key = str(path)
        if key not in self._resolved:
            self._resolved[key] = load_arx_hierarchy(path, self.delimiter)
        return self._resolved[key]

    def expression(self, column: str, ctx: PlanContext) -> exp.Expression:
        h = self.hierarchy(ctx.base_dir)
        if self.level >= h.height:
            raise ValueError(
                f"level {self.level} does not exist: {self.file} has levels 0..{h.height - 1}"
            )
        value = ctx.source(column)
        text = sql.as_text(value, ctx.column_type(column))
        mapped = ctx.lookup(h.level_table(self.level), text)
        missing = (
            sql.raise_error(f"a value of column {column} is not covered by hierarchy {self.file}")
            if self.on_missing == "error"
            else sql.lit("*")
        )
        return sql.if_null_then_null(
            value, sql.case([(exp.Is(this=mapped, expression=exp.null()), missing)], mapped)
        )
