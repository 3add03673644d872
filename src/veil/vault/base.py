"""The token vault's storage interface, and how a vault location becomes a backend.

A vault row holds a token, the keyed lookup hash of its value (convergent tokens only), the key
version it was sealed under, the value **sealed with AES-GCM** (never the value itself), and
optional expiry. Backends store and fetch rows in batches; all cryptography happens in
:mod:`veil.vault.tokenizer`, so a backend never sees a plaintext value or a key.

Concurrency contract (what makes "one token per value" hold across processes): rows are unique
on ``(namespace, token)`` and on ``(namespace, lookup)``; :meth:`VaultBackend.insert` inserts a
batch in one transaction, skipping the rows whose token or lookup hash is taken (``ON CONFLICT
DO NOTHING``). When every row went in, each holds its own token and lookup hash and nothing needs
reading back; otherwise the rows that now hold the batch's lookup hashes (or tokens) are read
back in the same transaction, so every process adopts whichever token won.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

from veil.errors import VaultError

_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")
DEFAULT_TABLE = "veil_tokens"
DEFAULT_VAULT = ".veil/vault.sqlite"


class VaultRow(NamedTuple):
    """One vault row, in the column order of the vault table (``VaultRow._make(db_row)``)."""

    token: str
    lookup: bytes | None
    key_version: int
    sealed: bytes
    created_at: int
    expires_at: int | None


@dataclass(frozen=True)
class RowBatch:
    """New vault rows column by column, all sealed under one key version at the same time
    (building a row object per value cost more than sealing the value)."""

    tokens: list[str]
    lookups: list[bytes] | None
    """Lookup hashes of convergent tokens, in token order; None for random tokens."""
    sealed: list[bytes]
    key_version: int
    created_at: int
    expires_at: int | None

    def __len__(self) -> int:
        return len(self.tokens)

    def db_rows(self, namespace: str) -> Iterator[tuple[object, ...]]:
        """``(namespace, *VaultRow)`` per row, in the column order of the vault table."""
        n = len(self.tokens)
        return zip(
            repeat(namespace, n),
            self.tokens,
            repeat(None, n) if self.lookups is None else self.lookups,
            repeat(self.key_version, n),
            self.sealed,
            repeat(self.created_at, n),
            repeat(self.expires_at, n),
            strict=False,  # the repeats are exactly n long; zip(strict=True) cannot see it
        )


class InsertOutcome(NamedTuple):
    rejected: list[int]
    """Positions in the batch of the rows that were not inserted (token or lookup hash taken)."""
    holders: dict[bytes, VaultRow]
    """When rows were rejected: the rows now holding the batch's lookup hashes."""


def read_back(
    batch: RowBatch, holders: dict[bytes, VaultRow], stored: dict[str, VaultRow]
) -> InsertOutcome:
    """The outcome of an insert that did not take every row, from the rows now holding the
    batch's lookup hashes (convergent) or tokens (random). A row went in if the stored row has
    its sealed value: nonces are random, so no two rows share one."""
    if batch.lookups is not None:
        found = [holders.get(lookup) for lookup in batch.lookups]
    else:
        found = [stored.get(token) for token in batch.tokens]
    rejected = [
        i
        for i, (row, sealed) in enumerate(zip(found, batch.sealed, strict=True))
        if row is None or row.sealed != sealed
    ]
    return InsertOutcome(rejected, holders)


class VaultBackend(ABC):
    """Batched storage of vault rows. One instance per process; not shared across threads
    without the caller's lock (the tokenizer holds one)."""

    description: str

    @abstractmethod
    def find_by_lookup(self, namespace: str, lookups: Sequence[bytes]) -> dict[bytes, VaultRow]:
        """Rows holding these lookup hashes (expired ones included; the caller decides)."""

    @abstractmethod
    def find_by_token(self, namespace: str, tokens: Sequence[str]) -> dict[str, VaultRow]:
        """Rows holding these tokens."""

    @abstractmethod
    def insert(
        self,
        namespace: str,
        batch: RowBatch,
        now: int,
        expired: Sequence[bytes] = (),
    ) -> InsertOutcome:
        """In one transaction: delete the rows holding the lookup hashes ``expired`` if they
        have expired by ``now``, insert the rows of ``batch`` skipping any that conflict (on
        token or lookup), and say which were skipped and who holds their lookup hashes."""

    @abstractmethod
    def purge_expired(self, now: int, namespace: str | None = None) -> int:
        """Delete expired rows; returns how many."""

    @abstractmethod
    def close(self) -> None: ...


def check_table(name: str) -> str:
    if not _TABLE.match(name):
        raise VaultError(
            f"invalid vault table name {name!r}: use letters, digits and '_' "
            "(optionally schema.table)"
        )
    return name


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def open_backend(location: str, base_dir: Path, table: str = DEFAULT_TABLE) -> VaultBackend:
    """A backend for a vault location: a ``postgresql://`` URL, a ``sqlite:///path`` URL or a
    plain SQLite file path (relative to ``base_dir``). ``$VAR`` in the location is expanded
    from the environment, so credentials can stay out of the policy."""
    check_table(table)
    expanded = os.path.expandvars(location)
    if "$" in expanded:
        raise VaultError(f"vault location {location!r} names an environment variable that is unset")
    if is_postgres(expanded):
        from veil.vault.postgres import PostgresVault

        return PostgresVault(expanded, table)
    if expanded.startswith("sqlite:///"):
        # sqlite:///relative/path or sqlite:////absolute/path
        expanded = expanded[len("sqlite:///") :]
    elif "://" in expanded:
        raise VaultError(
            f"unsupported vault location {location!r}: use a SQLite file path or a "
            "postgresql:// URL"
        )
    path = Path(os.path.expanduser(expanded))
    if not path.is_absolute():
        path = base_dir / path
    from veil.vault.sqlite import SqliteVault

    return SqliteVault(path, table)
