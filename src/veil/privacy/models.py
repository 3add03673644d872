"""Privacy models: predicates over equivalence-class statistics.

Each model is a small typed configuration (pydantic, so a policy file can hold it) that, bound
to a :class:`ModelContext` (the data's global sensitive-value distributions and hierarchies),
returns for every class whether it satisfies the model. A class that fails any model is
suppressed; a transformation is acceptable when the suppressed records stay within the limit.

Each model declares monotonicity: *with generalization* (if a transformation satisfies the model
with no suppression, so does every more general one) and *with suppression* (the same, counting
classes that fail as suppressed under a limit). The search prunes with it.

Definitions:

* k-anonymity: Sweeney, "k-anonymity: a model for protecting privacy", IJUFKS 2002.
* distinct, entropy and recursive (c,l)-diversity: Machanavajjhala et al., "l-Diversity:
  Privacy Beyond k-Anonymity", ICDE 2006 / TKDD 2007 (entropy: ``H(class) >= log(l)``;
  recursive: ``r_1 < c * (r_l + ... + r_m)`` with ``r_i`` the i-th largest count).
* t-closeness: Li, Li, Venkatasubramanian, "t-Closeness: Privacy Beyond k-Anonymity and
  l-Diversity", ICDE 2007; Earth Mover's Distance with equal distance (half the L1 distance),
  ordered distance (``sum_i |sum_{j<=i} (q_j - p_j)| / (m - 1)``) and hierarchical distance (the
  tree formula of section 4.2 with ground distance ``level / height``).

Monotonicity: k-anonymity and distinct l-diversity are monotonic with suppression (when merged
classes fail, every part failed). Entropy and recursive l-diversity and t-closeness are monotonic
with generalization only: entropy is concave and the EMD convex in the class distribution, so a
merged class is at least as good as its worst part, but a merged class may fail where one part
alone passed, which can raise the suppressed count.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, ClassVar, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from veil.errors import PolicyError
from veil.privacy.hierarchy import GeneralizationHierarchy
from veil.privacy.stats import ClassStats

Bools = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]
Check = Callable[[ClassStats], Bools]


@dataclass
class ModelContext:
    """What models may need besides the class statistics: the sensitive attributes' global
    distributions (over all records), their values, and hierarchies."""

    sensitive: Sequence[str]
    sensitive_values: Sequence[Sequence[str | None]]
    global_counts: Sequence[F64]
    hierarchies: dict[str, GeneralizationHierarchy] = field(default_factory=dict)

    def index(self, attribute: str) -> int:
        try:
            return list(self.sensitive).index(attribute)
        except ValueError:
            raise PolicyError(
                f"privacy model needs sensitive attribute {attribute}, which is not in the "
                "histogram's sensitive attributes"
            ) from None

    def distribution(self, j: int) -> F64:
        c = self.global_counts[j]
        return np.asarray(c / c.sum(), dtype=np.float64)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    monotonic_with_generalization: ClassVar[bool] = True
    monotonic_with_suppression: ClassVar[bool] = True

    def monotonic(self, suppression: bool) -> bool:
        return (
            self.monotonic_with_suppression if suppression else self.monotonic_with_generalization
        )

    @property
    def sensitive_attributes(self) -> tuple[str, ...]:
        return ()

    @property
    def min_class_size(self) -> int:
        """A lower bound on the size of any class that satisfies the model."""
        return 1

    @abstractmethod
    def bind(self, ctx: ModelContext) -> Check:
        """The vectorized check of this model for one histogram."""

    @abstractmethod
    def describe(self) -> str:
        """One line for reports, e.g. ``5-anonymity``."""


class KAnonymity(_Model):
    type: Literal["k-anonymity"] = "k-anonymity"
    k: int = Field(ge=1)

    @property
    def min_class_size(self) -> int:
        return self.k

    def bind(self, ctx: ModelContext) -> Check:
        k = self.k
        return lambda s: s.sizes >= k

    def describe(self) -> str:
        return f"{self.k}-anonymity"


class DistinctLDiversity(_Model):
    type: Literal["distinct-l-diversity"] = "distinct-l-diversity"
    attribute: str
    l: int = Field(ge=1)  # noqa: E741

    @property
    def sensitive_attributes(self) -> tuple[str, ...]:
        return (self.attribute,)

    @property
    def min_class_size(self) -> int:
        return self.l

    def bind(self, ctx: ModelContext) -> Check:
        j, l = ctx.index(self.attribute), self.l  # noqa: E741
        return lambda s: s.distinct(j) >= l

    def describe(self) -> str:
        return f"distinct {self.l}-diversity of {self.attribute}"


class EntropyLDiversity(_Model):
    type: Literal["entropy-l-diversity"] = "entropy-l-diversity"
    attribute: str
    l: float = Field(ge=1)  # noqa: E741
    monotonic_with_suppression: ClassVar[bool] = False

    @property
    def sensitive_attributes(self) -> tuple[str, ...]:
        return (self.attribute,)

    @property
    def min_class_size(self) -> int:
        return math.ceil(self.l - 1e-9)

    def bind(self, ctx: ModelContext) -> Check:
        j = ctx.index(self.attribute)
        # A tolerance so that a class with exactly l equally frequent values passes.
        bound = math.log(self.l) - 1e-9
        return lambda s: s.entropy(j) >= bound

    def describe(self) -> str:
        return f"entropy {self.l:g}-diversity of {self.attribute}"


class RecursiveCLDiversity(_Model):
    type: Literal["recursive-cl-diversity"] = "recursive-cl-diversity"
    attribute: str
    c: float = Field(gt=0)
    l: int = Field(ge=1)  # noqa: E741
    monotonic_with_suppression: ClassVar[bool] = False

    @property
    def sensitive_attributes(self) -> tuple[str, ...]:
        return (self.attribute,)

    @property
    def min_class_size(self) -> int:
        return self.l

    def bind(self, ctx: ModelContext) -> Check:
        j, c, l = ctx.index(self.attribute), self.c, self.l  # noqa: E741

        def check(s: ClassStats) -> Bools:
            pairs, rank = s.ranked_counts(j)
            r1 = np.zeros(s.n_classes)
            r1[pairs.cls[rank == 0]] = pairs.count[rank == 0]
            head = np.bincount(
                pairs.cls[rank < l - 1], weights=pairs.count[rank < l - 1], minlength=s.n_classes
            )
            return np.asarray(r1 < c * (s.sizes - head))

        return check

    def describe(self) -> str:
        return f"recursive ({self.c:g},{self.l})-diversity of {self.attribute}"


class TCloseness(_Model):
    type: Literal["t-closeness"] = "t-closeness"
    attribute: str
    t: float = Field(ge=0, le=1)
    distance: Literal["equal", "ordered", "hierarchical"] = "equal"
    order: list[str] | None = None
    """Value order for ``ordered`` distance; default: numeric if all values are numbers,
    else lexicographic."""
    monotonic_with_suppression: ClassVar[bool] = False

    @model_validator(mode="after")
    def _check(self) -> TCloseness:
        if self.order is not None and self.distance != "ordered":
            raise ValueError("'order' applies to the ordered distance only")
        return self

    @property
    def sensitive_attributes(self) -> tuple[str, ...]:
        return (self.attribute,)

    def bind(self, ctx: ModelContext) -> Check:
        j = ctx.index(self.attribute)
        p = ctx.distribution(j)
        t = self.t + 1e-12
        if self.distance == "equal":
            dist = _equal_distance(p)
        elif self.distance == "ordered":
            dist = _ordered_distance(p, _ranks(ctx.sensitive_values[j], self.order, self.attribute))
        else:
            h = ctx.hierarchies.get(self.attribute)
            if h is None:
                raise PolicyError(
                    f"t-closeness with hierarchical distance needs a hierarchy for {self.attribute}"
                )
            dist = _hierarchical_distance(p, ctx.sensitive_values[j], h, self.attribute)

        def check(s: ClassStats) -> Bools:
            out = np.empty(s.n_classes, dtype=np.bool_)
            for rows, q in s.distribution_blocks(j):
                out[rows] = dist(q) <= t
            return out

        return check

    def describe(self) -> str:
        return f"{self.t:g}-closeness of {self.attribute} ({self.distance} distance)"


def _equal_distance(p: F64) -> Callable[[F64], F64]:
    return lambda q: np.asarray(0.5 * np.abs(q - p).sum(axis=1), dtype=np.float64)


def _ranks(
    values: Sequence[str | None], order: list[str] | None, attribute: str
) -> npt.NDArray[np.int64]:
    """Rank of each value code in the value order."""
    if order is not None:
        pos = {v: i for i, v in enumerate(order)}
        missing = [v for v in values if v not in pos]
        if missing:
            raise PolicyError(
                f"t-closeness order for {attribute} misses {len(missing)} value(s) of the data"
            )
        keys: list[tuple[float, str]] = [(float(pos[v]), "") for v in values if v is not None]
    else:
        try:
            keys = [(float(v), "") for v in values if v is not None]
        except ValueError:
            keys = [(0.0, v) for v in values if v is not None]
    if len(keys) != len(values):
        raise PolicyError(
            f"sensitive attribute {attribute} has NULL values; ordered distance needs an order"
        )
    order_idx = sorted(range(len(values)), key=lambda i: keys[i])
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order_idx] = np.arange(len(values))
    return ranks


def _ordered_distance(p: F64, ranks: npt.NDArray[np.int64]) -> Callable[[F64], F64]:
    m = len(p)
    inv = np.argsort(ranks)
    ps = p[inv]

    def dist(q: F64) -> F64:
        if m <= 1:
            return np.zeros(len(q))
        cum = np.cumsum(q[:, inv] - ps, axis=1)
        return np.asarray(np.abs(cum).sum(axis=1) / (m - 1), dtype=np.float64)

    return dist


def _hierarchical_distance(
    p: F64, values: Sequence[str | None], h: GeneralizationHierarchy, attribute: str
) -> Callable[[F64], F64]:
    leaf = h.encode(values)
    if (leaf < 0).any():
        raise PolicyError(f"the hierarchy of {attribute} does not cover all its values")
    height = h.height - 1
    # Level-by-level aggregation maps: value code -> level-1 code -> level-2 code ...
    maps = [h.codes[1][leaf]] if height >= 1 else []
    for lv in range(2, height + 1):
        maps.append(h.up(lv - 1, lv))
    # 0/1 matrices summing children into their parent at the next level.
    parents = []
    for lv, mp in enumerate(maps, start=1):
        a = np.zeros((len(mp), len(h.labels[lv])))
        a[np.arange(len(mp)), mp] = 1.0
        parents.append(a)

    def dist(q: F64) -> F64:
        extra = q - p
        cost = np.zeros(len(q))
        for lv, a in enumerate(parents, start=1):
            pos = np.maximum(extra, 0) @ a
            neg = np.maximum(-extra, 0) @ a
            cost += (lv / height) * np.minimum(pos, neg).sum(axis=1)
            extra = pos - neg
        return np.asarray(cost, dtype=np.float64)

    return dist


PrivacyModel = Annotated[
    KAnonymity | DistinctLDiversity | EntropyLDiversity | RecursiveCLDiversity | TCloseness,
    Field(discriminator="type"),
]
"""Any privacy model (a pydantic discriminated union on ``type``)."""

AnyModel = KAnonymity | DistinctLDiversity | EntropyLDiversity | RecursiveCLDiversity | TCloseness
