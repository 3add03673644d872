"""Tests of the tamper-evident audit log (veil.audit)."""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
import multiprocessing
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from veil.audit import AuditLog, VerifyReport
from veil.errors import AuditError, AuditTamperedError

ZERO = "0" * 64
KEY = b"k" * 32

Digest = Callable[[str], str]


# --------------------------------------------------------------------------- helpers
# These re-implement the documented file format independently of veil.audit.log, the way an
# auditor (or a forger) would.


def canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hmac_digest(key: bytes) -> Digest:
    return lambda text: hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def seal(record: dict[str, Any], digest: Digest) -> dict[str, Any]:
    body = {k: v for k, v in record.items() if k != "hash"}
    return {**body, "hash": digest(canon(body))}


def write_head(log: AuditLog, seq: int, last_hash: str, digest: Digest) -> None:
    mac = digest(canon({"head": {"hash": last_hash, "seq": seq}}))
    log.head_path.write_text(canon({"seq": seq, "hash": last_hash, "mac": mac}) + "\n")


def make_log(tmp_path: Path, n: int = 5, key: bytes | None = None) -> AuditLog:
    log = AuditLog(tmp_path / "audit" / "veil.audit.jsonl", key=key)
    for i in range(n):
        log.append("run.completed", {"rows": i * 10, "columns": ["email", "phone"]}, actor="ci")
    return log


def read_lines(log: AuditLog) -> list[str]:
    return log.path.read_text(encoding="utf-8").splitlines()


def write_lines(log: AuditLog, lines: list[str]) -> None:
    log.path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def records_of(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines]


def assert_problem(report: VerifyReport, *fragments: str) -> str:
    """Some single problem contains all fragments; return it."""
    assert not report.ok
    for problem in report.problems:
        if all(fragment in problem for fragment in fragments):
            return problem
    raise AssertionError(f"no problem containing {fragments!r} in {report.problems!r}")


# --------------------------------------------------------------------------- appending


def test_append_writes_documented_record_format(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=3)
    lines = read_lines(log)
    assert len(lines) == 3
    records = records_of(lines)
    for i, (line, record) in enumerate(zip(lines, records, strict=True), start=1):
        assert set(record) == {"seq", "ts", "event", "actor", "data", "prev", "hash"}
        assert record["seq"] == i
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", record["ts"])
        assert record["event"] == "run.completed"
        assert record["actor"] == "ci"
        assert record["data"] == {"rows": (i - 1) * 10, "columns": ["email", "phone"]}
        assert record["prev"] == (ZERO if i == 1 else records[i - 2]["hash"])
        # Unkeyed: plain SHA-256 over the canonical JSON without the hash field.
        assert record["hash"] == seal(record, sha256_digest)["hash"]
        assert line == canon(record)  # one canonical JSON object per line
    assert list(log.records()) == records


