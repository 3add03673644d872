"""Resolve the keys a policy names, from an environment variable or a key file.

Key material is held only in memory, as ``bytes``; it never appears in a ``repr``, an error
message, a log line or a manifest. What is recorded about a key is its name, version and a
fingerprint (an HMAC of a fixed label under the key, the "key check value" practice of payment
HSMs), which identifies the key without revealing it.

Transforms never use a policy key directly: each derives a purpose-specific subkey with HKDF
(RFC 5869), so pseudonyms and date offsets made with the same policy key are independent.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from veil.errors import KeyMaterialError, KeyVersionError

MIN_KEY_BYTES = 32
_FINGERPRINT_LABEL = b"veil key fingerprint v1"


@dataclass(frozen=True)
class KeyInfo:
    """What may be recorded about a key: never the key itself."""

    name: str
    version: int
    source: str  # "env", "file" or "keyring"
    fingerprint: str
    keyring_key: str | None = None
    """For keyring keys: the key's name in the keyring (``name`` is the policy's name)."""

    def as_dict(self) -> dict[str, str | int]:
        d: dict[str, str | int] = {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "fingerprint": self.fingerprint,
        }
        if self.keyring_key is not None:
            d["keyring_key"] = self.keyring_key
        return d


class KeyProvider(Protocol):
    """The one small interface transforms use to reach key material.

    ``material``/``info`` give the current (newest) version, which is what new values are made
    under; ``versions``/``material_at``/``info_at`` reach older versions, to reverse values.
    """

    def material(self, name: str) -> bytes: ...

    def info(self, name: str) -> KeyInfo: ...

    def versions(self, name: str) -> list[int]:
        """Versions whose material is available, oldest first (the last is the current)."""
        ...

    def material_at(self, name: str, version: int) -> bytes: ...

    def info_at(self, name: str, version: int) -> KeyInfo: ...


class KeyringAccess(Protocol):
    """What :class:`PolicyKeyProvider` needs of a keyring (see :mod:`veil.keys.keyring`)."""

    def material(self, name: str, version: int | None = None) -> bytes: ...

    def current_version(self, name: str) -> int: ...

    def live_versions(self, name: str) -> list[int]: ...


@dataclass(frozen=True)
class KeySource:
    env: str | None = None
    file: str | None = None
    version: int = 1
    keyring: str | None = None
    """Name of the key in the keyring (its versions come from the keyring)."""


def decode_key_text(text: str) -> bytes:
    """Keys are stored as text: hex, or base64 (standard or URL-safe). At least 32 bytes."""
    t = text.strip()
    raw: bytes | None = None
    if t and all(c in "0123456789abcdefABCDEF" for c in t) and len(t) % 2 == 0:
        raw = bytes.fromhex(t)
    else:
        try:
            padded = t + "=" * (-len(t) % 4)
            raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            raw = None
    if raw is None:
        raise KeyMaterialError("key is neither hex nor base64 text")
    if len(raw) < MIN_KEY_BYTES:
        raise KeyMaterialError(
            f"key is {len(raw)} bytes; at least {MIN_KEY_BYTES} random bytes are required "
            "(generate one with `veil keygen`)"
        )
    return raw


def fingerprint(key: bytes) -> str:
    return hmac.new(key, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16]


def derive_key(key: bytes, purpose: str, length: int = 32) -> bytes:
    """Purpose-specific subkey, HKDF-SHA-256 (RFC 5869) with ``info = veil/v1/<purpose>``."""
    hkdf = HKDF(
        algorithm=hashes.SHA256(), length=length, salt=None, info=b"veil/v1/" + purpose.encode()
    )
    return hkdf.derive(key)


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer HMAC-SHA-256 pads (RFC 2104) of a key of at most 64 bytes.

    HMAC(K, m) = SHA256((K ^ opad) || SHA256((K ^ ipad) || m)); engines compute the two hashes
    natively, the pads reach them only as bound values, never as SQL text.
    """
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    block = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


