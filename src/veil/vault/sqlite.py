"""The embedded token vault: one SQLite file (WAL mode, mode 600).

Writers serialise on ``BEGIN IMMEDIATE``; each batch is one transaction, so a crash leaves the
vault as it was before the batch or after it, never in between. ``synchronous=FULL`` makes a
committed batch durable before the output that uses its tokens is written.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from veil.errors import VaultCorruptError, VaultError
from veil.vault.base import InsertOutcome, RowBatch, VaultBackend, VaultRow, read_back

_CHUNK = 4000  # bound parameters per statement (SQLite allows 32766)
_COLUMNS = "token, lookup, key_version, sealed, created_at, expires_at"


def _quote(table: str) -> str:
    return ".".join(f'"{part}"' for part in table.split("."))


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class SqliteVault(VaultBackend):
    def __init__(self, path: Path, table: str) -> None:
        self.path = path
        self.description = f"sqlite vault {path}"
        self._t = _quote(table)
        self._index = _quote(table.split(".")[-1] + "_lookup")
        if "." in table:
            self._index = _quote(table.split(".")[0]) + "." + self._index
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            created = not path.exists()
            self._con = sqlite3.connect(
                str(path), timeout=60.0, isolation_level=None, check_same_thread=False
            )
            if created:
                os.chmod(path, 0o600)
            self._con.execute("PRAGMA busy_timeout = 60000")
            self._con.execute("PRAGMA journal_mode = WAL")
            # Not NORMAL, although it would save an fsync per batch: in WAL mode it lets a power
            # loss undo committed batches whose tokens are already in outputs.
            self._con.execute("PRAGMA synchronous = FULL")
            # Lookups and inserts hit random B-tree pages: keep them in memory.
            self._con.execute("PRAGMA cache_size = -131072")  # 128 MiB
            self._con.execute("PRAGMA mmap_size = 1073741824")  # 1 GiB
            # Batches rewrite the same index pages: checkpoint less often (32 MiB of WAL).
            self._con.execute("PRAGMA wal_autocheckpoint = 8192")
            with self._tx():
                self._con.execute(
                    f"""CREATE TABLE IF NOT EXISTS {self._t} (
                        namespace TEXT NOT NULL,
                        token TEXT NOT NULL,
                        lookup BLOB,
                        key_version INTEGER NOT NULL,
                        sealed BLOB NOT NULL,
                        created_at INTEGER NOT NULL,
                        expires_at INTEGER,
                        PRIMARY KEY (namespace, token)
                    )"""
                )
                self._con.execute(
                    f"CREATE UNIQUE INDEX IF NOT EXISTS {self._index} "
                    f"ON {self._t.split('.')[-1]} (namespace, lookup)"
                )
        except sqlite3.Error as e:
            raise self._error(e, "cannot open") from None

    def __repr__(self) -> str:
        return f"SqliteVault({str(self.path)!r})"

    def _error(self, e: sqlite3.Error, what: str) -> VaultError:
        name = getattr(e, "sqlite_errorname", type(e).__name__)
        if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
            return VaultCorruptError(f"{self.description} is damaged ({name}); restore a backup")
        return VaultError(f"{self.description}: {what} ({name})")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        self._con.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._con.execute("COMMIT")
        except BaseException:
            if self._con.in_transaction:  # also after a failed COMMIT, which can leave it open
                self._con.execute("ROLLBACK")
            raise

    def _select(self, namespace: str, column: str, keys: Sequence[Any]) -> list[VaultRow]:
        out: list[VaultRow] = []
        for chunk in _chunks(keys):
            marks = ",".join("?" * len(chunk))
            cur = self._con.execute(
                f"SELECT {_COLUMNS} FROM {self._t} WHERE namespace = ? AND {column} IN ({marks})",
                (namespace, *chunk),
            )
            out.extend(map(VaultRow._make, cur.fetchall()))
        return out

    def _by_lookup(self, namespace: str, lookups: Sequence[bytes]) -> dict[bytes, VaultRow]:
        return {r.lookup: r for r in self._select(namespace, "lookup", lookups) if r.lookup}

    def _by_token(self, namespace: str, tokens: Sequence[str]) -> dict[str, VaultRow]:
        return {r.token: r for r in self._select(namespace, "token", tokens)}

    def find_by_lookup(self, namespace: str, lookups: Sequence[bytes]) -> dict[bytes, VaultRow]:
        try:
            return self._by_lookup(namespace, lookups)
        except sqlite3.Error as e:
            raise self._error(e, "lookup failed") from None

    def find_by_token(self, namespace: str, tokens: Sequence[str]) -> dict[str, VaultRow]:
        try:
            return self._by_token(namespace, tokens)
        except sqlite3.Error as e:
            raise self._error(e, "token lookup failed") from None

    def insert(
        self,
        namespace: str,
        batch: RowBatch,
        now: int,
        expired: Sequence[bytes] = (),
    ) -> InsertOutcome:
        try:
            with self._tx():
                self._delete_expired(namespace, now, expired)
                added = self._con.executemany(
                    f"INSERT INTO {self._t} (namespace, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    batch.db_rows(namespace),
                ).rowcount
                if added == len(batch):  # each row holds its own token and lookup hash
                    return InsertOutcome([], {})
                holders = self._by_lookup(namespace, batch.lookups or [])
                stored = self._by_token(namespace, batch.tokens) if batch.lookups is None else {}
                return read_back(batch, holders, stored)
        except sqlite3.Error as e:
            raise self._error(e, "insert failed") from None

    def _delete_expired(self, namespace: str, now: int, lookups: Sequence[bytes]) -> None:
        for chunk in _chunks(lookups):
            marks = ",".join("?" * len(chunk))
            self._con.execute(
                f"DELETE FROM {self._t} WHERE namespace = ? AND expires_at IS NOT NULL "
                f"AND expires_at <= ? AND lookup IN ({marks})",
                (namespace, now, *chunk),
            )

    def purge_expired(self, now: int, namespace: str | None = None) -> int:
        try:
            with self._tx():
                if namespace is None:
                    cur = self._con.execute(
                        f"DELETE FROM {self._t} WHERE expires_at IS NOT NULL AND expires_at <= ?",
                        (now,),
                    )
                else:
                    cur = self._con.execute(
                        f"DELETE FROM {self._t} WHERE namespace = ? AND expires_at IS NOT NULL "
                        "AND expires_at <= ?",
                        (namespace, now),
                    )
                return int(cur.rowcount)
        except sqlite3.Error as e:
            raise self._error(e, "purge failed") from None

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._con.close()
