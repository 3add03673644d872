"""Privacy models, hierarchies and the anonymization search (curated API).

>>> hist = build_histogram(con, "adult", qis=["age", "sex", "zip"], sensitive=["disease"])
>>> result = anonymize_histogram(
...     hist,
...     {"age": load_hierarchy("age.csv"), "sex": tree_hierarchy({"*": ["M", "F"]}),
...      "zip": prefix_hierarchy(hist.value_counts("zip"))},
...     [KAnonymity(k=5), DistinctLDiversity(attribute="disease", l=3)],
...     suppression_limit=0.02,
... )
>>> plan = result.plan()   # lookup tables + suppressed classes, for the engine
"""

from veil.privacy.anonymize import (
    SUPPRESSED_FLAG,
    Algorithm,
    AnonymizationPlan,
    ClassSummary,
    SearchResult,
    anonymize_histogram,
    plan_for_levels,
)
from veil.privacy.hierarchy import (
    Coverage,
    GeneralizationHierarchy,
    HierarchyCoverageError,
    HierarchyLike,
    as_hierarchy,
    date_hierarchy,
    from_arx,
    from_rows,
    hierarchy_from_spec,
    interval_hierarchy,
    load_hierarchy,
    ordered_grouping_hierarchy,
    prefix_hierarchy,
    tree_hierarchy,
)
from veil.privacy.histogram import (
    COUNT_COLUMN,
    Histogram,
    build_histogram,
    histogram_from_arrow,
    histogram_from_columns,
    histogram_sql,
)
from veil.privacy.models import (
    AnyModel,
    DistinctLDiversity,
    EntropyLDiversity,
    KAnonymity,
    PrivacyModel,
    RecursiveCLDiversity,
    TCloseness,
)
from veil.privacy.registry import MODELS, model_from_dict

__all__ = [
    "COUNT_COLUMN",
    "MODELS",
    "SUPPRESSED_FLAG",
    "Algorithm",
    "AnonymizationPlan",
    "AnyModel",
    "ClassSummary",
    "Coverage",
    "DistinctLDiversity",
    "EntropyLDiversity",
    "GeneralizationHierarchy",
    "HierarchyCoverageError",
    "HierarchyLike",
    "Histogram",
    "KAnonymity",
    "PrivacyModel",
    "RecursiveCLDiversity",
    "SearchResult",
    "TCloseness",
    "anonymize_histogram",
    "as_hierarchy",
    "build_histogram",
    "date_hierarchy",
    "from_arx",
    "from_rows",
    "hierarchy_from_spec",
    "histogram_from_arrow",
    "histogram_from_columns",
    "histogram_sql",
    "interval_hierarchy",
    "load_hierarchy",
    "model_from_dict",
    "ordered_grouping_hierarchy",
    "plan_for_levels",
    "prefix_hierarchy",
    "tree_hierarchy",
]