class PolicyKeyProvider:
    """Keys named in a policy's ``keys:`` section, read lazily and cached in memory."""

    def __init__(
        self,
        sources: Mapping[str, KeySource],
        base_dir: Path,
        environ: Mapping[str, str] | None = None,
        keyring: Callable[[], KeyringAccess] | None = None,
    ) -> None:
        self._sources = dict(sources)
        self._base_dir = base_dir
        self._environ = os.environ if environ is None else environ
        self._cache: dict[str, bytes] = {}
        self._open_keyring = keyring
        self._keyring: KeyringAccess | None = None

    def __repr__(self) -> str:
        return f"PolicyKeyProvider(keys={sorted(self._sources)})"

    def names(self) -> list[str]:
        return sorted(self._sources)

    def _source(self, name: str) -> KeySource:
        src = self._sources.get(name)
        if src is None:
            raise KeyMaterialError(f"key {name!r} is not declared in the policy's keys section")
        return src

    def _ring(self, name: str) -> KeyringAccess:
        if self._keyring is None:
            if self._open_keyring is None:
                raise KeyMaterialError(
                    f"key {name!r} comes from a keyring, but no keyring is configured "
                    "(policy section 'keyring:' or $VEIL_KEYRING)"
                )
            self._keyring = self._open_keyring()
        return self._keyring

    def versions(self, name: str) -> list[int]:
        src = self._source(name)
        if src.keyring is not None:
            return self._ring(name).live_versions(src.keyring)
        return [src.version]

    def material_at(self, name: str, version: int) -> bytes:
        src = self._source(name)
        if src.keyring is not None:
            return self._ring(name).material(src.keyring, version)
        if version != src.version:
            raise KeyVersionError(
                f"key {name!r} is version {src.version} (from {'$' + src.env if src.env else 'its file'}); "
                f"version {version} is not available"
            )
        return self.material(name)

    def info_at(self, name: str, version: int) -> KeyInfo:
        src = self._source(name)
        if src.keyring is None:
            info = self.info(name)
            if version != info.version:
                self.material_at(name, version)  # raises KeyVersionError
            return info
        return KeyInfo(
            name=name,
            version=version,
            source="keyring",
            fingerprint=fingerprint(self.material_at(name, version)),
            keyring_key=src.keyring,
        )

    def material(self, name: str) -> bytes:
        if name in self._cache:
            return self._cache[name]
        src = self._source(name)
        if src.keyring is not None:
            ring = self._ring(name)
            return ring.material(src.keyring, ring.current_version(src.keyring))
        if src.env is not None:
            text = self._environ.get(src.env)
            if text is None:
                raise KeyMaterialError(f"key {name!r}: environment variable {src.env} is not set")
            try:
                key = decode_key_text(text)
            except KeyMaterialError as e:
                raise KeyMaterialError(f"key {name!r} (from ${src.env}): {e}") from None
        elif src.file is not None:
            path = Path(os.path.expanduser(src.file))
            if not path.is_absolute():
                path = self._base_dir / path
            try:
                st = path.stat()
                text = path.read_text(encoding="ascii")
            except FileNotFoundError:
                raise KeyMaterialError(f"key {name!r}: key file {path} does not exist") from None
            except (OSError, UnicodeDecodeError) as e:
                raise KeyMaterialError(
                    f"key {name!r}: key file {path} is unreadable ({type(e).__name__})"
                ) from None
            if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyMaterialError(
                    f"key {name!r}: key file {path} is readable by group/others; "
                    f"run `chmod 600 {path}`"
                )
            try:
                key = decode_key_text(text)
            except KeyMaterialError as e:
                raise KeyMaterialError(f"key {name!r} (file {path}): {e}") from None
        else:  # pragma: no cover - the policy model forbids it
            raise KeyMaterialError(f"key {name!r} has neither env nor file")
        self._cache[name] = key
        return key

    def info(self, name: str) -> KeyInfo:
        src = self._source(name)
        if src.keyring is not None:
            return self.info_at(name, self._ring(name).current_version(src.keyring))
        return KeyInfo(
            name=name,
            version=src.version,
            source="env" if src.env is not None else "file",
            fingerprint=fingerprint(self.material(name)),
        )


def generate_key_text() -> str:
    """A fresh 256-bit key as hex text, for `veil keygen`."""
    return os.urandom(32).hex()
