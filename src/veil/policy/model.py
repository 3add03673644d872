"""The policy: one declarative file that says what veil does to each column of a dataset.

Unlisted columns are **dropped** by default (``unlisted_columns: drop``): a new column that
appears upstream never leaks into an anonymized output unreviewed. Set ``keep`` to pass such
columns through deliberately.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from veil.policy.privacy import PrivacySpec
from veil.transforms.base import Transform
from veil.transforms.keep import Keep
from veil.transforms.registry import TransformSpec

ColumnClass = Literal["identifier", "quasi_identifier", "sensitive", "insensitive"]
SourceFormat = Literal["csv", "parquet", "jsonl"]
OutputFormat = Literal["parquet", "csv", "jsonl"]

_EXTENSIONS: dict[str, str] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CsvOptions(Strict):
    delimiter: str = Field(",", min_length=1, max_length=4)
    header: bool = True
    encoding: Literal["utf-8", "utf-16", "latin-1"] = "utf-8"
    quote: str = Field('"', max_length=1)
    escape: str = Field('"', max_length=1)
    null_strings: list[str] = Field(default_factory=lambda: [""])
    date_format: str | None = None
    """strptime-style format of date columns, e.g. ``%d/%m/%Y``; ISO dates need none."""
    timestamp_format: str | None = None


def infer_format(path: str, declared: str | None, allowed: tuple[str, ...]) -> str:
    if declared is not None:
        return declared
    suffixes = [s.lower() for s in PurePath(path.rstrip("/*")).suffixes if s.lower() != ".gz"]
    for s in reversed(suffixes):
        if s in _EXTENSIONS and _EXTENSIONS[s] in allowed:
            return _EXTENSIONS[s]
    raise ValueError(
        f"cannot tell the format of {path!r} from its extension; set 'format' to one of {list(allowed)}"
    )


class SourceSpec(Strict):
    path: str = Field(min_length=1)
    """A file, a glob (``data/*.csv``) or a directory, relative to the policy file."""
    format: SourceFormat | None = None
    csv: CsvOptions = Field(default_factory=lambda: CsvOptions())

    def resolved_format(self) -> str:
        return infer_format(self.path, self.format, ("csv", "parquet", "jsonl"))

    @model_validator(mode="after")
    def _format_known(self) -> SourceSpec:
        self.resolved_format()
        return self


class OutputSpec(Strict):
    path: str = Field(min_length=1)
    format: OutputFormat | None = None
    partition_by: list[str] = Field(default_factory=list)
    """Write a Hive-partitioned Parquet directory split by these output columns."""
    compression: Literal["zstd", "snappy", "gzip", "uncompressed"] = "zstd"
    overwrite: bool = False
    """Replace an existing output; without it an existing output is an error."""

    def resolved_format(self) -> str:
        if self.partition_by:
            return self.format or "parquet"
        return infer_format(self.path, self.format, ("parquet", "csv", "jsonl"))

    @model_validator(mode="after")
    def _check(self) -> OutputSpec:
        if self.partition_by and (self.format or "parquet") != "parquet":
            raise ValueError("partition_by is only available for Parquet output")
        self.resolved_format()
        return self


class KeySpec(Strict):
    env: str | None = None
    """Environment variable holding the key as hex or base64 (at least 32 bytes)."""
    file: str | None = None
    """Key file (hex or base64 text, mode 600), relative to the policy file or absolute."""
    keyring: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    """Name of a key in the keyring (see the policy's ``keyring`` section). New values are
    always made under its newest version; the version used is recorded in the manifest."""
    version: int = Field(1, ge=1)
    """Version recorded for an env or file key (keyring keys carry their own versions)."""

    @model_validator(mode="after")
    def _one_source(self) -> KeySpec:
        given = [s for s in (self.env, self.file, self.keyring) if s is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'env' or 'file' (or 'keyring')")
        if self.keyring is not None and "version" in self.model_fields_set:
            raise ValueError(
                "'version' cannot be set for a keyring key: its newest version is always used"
            )
        return self


class KeyringSpec(Strict):
    """Where the keyring is and which master key opens it. ``$VEIL_KEYRING`` overrides
    ``path``; without ``master_key_env``/``master_key_file`` the master key comes from
    ``$VEIL_MASTER_KEY`` or the file named by ``$VEIL_MASTER_KEY_FILE``."""

    path: str = ".veil/keyring.json"
    """The keyring file, relative to the policy file unless absolute."""
    master_key_env: str | None = None
    """Environment variable holding the master key (hex or base64, 32+ bytes)."""
    master_key_file: str | None = None
    """Master key file (mode 600), outside any git repository."""

    @model_validator(mode="after")
    def _one_master(self) -> KeyringSpec:
        if self.master_key_env is not None and self.master_key_file is not None:
            raise ValueError("give at most one of 'master_key_env' or 'master_key_file'")
        return self


class ColumnSpec(Strict):
    class_: ColumnClass = Field(alias="class")
    transform: TransformSpec = None
    description: str = ""

    def effective_transform(self) -> Transform:
        t: Transform | None = self.transform
        return t if t is not None else Keep()

    @model_validator(mode="after")
    def _identifiers_are_transformed(self) -> ColumnSpec:
        t = self.transform
        if self.class_ == "identifier" and (t is None or isinstance(t, Keep)):
            raise ValueError(
                "an identifier column needs a protecting transform "
                "(pseudonymize, mask, fake, redact, suppress, ...); keeping it raw is refused"
            )
        return self


class QuarantineSpec(Strict):
    path: str
    """Where rejected input rows are written (CSV), relative to the policy file."""


class AuditSpec(Strict):
    path: str = ".veil/audit.jsonl"
    """The hash-chained audit log, relative to the policy file unless absolute."""
    key_env: str | None = None
    """Optional environment variable with a key that makes the audit chain keyed (HMAC)."""


class EngineSpec(Strict):
    name: Literal["duckdb", "spark"] = "duckdb"
    """duckdb (embedded, default) or spark; `veil run --engine` overrides it."""
    master: str | None = None
    """Spark master URL (default local[*])."""
    conf: dict[str, str] = Field(default_factory=dict)
    """Spark configuration passed through (spark.executor.memory, ...)."""


class Policy(Strict):
    version: Literal[1] = 1
    name: str = Field(min_length=1)
    description: str = ""
    source: SourceSpec | None = None
    """Required by `veil run`; in-memory `veil.anonymize` does not need it."""
    output: OutputSpec | None = None
    keys: dict[str, KeySpec] = Field(default_factory=dict)
    keyring: KeyringSpec | None = None
    """The keyring that ``keys`` entries of the form ``{keyring: NAME}`` come from."""
    columns: dict[str, ColumnSpec]
    unlisted_columns: Literal["drop", "keep"] = "drop"
    on_error: Literal["fail", "quarantine"] = "fail"
    quarantine: QuarantineSpec | None = None
    audit: AuditSpec = Field(default_factory=AuditSpec)
    engine: EngineSpec = Field(default_factory=EngineSpec)
    privacy: PrivacySpec | None = None
    """Generalize the quasi-identifiers until the privacy models hold (k-anonymity, ...)."""

    @field_validator("columns")
    @classmethod
    def _some_columns(cls, v: dict[str, ColumnSpec]) -> dict[str, ColumnSpec]:
        if not v:
            raise ValueError("the policy must name at least one column")
        return v

    @model_validator(mode="after")
    def _cross_checks(self) -> Policy:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for name, spec in self.columns.items():
            t = spec.effective_transform()
            for k in t.key_names():
                if k not in self.keys:
                    problems.append(
                        (
                            ("columns", name, "transform", "key"),
                            f"key {k!r} is not declared in 'keys' (declared: {sorted(self.keys)})",
                        )
                    )
        if self.on_error == "quarantine":
            if self.quarantine is None:
                problems.append(
                    (
                        ("quarantine",),
                        "on_error: quarantine needs a 'quarantine: {path: ...}' section",
                    )
                )
            if self.source is not None and self.source.resolved_format() != "csv":
                problems.append((("on_error",), "quarantine is available for CSV sources only"))
        if self.privacy is not None:
            problems.extend(self._privacy_problems(self.privacy))
        if problems:
            raise PolicyCrossCheckError(problems)
        return self

    def _privacy_problems(self, priv: PrivacySpec) -> list[tuple[tuple[str | int, ...], str]]:
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for qi in priv.quasi_identifiers:
            spec = self.columns.get(qi)
            loc: tuple[str | int, ...] = ("privacy", "quasi_identifiers", qi)
            if spec is None:
                problems.append(
                    (
                        loc,
                        f"{qi!r} is not a column of the policy; add it with class quasi_identifier",
                    )
                )
            elif spec.class_ != "quasi_identifier":
                problems.append(
                    (loc, f"column {qi!r} has class {spec.class_}, not quasi_identifier")
                )
            elif spec.transform is not None and spec.transform.type != "keep":
                problems.append(
                    (
                        ("columns", qi, "transform"),
                        f"{qi!r} is generalized by the privacy section; remove its transform",
                    )
                )
        for i, attr in enumerate(priv.sensitive):
            spec = self.columns.get(attr)
            if spec is None or spec.class_ != "sensitive":
                problems.append(
                    (("privacy", "sensitive", i), f"{attr!r} must be a column with class sensitive")
                )
            elif spec.transform is not None and spec.transform.type not in ("keep",):
                problems.append(
                    (
                        ("columns", attr, "transform"),
                        f"sensitive attribute {attr!r} is protected by the privacy models; "
                        "transforming it would make them meaningless",
                    )
                )
        for i, model in enumerate(priv.models):
            model_attr: str | None = getattr(model, "attribute", None)
            if model_attr is not None and model_attr not in priv.sensitive:
                problems.append(
                    (
                        ("privacy", "models", i, "attribute"),
                        f"{model_attr!r} is not listed in privacy.sensitive {priv.sensitive}",
                    )
                )
            if (
                getattr(model, "distance", None) == "hierarchical"
                and model_attr not in priv.sensitive_hierarchies
            ):
                problems.append(
                    (
                        ("privacy", "models", i, "distance"),
                        f"hierarchical t-closeness needs privacy.sensitive_hierarchies.{model_attr}",
                    )
                )
        if priv.algorithm == "mondrian" and priv.suppression_limit > 0:
            problems.append(
                (("privacy", "suppression_limit"), "Mondrian does not suppress records; set 0")
            )
        return problems

    def referenced_input_columns(self) -> set[str]:
        cols = set(self.columns)
        for spec in self.columns.values():
            cols.update(spec.effective_transform().referenced_columns())
        return cols


class PolicyCrossCheckError(ValueError):
    """Raised inside validation with precise field paths; the loader formats it."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(m for _, m in problems))


def policy_json_schema() -> dict[str, Any]:
    schema = Policy.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "veil policy"
    return schema
