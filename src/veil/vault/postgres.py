"""The shared token vault on PostgreSQL (psycopg 3), for several workers at once.

Each batch is one transaction of a few statements whatever its size: rows travel as arrays
(``unnest``), lookups use ``= ANY(array)``. Inserts are sorted by lookup hash so concurrent
batches take their unique-index locks in the same order (no deadlock cycle); a deadlock or
serialization failure reported anyway is retried.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

from veil.errors import VaultError
from veil.vault.base import VaultBackend, VaultRow, redact_url

_COLUMNS = "token, lookup, key_version, sealed, created_at, expires_at"
_RETRIES = 5


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

    def find_by_lookup(self, namespace: str, lookups: Sequence[bytes]) -> dict[bytes, VaultRow]:
        if not lookups:
            return {}
        try:
            cur = self._con.execute(
                self._q(f"SELECT {_COLUMNS} FROM {{t}} WHERE namespace = %s AND lookup = ANY(%s)"),
                (namespace, list(lookups)),
            )
            return {r.lookup: r for r in map(VaultRow._make, cur.fetchall()) if r.lookup}
        except self._psycopg.Error as e:
            raise self._error(e, "lookup failed") from None

    def find_by_token(self, namespace: str, tokens: Sequence[str]) -> dict[str, VaultRow]:
        if not tokens:
            return {}
        try:
            cur = self._con.execute(
                self._q(f"SELECT {_COLUMNS} FROM {{t}} WHERE namespace = %s AND token = ANY(%s)"),
                (namespace, list(tokens)),
            )
            return {r.token: r for r in map(VaultRow._make, cur.fetchall())}
        except self._psycopg.Error as e:
            raise self._error(e, "token lookup failed") from None

    def insert(
        self,
        namespace: str,
        rows: Sequence[VaultRow],
        now: int,
        expired: Sequence[bytes] = (),
    ) -> tuple[dict[bytes, VaultRow], set[str]]:
        ordered = sorted(rows, key=lambda r: (r.lookup or b"", r.token))
        lookups = [r.lookup for r in ordered if r.lookup is not None]
        plain = [r.token for r in ordered if r.lookup is None]
        errors = self._psycopg.errors
        for attempt in range(_RETRIES):
            try:
                with self._con.transaction():
                    if expired:
                        self._con.execute(
                            self._q(
                                "DELETE FROM {t} WHERE namespace = %s AND expires_at <= %s "
                                "AND lookup = ANY(%s)"
                            ),
                            (namespace, now, list(expired)),
                        )
                    self._con.execute(
                        self._q(
                            f"INSERT INTO {{t}} (namespace, {_COLUMNS}) "
                            "SELECT %s, * FROM unnest(%s::text[], %s::bytea[], %s::int[], "
                            "%s::bytea[], %s::bigint[], %s::bigint[]) ON CONFLICT DO NOTHING"
                        ),
                        (
                            namespace,
                            [r.token for r in ordered],
                            [r.lookup for r in ordered],
                            [r.key_version for r in ordered],
                            [r.sealed for r in ordered],
                            [r.created_at for r in ordered],
                            [r.expires_at for r in ordered],
                        ),
                    )
                    winners = self.find_by_lookup(namespace, lookups)
                    stored = self.find_by_token(namespace, plain)
                break
            except (errors.DeadlockDetected, errors.SerializationFailure) as e:
                if attempt == _RETRIES - 1:
                    raise self._error(e, "insert failed after retries") from None
                time.sleep(0.05 * (attempt + 1))
            except self._psycopg.Error as e:
                raise self._error(e, "insert failed") from None
        inserted = {
            r.token
            for r in rows
            if (r.lookup is not None and (w := winners.get(r.lookup)) and w.sealed == r.sealed)
            or (r.lookup is None and (s := stored.get(r.token)) and s.sealed == r.sealed)
        }
        return winners, inserted

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
