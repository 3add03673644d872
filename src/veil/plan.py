"""Policy + input schema -> a plan: one engine-neutral column expression per output column.

The plan is pure data (sqlglot trees, small Arrow tables); it never touches an engine. Key
material lives only in :attr:`Plan.key_table`, a one-row table that engines register as a
bound relation, so no SQL text or query plan ever contains it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from sqlglot import exp

from veil.engines import sql
from veil.engines.types import DATE_TYPES, NUMERIC_TYPES, normalize_type
from veil.errors import PolicyError
from veil.keys.provider import KeyInfo, KeyProvider, derive_key, hmac_pads
from veil.policy.load import LoadedPolicy, policy_error
from veil.transforms.base import InputKind, Transform

SOURCE_TABLE = "__veil_source"
SOURCE_ALIAS = "s"
KEY_TABLE = "__veil_context"
KEY_ALIAS = "k"


def kind_accepts(kind: InputKind, engine_type: str) -> bool:
    if kind == "numeric":
        return engine_type in NUMERIC_TYPES
    if kind == "date":
        return engine_type in DATE_TYPES
    return True


@dataclass
class OutputColumn:
    name: str
    column_class: str
    transform: Transform
    expression: exp.Expression
    applied: str | None = None
    """Set when something other than the column's transform decides its values (the privacy
    search): (label, description) shown in the manifest instead of the transform's."""
    applied_description: str | None = None

    @property
    def label(self) -> str:
        if self.applied:
            return self.applied
        t = self.transform
        method = getattr(t, "method", None)
        return t.type + (f"/{method}" if method else "")

    @property
    def description(self) -> str:
        return self.applied_description or self.transform.describe()


@dataclass(frozen=True)
class UdfSpec:
    """A vectorized Python function the engine registers under ``name``."""

    name: str
    fn: Callable[..., pa.Array]
    arg_types: tuple[str, ...]
    return_type: str


@dataclass
class KeyUse:
    info: KeyInfo
    purposes: list[str]


@dataclass
class Plan:
    columns: list[OutputColumn]
    dropped: list[str]
    input_types: dict[str, str]
    key_table: pa.Table
    """The one-row context table: HMAC pads (secret) and constant lists (fake pools)."""
    lookups: dict[str, pa.Table]
    joins: list[exp.Join]
    key_uses: list[KeyUse]
    udfs: list[UdfSpec] = field(default_factory=list)
    filters: list[exp.Expression] = field(default_factory=list)
    """Row filters (ANDed), e.g. records suppressed by the privacy models."""
    shared: list[tuple[str, exp.Expression]] = field(default_factory=list)
    """Intermediate columns computed once, below the output projection."""

    def select(self) -> exp.Select:
        """The whole transformation as one SELECT over ``__veil_source``.

        Shared intermediate values (keyed digests used by several expressions) are computed
        once in an inner projection: engines do not eliminate common subexpressions, and a
        digest repeated in three CASE branches costs three pairs of SHA-256."""
        source: exp.Expression = exp.to_table(SOURCE_TABLE).as_(SOURCE_ALIAS)
        if self.shared:
            inner = exp.select(
                exp.Column(this=exp.Star(), table=exp.to_identifier(SOURCE_ALIAS)),
                *[e.as_(name, quoted=True) for name, e in self.shared],
            ).from_(exp.to_table(SOURCE_TABLE).as_(SOURCE_ALIAS))
            if self.key_table.num_columns:
                inner = inner.join(exp.to_table(KEY_TABLE).as_(KEY_ALIAS), join_type="cross")
            source = inner.subquery(SOURCE_ALIAS)
        q = exp.select(*[e.expression.as_(e.name, quoted=True) for e in self.columns]).from_(source)
        if self.key_table.num_columns:
            q = q.join(exp.to_table(KEY_TABLE).as_(KEY_ALIAS), join_type="cross")
        for j in self.joins:
            q = q.join(j)
        for f in self.filters:
            q = q.where(f)
        return q

    def tables(self) -> dict[str, pa.Table]:
        """Relations the engine must register before running :meth:`select`."""
        out = dict(self.lookups)
        if self.key_table.num_columns:
            out[KEY_TABLE] = self.key_table
        return out

    def key_records(self) -> list[dict[str, object]]:
        return [{**u.info.as_dict(), "purposes": sorted(u.purposes)} for u in self.key_uses]