def test_append_returns_exactly_the_written_record(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl")
    returned = log.append("policy.loaded", {"columns": ("a", "b"), "n": 2}, actor="alice")
    (on_disk,) = records_of(read_lines(log))
    assert returned == on_disk
    assert returned["data"] == {"columns": ["a", "b"], "n": 2}  # stored as JSON


def test_keyed_hash_is_hmac_sha256(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=2, key=KEY)
    for record in records_of(read_lines(log)):
        assert record["hash"] == seal(record, hmac_digest(KEY))["hash"]
        assert record["hash"] != seal(record, sha256_digest)["hash"]


def test_head_file_tracks_last_record(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=4)
    head = json.loads(log.head_path.read_text())
    last = records_of(read_lines(log))[-1]
    assert head["seq"] == 4
    assert head["hash"] == last["hash"]


def test_creates_parent_directories(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "x" / "y" / "z" / "audit.jsonl")
    log.append("run.started", {})
    assert log.path.is_file()
    assert log.verify().ok


def test_actor_defaults_to_os_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = AuditLog(tmp_path / "a.jsonl")
    monkeypatch.setattr(getpass, "getuser", lambda: "alice")
    assert log.append("e", {})["actor"] == "alice"

    def broken() -> str:
        raise OSError("no user")

    monkeypatch.setattr(getpass, "getuser", broken)
    assert log.append("e", {})["actor"] == "unknown"
    assert log.verify().ok


@pytest.mark.parametrize(
    "data",
    [
        {"values": {1, 2}},
        {"obj": object()},
        {"raw": b"secret-bytes"},
        {"nested": [{"deep": 1j}]},
        {"nan": float("nan")},
        {1: "non-string key"},
    ],
    ids=["set", "object", "bytes", "nested-complex", "nan", "int-key"],
)
def test_non_serializable_data_is_refused(tmp_path: Path, data: dict[Any, Any]) -> None:
    log = make_log(tmp_path, n=2)
    before = log.path.read_bytes()
    with pytest.raises(AuditError) as excinfo:
        log.append("run.completed", data)
    assert not isinstance(excinfo.value, AuditTamperedError)
    assert "secret-bytes" not in str(excinfo.value)  # messages never carry data values
    assert log.path.read_bytes() == before  # nothing written
    assert log.verify().ok


def test_non_dict_data_is_refused(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "a.jsonl")
    with pytest.raises(AuditError):
        log.append("e", ["not", "a", "dict"])  # type: ignore[arg-type]
    assert not log.path.exists()


def test_empty_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuditError):
        AuditLog(tmp_path / "a.jsonl", key=b"")


# --------------------------------------------------------------------------- verifying


def test_clean_log_verifies(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=5)
    report = log.verify()
    assert report == VerifyReport(ok=True, records=5, problems=[])
    assert log.verify_or_raise() == report


def test_clean_keyed_log_verifies_only_with_its_key(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=3, key=KEY)
    assert log.verify().ok
    wrong = AuditLog(log.path, key=b"w" * 32).verify()
    assert not wrong.ok
    assert_problem(wrong, "line 1 (seq 1)", "hash does not match")
    assert not AuditLog(log.path).verify().ok  # unkeyed verification of a keyed log fails too


def test_missing_log_without_head_verifies_ok(tmp_path: Path) -> None:
    report = AuditLog(tmp_path / "nope" / "audit.jsonl").verify()
    assert report == VerifyReport(ok=True, records=0, problems=[])
    assert list(AuditLog(tmp_path / "nope" / "audit.jsonl").records()) == []


def test_deleted_log_with_head_detected(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=3)
    log.path.unlink()
    assert_problem(log.verify(), "log file missing", "seq 3")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("data", {"rows": 999999, "columns": ["email", "phone"]}),
        ("event", "run.failed"),
        ("actor", "mallory"),
        ("ts", "2000-01-01T00:00:00.000000Z"),
    ],
)
def test_edited_middle_record_detected(tmp_path: Path, field: str, value: Any) -> None:
    log = make_log(tmp_path, n=5)
    lines = read_lines(log)
    record = json.loads(lines[2])
    record[field] = value
    lines[2] = canon(record)
    write_lines(log, lines)

    report = log.verify()
    assert report.records == 5
    assert report.problems == ["line 3 (seq 3): record edited: hash does not match its content"]
    with pytest.raises(AuditTamperedError) as excinfo:
        log.verify_or_raise()
    assert excinfo.value.problems == report.problems
    assert "line 3" in str(excinfo.value)


def test_edit_with_recomputed_hash_breaks_the_link(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=5)
    lines = read_lines(log)
    record = json.loads(lines[2])
    record["data"]["rows"] = 0
    lines[2] = canon(seal(record, sha256_digest))
    write_lines(log, lines)
    assert_problem(log.verify(), "line 4 (seq 4)", "prev hash does not match line 3")


def test_deleted_middle_record_detected(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=5)
    lines = read_lines(log)
    del lines[2]
    write_lines(log, lines)
    report = log.verify()
    assert report.records == 4
    assert report.problems == ["line 3: seq 4 follows seq 2: record(s) deleted"]


def test_deleted_first_record_detected(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=3)
    write_lines(log, read_lines(log)[1:])
    assert_problem(log.verify(), "line 1", "starts at seq 2", "deleted")


