"""Jobs: `veil run` (file to file), `veil.anonymize` (in memory) and `veil explain`.

Each job loads and validates the policy, reads only the input schema to plan, executes the plan
on the engine in one streaming pass, writes the output atomically with a manifest beside it, and
appends one event to the hash-chained audit log, whether the job succeeded or failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from veil import __version__
from veil.anonymization import apply_to_plan, manifest_section
from veil.anonymization import search as privacy_search
from veil.audit import AuditLog
from veil.engines.base import Engine, get_engine
from veil.engines.duckdb_engine import DuckDBEngine
from veil.errors import DataError, EngineError, PolicyError, VeilError
from veil.io.atomic import atomic_path, write_json_atomic
from veil.io.files import fingerprint, resolve_files, same_or_inside
from veil.keys.provider import PolicyKeyProvider
from veil.plan import Plan, build_plan, required_kinds
from veil.policy.load import LoadedPolicy, load_policy, parse_policy
from veil.policy.model import Policy
from veil.policy.privacy import PrivacySpec
from veil.privacy import SearchResult

PolicyLike = str | os.PathLike[str] | LoadedPolicy | Policy


@dataclass
class RunResult:
    output: Path
    manifest_path: Path
    manifest: dict[str, Any]

    @property
    def rows_out(self) -> int:
        return int(self.manifest["rows"]["out"])


@dataclass
class ColumnExplanation:
    name: str
    column_class: str
    transform: str
    description: str


@dataclass
class Explanation:
    policy: str
    source: str | None
    output: str | None
    columns: list[ColumnExplanation]
    dropped: list[str]
    unlisted_default: str
    keys: list[str]
    schema_known: bool
    notes: list[str] = field(default_factory=list)
    privacy: str | None = None
    """The privacy section in one line (models, suppression limit, metric, algorithm)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "source": self.source,
            "output": self.output,
            "columns": [c.__dict__ for c in self.columns],
            "dropped": self.dropped,
            "unlisted_columns": self.unlisted_default,
            "keys": self.keys,
            "schema_known": self.schema_known,
            "privacy": self.privacy,
            "notes": self.notes,
        }


def _as_loaded(policy: PolicyLike) -> LoadedPolicy:
    if isinstance(policy, LoadedPolicy):
        return policy
    if isinstance(policy, Policy):
        text = policy.model_dump_json(by_alias=True, exclude_none=True)
        return LoadedPolicy(policy=policy, path=Path.cwd() / "<in-memory policy>", text=text)
    return load_policy(Path(policy))


def _key_provider(loaded: LoadedPolicy, environ: Mapping[str, str] | None) -> PolicyKeyProvider:
    from veil.keys.resolve import key_provider_for_policy

    return key_provider_for_policy(loaded, environ)


def _audit_log(loaded: LoadedPolicy, environ: Mapping[str, str] | None) -> AuditLog:
    env = os.environ if environ is None else environ
    override = env.get("VEIL_AUDIT_LOG")
    path = Path(override) if override else loaded.resolve(loaded.policy.audit.path)
    key: bytes | None = None
    if loaded.policy.audit.key_env:
        from veil.keys.provider import decode_key_text

        text = env.get(loaded.policy.audit.key_env)
        if text is None:
            raise PolicyError(
                f"audit.key_env: environment variable {loaded.policy.audit.key_env} is not set",
                file=str(loaded.path),
            )
        key = decode_key_text(text)
    return AuditLog(path, key=key)


def _policy_digest(loaded: LoadedPolicy) -> str:
    return hashlib.sha256(loaded.text.encode()).hexdigest()


