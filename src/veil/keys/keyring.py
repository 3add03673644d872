"""The keyring: named keys with versions, kept encrypted at rest under a master key.

File format (JSON, mode 600, written atomically)
------------------------------------------------
::

    {
      "format": "veil-keyring", "format_version": 1,
      "created": "2024-01-01T00:00:00Z",
      "data_key": "<the 32-byte data key, wrapped by the MasterKeyProvider>",
      "keys": {
        "<name>": {"created": "...", "versions": [
          {"version": 1, "created": "...", "status": "active",
           "fingerprint": "<16 hex>", "sealed": "<base64url nonce||AES-GCM(ciphertext||tag)>"},
          {"version": 2, "created": "...", "status": "destroyed", "destroyed": "...",
           "fingerprint": "<16 hex>"}
        ]}
      },
      "mac": "<HMAC-SHA-256 of the canonical JSON of everything else>"
    }

Each version's 32 random bytes are sealed with AES-256-GCM under ``HKDF(data_key,
"keyring/entry")`` with the associated data ``veil-keyring/v1/<name>/<version>``, so an entry
cannot be moved to another name or version unnoticed; the whole document is authenticated by
``mac`` (under ``HKDF(data_key, "keyring/mac")``), so deleting or editing a version, or
tampering with the metadata, is detected. A destroyed version keeps only its fingerprint: values
made under it can no longer be reversed (crypto-shredding).

The master key itself is rotated with :meth:`Keyring.rewrap` (``veil keys rewrap``): the data
key is unwrapped with the old master key and wrapped with the new one; nothing else changes.

Changes (create, rotate, destroy, rewrap) run under an exclusive ``flock`` on ``<keyring>.lock``,
re-read the file, and replace it atomically (temporary sibling, fsync, rename): the keyring is
never left half-written, and two concurrent rotations never lose one another.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import fcntl
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from veil.errors import (
    KeyMaterialError,
    KeyNotFoundError,
    KeyringCorruptError,
    KeyringError,
    KeyVersionDestroyedError,
    KeyVersionError,
    OutputError,
    WrongMasterKeyError,
)
from veil.io.atomic import atomic_path
from veil.keys.master import MasterKeyProvider
from veil.keys.provider import derive_key, fingerprint

FORMAT = "veil-keyring"
FORMAT_VERSION = 1
KEY_BYTES = 32
_NONCE = 12
_DATA_KEY_AAD = b"veil-keyring/v1/data-key"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _canonical(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def check_key_name(name: str) -> str:
    if not _NAME.match(name):
        raise KeyMaterialError(
            f"invalid key name {name!r}: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class VersionInfo:
    """Metadata of one key version (never the material)."""

    version: int
    created: str
    status: str  # "active" or "destroyed"
    fingerprint: str
    destroyed: str | None = None

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "version": self.version,
            "created": self.created,
            "status": self.status,
            "fingerprint": self.fingerprint,
        }
        if self.destroyed:
            d["destroyed"] = self.destroyed
        return d


@dataclass(frozen=True)
class KeyEntry:
    name: str
    created: str
    versions: tuple[VersionInfo, ...]

    @property
    def current(self) -> VersionInfo:
        active = [v for v in self.versions if v.status == "active"]
        if not active:  # pragma: no cover - destroy refuses to remove the newest version
            raise KeyVersionDestroyedError(f"key {self.name!r} has no active version")
        return active[-1]


class Keyring:
    """An opened keyring: metadata verified, key material unsealed on demand.

    Use :meth:`open` to read an existing keyring, :meth:`create_key`, :meth:`rotate` and
    :meth:`destroy` to change one (each is a locked, atomic read-modify-write of the file).
    """

    def __init__(self, path: Path, master: MasterKeyProvider, doc: dict[str, Any], dek: bytes):
        self._path = path
        self._master = master
        self._doc = doc
        self._entry_aead = AESGCM(derive_key(dek, "keyring/entry", 32))
        self._mac_key = derive_key(dek, "keyring/mac", 32)
        self._dek = dek
        self._cache: dict[tuple[str, int], bytes] = {}

    def __repr__(self) -> str:
        return f"Keyring({str(self._path)!r}, keys={self.names()})"

    @property
    def path(self) -> Path:
        return self._path

    # ------------------------------------------------------------------ reading
    @classmethod
    def open(cls, path: str | os.PathLike[str], master: MasterKeyProvider) -> Keyring:
        p = Path(path)
        try:
            raw = p.read_bytes()
        except FileNotFoundError:
            raise KeyringError(
                f"keyring {p} does not exist; create a key in it with `veil keys create NAME`"
            ) from None
        except OSError as e:
            raise KeyringError(f"keyring {p} is unreadable ({e.strerror})") from None
        return cls._from_bytes(p, master, raw)

    @classmethod
    def _from_bytes(cls, p: Path, master: MasterKeyProvider, raw: bytes) -> Keyring:
        if not raw.strip():
            raise KeyringCorruptError(f"keyring {p} is empty (truncated)")
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise KeyringCorruptError(
                f"keyring {p} is truncated or not valid JSON ({len(raw)} bytes); restore it "
                "from a backup"
            ) from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise KeyringCorruptError(f"{p} is not a veil keyring")
        if doc.get("format_version") != FORMAT_VERSION:
            raise KeyringCorruptError(
                f"keyring {p} has format_version {doc.get('format_version')!r}; "
                f"this veil reads version {FORMAT_VERSION}"
            )
        wrapped = doc.get("data_key")
        if not isinstance(wrapped, str) or not isinstance(doc.get("keys"), dict):
            raise KeyringCorruptError(f"keyring {p} lacks its data_key or keys section")
        dek = master.unwrap(wrapped, _DATA_KEY_AAD)
        ring = cls(p, master, doc, dek)
        ring._verify_mac()
        ring._check_structure()
        return ring

    def _mac(self, doc: dict[str, Any]) -> str:
        body = {k: v for k, v in doc.items() if k != "mac"}
        return hmac.new(self._mac_key, _canonical(body), hashlib.sha256).hexdigest()

    def _verify_mac(self) -> None:
        mac = self._doc.get("mac")
        if not isinstance(mac, str) or not hmac.compare_digest(mac, self._mac(self._doc)):
            raise KeyringCorruptError(
                f"keyring {self._path} fails its integrity check: it was edited outside veil "
                "or damaged"
            )

    def _check_structure(self) -> None:
        def ok() -> bool:
            for name, entry in self._doc["keys"].items():
                if not _NAME.match(name) or not isinstance(entry, dict):
                    return False
                versions = entry.get("versions")
                if not isinstance(versions, list) or not versions:
                    return False
                if not isinstance(entry.get("created"), str):
                    return False
                for i, v in enumerate(versions):
                    if not isinstance(v, dict) or v.get("version") != i + 1:
                        return False
                    if not isinstance(v.get("fingerprint"), str):
                        return False
                    status = v.get("status")
                    if status == "active" and not isinstance(v.get("sealed"), str):
                        return False
                    if status not in ("active", "destroyed"):
                        return False
                if versions[-1]["status"] != "active":
                    return False
            return True

        if not ok():
            raise KeyringCorruptError(f"keyring {self._path} has a malformed keys section")

    def names(self) -> list[str]:
        return sorted(self._doc["keys"])

    def entry(self, name: str) -> KeyEntry:
        raw = self._doc["keys"].get(name)
        if raw is None:
            known = ", ".join(self.names()) or "none"
            raise KeyNotFoundError(
                f"keyring {self._path} has no key {name!r} (keys: {known}); "
                f"create it with `veil keys create {name}`"
            )
        return KeyEntry(
            name=name,
            created=raw["created"],
            versions=tuple(
                VersionInfo(
                    version=int(v["version"]),
                    created=v["created"],
                    status=v["status"],
                    fingerprint=v["fingerprint"],
                    destroyed=v.get("destroyed"),
                )
                for v in raw["versions"]
            ),
        )

    def entries(self) -> list[KeyEntry]:
        return [self.entry(n) for n in self.names()]

    def current_version(self, name: str) -> int:
        return self.entry(name).current.version

    def live_versions(self, name: str) -> list[int]:
        """Versions whose material still exists, oldest first."""
        return [v.version for v in self.entry(name).versions if v.status == "active"]

    def version_info(self, name: str, version: int) -> VersionInfo:
        entry = self.entry(name)
        for v in entry.versions:
            if v.version == version:
                return v
        raise KeyVersionError(
            f"key {name!r} has no version {version} (versions 1..{len(entry.versions)}); "
            "the value was not made with this keyring"
        )

    def material(self, name: str, version: int | None = None) -> bytes:
        """The key bytes of ``version`` (the newest active one when None)."""
        info = self.entry(name).current if version is None else self.version_info(name, version)
        if info.status == "destroyed":
            raise KeyVersionDestroyedError(
                f"key {name!r} version {info.version} was destroyed on {info.destroyed}; "
                "values made under it can no longer be reversed"
            )
        cached = self._cache.get((name, info.version))
        if cached is not None:
            return cached
        raw = self._doc["keys"][name]["versions"][info.version - 1]["sealed"]
        try:
            blob = base64.urlsafe_b64decode(raw.encode("ascii"))
            key = self._entry_aead.decrypt(
                blob[:_NONCE], blob[_NONCE:], _entry_aad(name, info.version)
            )
        except (InvalidTag, ValueError, binascii.Error, UnicodeEncodeError):
            raise KeyringCorruptError(
                f"keyring {self._path}: key {name!r} version {info.version} fails its "
                "integrity check"
            ) from None
        if fingerprint(key) != info.fingerprint:
            raise KeyringCorruptError(
                f"keyring {self._path}: key {name!r} version {info.version} does not match "
                "its fingerprint"
            )
        self._cache[(name, info.version)] = key
        return key

    # ------------------------------------------------------------------ writing
    @classmethod
    def create_key(
        cls, path: str | os.PathLike[str], master: MasterKeyProvider, name: str
    ) -> VersionInfo:
        """Add key ``name`` (version 1), creating the keyring file when it does not exist."""
        check_key_name(name)
        with _locked(Path(path)) as p:
            ring = cls._open_or_new(p, master)
            if name in ring._doc["keys"]:
                raise KeyMaterialError(
                    f"keyring {p} already has a key {name!r}; use `veil keys rotate {name}` "
                    "for a new version"
                )
            now = _now()
            ring._doc["keys"][name] = {"created": now, "versions": []}
            info = ring._add_version(name, now)
            ring._save()
            return info

    @classmethod
    def rotate(
        cls, path: str | os.PathLike[str], master: MasterKeyProvider, name: str
    ) -> VersionInfo:
        """Add a new version of ``name``; new values are made under it from now on."""
        with _locked(Path(path)) as p:
            ring = cls.open(p, master)
            ring.entry(name)
            info = ring._add_version(name, _now())
            ring._save()
            return info

    @classmethod
    def destroy(
        cls, path: str | os.PathLike[str], master: MasterKeyProvider, name: str, version: int
    ) -> VersionInfo:
        """Erase the material of one old version (values made under it become irreversible)."""
        with _locked(Path(path)) as p:
            ring = cls.open(p, master)
            info = ring.version_info(name, version)
            if info.status == "destroyed":
                raise KeyVersionDestroyedError(
                    f"key {name!r} version {version} is already destroyed"
                )
            if version == ring.current_version(name):
                raise KeyMaterialError(
                    f"version {version} is the current version of key {name!r}; rotate first"
                )
            raw = ring._doc["keys"][name]["versions"][version - 1]
            raw.pop("sealed", None)
            raw["status"] = "destroyed"
            raw["destroyed"] = _now()
            ring._save()
            return ring.version_info(name, version)

    @classmethod
    def rewrap(
        cls, path: str | os.PathLike[str], master: MasterKeyProvider, new_master: MasterKeyProvider
    ) -> list[str]:
        """Put the keyring under ``new_master`` (master-key rotation); returns the key names.

        Envelope encryption makes this cheap and safe: only the data key is re-wrapped, so
        every key version, and every value made under one, stays exactly as it was. The file
        is replaced atomically and read back under the new master key before this returns;
        afterwards the old master key no longer opens it."""
        with _locked(Path(path)) as p:
            ring = cls.open(p, master)
            ring._doc["data_key"] = new_master.wrap(ring._dek, _DATA_KEY_AAD)
            ring._master = new_master
            ring._save()
            return cls.open(p, new_master).names()

    @classmethod
    def _open_or_new(cls, p: Path, master: MasterKeyProvider) -> Keyring:
        if p.exists():
            return cls.open(p, master)
        dek = os.urandom(KEY_BYTES)
        doc: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": _now(),
            "data_key": master.wrap(dek, _DATA_KEY_AAD),
            "keys": {},
        }
        return cls(p, master, doc, dek)

    def _add_version(self, name: str, now: str) -> VersionInfo:
        versions = self._doc["keys"][name]["versions"]
        version = len(versions) + 1
        key = os.urandom(KEY_BYTES)
        nonce = os.urandom(_NONCE)
        sealed = nonce + self._entry_aead.encrypt(nonce, key, _entry_aad(name, version))
        versions.append(
            {
                "version": version,
                "created": now,
                "status": "active",
                "fingerprint": fingerprint(key),
                "sealed": base64.urlsafe_b64encode(sealed).decode("ascii"),
            }
        )
        self._cache[(name, version)] = key
        return self.version_info(name, version)

    def _save(self) -> None:
        self._doc["mac"] = self._mac(self._doc)
        data = json.dumps(self._doc, indent=2, sort_keys=True).encode("utf-8") + b"\n"
        try:
            with atomic_path(self._path, overwrite=True) as tmp:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
        except OutputError as e:
            raise KeyringError(f"keyring {self._path} was not changed: {e}") from None
        except OSError as e:
            raise KeyringError(f"keyring {self._path} was not changed: {e.strerror}") from None


def _entry_aad(name: str, version: int) -> bytes:
    return f"veil-keyring/v1/{name}/{version}".encode()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[Path]:
    path = path.absolute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as e:
        raise KeyringError(f"cannot lock keyring {path}: {e.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        os.close(fd)


__all__ = [
    "KeyEntry",
    "Keyring",
    "VersionInfo",
    "WrongMasterKeyError",
    "check_key_name",
]
