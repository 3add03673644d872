"""Name -> transform class. A new transform is one module plus one line here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, Union

from pydantic import Field

from veil.transforms.base import Transform
from veil.transforms.date_shift import DateShift
from veil.transforms.encrypt import Encrypt
from veil.transforms.fake import Fake
from veil.transforms.fpe import Fpe
from veil.transforms.generalize_age import GeneralizeAge
from veil.transforms.generalize_date import GeneralizeDate
from veil.transforms.generalize_hierarchy import GeneralizeHierarchy
from veil.transforms.generalize_interval import GeneralizeInterval
from veil.transforms.generalize_prefix import GeneralizePrefix
from veil.transforms.keep import Keep
from veil.transforms.mask import Mask
from veil.transforms.noise import Noise
from veil.transforms.pseudonymize import Pseudonymize
from veil.transforms.redact import Redact
from veil.transforms.redact_entities import RedactEntities
from veil.transforms.suppress import Suppress
from veil.transforms.tokenize import Tokenize

TRANSFORMS: tuple[type[Transform], ...] = (
    Keep,
    Redact,
    Suppress,
    Mask,
    Pseudonymize,
    DateShift,
    Noise,
    Fake,
    GeneralizeInterval,
    GeneralizeDate,
    GeneralizeAge,
    GeneralizePrefix,
    GeneralizeHierarchy,
    Encrypt,
    Fpe,
    Tokenize,
    RedactEntities,
)


def _tag(cls: type[Transform], field: str) -> str:
    default = cls.model_fields[field].default
    assert isinstance(default, str)
    return default


def transform_names() -> list[str]:
    return sorted({_tag(c, "type") for c in TRANSFORMS})


def variants(type_name: str) -> list[type[Transform]]:
    return [c for c in TRANSFORMS if _tag(c, "type") == type_name]


def _build_union() -> Any:
    members: list[Any] = []
    for name in transform_names():
        classes = variants(name)
        if len(classes) == 1:
            members.append(classes[0])
        else:
            members.append(
                Annotated[Union[tuple(classes)], Field(discriminator="method")]  # noqa: UP007
            )
    return Annotated[Union[tuple(members)], Field(discriminator="type")]  # noqa: UP007


if TYPE_CHECKING:
    # Type checkers see the common base; pydantic validates against the discriminated union.
    TransformSpec: TypeAlias = Transform | None
else:
    TransformSpec = _build_union()
"""The pydantic type of a column's ``transform``: discriminated by ``type`` (and ``method``)."""