def _column_records(plan: Plan) -> list[dict[str, Any]]:
    return [
        {
            "name": c.name,
            "class": c.column_class,
            "transform": c.label,
            "description": c.description,
        }
        for c in plan.columns
    ]


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run(
    policy: PolicyLike,
    *,
    environ: Mapping[str, str] | None = None,
    progress: Callable[[float], None] | None = None,
    threads: int | None = None,
    memory_limit: str | None = None,
    engine: str | None = None,
    master: str | None = None,
    spark_conf: Mapping[str, str] | None = None,
    dry_run: bool = False,
) -> RunResult:
    """Anonymize the policy's source into its output. Raises a :class:`VeilError` on failure.

    ``engine`` (default: the policy's ``engine.name``, else duckdb) selects the engine;
    ``master`` and ``spark_conf`` override the policy's Spark settings. ``dry_run`` plans (and,
    with a privacy section, searches) without writing anything; the manifest it returns is
    not saved."""
    loaded = _as_loaded(policy)
    pol = loaded.policy
    engine_name = engine or pol.engine.name
    if pol.source is None or pol.output is None:
        raise PolicyError(
            f"{loaded.path}: `veil run` needs both a 'source' and an 'output' section",
            file=str(loaded.path),
        )
    audit = _audit_log(loaded, environ)
    job_id = uuid.uuid4().hex
    started = time.perf_counter()
    started_at = _now()
    audit_data: dict[str, Any] = {
        "job_id": job_id,
        "policy": {"name": pol.name, "path": str(loaded.path), "sha256": _policy_digest(loaded)},
        "engine": engine_name,
    }
    try:
        eng: Engine
        if engine_name == "spark":
            eng = get_engine(
                "spark",
                master=master or pol.engine.master,
                conf={**pol.engine.conf, **(spark_conf or {})},
            )
        else:
            eng = get_engine(engine_name, threads=threads, memory_limit=memory_limit)
        fmt = pol.source.resolved_format()
        files = resolve_files(loaded.resolve(pol.source.path), fmt)
        out_path = loaded.resolve(pol.output.path)
        for f in files:
            if same_or_inside(out_path, f) or same_or_inside(f, out_path):
                raise PolicyError(
                    f"output {out_path} would overwrite the input {f}; inputs are never modified",
                    file=str(loaded.path),
                )
        input_fp = fingerprint(files)
        audit_data["input_digest"] = input_fp["digest"]
        schema, csv_columns = eng.read_schema(pol.source, files, required_kinds(loaded))
        plan = build_plan(loaded, schema, _key_provider(loaded, environ))
        audit_data["keys"] = [
            {k: v for k, v in r.items() if k != "purposes"} for r in plan.key_records()
        ]
        quarantine = (
            loaded.resolve(pol.quarantine.path)
            if pol.on_error == "quarantine" and pol.quarantine
            else None
        )
        privacy: dict[str, Any] | None = None
        suppressed = 0
        if pol.privacy is not None:
            search_result = _privacy_search(loaded, eng, files, csv_columns, quarantine is not None)
            apply_to_plan(plan, search_result, pol.privacy)
            privacy = manifest_section(search_result)
            suppressed = search_result.suppressed_records
            audit_data["privacy"] = _privacy_audit(search_result, privacy)
        out_format = pol.output.resolved_format()
        if dry_run:
            manifest = {
                "dry_run": True,
                "policy": audit_data["policy"],
                "input": {"format": fmt, **input_fp},
                "output": {"path": str(out_path), "format": out_format},
                "columns": _column_records(plan),
                "dropped_columns": plan.dropped,
                "keys": plan.key_records(),
                "privacy": privacy,
                "engine": {"name": eng.name, "version": eng.version},
            }
            audit.append("run.dry_run", audit_data)
            return RunResult(output=out_path, manifest_path=out_path, manifest=manifest)
        with atomic_path(out_path, overwrite=pol.output.overwrite) as tmp:
            result = eng.execute(
                plan,
                pol.source,
                files,
                csv_columns,
                tmp,
                out_format,
                partition_by=pol.output.partition_by,
                compression=pol.output.compression,
                quarantine_path=quarantine,
                progress=progress,
            )
        duration = time.perf_counter() - started
        manifest = {
            "veil_version": __version__,
            "job_id": job_id,
            "started_at": started_at,
            "finished_at": _now(),
            "duration_s": round(duration, 3),
            "policy": audit_data["policy"],
            "input": {"format": fmt, **input_fp},
            "output": {
                "path": str(out_path),
                "format": out_format,
                "partition_by": pol.output.partition_by,
            },
            "rows": {
                "in": result.rows_out + result.rows_rejected + suppressed,
                "out": result.rows_out,
                "quarantined": result.rows_rejected,
                "suppressed": suppressed,
            },
            "quarantine": {"path": str(quarantine), "rows": result.rows_rejected}
            if quarantine
            else None,
            "columns": _column_records(plan),
            "dropped_columns": plan.dropped,
            "keys": plan.key_records(),
            "privacy": privacy,
            "engine": {"name": eng.name, "version": eng.version},
            "python": platform.python_version(),
        }
        manifest_path = out_path.with_name(out_path.name + ".manifest.json")
        write_json_atomic(manifest_path, manifest)
        audit.append(
            "run.completed",
            {
                **audit_data,
                "output": str(out_path),
                "rows": manifest["rows"],
                "columns": {c["name"]: c["transform"] for c in manifest["columns"]},
                "duration_s": manifest["duration_s"],
            },
        )
        return RunResult(output=out_path, manifest_path=manifest_path, manifest=manifest)
    except VeilError as e:
        audit.append("run.failed", {**audit_data, "error": type(e).__name__, "message": str(e)})
        raise


def _privacy_audit(result: SearchResult, section: dict[str, Any]) -> dict[str, Any]:
    """The audit record's privacy part, from the search and its manifest section."""
    return {
        "levels": result.levels,
        "suppressed_records": result.suppressed_records,
        "models": section["models"],
    }


