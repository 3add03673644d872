"""Name -> privacy model class, and construction from plain dicts (a policy's ``privacy:``).

>>> model_from_dict({"type": "k-anonymity", "k": 5})
KAnonymity(type='k-anonymity', k=5)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from veil.errors import PolicyError
from veil.privacy.models import (
    AnyModel,
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    PrivacyModel,
    RecursiveCLDiversity,
    TCloseness,
)

MODELS: dict[str, type[AnyModel]] = {
    "k-anonymity": KAnonymity,
    "distinct-l-diversity": DistinctLDiversity,
    "entropy-l-diversity": EntropyLDiversity,
    "recursive-cl-diversity": RecursiveCLDiversity,
    "t-closeness": TCloseness,
}

_ADAPTER: TypeAdapter[AnyModel] = TypeAdapter(PrivacyModel)


def model_from_dict(spec: Mapping[str, Any]) -> AnyModel:
    """Validate one model spec; errors become :class:`PolicyError` naming the problem."""
    if spec.get("type") not in MODELS:
        raise PolicyError(
            f"unknown privacy model {spec.get('type')!r}; expected one of {sorted(MODELS)}"
        )
    try:
        return _ADAPTER.validate_python(dict(spec))
    except ValidationError as e:
        problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()]
        raise PolicyError(
            f"privacy model {spec.get('type')} is invalid", problems=problems
        ) from None