@dataclass
class _Planner:
    loaded: LoadedPolicy
    schema: dict[str, str]
    keys: KeyProvider
    base_dir: Path
    _pads: dict[tuple[str, str], int] = field(default_factory=dict)
    _ctx_columns: dict[str, pa.Array] = field(default_factory=dict)
    _key_uses: dict[str, KeyUse] = field(default_factory=dict)
    lookups: dict[str, pa.Table] = field(default_factory=dict)
    joins: list[exp.Join] = field(default_factory=list)
    udfs: list[UdfSpec] = field(default_factory=list)
    shared: list[tuple[str, exp.Expression]] = field(default_factory=list)
    _shared_names: dict[str, str] = field(default_factory=dict)

    # PlanContext -------------------------------------------------------------
    def source(self, column: str) -> exp.Expression:
        return sql.col(column, SOURCE_ALIAS)

    def column_type(self, column: str) -> str:
        return self.schema[column]

    def hmac_hex(self, key: str, purpose: str, message: exp.Expression) -> exp.Expression:
        slot = self._pads.get((key, purpose))
        if slot is None:
            slot = len(self._pads)
            self._pads[(key, purpose)] = slot
            ipad, opad = hmac_pads(derive_key(self.keys.material(key), purpose))
            self._ctx_columns[f"k{slot}_i"] = pa.array([ipad], pa.binary())
            self._ctx_columns[f"k{slot}_o"] = pa.array([opad], pa.binary())
            use = self._key_uses.setdefault(key, KeyUse(info=self.keys.info(key), purposes=[]))
            use.purposes.append(purpose)
        return self.share(
            sql.hmac_sha256_hex(
                message, sql.col(f"k{slot}_i", KEY_ALIAS), sql.col(f"k{slot}_o", KEY_ALIAS)
            )
        )

    def share(self, expression: exp.Expression) -> exp.Expression:
        key = expression.sql()
        name = self._shared_names.get(key)
        if name is None:
            name = f"__veil_shared{len(self.shared)}"
            self._shared_names[key] = name
            self.shared.append((name, expression))
        return sql.col(name, SOURCE_ALIAS)

    def subkeys(self, key: str, purpose: str, length: int = 32) -> list[tuple[int, bytes]]:
        use = self._key_uses.setdefault(key, KeyUse(info=self.keys.info(key), purposes=[]))
        if purpose not in use.purposes:
            use.purposes.append(purpose)
        current = use.info.version
        versions = [v for v in self.keys.versions(key) if v != current]
        out = [(current, derive_key(self.keys.material_at(key, current), purpose, length))]
        for v in sorted(versions, reverse=True):
            out.append((v, derive_key(self.keys.material_at(key, v), purpose, length)))
        return out

    def pick(self, values: list[str], index: exp.Expression) -> exp.Expression:
        column = f"p{len(self._ctx_columns)}"
        self._ctx_columns[column] = pa.array([values], pa.list_(pa.string()))
        return sql.list_at(sql.col(column, KEY_ALIAS), index)

    def udf(
        self,
        name: str,
        fn: Callable[..., pa.Array],
        args: list[exp.Expression],
        arg_types: list[str],
        return_type: str,
    ) -> exp.Expression:
        registered = f"__veil_udf{len(self.udfs)}_{name}"
        self.udfs.append(UdfSpec(registered, fn, tuple(arg_types), return_type))
        return exp.Anonymous(this=registered, expressions=args)

    def lookup(self, table: pa.Table, key: exp.Expression) -> exp.Expression:
        name = f"__veil_lookup{len(self.lookups)}"
        alias = f"l{len(self.lookups)}"
        self.lookups[name] = table
        self.joins.append(
            exp.Join(
                this=exp.to_table(name).as_(alias),
                side="LEFT",
                on=exp.EQ(this=sql.col("k", alias), expression=key),
            )
        )
        return sql.col("v", alias)

    def key_table(self) -> pa.Table:
        return pa.table(self._ctx_columns) if self._ctx_columns else pa.table({})


