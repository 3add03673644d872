"""The shared token vault on PostgreSQL (psycopg 3), for several workers at once.

Each batch is one transaction of a few statements whatever its size: rows travel as arrays
(``unnest``), lookups use ``= ANY(array)``; arrays are sent in binary (the text form escapes
every element in Python, which cost more than the database's work). Inserts are sorted by lookup
hash so concurrent batches take their unique-index locks in the same order (no deadlock cycle);
a deadlock or serialization failure reported anyway is retried.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from veil.errors import VaultError
from veil.vault.base import (
    InsertOutcome,
    RowBatch,
    VaultBackend,
    VaultRow,
    read_back,
    redact_url,
)

_COLUMNS = "token, lookup, key_version, sealed, created_at, expires_at"
_RETRIES = 5


class _Taken(Exception):
    """A plain INSERT met a token or lookup hash that is already in the vault."""


class _Ordered(NamedTuple):
    rows: RowBatch
    order: list[int]
    """Position in the caller's batch of each row of ``rows``."""


def _in_lock_order(batch: RowBatch) -> _Ordered:
    """The batch sorted by lookup hash (random tokens: by token), so that concurrent inserts
    take their unique-index locks in the same order."""
    lookups = batch.lookups
    if lookups is None:
        order = sorted(range(len(batch)), key=batch.tokens.__getitem__)
    else:
        order = sorted(range(len(batch)), key=lookups.__getitem__)
    return _Ordered(
        RowBatch(
            [batch.tokens[i] for i in order],
            None if lookups is None else [lookups[i] for i in order],
            [batch.sealed[i] for i in order],
            batch.key_version,
            batch.created_at,
            batch.expires_at,
        ),
        order,
    )


