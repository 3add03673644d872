"""The token vault on SQLite and on PostgreSQL: convergent, random and format-preserving
tokens, sealed storage, errors, expiry, key rotation, and concurrent processes."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from veil.errors import TokenExpiredError, TokenNotFoundError, VaultCorruptError, VaultError
from veil.vault import tokenizer as tokenizer_module
from veil.vault.base import VaultBackend, open_backend
from veil.vault.tokenizer import Detokenizer, Tokenizer, VersionKeys

from ._vault_worker import tokenize_job

SEAL = bytes(range(32))
LOOKUP = bytes(range(32, 64))
KEYS = [VersionKeys(1, SEAL, LOOKUP)]


def make(location: tuple[str, str], tmp_path: Path, **kw: Any) -> tuple[VaultBackend, Tokenizer]:
    backend = open_backend(location[0], tmp_path, location[1])
    return backend, Tokenizer(backend, kw.pop("namespace", "people"), kw.pop("keys", KEYS), **kw)


def detok(backend: VaultBackend, seal: dict[int, bytes] | None = None) -> Detokenizer:
    keys = seal or {1: SEAL}
    return Detokenizer(backend, "people", lambda v: keys[v])


def raw_rows(location: tuple[str, str], tmp_path: Path) -> list[tuple[Any, ...]]:
    if location[0].startswith("postgresql"):
        import psycopg

        with psycopg.connect(location[0]) as con:
            return con.execute(f"SELECT * FROM {location[1]}").fetchall()
    with sqlite3.connect(location[0]) as con:
        return con.execute(f"SELECT * FROM {location[1]}").fetchall()


def test_convergent_tokens_roundtrip_and_store_no_plain_value(
    vault_location: tuple[str, str], tmp_path: Path
) -> None:
    backend, tok = make(vault_location, tmp_path)
    values = ["alice@example.com", "bob@example.com", None, "alice@example.com", "ünïcødé"]
    tokens = tok.tokenize(pa.array(values)).to_pylist()
    assert tokens[2] is None and tokens[0] == tokens[3] and len(set(tokens)) == 4
    assert all(len(t) == 26 for t in tokens if t)
    # a new tokenizer (another job) finds the same tokens in the vault
    _, again = make(vault_location, tmp_path)
    assert again.tokenize(pa.array(values)).to_pylist() == tokens
    out, versions = detok(backend).detokenize(tokens)
    assert out == values and versions == {1}
    rows = raw_rows(vault_location, tmp_path)
    assert len(rows) == 3
    dump = repr(rows)
    for v in ("alice", "bob", "ünïcødé", "example.com"):
        assert v not in dump and v.encode().hex() not in dump


def test_random_mode_gives_every_occurrence_its_own_token(
    vault_location: tuple[str, str], tmp_path: Path
) -> None:
    backend, tok = make(vault_location, tmp_path, mode="random", prefix="tok_")
    values = ["same"] * 5 + [None]
    tokens = tok.tokenize(pa.array(values)).to_pylist()
    assert len(set(tokens[:5])) == 5 and tokens[5] is None
    assert all(t.startswith("tok_") for t in tokens[:5])
    assert detok(backend).detokenize(tokens)[0] == values


def test_format_preserving_tokens(vault_location: tuple[str, str], tmp_path: Path) -> None:
    backend, tok = make(vault_location, tmp_path, token_format="preserve")
    values = ["123-45-6789", "AbC-12x", "Zoë 99", "x"]
    tokens = tok.tokenize(pa.array(values)).to_pylist()
    for v, t in zip(values, tokens, strict=True):
        assert len(t) == len(v)
        for a, b in zip(v, t, strict=True):
            assert (a.isdigit(), a.isalpha() and a.isupper(), a.isalpha() and a.islower()) == (
                b.isdigit(),
                b.isalpha() and b.isupper(),
                b.isalpha() and b.islower(),
            )
            if not a.isalnum():
                assert a == b
    assert detok(backend).detokenize(tokens)[0] == values


def test_tiny_token_space_retries_then_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Format-preserving tokens of 2-digit values: 100 possible tokens; collisions retry."""
    backend, tok = make((str(tmp_path / "v.sqlite"), "t"), tmp_path, token_format="preserve")
    values = [f"{i:02d}" for i in range(40)]
    tokens = tok.tokenize(pa.array(values)).to_pylist()
    assert len(set(tokens)) == 40
    assert detok(backend).detokenize(tokens)[0] == values
    # a token generator that only ever offers a taken token: bounded retries, then a clear error
    monkeypatch.setattr(tok, "_new_tokens", lambda vs: [tokens[0]] * len(vs))
    with pytest.raises(VaultError, match="no free token found for 1 value"):
        tok.tokenize(pa.array(["77x"]))


