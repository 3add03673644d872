"""Tamper-evident, append-only audit log of veil.

File format
-----------
The log is a JSON Lines file: one record per line, each a JSON object with exactly these fields::

    seq    int   1, 2, 3, ... (consecutive, no gaps)
    ts     str   UTC time of the append, ISO-8601 with a trailing "Z"
    event  str   what happened, e.g. "run.completed"
    actor  str   who did it (defaults to the OS user name, else "unknown")
    data   dict  JSON details of the event (see the rule below)
    prev   str   ``hash`` of the previous record; 64 zeros for the first record
    hash   str   hex digest of this record

``hash`` is computed over the canonical JSON of the record *without* its ``hash`` field
(``json.dumps(..., sort_keys=True, separators=(",", ":"), ensure_ascii=False)``, UTF-8):

* with an audit key: ``HMAC-SHA-256(key, canonical_json)``;
* without a key: ``SHA-256(canonical_json)``.

Lines are written in that same canonical form.

A sidecar head file ``<log>.head`` holds ``{"seq": <last seq>, "hash": <last hash>, "mac": ...}``
where ``mac`` is the same digest (HMAC with the key, else SHA-256) of the canonical JSON of
``{"head": {"hash": <last hash>, "seq": <last seq>}}``. It is replaced atomically (temp file in
the same directory, fsync, ``os.replace``) after every append, so deleting records from the end
of the log is detected too. Appends from several processes are serialised by an exclusive
``fcntl.flock`` on ``<log>.lock`` held around read-last-record + append + fsync + head update.

What the chain does and does not protect against
------------------------------------------------
Without a key the hash chain detects accidental corruption and naive tampering: an edited field,
a deleted, inserted or reordered record, or a truncated tail (via the head file). It does **not**
stop a deliberate attacker with write access, who can recompute every SHA-256 hash after the
change and rewrite the head file to match. With an audit key (HMAC) the attacker can no longer
produce a record, a chain or a head file that verifies without knowing the key; keep the key
away from the people and processes who can write the log. Even with a key, restoring an older
*complete* copy of the log together with its head file (a rollback) can only be detected by
comparing against a copy of the head kept elsewhere.

Crash safety: a record is fsynced before the head file is updated. If a process dies between
the two, :meth:`AuditLog.verify` reports that the head file lags one record behind; the next
successful :meth:`AuditLog.append` repairs the head (only in exactly that situation - any other
mismatch between log and head makes ``append`` refuse with :class:`AuditTamperedError`).

Rule for callers (no PII in the audit log)
------------------------------------------
The audit log is not protected like the data it describes. Callers pass **counts, names of
columns, hashes and key ids only** - never data values (no cell contents, no sample rows, no
identifiers of data subjects) and never key material. ``append`` does not try to detect PII;
following this rule is the caller's responsibility. Error messages of this module name field
paths and types, never values.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import hmac
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import AuditError, AuditTamperedError

__all__ = ["GENESIS_HASH", "AuditLog", "VerifyReport", "canonical_json"]

#: ``prev`` of the first record.
GENESIS_HASH = "0" * 64

_FIELDS = ("seq", "ts", "event", "actor", "data", "prev", "hash")
_HEX64 = re.compile(r"[0-9a-f]{64}")
_FILE_MODE = 0o600
_TAIL_CHUNK = 8192
#: At most this many problems are listed in a report; the rest are summarised in one entry.
MAX_PROBLEMS = 1000


def canonical_json(obj: Any) -> str:
    """The canonical JSON text hashed (and written) by the audit log."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def _digest(key: bytes | None, payload: str) -> str:
    raw = payload.encode("utf-8")
    if key is None:
        return hashlib.sha256(raw).hexdigest()
    return hmac.new(key, raw, hashlib.sha256).hexdigest()


def _record_hash(record: dict[str, Any], key: bytes | None) -> str:
    body = {name: value for name, value in record.items() if name != "hash"}
    return _digest(key, canonical_json(body))