class PostgresVault(VaultBackend):
    def __init__(self, url: str, table: str) -> None:
        try:
            import psycopg
            from psycopg import sql
        except ImportError:  # pragma: no cover - psycopg is a dependency
            raise VaultError(
                'a postgresql:// vault needs psycopg: pip install "psycopg[binary]"'
            ) from None
        self._psycopg = psycopg
        self.description = f"postgres vault {redact_url(url)} table {table}"
        parts = table.split(".")
        self._t = sql.SQL(".").join(sql.Identifier(p) for p in parts)
        self._index = sql.Identifier(parts[-1] + "_lookup")
        try:
            self._con = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as e:
            raise VaultError(f"{self.description}: cannot connect ({type(e).__name__})") from None
        self._sql = sql
        try:
            with self._con.transaction():
                # Serialise schema creation: concurrent CREATE ... IF NOT EXISTS can collide.
                self._con.execute("SELECT pg_advisory_xact_lock(hashtext('veil-vault-schema'))")
                if len(parts) == 2:
                    self._con.execute(
                        sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(parts[0]))
                    )
                self._con.execute(
                    sql.SQL(
                        """CREATE TABLE IF NOT EXISTS {} (
                            namespace TEXT NOT NULL,
                            token TEXT NOT NULL,
                            lookup BYTEA,
                            key_version INTEGER NOT NULL,
                            sealed BYTEA NOT NULL,
                            created_at BIGINT NOT NULL,
                            expires_at BIGINT,
                            PRIMARY KEY (namespace, token)
                        )"""
                    ).format(self._t)
                )
                self._con.execute(
                    sql.SQL(
                        "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} (namespace, lookup)"
                    ).format(self._index, self._t)
                )
        except psycopg.Error as e:
            self.close()
            raise self._error(e, "cannot prepare the vault table") from None

    def __repr__(self) -> str:
        return f"PostgresVault({self.description!r})"

    def _error(self, e: Exception, what: str) -> VaultError:
        state = getattr(getattr(e, "diag", None), "sqlstate", None)
        return VaultError(
            f"{self.description}: {what} ({type(e).__name__}{', ' + state if state else ''})"
        )

    def _q(self, text: str) -> Any:
        return self._sql.SQL(text).format(t=self._t)

    def _by_lookup(self, namespace: str, lookups: Sequence[bytes]) -> dict[bytes, VaultRow]:
        if not lookups:
            return {}
        cur = self._con.execute(
            self._q(f"SELECT {_COLUMNS} FROM {{t}} WHERE namespace = %s AND lookup = ANY(%b)"),
            (namespace, list(lookups)),
        )
        return {r.lookup: r for r in map(VaultRow._make, cur.fetchall()) if r.lookup}

    def _by_token(self, namespace: str, tokens: Sequence[str]) -> dict[str, VaultRow]:
        if not tokens:
            return {}
        cur = self._con.execute(
            self._q(f"SELECT {_COLUMNS} FROM {{t}} WHERE namespace = %s AND token = ANY(%b)"),
            (namespace, list(tokens)),
        )
        return {r.token: r for r in map(VaultRow._make, cur.fetchall())}

    def find_by_lookup(self, namespace: str, lookups: Sequence[bytes]) -> dict[bytes, VaultRow]:
        try:
            return self._by_lookup(namespace, lookups)
        except self._psycopg.Error as e:
            raise self._error(e, "lookup failed") from None

    def find_by_token(self, namespace: str, tokens: Sequence[str]) -> dict[str, VaultRow]:
        try:
            return self._by_token(namespace, tokens)
        except self._psycopg.Error as e:
            raise self._error(e, "token lookup failed") from None

    def insert(
        self,
        namespace: str,
        batch: RowBatch,
        now: int,
        expired: Sequence[bytes] = (),
    ) -> InsertOutcome:
        ordered = _in_lock_order(batch)
        # A plain INSERT first: ON CONFLICT makes PostgreSQL insert every row speculatively,
        # which costs ~60% more per row. Only a batch that meets a taken token or lookup hash
        # pays that, after the plain attempt has rolled back.
        try:
            return self._transact(self._insert_all, namespace, ordered, now, expired)
        except _Taken:
            return self._transact(self._insert_untaken, namespace, ordered, now, expired)

    def _transact(
        self,
        work: Callable[[str, _Ordered], InsertOutcome],
        namespace: str,
        batch: _Ordered,
        now: int,
        expired: Sequence[bytes],
    ) -> InsertOutcome:
        """``work`` in a transaction, run again after a deadlock or serialization failure."""
        errors = self._psycopg.errors
        for attempt in range(_RETRIES):
            try:
                with self._con.transaction():
                    self._delete_expired(namespace, now, expired)
                    return work(namespace, batch)
            except (errors.DeadlockDetected, errors.SerializationFailure) as e:
                if attempt == _RETRIES - 1:
                    raise self._error(e, "insert failed after retries") from None
                time.sleep(0.05 * (attempt + 1))
            except self._psycopg.Error as e:
                raise self._error(e, "insert failed") from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _delete_expired(self, namespace: str, now: int, lookups: Sequence[bytes]) -> None:
        if lookups:
            self._con.execute(
                self._q(
                    "DELETE FROM {t} WHERE namespace = %s AND expires_at <= %s AND lookup = ANY(%b)"
                ),
                (namespace, now, list(lookups)),
            )

    def _execute_insert(self, namespace: str, rows: RowBatch, on_conflict: str) -> int:
        cur = self._con.execute(
            self._q(
                f"INSERT INTO {{t}} (namespace, {_COLUMNS}) "
                "SELECT %s, token, lookup, %s::int, sealed, %s::bigint, %s::bigint "
                "FROM unnest(%b::text[], %b::bytea[], %b::bytea[]) AS u(token, lookup, sealed) "
                + on_conflict
            ),
            (
                namespace,
                rows.key_version,
                rows.created_at,
                rows.expires_at,
                rows.tokens,
                rows.lookups,  # None for random tokens: unnest pads it with NULLs
                rows.sealed,
            ),
        )
        return int(cur.rowcount)

    def _insert_all(self, namespace: str, batch: _Ordered) -> InsertOutcome:
        try:
            self._execute_insert(namespace, batch.rows, "")
        except self._psycopg.errors.UniqueViolation:
            raise _Taken from None
        return InsertOutcome([], {})

    def _insert_untaken(self, namespace: str, batch: _Ordered) -> InsertOutcome:
        rows = batch.rows
        if self._execute_insert(namespace, rows, "ON CONFLICT DO NOTHING") == len(rows):
            return InsertOutcome([], {})  # what was taken has been freed since
        holders = self._by_lookup(namespace, rows.lookups or [])
        stored = self._by_token(namespace, rows.tokens) if rows.lookups is None else {}
        outcome = read_back(rows, holders, stored)
        return InsertOutcome([batch.order[i] for i in outcome.rejected], outcome.holders)

    def purge_expired(self, now: int, namespace: str | None = None) -> int:
        try:
            if namespace is None:
                cur = self._con.execute(self._q("DELETE FROM {t} WHERE expires_at <= %s"), (now,))
            else:
                cur = self._con.execute(
                    self._q("DELETE FROM {t} WHERE namespace = %s AND expires_at <= %s"),
                    (namespace, now),
                )
            return int(cur.rowcount)
        except self._psycopg.Error as e:
            raise self._error(e, "purge failed") from None

    def close(self) -> None:
        con = getattr(self, "_con", None)
        if con is not None:
            with contextlib.suppress(Exception):
                con.close()
