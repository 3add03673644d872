"""The keyring file: versions, encryption at rest, wrong/missing master key, corruption,
destroyed versions, atomic and concurrent changes, and a pluggable master-key provider."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import subprocess
from pathlib import Path

import pytest

from veil.errors import (
    KeyMaterialError,
    KeyNotFoundError,
    KeyringCorruptError,
    KeyringError,
    KeyVersionDestroyedError,
    KeyVersionError,
    MasterKeyError,
    WrongMasterKeyError,
)
from veil.keys.keyring import Keyring
from veil.keys.master import LocalMasterKey, MasterKeyProvider, master_key_from


def test_create_rotate_and_read(tmp_path: Path, master: LocalMasterKey) -> None:
    path = tmp_path / "k" / "ring.json"
    v1 = Keyring.create_key(path, master, "main")
    assert v1.version == 1 and v1.status == "active"
    v2 = Keyring.rotate(path, master, "main")
    assert v2.version == 2
    Keyring.create_key(path, master, "other")
    ring = Keyring.open(path, master)
    assert ring.names() == ["main", "other"]
    assert ring.current_version("main") == 2 and ring.live_versions("main") == [1, 2]
    k1, k2 = ring.material("main", 1), ring.material("main", 2)
    assert len(k1) == 32 and k1 != k2 and ring.material("main") == k2
    assert ring.entry("main").versions[0].fingerprint == v1.fingerprint
    with pytest.raises(KeyMaterialError, match="already has a key 'main'"):
        Keyring.create_key(path, master, "main")
    with pytest.raises(KeyNotFoundError, match="no key 'nope'"):
        ring.material("nope")
    with pytest.raises(KeyVersionError, match="no version 3"):
        ring.material("main", 3)


def test_file_is_private_and_holds_no_key_material(tmp_path: Path, master: LocalMasterKey) -> None:
    path = tmp_path / "ring.json"
    Keyring.create_key(path, master, "main")
    Keyring.rotate(path, master, "main")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    ring = Keyring.open(path, master)
    text = path.read_text()
    for v in (1, 2):
        key = ring.material("main", v)
        assert key.hex() not in text and key.hex().upper() not in text
    assert "main" in text and "main" in repr(ring) and key.hex() not in repr(ring)
    assert [p.name for p in tmp_path.iterdir() if "tmp" in p.name] == []


def test_wrong_master_key_is_a_clear_error(tmp_path: Path, master: LocalMasterKey) -> None:
    path = tmp_path / "ring.json"
    Keyring.create_key(path, master, "main")
    other = LocalMasterKey(os.urandom(32), "env:VEIL_MASTER_KEY")
    with pytest.raises(
        WrongMasterKeyError, match="wrong master key.*AES-GCM authentication failed"
    ):
        Keyring.open(path, other)
    with pytest.raises(WrongMasterKeyError):
        Keyring.rotate(path, other, "main")
    assert Keyring.open(path, master).live_versions("main") == [1]  # untouched


def test_missing_or_weak_master_key(tmp_path: Path) -> None:
    with pytest.raises(MasterKeyError, match="no master key"):
        master_key_from(environ={})
    with pytest.raises(MasterKeyError, match="not set"):
        master_key_from(env_name="MY_MASTER", environ={})
    with pytest.raises(MasterKeyError, match="at least 32"):
        master_key_from(environ={"VEIL_MASTER_KEY": "ab" * 16})
    secret = os.urandom(32).hex()
    m = master_key_from(environ={"VEIL_MASTER_KEY": secret})
    assert m.description == "env:VEIL_MASTER_KEY" and secret not in repr(m)


def test_master_key_file_rules(tmp_path: Path) -> None:
    key_file = tmp_path / "master.key"
    key_file.write_text(os.urandom(32).hex())
    os.chmod(key_file, 0o644)
    with pytest.raises(MasterKeyError, match="chmod 600"):
        master_key_from(environ={"VEIL_MASTER_KEY_FILE": str(key_file)})
    os.chmod(key_file, 0o600)
    m = master_key_from(environ={"VEIL_MASTER_KEY_FILE": str(key_file)})
    assert m.description == f"file {key_file}"
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    inside = repo / "secrets" / "master.key"
    inside.parent.mkdir()
    inside.write_text(os.urandom(32).hex())
    os.chmod(inside, 0o600)
    with pytest.raises(MasterKeyError, match="inside the git work tree"):
        master_key_from(file=inside)
    with pytest.raises(MasterKeyError, match="does not exist"):
        master_key_from(file=tmp_path / "missing.key")


@pytest.mark.parametrize("keep", [0, 1, 40, 200, -30, -2])
def test_truncated_keyring(tmp_path: Path, master: LocalMasterKey, keep: int) -> None:
    path = tmp_path / "ring.json"
    Keyring.create_key(path, master, "main")
    raw = path.read_bytes()
    path.write_bytes(raw[:keep])  # -2: only the closing brace (and newline) lost
    with pytest.raises(KeyringCorruptError, match="truncated|empty|not a veil keyring|integrity"):
        Keyring.open(path, master)


def test_edited_keyring_fails_integrity(tmp_path: Path, master: LocalMasterKey) -> None:
    path = tmp_path / "ring.json"
    Keyring.create_key(path, master, "main")
    Keyring.rotate(path, master, "main")
    original = json.loads(path.read_text())

    def edited(change: object) -> None:
        doc = json.loads(json.dumps(original))
        change(doc)  # type: ignore[operator]
        path.write_text(json.dumps(doc))
        with pytest.raises(KeyringCorruptError):
            Keyring.open(path, master)

    edited(lambda d: d["keys"]["main"]["versions"].pop())  # drop the newest version
    edited(lambda d: d["keys"]["main"]["versions"][0].update(status="destroyed"))
    edited(lambda d: d["keys"].update(copy=d["keys"]["main"]))  # duplicate under a new name

    # a sealed entry swapped between versions fails its own AES-GCM check even with a valid MAC
    doc = json.loads(json.dumps(original))
    v = doc["keys"]["main"]["versions"]
    v[0]["sealed"], v[1]["sealed"] = v[1]["sealed"], v[0]["sealed"]
    path.write_text(json.dumps(original))
    good = Keyring.open(path, master)
    good._doc = doc  # simulate a file whose MAC was recomputed by someone holding the data key
    with pytest.raises(KeyringCorruptError, match="integrity check"):
        good.material("main", 1)


def test_missing_keyring(tmp_path: Path, master: LocalMasterKey) -> None:
    with pytest.raises(KeyringError, match="does not exist.*veil keys create"):
        Keyring.open(tmp_path / "none.json", master)
    with pytest.raises(KeyringError):
        Keyring.rotate(tmp_path / "none.json", master, "main")


def test_destroy_a_version(tmp_path: Path, master: LocalMasterKey) -> None:
    path = tmp_path / "ring.json"
    Keyring.create_key(path, master, "main")
    Keyring.rotate(path, master, "main")
    with pytest.raises(KeyMaterialError, match="current version.*rotate first"):
        Keyring.destroy(path, master, "main", 2)
    info = Keyring.destroy(path, master, "main", 1)
    assert info.status == "destroyed" and info.destroyed
    ring = Keyring.open(path, master)
    assert ring.live_versions("main") == [2]
    with pytest.raises(KeyVersionDestroyedError, match="version 1 was destroyed"):
        ring.material("main", 1)
    assert "sealed" not in json.loads(path.read_text())["keys"]["main"]["versions"][0]
    with pytest.raises(KeyVersionDestroyedError, match="already destroyed"):
        Keyring.destroy(path, master, "main", 1)


def test_failed_write_leaves_the_keyring_as_it_was(
    tmp_path: Path, master: LocalMasterKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ring.json"
    Keyring.create_key(path, master, "main")
    before = path.read_bytes()

    def boom(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyringError, match="was not changed"):
        Keyring.rotate(path, master, "main")
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ring.json", "ring.json.lock"]


def _rotate(path: str, master_hex: str) -> None:
    Keyring.rotate(path, LocalMasterKey(bytes.fromhex(master_hex), "test"), "main")


def test_concurrent_rotations_lose_nothing(tmp_path: Path, master_hex: str) -> None:
    master = LocalMasterKey(bytes.fromhex(master_hex), "test")
    path = tmp_path / "ring.json"
    Keyring.create_key(path, master, "main")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_rotate, args=(str(path), master_hex)) for _ in range(6)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    ring = Keyring.open(path, master)
    assert ring.live_versions("main") == list(range(1, 8))
    assert len({ring.material("main", v) for v in range(1, 8)}) == 7


class DictKms:
    """A stand-in for a cloud KMS: keys live in the 'service', blobs name the key id."""

    def __init__(self) -> None:
        self.calls = 0
        self._keys = {"kms-key-1": os.urandom(32)}

    @property
    def description(self) -> str:
        return "kms:kms-key-1"

    def wrap(self, plaintext: bytes, aad: bytes) -> str:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.calls += 1
        nonce = os.urandom(12)
        ct = AESGCM(self._keys["kms-key-1"]).encrypt(nonce, plaintext, aad)
        return "kms:kms-key-1:" + (nonce + ct).hex()

    def unwrap(self, wrapped: str, aad: bytes) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self.calls += 1
        _, key_id, blob = wrapped.split(":")
        raw = bytes.fromhex(blob)
        return AESGCM(self._keys[key_id]).decrypt(raw[:12], raw[12:], aad)


def test_a_kms_can_be_plugged_in(tmp_path: Path) -> None:
    kms = DictKms()
    assert isinstance(kms, MasterKeyProvider)
    path = tmp_path / "ring.json"
    Keyring.create_key(path, kms, "main")
    Keyring.rotate(path, kms, "main")
    ring = Keyring.open(path, kms)
    assert ring.live_versions("main") == [1, 2] and len(ring.material("main")) == 32
    assert '"kms:kms-key-1:' in path.read_text()
    with pytest.raises(WrongMasterKeyError, match="'kms' master key provider"):
        Keyring.open(path, LocalMasterKey(os.urandom(32), "test"))


def test_cli_subprocess_does_not_need_a_policy(tmp_path: Path, master_hex: str) -> None:
    """`veil keys` from a real shell, with the master key in the environment."""
    env = {**os.environ, "VEIL_MASTER_KEY": master_hex, "VEIL_KEYRING": str(tmp_path / "r.json")}
    veil_bin = Path(os.sys.executable).parent / "veil"  # type: ignore[attr-defined]
    run = subprocess.run(
        [str(veil_bin), "keys", "create", "main"], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "created key 'main' version 1" in run.stderr
    assert master_hex not in run.stdout + run.stderr