def _head_mac(seq: int, last_hash: str, key: bytes | None) -> str:
    return _digest(key, canonical_json({"head": {"hash": last_hash, "seq": seq}}))


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _default_actor() -> str:
    try:
        name = getpass.getuser()
    except Exception:  # getuser raises OSError/KeyError/ImportError depending on platform
        return "unknown"
    return name or "unknown"


def _check_json_value(value: Any, where: str) -> None:
    """Raise AuditError unless ``value`` is plain JSON. Messages name paths and types only."""
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise AuditError(f"audit data {where} is a non-finite float, which is not valid JSON")
        return
    if isinstance(value, str):
        _check_utf8(value, where)
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json_value(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str):
                raise AuditError(
                    f"audit data {where} has a key of type {type(name).__name__}; "
                    "JSON object keys must be strings"
                )
            _check_utf8(name, f"{where} key")
            _check_json_value(item, f"{where}.{name}")
        return
    raise AuditError(
        f"audit data {where} has type {type(value).__name__}, which is not JSON-serializable"
    )


def _check_utf8(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise AuditError(
            f"audit data {where} is a string that cannot be encoded as UTF-8"
        ) from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError("duplicate key in JSON object")
        result[name] = value
    return result


def _loads(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no duplicate keys. Raises ValueError."""
    return json.loads(
        raw.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_keys
    )


def _record_problem(obj: Any) -> str | None:
    """Why ``obj`` is not a well-formed record, or None if it is."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    missing = [name for name in _FIELDS if name not in obj]
    if missing:
        return "malformed record: missing field(s) " + ", ".join(missing)
    extra = sorted(name for name in obj if name not in _FIELDS)
    if extra:
        return "malformed record: unexpected field(s) " + ", ".join(extra)
    seq = obj["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
        return "malformed record: field 'seq' must be a positive integer"
    for name in ("ts", "event", "actor"):
        if not isinstance(obj[name], str):
            return f"malformed record: field '{name}' must be a string"
    if not isinstance(obj["data"], dict):
        return "malformed record: field 'data' must be an object"
    for name in ("prev", "hash"):
        value = obj[name]
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            return f"malformed record: field '{name}' must be 64 lowercase hex digits"
    return None


def _parse_record(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """Parse one line (without its newline). Returns (record, None) or (None, problem)."""
    if not raw.strip():
        return None, "not valid JSON (empty line)"
    try:
        obj = _loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None, "not valid JSON"
    problem = _record_problem(obj)
    if problem is not None:
        return None, problem
    record: dict[str, Any] = obj
    return record, None


@dataclass(frozen=True)
class _Head:
    seq: int
    hash: str
    mac: str


def _parse_head(raw: bytes) -> _Head:
    """Parse the head file. Raises ValueError with a reason."""
    obj = _loads(raw)
    if not isinstance(obj, dict) or set(obj) != {"seq", "hash", "mac"}:
        raise ValueError("expected an object with fields seq, hash, mac")
    seq, last_hash, mac = obj["seq"], obj["hash"], obj["mac"]
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise ValueError("field 'seq' must be a non-negative integer")
    for name, value in (("hash", last_hash), ("mac", mac)):
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise ValueError(f"field '{name}' must be 64 lowercase hex digits")
    return _Head(seq=seq, hash=last_hash, mac=mac)


def _iter_lines(handle: BinaryIO, limit: int) -> Iterator[tuple[int, bytes, bool]]:
    """Yield (line number, line without newline, terminated?) for the first ``limit`` bytes."""
    remaining = limit
    lineno = 0
    while remaining > 0:
        line = handle.readline(remaining)
        if not line:
            return
        remaining -= len(line)
        lineno += 1
        if line.endswith(b"\n"):
            yield lineno, line[:-1], True
        else:
            yield lineno, line, False


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems do not support fsync on directories
    finally:
        os.close(fd)


@dataclass(frozen=True)
class VerifyReport:
    """Result of :meth:`AuditLog.verify`.

    ``records`` counts the lines holding a well-formed record (whether or not its hash checks
    out). ``problems`` has one human-readable entry per finding, each naming the line number
    and/or seq (line numbers are 1-based); it is empty exactly when ``ok`` is true.
    """

    ok: bool
    records: int
    problems: list[str] = field(default_factory=list)


@dataclass
class _Entry:
    line: int
    record: dict[str, Any]
    bad_before: int  # unparseable lines between the previous well-formed record and this one


class _Problems:
    def __init__(self) -> None:
        self._items: list[tuple[float, int, str]] = []

    def add(self, line: float, message: str) -> None:
        self._items.append((line, len(self._items), message))

    def sorted(self) -> list[str]:
        messages = [message for _, _, message in sorted(self._items)]
        if len(messages) > MAX_PROBLEMS:
            rest = len(messages) - MAX_PROBLEMS
            messages = messages[:MAX_PROBLEMS] + [f"... and {rest} more problem(s) not listed"]
        return messages


class AuditLog:
    """An append-only, hash-chained JSON Lines audit log (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], key: bytes | None = None) -> None:
        if key is not None and (not isinstance(key, bytes) or not key):
            raise AuditError("the audit key must be non-empty bytes")
        self._path = Path(path)
        self._key = key
        self._head_path = self._path.with_name(self._path.name + ".head")
        self._lock_path = self._path.with_name(self._path.name + ".lock")

    @property
    def path(self) -> Path:
        return self._path

    @property
    def head_path(self) -> Path:
        return self._head_path

    @property
    def lock_path(self) -> Path:
        return self._lock_path

    def __repr__(self) -> str:
        keyed = "keyed" if self._key is not None else "unkeyed"
        return f"AuditLog({str(self._path)!r}, {keyed})"

    # ------------------------------------------------------------------ locking

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        """Hold flock on the lock file. Readers go on without a lock if it cannot be opened."""
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC
        fd: int | None
        if exclusive:
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self._lock_path, flags, _FILE_MODE)
            except OSError as exc:
                raise AuditError(
                    f"cannot open audit lock file {self._lock_path}: {exc.strerror}"
                ) from exc
        else:
            try:
                fd = os.open(self._lock_path, flags, _FILE_MODE)
            except OSError:
                try:
                    fd = os.open(self._lock_path, os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    fd = None  # read-only location without a lock file: read unlocked
        try:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            if fd is not None:
                os.close(fd)  # closing the descriptor releases the lock

    # ------------------------------------------------------------------ append

    def append(self, event: str, data: dict[str, Any], actor: str | None = None) -> dict[str, Any]:
        """Append one record and return it (exactly as written).

        Raises :class:`AuditError` if ``data`` is not JSON-serializable or the log cannot be
        written, and :class:`AuditTamperedError` (writing nothing) if the end of the log or the
        head file shows tampering.
        """
        if not isinstance(event, str) or not event:
            raise AuditError("audit event must be a non-empty string")
        if actor is None:
            actor = _default_actor()
        elif not isinstance(actor, str):
            raise AuditError("audit actor must be a string")
        _check_utf8(event, "event")
        _check_utf8(actor, "actor")
        if not isinstance(data, dict):
            raise AuditError(f"audit data must be a dict, not {type(data).__name__}")
        _check_json_value(data, "data")
        try:
            # Round-trip so the returned record equals what is on disk (tuples become lists).
            clean_data: dict[str, Any] = json.loads(canonical_json(data))
        except (TypeError, ValueError) as exc:  # pragma: no cover - _check_json_value covers it
            raise AuditError("audit data is not JSON-serializable") from exc

        with self._locked(exclusive=True):
            try:
                last = self._read_last_record()
                head = self._read_head_for_append()
                self._check_can_append(last, head)
                if last is None:
                    seq, prev = 1, GENESIS_HASH
                else:
                    seq, prev = int(last["seq"]) + 1, str(last["hash"])
                record: dict[str, Any] = {
                    "seq": seq,
                    "ts": _utc_now(),
                    "event": event,
                    "actor": actor,
                    "data": clean_data,
                    "prev": prev,
                }
                record["hash"] = _record_hash(record, self._key)
                self._write_line((canonical_json(record) + "\n").encode("utf-8"))
                self._write_head(seq, record["hash"])
            except OSError as exc:
                raise AuditError(f"cannot write audit log {self._path}: {exc.strerror}") from exc
        return record

    def _read_last_record(self) -> dict[str, Any] | None:
        """The last record of the log (hash checked), or None if the log is missing or empty."""
        try:
            handle = open(self._path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return None
        with handle:
            end = handle.seek(0, os.SEEK_END)
            if end == 0:
                return None
            handle.seek(end - 1)
            if handle.read(1) != b"\n":
                raise self._refuse("the log ends with an incomplete line (interrupted write?)")
            start = end - 1  # the final newline; buf holds bytes [start, end - 1)
            buf = b""
            while True:
                newline = buf.rfind(b"\n")
                if newline != -1:
                    raw = buf[newline + 1 :]
                    break
                if start == 0:
                    raw = buf
                    break
                read_from = max(0, start - _TAIL_CHUNK)
                handle.seek(read_from)
                buf = handle.read(start - read_from) + buf
                start = read_from
        record, problem = _parse_record(raw)
        if record is None:
            raise self._refuse(f"the last line is not a valid record: {problem}")
        if _record_hash(record, self._key) != record["hash"]:
            raise self._refuse(
                f"the last record (seq {record['seq']}) does not match its hash"
                + (" (edited, or written with a different key)" if self._key else " (edited)")
            )
        return record

    def _read_head_for_append(self) -> _Head | None:
        try:
            raw = self._head_path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            head = _parse_head(raw)
        except (ValueError, RecursionError):
            raise self._refuse(f"head file {self._head_path.name} is not valid") from None
        if not hmac.compare_digest(head.mac, _head_mac(head.seq, head.hash, self._key)):
            raise self._refuse(f"head file {self._head_path.name} fails its integrity check")
        return head

    def _check_can_append(self, last: dict[str, Any] | None, head: _Head | None) -> None:
        if last is None:
            if head is None:
                # First append: record the empty state first, so that a crash between writing
                # the first record and its head leaves the recoverable "head one behind" state.
                self._write_head(0, GENESIS_HASH)
                return
            if head.seq != 0 or head.hash != GENESIS_HASH:
                raise self._refuse(
                    f"the log has no records but head file says seq {head.seq}: records deleted"
                )
            return
        last_seq = int(last["seq"])
        if head is None:
            raise self._refuse(
                f"head file {self._head_path.name} is missing but the log ends at seq {last_seq}"
            )
        if head.seq == last_seq and head.hash == last["hash"]:
            return
        if head.seq == last_seq - 1 and head.hash == last["prev"]:
            return  # the previous append died before updating the head; this append repairs it
        if head.seq > last_seq:
            raise self._refuse(
                f"log ends at seq {last_seq} but head file says seq {head.seq}: tail truncated"
            )
        raise self._refuse(
            f"log ends at seq {last_seq} but head file says seq {head.seq} "
            "with a hash that does not fit"
        )

    def _refuse(self, reason: str) -> AuditTamperedError:
        return AuditTamperedError(
            f"refusing to append to audit log {self._path}: {reason}; run verify", problems=[reason]
        )

    def _write_line(self, line: bytes) -> None:
        created = not self._path.exists()
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE)
        try:
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self._path.parent)

    def _write_head(self, seq: int, last_hash: str) -> None:
        payload = {"seq": seq, "hash": last_hash, "mac": _head_mac(seq, last_hash, self._key)}
        content = (canonical_json(payload) + "\n").encode("utf-8")
        directory = self._head_path.parent
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{self._head_path.name}.", suffix=".tmp", dir=directory
        )
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self._head_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(directory)

    # ------------------------------------------------------------------ reading

    def _snapshot(self, *, with_head: bool) -> tuple[int | None, bytes | None]:
        """(log size or None if missing, head bytes or None if missing), taken under a shared lock.

        The log is append-only and appends finish under the exclusive lock, so the first ``size``
        bytes form a consistent prefix that matches the head read at the same moment.
        """
        with self._locked(exclusive=False):
            try:
                size: int | None = os.stat(self._path).st_size
            except FileNotFoundError:
                size = None
            except OSError as exc:
                raise AuditError(f"cannot read audit log {self._path}: {exc.strerror}") from exc
            head: bytes | None = None
            if with_head:
                try:
                    head = self._head_path.read_bytes()
                except FileNotFoundError:
                    head = None
                except OSError as exc:
                    raise AuditError(
                        f"cannot read audit head file {self._head_path}: {exc.strerror}"
                    ) from exc
        return size, head

    def _open_for_reading(self) -> BinaryIO:
        try:
            return open(self._path, "rb")  # noqa: SIM115 - caller closes
        except OSError as exc:
            raise AuditError(f"cannot read audit log {self._path}: {exc.strerror}") from exc

    def records(self) -> Iterator[dict[str, Any]]:
        """Yield the records in file order, without checking the chain (use :meth:`verify`).

        Raises :class:`AuditError` on a line that is not a well-formed record.
        """
        size, _ = self._snapshot(with_head=False)
        if size is None:
            return
        with self._open_for_reading() as handle:
            try:
                for lineno, raw, _terminated in _iter_lines(handle, size):
                    record, problem = _parse_record(raw)
                    if record is None:
                        raise AuditError(f"audit log {self._path} line {lineno}: {problem}")
                    yield record
            except OSError as exc:
                raise AuditError(f"cannot read audit log {self._path}: {exc.strerror}") from exc

    # ------------------------------------------------------------------ verification

    def verify(self) -> VerifyReport:
        """Check every record, the chain and the head file.

        Never raises for tampering - findings are reported in :class:`VerifyReport`. Raises
        :class:`AuditError` only if the log (or its head file) cannot be read at all.
        """
        size, head_raw = self._snapshot(with_head=True)
        problems = _Problems()
        entries: list[_Entry] = []
        line_count = 0
        if size is not None:
            bad = 0
            with self._open_for_reading() as handle:
                try:
                    for lineno, raw, terminated in _iter_lines(handle, size):
                        line_count = lineno
                        if not terminated:
                            problems.add(
                                lineno,
                                f"line {lineno}: incomplete last line (no newline at the end): "
                                "interrupted write or truncation",
                            )
                        record, problem = _parse_record(raw)
                        if record is None:
                            problems.add(lineno, f"line {lineno}: {problem}")
                            bad += 1
                            continue
                        entries.append(_Entry(lineno, record, bad))
                        bad = 0
                except OSError as exc:
                    raise AuditError(f"cannot read audit log {self._path}: {exc.strerror}") from exc
        max_seq = self._check_chain(entries, problems)
        self._check_head(size, head_raw, entries, max_seq, line_count, problems)
        messages = problems.sorted()
        return VerifyReport(ok=not messages, records=len(entries), problems=messages)

    def _check_chain(self, entries: list[_Entry], problems: _Problems) -> int:
        """Check hashes, seq order and prev links. Returns the highest seq seen (0 if none)."""
        by_seq: dict[int, list[_Entry]] = {}
        for entry in entries:
            by_seq.setdefault(int(entry.record["seq"]), []).append(entry)

        seen: dict[int, int] = {}  # seq -> first line holding it
        max_seq = 0
        for entry in entries:
            record, line = entry.record, entry.line
            seq = int(record["seq"])
            where = f"line {line} (seq {seq})"

            if _record_hash(record, self._key) != record["hash"]:
                hint = " (or not written with this audit key)" if self._key is not None else ""
                problems.add(line, f"{where}: record edited: hash does not match its content{hint}")

            if seq in seen:
                problems.add(
                    line,
                    f"{where}: duplicate seq, also on line {seen[seq]}: record inserted or copied",
                )
            elif seq < max_seq:
                problems.add(line, f"{where}: out of order")
            elif seq > max_seq + 1:
                missing = range(max_seq + 1, seq)
                if any(m in by_seq for m in missing):
                    problems.add(line, f"{where}: out of order")
                elif len(missing) > entry.bad_before:
                    if max_seq == 0:
                        problems.add(
                            line, f"line {line}: log starts at seq {seq}: record(s) deleted"
                        )
                    else:
                        problems.add(
                            line, f"line {line}: seq {seq} follows seq {max_seq}: record(s) deleted"
                        )
            seen.setdefault(seq, line)
            max_seq = max(max_seq, seq)

            if seq == 1:
                if record["prev"] != GENESIS_HASH:
                    problems.add(
                        line, f"{where}: prev hash of the first record is not 64 zeros: replaced"
                    )
            else:
                candidates = by_seq.get(seq - 1, [])
                if candidates and all(c.record["hash"] != record["prev"] for c in candidates):
                    before = [c for c in candidates if c.line < line]
                    other = before[-1] if before else candidates[0]
                    problems.add(
                        line,
                        f"{where}: prev hash does not match line {other.line} (seq {seq - 1}): "
                        f"record inserted, or line {other.line} rewritten",
                    )
        return max_seq

    def _check_head(
        self,
        size: int | None,
        head_raw: bytes | None,
        entries: list[_Entry],
        max_seq: int,
        line_count: int,
        problems: _Problems,
    ) -> None:
        name = self._head_path.name
        at_end = math.inf
        if head_raw is None:
            if line_count > 0:
                problems.add(
                    at_end, f"head file {name} is missing: tail truncation cannot be ruled out"
                )
            return
        try:
            head = _parse_head(head_raw)
        except (ValueError, RecursionError):
            problems.add(at_end, f"head file {name} is not valid")
            return
        if not hmac.compare_digest(head.mac, _head_mac(head.seq, head.hash, self._key)):
            hint = ", or written with a different key" if self._key is not None else ""
            problems.add(at_end, f"head file {name} fails its integrity check: edited{hint}")
        if size is None:
            if head.seq > 0:
                problems.add(
                    at_end, f"log file missing but head file says seq {head.seq}: log deleted"
                )
            return
        if head.seq > max_seq:
            if max_seq == 0:
                problems.add(
                    at_end, f"log has no records but head file says seq {head.seq}: records deleted"
                )
            else:
                problems.add(
                    at_end,
                    f"log ends at seq {max_seq} but head file says seq {head.seq}: tail truncated",
                )
        elif head.seq == max_seq:
            if head.seq == 0:
                if head.hash != GENESIS_HASH:
                    problems.add(at_end, f"head file {name} says seq 0 with a non-zero hash")
            elif all(e.record["hash"] != head.hash for e in entries if e.record["seq"] == head.seq):
                problems.add(
                    at_end,
                    f"head file says the last record (seq {head.seq}) has a different hash: "
                    "last record replaced",
                )
        else:
            problems.add(
                at_end,
                f"log ends at seq {max_seq} but head file says seq {head.seq}: record(s) appended "
                "outside veil, or the last append was interrupted before updating the head",
            )

    def verify_or_raise(self) -> VerifyReport:
        """Like :meth:`verify`, but raise :class:`AuditTamperedError` if any problem is found."""
        report = self.verify()
        if not report.ok:
            listing = "; ".join(report.problems)
            raise AuditTamperedError(
                f"audit log {self._path} failed verification "
                f"({len(report.problems)} problem(s)): {listing}",
                problems=list(report.problems),
            )
        return report
