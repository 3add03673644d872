"""Reversal: tokens, AES-SIV ciphertexts and FPE values back into the originals.

Only for an authenticated principal that holds the permission (``detokenize`` for tokenize
columns, ``decrypt`` for encrypt and fpe columns) on ``<policy name>.<column>``, and only with
a stated purpose. Every attempt, granted or refused, appends one audit event: who, purpose,
which column, how many values, which key versions; never a value.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from veil.access.control import AccessControl, access_path
from veil.crypto.siv import SIV_KEY_BYTES, SivDecryptor, parse_version
from veil.errors import AccessDeniedError, KeyVersionError, PolicyError, VeilError
from veil.keys.provider import KeyProvider, derive_key
from veil.transforms.encrypt import Encrypt
from veil.transforms.fpe import FF1_KEY_BYTES, Fpe
from veil.transforms.tokenize import Tokenize

MIN_PURPOSE = 3


@dataclass
class RevealResult:
    values: list[str | None]
    column: str
    transform: str
    key: str
    versions: list[int] = field(default_factory=list)


def reveal(
    policy: Any,
    column: str,
    values: Sequence[str | None],
    *,
    principal: str,
    api_key: str | None,
    purpose: str,
    access: str | os.PathLike[str] | None = None,
    key_version: int | None = None,
    manifest: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[str | None]:
    """Return the original values of ``values`` from ``column`` of ``policy``.

    ``api_key`` authenticates ``principal`` against the access file (``access``, else
    ``$VEIL_ACCESS``, else ``access.yaml`` next to the policy). FPE values carry no key version:
    give ``key_version``, or the run's ``manifest``, unless the key has only one version.
    Raises :class:`AccessDeniedError` (audited) when the principal may not reveal the column.
    """
    return reveal_detailed(
        policy,
        column,
        values,
        principal=principal,
        api_key=api_key,
        purpose=purpose,
        access=access,
        key_version=key_version,
        manifest=manifest,
        environ=environ,
    ).values


def reveal_detailed(
    policy: Any,
    column: str,
    values: Sequence[str | None],
    *,
    principal: str,
    api_key: str | None,
    purpose: str,
    access: str | os.PathLike[str] | None = None,
    key_version: int | None = None,
    manifest: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> RevealResult:
    """Like :func:`reveal`, also telling which key versions were used."""
    from veil.keys.resolve import key_provider_for_policy
    from veil.run import _as_loaded, _audit_log, _policy_digest

    loaded = _as_loaded(policy)
    audit = _audit_log(loaded, environ)
    values = list(values)
    count = sum(v is not None for v in values)
    event: dict[str, Any] = {
        "principal": principal,
        "purpose": purpose,
        "policy": {"name": loaded.policy.name, "sha256": _policy_digest(loaded)},
        "column": column,
        "values": count,
    }
    authenticated = False
    try:
        if not isinstance(purpose, str) or len(purpose.strip()) < MIN_PURPOSE:
            raise AccessDeniedError("reveal needs a stated purpose (why these values are needed)")
        transform = _reversible(loaded.policy, column, str(loaded.path))
        permission = "detokenize" if isinstance(transform, Tokenize) else "decrypt"
        event.update(transform=transform.type, permission=permission, key=transform.key)
        control = AccessControl.load(access_path(access, loaded.base_dir, environ))
        who = control.authenticate(principal, api_key)
        authenticated = True
        control.require(who, permission, f"{loaded.policy.name}.{column}")
        keys = key_provider_for_policy(loaded, environ)
        if isinstance(transform, Encrypt):
            out, versions = _decrypt(transform, keys, values)
        elif isinstance(transform, Fpe):
            version = _fpe_version(transform, keys, key_version, manifest)
            codec = transform.codec(
                derive_key(
                    keys.material_at(transform.key, version), transform.purpose, FF1_KEY_BYTES
                ),
                label=f"reveal of column {column!r}",
            )
            out = codec.decrypt(pa.array(values, pa.string()), on_invalid="fail").to_pylist()
            versions = {version}
        else:
            out, versions = _detokenize(transform, keys, values, loaded.base_dir)
        event["key_versions"] = sorted(versions)
        event["key_fingerprints"] = [
            keys.info_at(transform.key, v).fingerprint for v in sorted(versions)
        ]
    except VeilError as e:
        denied = isinstance(e, AccessDeniedError)
        audit.append(
            "reveal.denied" if denied else "reveal.failed",
            {**event, "authenticated": authenticated, "error": type(e).__name__, "message": str(e)},
            actor=principal if authenticated else None,
        )
        raise
    audit.append("reveal.completed", {**event, "authenticated": True}, actor=principal)
    return RevealResult(out, column, transform.type, transform.key, sorted(versions))


def _reversible(policy: Any, column: str, path: str) -> Encrypt | Fpe | Tokenize:
    spec = policy.columns.get(column)
    if spec is None:
        raise PolicyError(f"policy {path} has no column {column!r}", file=path)
    t = spec.effective_transform()
    if not isinstance(t, Encrypt | Fpe | Tokenize):
        raise PolicyError(
            f"column {column!r} is transformed by {t.type}, which cannot be reversed "
            "(only encrypt, fpe and tokenize can)",
            file=path,
        )
    return t


def _decrypt(
    t: Encrypt, keys: KeyProvider, values: list[str | None]
) -> tuple[list[str | None], set[int]]:
    versions = {v for v in (parse_version(x) for x in values if x is not None) if v is not None}
    subkeys = {
        v: derive_key(keys.material_at(t.key, v), t.purpose, SIV_KEY_BYTES) for v in versions
    }
    return SivDecryptor(subkeys, label="reveal").decrypt(values), versions


def _fpe_version(
    t: Fpe,
    keys: KeyProvider,
    key_version: int | None,
    manifest: str | os.PathLike[str] | None,
) -> int:
    if key_version is not None:
        return key_version
    if manifest is not None:
        try:
            doc = json.loads(Path(manifest).read_text(encoding="utf-8"))
            for rec in doc.get("keys", []):
                if rec.get("name") == t.key:
                    return int(rec["version"])
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            raise PolicyError(f"manifest {manifest} is unreadable or not a veil manifest") from None
        raise PolicyError(f"manifest {manifest} records no use of key {t.key!r}")
    available = keys.versions(t.key)
    if len(available) == 1:
        return available[0]
    raise KeyVersionError(
        f"key {t.key!r} has versions {available}; FPE values do not carry their version: "
        "give key_version (--key-version) or the run's manifest (--manifest)"
    )


def _detokenize(
    t: Tokenize, keys: KeyProvider, values: list[str | None], base_dir: Path
) -> tuple[list[str | None], set[int]]:
    from veil.vault.base import open_backend
    from veil.vault.tokenizer import Detokenizer

    backend = open_backend(t.vault, base_dir, t.table)
    try:
        detok = Detokenizer(
            backend,
            t.domain,
            lambda v: derive_key(keys.material_at(t.key, v), t.seal_purpose),
            label="reveal",
        )
        return detok.detokenize(values)
    finally:
        backend.close()
