"""Re-identification risk from equivalence class sizes (prosecutor attacker model).

Under the prosecutor model the attacker knows the target is in the released data, so a record
in a class of size ``f`` is re-identified with probability ``1/f`` (El Emam & Dankar,
"Protecting privacy using k-anonymity", JAMIA 2008). Suppressed records are not released and
carry no risk here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class RiskSummary:
    records: int
    classes: int
    prosecutor_max: float
    """Highest record risk: ``1 / smallest class size``."""
    prosecutor_avg: float
    """Average record risk: ``classes / records``."""
    sample_uniques: int
    """Records alone in their class."""
    sample_uniques_share: float
    records_at_risk: int
    """Records whose risk exceeds ``threshold``."""
    threshold: float

    def as_dict(self) -> dict[str, float | int]:
        return dict(self.__dict__)


def risk_summary(class_sizes: npt.ArrayLike, threshold: float = 0.2) -> RiskSummary:
    """Risk of a release whose equivalence classes have ``class_sizes`` records each."""
    sizes = np.asarray(class_sizes, dtype=np.float64)
    sizes = sizes[sizes > 0]
    n = float(sizes.sum())
    if n == 0:
        return RiskSummary(0, 0, 0.0, 0.0, 0, 0.0, 0, threshold)
    uniques = int(sizes[sizes == 1].sum())
    return RiskSummary(
        records=int(n),
        classes=len(sizes),
        prosecutor_max=float(1.0 / sizes.min()),
        prosecutor_avg=float(len(sizes) / n),
        sample_uniques=uniques,
        sample_uniques_share=uniques / n,
        records_at_risk=int(sizes[1.0 / sizes > threshold + 1e-12].sum()),
        threshold=threshold,
    )