def required_kinds(loaded: LoadedPolicy) -> dict[str, InputKind]:
    """Input columns whose type a transform or a privacy hierarchy depends on (CSV readers
    are told these types, so that a value that is no number or date is a malformed row)."""
    kinds: dict[str, InputKind] = {}
    for name, spec in loaded.policy.columns.items():
        k = spec.effective_transform().input_kind
        if k in ("numeric", "date"):
            kinds[name] = k
    privacy = loaded.policy.privacy
    for name, hierarchy in (privacy.quasi_identifiers if privacy else {}).items():
        if hierarchy.type in ("interval", "date"):
            kinds[name] = "numeric" if hierarchy.type == "interval" else "date"
    return kinds


def check_columns(loaded: LoadedPolicy, schema: dict[str, str]) -> None:
    """Refuse a policy that names columns the data lacks (with a 'did you mean')."""
    import difflib

    available = list(schema)
    problems: list[str] = []
    for name, spec in loaded.policy.columns.items():
        refs: list[tuple[tuple[str, ...], str]] = [(("columns", name), name)]
        t = spec.effective_transform()
        for field_name in ("by",):
            val = getattr(t, field_name, None)
            if isinstance(val, str):
                refs.append((("columns", name, "transform", field_name), val))
        for loc, col in refs:
            if col not in schema:
                close = difflib.get_close_matches(col, available, n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                problems.extend(
                    policy_error(loaded, loc, f"column {col!r} is not in the data{hint}").problems
                )
    partition_by = loaded.policy.output.partition_by if loaded.policy.output else []
    for i, p in enumerate(partition_by):
        if p not in loaded.policy.columns and loaded.policy.unlisted_columns == "drop":
            problems.extend(
                policy_error(
                    loaded,
                    ("output", "partition_by", i),
                    f"partition column {p!r} is not an output column",
                ).problems
            )
    if problems:
        raise PolicyError(
            f"policy {loaded.path} does not match the data:\n  " + "\n  ".join(problems),
            file=str(loaded.path),
            problems=problems,
        )


def build_plan(
    loaded: LoadedPolicy,
    schema: dict[str, str],
    keys: KeyProvider,
    *,
    raw_columns: Collection[str] = (),
) -> Plan:
    """The policy as a plan over ``schema``. ``raw_columns`` (policy columns a principal holds
    ``read_raw`` on) are output untransformed; everything else is as the policy says."""
    policy = loaded.policy
    schema = {c: normalize_type(t) for c, t in schema.items()}
    check_columns(loaded, schema)
    planner = _Planner(loaded=loaded, schema=schema, keys=keys, base_dir=loaded.base_dir)
    columns: list[OutputColumn] = []
    dropped: list[str] = []
    problems: list[str] = []
    from veil.transforms.keep import Keep

    for name in schema:
        spec = policy.columns.get(name)
        if spec is None:
            if policy.unlisted_columns == "keep":
                columns.append(OutputColumn(name, "unlisted", Keep(), planner.source(name)))
            else:
                dropped.append(name)
            continue
        t = Keep() if name in raw_columns else spec.effective_transform()
        if not kind_accepts(t.input_kind, schema[name]):
            problems.extend(
                policy_error(
                    loaded,
                    ("columns", name, "transform"),
                    f"{t.type} needs a {t.input_kind} column; {name!r} is {schema[name]}",
                ).problems
            )
            continue
        try:
            expr = t.expression(name, planner)
        except (ValueError, PolicyError) as e:
            problems.extend(policy_error(loaded, ("columns", name, "transform"), str(e)).problems)
            continue
        if expr is None:
            dropped.append(name)
        else:
            columns.append(OutputColumn(name, spec.class_, t, expr))
    if problems:
        raise PolicyError(
            f"policy {loaded.path} cannot be applied:\n  " + "\n  ".join(problems),
            file=str(loaded.path),
            problems=problems,
        )
    if not columns:
        raise PolicyError(f"policy {loaded.path} leaves no output column", file=str(loaded.path))
    return Plan(
        columns=columns,
        dropped=dropped,
        input_types=schema,
        key_table=planner.key_table(),
        lookups=planner.lookups,
        joins=planner.joins,
        key_uses=list(planner._key_uses.values()),
        udfs=planner.udfs,
        shared=planner.shared,
    )