def test_deleted_last_record_detected_via_head(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=5)
    write_lines(log, read_lines(log)[:-1])
    report = log.verify()
    assert report.problems == ["log ends at seq 4 but head file says seq 5: tail truncated"]

    # Appending must not paper over the truncation by rewriting the head.
    before = log.path.read_bytes()
    with pytest.raises(AuditTamperedError):
        log.append("run.completed", {})
    assert log.path.read_bytes() == before
    assert not log.verify().ok


def test_deleted_head_file_detected(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=3)
    write_lines(log, read_lines(log)[:-1])
    log.head_path.unlink()
    assert_problem(log.verify(), "head file", "missing")
    with pytest.raises(AuditTamperedError):
        log.append("run.completed", {})


def test_edited_head_file_detected(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=3)
    write_lines(log, read_lines(log)[:-1])
    head = json.loads(log.head_path.read_text())
    head["seq"] = 2  # naive cover-up without recomputing the mac
    log.head_path.write_text(json.dumps(head))
    assert_problem(log.verify(), "head file", "integrity")


def test_swapped_records_detected(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=5)
    lines = read_lines(log)
    lines[1], lines[2] = lines[2], lines[1]
    write_lines(log, lines)
    report = log.verify()
    assert report.problems == ["line 2 (seq 3): out of order", "line 3 (seq 2): out of order"]


def test_inserted_forged_record_detected_unkeyed(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=5)
    lines = read_lines(log)
    records = records_of(lines)
    forged = seal(
        {
            **records[2],
            "event": "key.rotated",
            "data": {"key_id": "k2"},
            "prev": records[1]["hash"],
        },
        sha256_digest,
    )
    lines.insert(2, canon(forged))  # new line 3, original seq 3 moves to line 4
    write_lines(log, lines)
    report = log.verify()
    assert not any("hash does not match its content" in p for p in report.problems)  # valid hash
    assert_problem(report, "line 4 (seq 3)", "duplicate seq", "line 3")


def rewrite_with_insertion(log: AuditLog, digest: Digest) -> None:
    """Forger inserts a record after seq 2, renumbers and re-chains the rest, rewrites the head."""
    records = records_of(read_lines(log))
    forged: dict[str, Any] = {
        "seq": 3,
        "ts": records[2]["ts"],
        "event": "key.rotated",
        "actor": "ci",
        "data": {"key_id": "k2"},
        "prev": records[1]["hash"],
    }
    out = records[:2]
    for record in [forged, *records[2:]]:
        record = {**record, "seq": out[-1]["seq"] + 1, "prev": out[-1]["hash"]}
        out.append(seal(record, digest))
    write_lines(log, [canon(r) for r in out])
    write_head(log, out[-1]["seq"], out[-1]["hash"], digest)


def test_fully_rechained_insertion_undetectable_without_key(tmp_path: Path) -> None:
    # Documents the limit of the unkeyed mode: the chain is only as strong as its secret.
    log = make_log(tmp_path, n=5)
    rewrite_with_insertion(log, sha256_digest)
    assert log.verify() == VerifyReport(ok=True, records=6, problems=[])


def test_forger_with_the_right_key_would_pass(tmp_path: Path) -> None:
    # Sanity check of the forging procedure used below: only the key makes the difference.
    log = make_log(tmp_path, n=5, key=KEY)
    rewrite_with_insertion(log, hmac_digest(KEY))
    assert log.verify().ok


@pytest.mark.parametrize(
    "digest",
    [sha256_digest, hmac_digest(b"wrong-key-" * 4)],
    ids=["recomputed-sha256", "wrong-key"],
)
def test_forged_insertion_detected_with_key(tmp_path: Path, digest: Digest) -> None:
    log = make_log(tmp_path, n=5, key=KEY)
    rewrite_with_insertion(log, digest)
    report = log.verify()
    assert report.records == 6
    assert_problem(report, "line 3 (seq 3)", "hash does not match its content")
    for line in range(4, 7):
        assert_problem(report, f"line {line} (seq {line})", "hash does not match")
    assert_problem(report, "head file", "integrity")
    with pytest.raises(AuditTamperedError):
        log.verify_or_raise()
    with pytest.raises(AuditTamperedError):
        log.append("run.completed", {})