def _privacy_search(
    loaded: LoadedPolicy,
    eng: Engine,
    files: list[Path],
    csv_columns: dict[str, str] | None,
    skip_bad_rows: bool,
) -> SearchResult:
    pol = loaded.policy
    assert pol.privacy is not None and pol.source is not None
    histogram_of = getattr(eng, "histogram", None)
    if histogram_of is None:
        raise EngineError(f"the {eng.name} engine cannot compute privacy histograms yet")
    histogram = histogram_of(
        pol.source,
        files,
        csv_columns,
        list(pol.privacy.quasi_identifiers),
        list(pol.privacy.sensitive),
        skip_bad_rows=skip_bad_rows,
    )
    return privacy_search(loaded, histogram)


def anonymize(
    table: Any,
    policy: PolicyLike,
    *,
    environ: Mapping[str, str] | None = None,
    principal: str | None = None,
    api_key: str | None = None,
    access: str | os.PathLike[str] | None = None,
) -> pa.Table:
    """Apply a policy to an in-memory pandas, Polars or Arrow table; returns a pyarrow.Table.
    A Spark DataFrame is transformed by the Spark engine and a (lazy) Spark DataFrame returned.

    A privacy section is applied as in :func:`run`: the search runs on the table's histogram,
    quasi-identifiers are generalized and suppressed records left out.

    Every column is transformed as the policy says, unless ``principal`` is given: it is then
    authenticated with ``api_key`` against the access file (``access``, else ``$VEIL_ACCESS``,
    else ``access.yaml`` next to the policy), and the columns on which it holds ``read_raw``
    come back untransformed (a quasi-identifier is then not generalized either; suppressed
    records stay out). Such a view is always audited (who, which raw columns), and a failed
    authentication is audited and refused."""
    loaded = _as_loaded(policy)
    if type(table).__module__.startswith("pyspark."):
        from veil.engines.spark_engine import SparkEngine

        engine: DuckDBEngine | SparkEngine = SparkEngine(session=table.sparkSession)
    else:
        table = to_arrow(table)
        engine = DuckDBEngine()
    schema = engine.table_schema(table)
    _check_column_kinds(loaded, schema)
    viewer = None
    if principal is not None:
        viewer = _raw_view(loaded, schema, principal, api_key, access, environ)
    raw = viewer.raw_columns if viewer else []
    plan = build_plan(loaded, schema, _key_provider(loaded, environ), raw_columns=raw)
    privacy = loaded.policy.privacy
    searched = None
    if privacy is not None:
        histogram = engine.table_histogram(
            table, list(privacy.quasi_identifiers), list(privacy.sensitive)
        )
        searched = privacy_search(loaded, histogram)
        apply_to_plan(plan, searched, privacy, raw)
    if isinstance(engine, DuckDBEngine):
        out: Any = engine.transform_table(table, plan)
        rows: tuple[int | None, int | None] = (table.num_rows, out.num_rows)
    else:
        out, rows = engine.apply(table, plan), (None, None)  # lazy: rows not counted
    _audit_anonymize(loaded, environ, plan, engine.name, rows, viewer, searched)
    return out


@dataclass(frozen=True)
class _RawView:
    principal: str
    raw_columns: list[str]


def _raw_view(
    loaded: LoadedPolicy,
    schema: Mapping[str, str],
    principal: str,
    api_key: str | None,
    access: str | os.PathLike[str] | None,
    environ: Mapping[str, str] | None,
) -> _RawView:
    """Authenticate ``principal`` and list the transformed columns it may read raw."""
    from veil.access.control import AccessControl, access_path
    from veil.transforms.keep import Keep

    try:
        control = AccessControl.load(access_path(access, loaded.base_dir, environ))
        who = control.authenticate(principal, api_key)
    except VeilError as e:
        _audit_log(loaded, environ).append(
            "anonymize.denied",
            {
                "policy": {"name": loaded.policy.name, "sha256": _policy_digest(loaded)},
                "principal": principal,
                "error": type(e).__name__,
                "message": str(e),
            },
        )
        raise
    privacy = loaded.policy.privacy
    generalized = set(privacy.quasi_identifiers) if privacy else set()
    raw = [
        name
        for name, spec in loaded.policy.columns.items()
        if name in schema
        and (name in generalized or not isinstance(spec.effective_transform(), Keep))
        and control.allows(who, "read_raw", f"{loaded.policy.name}.{name}")
    ]
    return _RawView(who.name, raw)


def _check_column_kinds(loaded: LoadedPolicy, schema: Mapping[str, str]) -> None:
    """Refuse an in-memory table whose column types do not suit their transforms or privacy
    hierarchies."""
    from veil.engines.types import normalize_type
    from veil.plan import kind_accepts

    privacy = loaded.policy.privacy
    for name, kind in required_kinds(loaded).items():
        if name in schema and not kind_accepts(kind, normalize_type(schema[name])):
            needs = (
                "privacy hierarchy"
                if privacy and name in privacy.quasi_identifiers
                else "transform"
            )
            raise DataError(
                f"column {name!r} is {schema[name]}; its {needs} needs a {kind} column",
                column=name,
            )


