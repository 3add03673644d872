"""The policy's ``privacy:`` section at run time: histogram on the engine, search on the
histogram, and the result folded into the plan so the engine applies it in one pass.

The engine computes one GROUP BY over the quasi-identifiers (and sensitive attributes); the
search (``veil.privacy``) works on that histogram only, so its cost grows with the number of
distinct combinations, not rows. The chosen generalization reaches the engine as one lookup
table (distinct original combination -> generalized values, suppressed flag) joined on the
quasi-identifiers' text values.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlglot import exp

from veil.engines import sql
from veil.errors import PrivacyUnmetError
from veil.plan import SOURCE_ALIAS, SOURCE_TABLE, Plan
from veil.policy.load import LoadedPolicy
from veil.policy.privacy import PrivacySpec
from veil.privacy import (
    COUNT_COLUMN,
    SUPPRESSED_FLAG,
    GeneralizationHierarchy,
    Histogram,
    SearchResult,
    anonymize_histogram,
    hierarchy_from_spec,
)

COMBINATIONS_ALIAS = "q"


def value_as_text(column: str) -> exp.Expression:
    """A source column's value as the histogram groups it and the combinations table holds it.

    Engines render this one expression (Spark through :func:`veil.engines.sql.prepare_for_spark`,
    which writes numbers and dates as DuckDB does), so the histogram's values, the hierarchies'
    keys and the join that applies the result all compare the same text."""
    return sql.cast(sql.col(column, SOURCE_ALIAS), "VARCHAR")


def histogram_query(qis: list[str], sensitive: list[str]) -> exp.Select:
    """The histogram as one engine-neutral GROUP BY over the source table: every
    quasi-identifier and sensitive attribute as text, and the records per combination."""
    columns = [*qis, *sensitive]
    values = [value_as_text(c) for c in columns]
    return (
        exp.select(
            *[v.as_(c, quoted=True) for v, c in zip(values, columns, strict=True)],
            exp.Count(this=exp.Star()).as_(COUNT_COLUMN, quoted=True),
        )
        .from_(exp.to_table(SOURCE_TABLE).as_(SOURCE_ALIAS))
        .group_by(*[v.copy() for v in values])
    )


def hierarchies_for(
    loaded: LoadedPolicy, spec: PrivacySpec, histogram: Histogram
) -> dict[str, GeneralizationHierarchy]:
    """Build each quasi-identifier's (and sensitive attribute's) hierarchy; builders that derive
    levels from the data (interval, date, prefix) see the histogram's distinct values."""
    out: dict[str, GeneralizationHierarchy] = {}
    for name, h in [*spec.quasi_identifiers.items(), *spec.sensitive_hierarchies.items()]:
        values = list(histogram.value_counts(name))
        out[name] = hierarchy_from_spec(h.builder_args(), values, loaded.base_dir, name=name)
    return out


def search(loaded: LoadedPolicy, histogram: Histogram) -> SearchResult:
    spec = loaded.policy.privacy
    assert spec is not None
    result = anonymize_histogram(
        histogram,
        hierarchies_for(loaded, spec, histogram),
        list(spec.models),
        suppression_limit=spec.suppression_limit,
        metric=spec.metric,
        algorithm=spec.algorithm,
    )
    if not result.feasible:
        best = result.as_dict()
        raise PrivacyUnmetError(
            f"the privacy models cannot be met within a suppression limit of "
            f"{spec.suppression_limit:.2%}: {result.reason}; best transformation found: "
            f"levels {result.levels}, {result.suppressed_records} records to suppress "
            f"(at most {result.max_suppressed_records} allowed). No output was written.",
            best=best,
        )
    return result


def apply_to_plan(
    plan: Plan, result: SearchResult, spec: PrivacySpec, raw_columns: Collection[str] = ()
) -> Plan:
    """Replace each quasi-identifier's output by its generalized value and drop suppressed
    records, via one join with the table of distinct combinations. ``raw_columns`` (a
    principal's read_raw columns) stay untransformed; suppressed records stay suppressed."""
    qis = list(spec.quasi_identifiers)
    combos = result.plan().combinations
    name = "__veil_privacy_combinations"
    on: exp.Expression | None = None
    for qi in qis:
        cond = exp.NullSafeEQ(this=sql.col(qi, COMBINATIONS_ALIAS), expression=value_as_text(qi))
        on = cond if on is None else exp.and_(on, cond)
    plan.lookups[name] = combos
    plan.joins.append(exp.Join(this=exp.to_table(name).as_(COMBINATIONS_ALIAS), side="LEFT", on=on))
    for column in plan.columns:
        if column.name in spec.quasi_identifiers and column.name not in raw_columns:
            column.expression = sql.col(f"{column.name}__generalized", COMBINATIONS_ALIAS)
            column.applied = f"privacy/{result.algorithm}"
            level = (result.levels or {}).get(column.name)
            column.applied_description = (
                f"generalized to hierarchy level {level} by the {result.algorithm} search"
                if level is not None
                else f"generalized by {result.algorithm} partitioning"
            )
    # A record whose combination is absent from the histogram cannot exist (the histogram was
    # computed from the same input); COALESCE keeps such a record out rather than leaking it.
    plan.filters.append(
        exp.Not(
            this=exp.Coalesce(
                this=sql.col(SUPPRESSED_FLAG, COMBINATIONS_ALIAS), expressions=[sql.lit(True)]
            )
        )
    )
    return plan


def manifest_section(result: SearchResult) -> dict[str, Any]:
    d = result.as_dict()
    d["search"] = (
        "heuristic: not guaranteed optimal"
        if result.heuristic
        else ("optimal" if result.optimal else result.algorithm)
    )
    return d