def test_single_forged_record_detected_with_key(tmp_path: Path) -> None:
    # Insert one record with a correctly recomputed *plain* hash and no renumbering.
    log = make_log(tmp_path, n=5, key=KEY)
    lines = read_lines(log)
    records = records_of(lines)
    forged = seal({**records[2], "data": {"key_id": "k2"}}, sha256_digest)
    lines.insert(3, canon(forged))
    write_lines(log, lines)
    assert_problem(log.verify(), "line 4 (seq 3)", "hash does not match its content")


def test_invalid_json_line_detected(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=4)
    lines = read_lines(log)
    lines[1] = '{"seq": 2, "broken'
    write_lines(log, lines)
    report = log.verify()
    assert report.records == 3
    assert report.problems == ["line 2: not valid JSON"]
    with pytest.raises(AuditError, match="line 2"):
        list(log.records())


def test_malformed_record_detected(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=3)
    lines = read_lines(log)
    record = json.loads(lines[1])
    del record["actor"]
    lines[1] = canon(record)
    write_lines(log, lines)
    assert_problem(log.verify(), "line 2", "missing field(s) actor")


def test_torn_last_line_detected_and_append_refused(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=3)
    data = log.path.read_bytes()
    log.path.write_bytes(data[:-20])
    report = log.verify()
    assert_problem(report, "line 3", "incomplete last line")
    with pytest.raises(AuditTamperedError):
        log.append("run.completed", {})


def test_unreadable_log_raises_audit_error(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.mkdir()  # a directory cannot be read as a log
    with pytest.raises(AuditError):
        AuditLog(path).verify()


def test_interrupted_append_is_reported_then_repaired(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=2)
    old_head = log.head_path.read_bytes()
    log.append("run.completed", {"rows": 1})
    log.head_path.write_bytes(old_head)  # as if the process died before updating the head
    assert_problem(log.verify(), "log ends at seq 3 but head file says seq 2")
    record = log.append("run.completed", {"rows": 2})
    assert record["seq"] == 4
    assert log.verify() == VerifyReport(ok=True, records=4, problems=[])


def test_appending_onto_an_edited_last_record_is_refused(tmp_path: Path) -> None:
    log = make_log(tmp_path, n=3, key=KEY)
    lines = read_lines(log)
    record = json.loads(lines[-1])
    record["data"] = {}
    lines[-1] = canon(record)
    write_lines(log, lines)
    with pytest.raises(AuditTamperedError, match="seq 3"):
        log.append("run.completed", {})


# --------------------------------------------------------------------------- concurrency


def _append_many(path: str, worker: int, count: int, start: Any) -> None:
    start.wait()
    log = AuditLog(path, key=KEY)
    for i in range(count):
        log.append("run.completed", {"worker": worker, "i": i}, actor=f"w{worker}")


def test_concurrent_appends_from_processes_keep_the_chain(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")  # fcntl-based locking is POSIX-only anyway
    path = str(tmp_path / "shared" / "audit.jsonl")
    workers, per_worker = 4, 50
    start = ctx.Event()
    procs = [
        ctx.Process(target=_append_many, args=(path, w, per_worker, start)) for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    start.set()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0

    log = AuditLog(path, key=KEY)
    report = log.verify()
    assert report == VerifyReport(ok=True, records=200, problems=[])
    records = list(log.records())
    assert [r["seq"] for r in records] == list(range(1, workers * per_worker + 1))
    for previous, record in zip(records, records[1:], strict=False):
        assert record["prev"] == previous["hash"]
    for w in range(workers):
        mine = [r["data"]["i"] for r in records if r["data"]["worker"] == w]
        assert mine == list(range(per_worker))  # each worker's appends, none lost, in order
    assert json.loads(log.head_path.read_text())["seq"] == 200