def _audit_anonymize(
    loaded: LoadedPolicy,
    environ: Mapping[str, str] | None,
    plan: Plan,
    engine: str,
    rows: tuple[int | None, int | None],
    viewer: _RawView | None = None,
    searched: SearchResult | None = None,
) -> None:
    """The audit event of ``veil.anonymize``. Without a principal, only for policies given as
    files (an in-memory policy has no audit log of its own); a principal's view, which may
    hold raw columns, is always audited."""
    if viewer is None and loaded.path.name == "<in-memory policy>":
        return
    data: dict[str, Any] = {
        "policy": {"name": loaded.policy.name, "sha256": _policy_digest(loaded)},
        "rows": {"in": rows[0], "out": rows[1]},
        "keys": [{k: v for k, v in r.items() if k != "purposes"} for r in plan.key_records()],
        "engine": engine,
    }
    if viewer is not None:
        data.update(principal=viewer.principal, raw_columns=viewer.raw_columns)
    if searched is not None:
        data["privacy"] = _privacy_audit(searched, manifest_section(searched))
    actor = viewer.principal if viewer is not None else None
    _audit_log(loaded, environ).append("anonymize.completed", data, actor=actor)


def to_arrow(table: Any) -> pa.Table:
    if isinstance(table, pa.Table):
        return table
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    mod = type(table).__module__.split(".")[0]
    if mod == "pandas":
        return pa.Table.from_pandas(table, preserve_index=False)
    if mod == "polars":
        arrow: pa.Table = table.to_arrow()
        return arrow
    if hasattr(table, "__arrow_c_stream__"):
        return pa.table(table)
    raise TypeError(
        f"cannot anonymize a {type(table).__name__}; pass a pandas, Polars or Arrow table"
    )


def explain(policy: PolicyLike, *, read_schema: bool = True) -> Explanation:
    """What the policy will do to each column, without processing data. With ``read_schema``
    the input's column list (not its rows) is read to show which columns would be dropped."""
    loaded = _as_loaded(policy)
    pol = loaded.policy
    schema: dict[str, str] | None = None
    notes: list[str] = []
    if read_schema and pol.source is not None:
        try:
            files = resolve_files(loaded.resolve(pol.source.path), pol.source.resolved_format())
            schema, _ = DuckDBEngine().read_schema(pol.source, files, required_kinds(loaded))
        except DataError as e:
            notes.append(f"input not inspected: {e}")
    columns = []
    names = list(schema) if schema is not None else list(pol.columns)
    dropped = []
    for name in names:
        spec = pol.columns.get(name)
        if spec is None:
            if pol.unlisted_columns == "drop":
                dropped.append(name)
            else:
                columns.append(
                    ColumnExplanation(
                        name, "unlisted", "keep", "kept unchanged (unlisted_columns: keep)"
                    )
                )
            continue
        t = spec.effective_transform()
        label = t.type + (f"/{t.method}" if hasattr(t, "method") else "")
        description = t.describe()
        if pol.privacy is not None and name in pol.privacy.quasi_identifiers:
            hierarchy = pol.privacy.quasi_identifiers[name].type
            label = f"privacy/{pol.privacy.algorithm}"
            description = (
                "generalized by Mondrian partitioning (privacy)"
                if pol.privacy.algorithm == "mondrian"
                else f"generalized along its {hierarchy} hierarchy by the privacy search"
            )
        if t.type == "suppress":
            dropped.append(name)
        columns.append(ColumnExplanation(name, spec.class_, label, description))
    if schema is not None:
        missing = [c for c in pol.columns if c not in schema]
        if missing:
            notes.append(f"columns named in the policy but absent from the data: {missing}")
    return Explanation(
        policy=str(loaded.path),
        source=str(loaded.resolve(pol.source.path)) if pol.source else None,
        output=str(loaded.resolve(pol.output.path)) if pol.output else None,
        columns=columns,
        dropped=dropped,
        unlisted_default=pol.unlisted_columns,
        keys=sorted(pol.keys),
        schema_known=schema is not None,
        notes=notes,
        privacy=_privacy_summary(pol.privacy) if pol.privacy is not None else None,
    )


def _privacy_summary(spec: PrivacySpec) -> str:
    models = ", ".join(m.describe() for m in spec.models)
    return (
        f"{models}; at most {spec.suppression_limit * 100:g}% of records suppressed; "
        f"metric {spec.metric}; {spec.algorithm} search"
    )


__all__ = ["RunResult", "anonymize", "explain", "parse_policy", "run", "to_arrow"]