def test_a_taken_token_is_retried_for_its_value_only(
    vault_location: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new token that is already in the vault makes the insert read back; only that value
    gets another token, and no value ends up with another value's token."""
    backend, tok = make(vault_location, tmp_path)
    [taken] = tok.tokenize(pa.array(["first"])).to_pylist()
    fresh = tok._new_tokens
    offered: list[int] = []

    def one_taken(values: Any) -> list[str]:
        tokens = fresh(values)
        if not offered:
            tokens[len(tokens) // 2] = taken
        offered.append(len(values))
        return tokens

    monkeypatch.setattr(tok, "_new_tokens", one_taken)
    values = [f"v{i}" for i in range(50)]
    tokens = tok.tokenize(pa.array(values)).to_pylist()
    assert offered == [50, 1]
    assert taken not in tokens and len(set(tokens)) == 50
    assert detok(backend).detokenize(tokens)[0] == values
    assert len(raw_rows(vault_location, tmp_path)) == 51


def test_random_mode_retries_a_token_offered_twice_in_a_batch(
    vault_location: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, tok = make(vault_location, tmp_path, mode="random")
    fresh = tok._new_tokens
    offered: list[int] = []

    def all_alike(values: Any) -> list[str]:
        tokens = fresh(values)
        if not offered:
            tokens = [tokens[0]] * len(tokens)
        offered.append(len(values))
        return tokens

    monkeypatch.setattr(tok, "_new_tokens", all_alike)
    values = ["a", "b", "c"]
    tokens = tok.tokenize(pa.array(values)).to_pylist()
    assert offered == [3, 2]
    assert len(set(tokens)) == 3
    assert detok(backend).detokenize(tokens)[0] == values


def test_errors_are_specific(vault_location: tuple[str, str], tmp_path: Path) -> None:
    backend, tok = make(vault_location, tmp_path)
    tokens = tok.tokenize(pa.array(["v1", "v2", "v3"])).to_pylist()
    with pytest.raises(TokenNotFoundError, match="value #2 is not a token"):
        detok(backend).detokenize([tokens[0], "notatoken", tokens[1]])
    # corrupt one sealed value in the database
    if vault_location[0].startswith("postgresql"):
        import psycopg

        with psycopg.connect(vault_location[0], autocommit=True) as con:
            con.execute(
                f"UPDATE {vault_location[1]} SET sealed = set_byte(sealed, 20, get_byte(sealed, 20) # 1) "
                "WHERE token = %s",
                (tokens[1],),
            )
            # and move v3's sealed value under v1's token
            con.execute(
                f"UPDATE {vault_location[1]} SET sealed = (SELECT sealed FROM {vault_location[1]} "
                "WHERE token = %s) WHERE token = %s",
                (tokens[2], tokens[0]),
            )
    else:
        with sqlite3.connect(vault_location[0]) as con:
            (sealed,) = con.execute(
                f"SELECT sealed FROM {vault_location[1]} WHERE token = ?", (tokens[1],)
            ).fetchone()
            bad = bytearray(sealed)
            bad[20] ^= 1
            con.execute(
                f"UPDATE {vault_location[1]} SET sealed = ? WHERE token = ?",
                (bytes(bad), tokens[1]),
            )
            (other,) = con.execute(
                f"SELECT sealed FROM {vault_location[1]} WHERE token = ?", (tokens[2],)
            ).fetchone()
            con.execute(
                f"UPDATE {vault_location[1]} SET sealed = ? WHERE token = ?", (other, tokens[0])
            )
    with pytest.raises(VaultCorruptError, match="value #1 fails its integrity check"):
        detok(backend).detokenize([tokens[1]])
    with pytest.raises(VaultCorruptError):
        detok(backend).detokenize([tokens[0]])  # swapped row: the AAD binds the token
    assert detok(backend).detokenize([tokens[2]])[0] == ["v3"]
    with pytest.raises(VaultCorruptError):  # another key cannot unseal it
        detok(backend, {1: bytes(32)}).detokenize([tokens[2]])


def test_expiry(
    vault_location: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, tok = make(vault_location, tmp_path, ttl_seconds=3600)
    [t1] = tok.tokenize(pa.array(["expiring"])).to_pylist()
    assert detok(backend).detokenize([t1])[0] == ["expiring"]
    now = tokenizer_module.time.time()
    monkeypatch.setattr(tokenizer_module.time, "time", lambda: now + 7200)
    with pytest.raises(TokenExpiredError, match="expired at"):
        detok(backend).detokenize([t1])
    _, fresh = make(vault_location, tmp_path, ttl_seconds=3600)
    [t2] = fresh.tokenize(pa.array(["expiring"])).to_pylist()
    assert t2 != t1  # the expired row was replaced by a new token
    assert detok(backend).detokenize([t2])[0] == ["expiring"]
    assert len(raw_rows(vault_location, tmp_path)) == 1
    assert backend.purge_expired(int(now) + 20000) == 1


def test_key_rotation_keeps_convergent_tokens(
    vault_location: tuple[str, str], tmp_path: Path
) -> None:
    backend, tok = make(vault_location, tmp_path)
    old = tok.tokenize(pa.array(["a", "b"])).to_pylist()
    v2 = VersionKeys(2, bytes(range(64, 96)), bytes(range(96, 128)))
    _, rotated = make(vault_location, tmp_path, keys=[v2, KEYS[0]])
    new = rotated.tokenize(pa.array(["a", "b", "c"])).to_pylist()
    assert new[:2] == old  # found under the old version's lookup hash
    out, versions = detok(backend, {1: SEAL, 2: v2.seal}).detokenize(new)
    assert out == ["a", "b", "c"] and versions == {1, 2}


class CountingBackend(VaultBackend):
    def __init__(self, inner: VaultBackend) -> None:
        self.inner = inner
        self.description = inner.description
        self.calls: list[str] = []

    def find_by_lookup(self, namespace: str, lookups: Any) -> Any:
        self.calls.append("find")
        return self.inner.find_by_lookup(namespace, lookups)

    def find_by_token(self, namespace: str, tokens: Any) -> Any:
        self.calls.append("token")
        return self.inner.find_by_token(namespace, tokens)

    def insert(self, namespace: str, rows: Any, now: int, expired: Any = ()) -> Any:
        self.calls.append("insert")
        return self.inner.insert(namespace, rows, now, expired)

    def purge_expired(self, now: int, namespace: str | None = None) -> int:
        return self.inner.purge_expired(now, namespace)

    def close(self) -> None:
        self.inner.close()


def test_one_round_trip_per_batch_of_distinct_values(tmp_path: Path) -> None:
    backend = CountingBackend(open_backend(str(tmp_path / "v.sqlite"), tmp_path))
    tok = Tokenizer(backend, "people", KEYS)
    values = pa.array([f"v{i % 1000}" for i in range(20_000)])
    out = tok.tokenize(values)
    assert backend.calls == ["find", "insert"]  # 1,000 distinct values, one batch
    assert len(set(out.to_pylist())) == 1000
    backend.calls.clear()
    tok.tokenize(values)
    assert backend.calls == []  # cached in this job
    fresh = Tokenizer(backend, "people", KEYS)
    fresh.tokenize(values)
    assert backend.calls == ["find"]  # next job: all found, nothing written


def test_backend_errors(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match="cannot connect"):
        open_backend("postgresql://postgres@127.0.0.1:1/test", tmp_path)
    with pytest.raises(VaultError, match="unsupported vault location"):
        open_backend("mysql://x/y", tmp_path)
    with pytest.raises(VaultError, match="invalid vault table"):
        open_backend(str(tmp_path / "v.sqlite"), tmp_path, "bad name;")
    with pytest.raises(VaultError, match="unset"):
        open_backend("$VEIL_SURELY_UNSET_VAR/v.sqlite", tmp_path)
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(os.urandom(4096))
    with pytest.raises(VaultCorruptError, match="damaged"):
        open_backend(str(garbage), tmp_path)
    backend = open_backend(f"sqlite:///{tmp_path}/sub/v.sqlite", tmp_path)
    assert stat.S_IMODE((tmp_path / "sub" / "v.sqlite").stat().st_mode) == 0o600
    backend.close()


def test_postgres_url_password_is_not_in_messages(tmp_path: Path) -> None:
    with pytest.raises(VaultError) as info:
        open_backend("postgresql://postgres:hunter2@127.0.0.1:1/test", tmp_path)
    assert "hunter2" not in str(info.value) and "***" in str(info.value)


def _run_concurrently(
    location: tuple[str, str], tmp_path: Path, procs: int
) -> list[dict[str, str]]:
    # overlapping value sets, each in its own random order
    everyone = [f"person-{i}" for i in range(1500)]
    sets = []
    for p in range(procs):
        mine = everyone[p * 200 : p * 200 + 1100]
        random.Random(p).shuffle(mine)
        sets.append(mine)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(procs)
    outs = [tmp_path / f"out{p}.json" for p in range(procs)]
    workers = [
        ctx.Process(
            target=tokenize_job,
            args=(
                location[0],
                location[1],
                SEAL.hex(),
                LOOKUP.hex(),
                sets[p],
                str(outs[p]),
                barrier,
            ),
        )
        for p in range(procs)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(180)
        assert w.exitcode == 0
    return [json.loads(o.read_text()) for o in outs]


def test_concurrent_processes_get_one_token_per_value(
    vault_location: tuple[str, str], tmp_path: Path
) -> None:
    open_backend(vault_location[0], tmp_path, vault_location[1]).close()  # create the table
    results = _run_concurrently(vault_location, tmp_path, procs=3)
    merged: dict[str, str] = {}
    for r in results:
        for value, token in r.items():
            assert merged.setdefault(value, token) == token  # every process got the same token
    rows = raw_rows(vault_location, tmp_path)
    assert len(rows) == len(merged) == 1500  # exactly one row per value
    assert len({r[1] for r in rows}) == 1500  # tokens unique
    backend = open_backend(vault_location[0], tmp_path, vault_location[1])
    sample = list(merged.items())[:50]
    assert detok(backend).detokenize([t for _, t in sample])[0] == [v for v, _ in sample]


def test_batch_functions_survive_pickling(tmp_path: Path) -> None:
    """Spark ships UDFs to executors: tokenizer, SIV and FF1 objects pickle and still work;
    a pickled tokenizer opens its own vault connection and agrees with the original."""
    import functools
    import pickle

    from veil.crypto.fpe import FpeCodec
    from veil.crypto.siv import SivEncryptor

    opener = functools.partial(open_backend, str(tmp_path / "v.sqlite"), tmp_path, "veil_tokens")
    tok = Tokenizer(opener(), "people", KEYS, opener=opener)
    first = tok.tokenize(pa.array(["a", "b"])).to_pylist()
    copy = pickle.loads(pickle.dumps(tok))
    assert copy.tokenize(pa.array(["b", "a", "c"])).to_pylist()[:2] == first[::-1]
    with pytest.raises(TypeError, match="without an opener"):
        pickle.dumps(Tokenizer(opener(), "people", KEYS))
    siv = SivEncryptor(bytes(64), 3)
    assert (
        pickle.loads(pickle.dumps(siv))
        .encrypt(pa.array(["x"]))
        .equals(siv.encrypt(pa.array(["x"])))
    )
    fpe = FpeCodec(bytes(32), "0123456789", separators="-")
    arr = pa.array(["123-45-6789"])
    assert pickle.loads(pickle.dumps(fpe)).encrypt(arr).equals(fpe.encrypt(arr))
