"""Deleting expired tokens from the vaults of a policy's tokenize columns (``veil vault purge``).

A token made with ``ttl_days`` can no longer be revealed once it has expired, and a convergent
value gets a new token; its row stays in the vault until it is purged. Purging needs no key: it
deletes the rows whose ``expires_at`` has passed, one transaction per column, and reports how
many it deleted. Rows without an expiry are never touched.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from veil.errors import PolicyError
from veil.policy.load import LoadedPolicy
from veil.transforms.tokenize import Tokenize
from veil.vault.base import open_backend, redact_url


@dataclass(frozen=True)
class Purged:
    column: str
    key: str
    vault: str
    """The vault location, with any password replaced by ``***``."""
    domain: str
    rows: int


def tokenize_columns(loaded: LoadedPolicy, columns: Sequence[str] = ()) -> dict[str, Tokenize]:
    """The policy's tokenize columns (all of them, or those named, which must be tokenize)."""
    found = {
        name: t
        for name, spec in loaded.policy.columns.items()
        if isinstance(t := spec.effective_transform(), Tokenize)
    }
    for name in columns:
        if name not in found:
            raise PolicyError(
                f"policy {loaded.path} has no tokenize column {name!r} "
                f"(its tokenize columns: {sorted(found) or 'none'})",
                file=str(loaded.path),
            )
    return {n: found[n] for n in columns} if columns else found


def purge_expired(
    loaded: LoadedPolicy, columns: Sequence[str] = (), *, now: int | None = None
) -> list[Purged]:
    """Delete the expired tokens of ``columns`` (default: every tokenize column)."""
    moment = int(time.time()) if now is None else now
    out = []
    for name, t in tokenize_columns(loaded, columns).items():
        backend = open_backend(t.vault, Path(loaded.base_dir), t.table)
        try:
            rows = backend.purge_expired(moment, t.domain)
        finally:
            backend.close()
        out.append(Purged(name, t.key, redact_url(t.vault), t.domain, rows))
    return out
