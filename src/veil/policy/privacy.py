"""The policy's ``privacy:`` section: quasi-identifiers with their hierarchies, sensitive
attributes, privacy models, the suppression limit, the utility metric and the algorithm.

::

    privacy:
      quasi_identifiers:
        age: {type: interval, width: 5, fanouts: [2, 2]}
        zip: {type: prefix}
        education: {type: arx, file: hierarchies/education.csv}
      sensitive: [diagnosis]
      models:
        - {type: k-anonymity, k: 5}
        - {type: distinct-l-diversity, attribute: diagnosis, l: 3}
      suppression_limit: 0.01
      metric: loss
      algorithm: optimal
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from veil.privacy.models import PrivacyModel

DateLevel = Literal["day", "month", "year", "decade", "century"]
_DEFAULT_DATE_LEVELS: tuple[DateLevel, ...] = ("month", "year", "decade")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def builder_args(self) -> dict[str, Any]:
        return self.model_dump()


class ArxHierarchySpec(_Spec):
    type: Literal["arx"] = "arx"
    file: str
    """ARX hierarchy CSV (value;level1;...;*), relative to the policy file."""
    delimiter: str = Field(";", min_length=1, max_length=1)


class IntervalHierarchySpec(_Spec):
    type: Literal["interval"] = "interval"
    width: float = Field(gt=0)
    fanouts: list[Annotated[int, Field(ge=2)]] = Field(default_factory=list)
    """Each further level merges this many intervals of the level below."""
    origin: float = 0.0


class DateHierarchySpec(_Spec):
    type: Literal["date"] = "date"
    levels: list[DateLevel] = Field(default_factory=lambda: list(_DEFAULT_DATE_LEVELS))


class PrefixHierarchySpec(_Spec):
    type: Literal["prefix"] = "prefix"
    mask: str = Field("*", min_length=1, max_length=1)
    step: int = Field(1, ge=1)


class OrderedHierarchySpec(_Spec):
    type: Literal["ordered"] = "ordered"
    order: list[str] = Field(min_length=2)
    fanouts: list[Annotated[int, Field(ge=2)]] = Field(min_length=1)


class TreeHierarchySpec(_Spec):
    type: Literal["tree"] = "tree"
    tree: dict[str, Any]


HierarchySpec = Annotated[
    ArxHierarchySpec
    | IntervalHierarchySpec
    | DateHierarchySpec
    | PrefixHierarchySpec
    | OrderedHierarchySpec
    | TreeHierarchySpec,
    Field(discriminator="type"),
]


class PrivacySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    quasi_identifiers: dict[str, HierarchySpec] = Field(min_length=1)
    sensitive: list[str] = Field(default_factory=list)
    sensitive_hierarchies: dict[str, HierarchySpec] = Field(default_factory=dict)
    """Hierarchies of sensitive attributes, needed by hierarchical t-closeness."""
    models: list[PrivacyModel] = Field(min_length=1)
    suppression_limit: float = Field(0.0, ge=0.0, le=1.0)
    """Share of records that may be removed (ARX's record suppression limit)."""
    metric: Literal["loss", "entropy", "discernibility", "aecs", "precision", "height"] = "loss"
    algorithm: Literal["optimal", "heuristic", "mondrian"] = "optimal"
