"""The master key that protects the keyring at rest, behind a small pluggable interface.

The keyring never stores a key in the clear: it holds one random *data key* wrapped by a
:class:`MasterKeyProvider`, and every named key version is sealed with AES-GCM under a subkey
of that data key (envelope encryption). A provider therefore only has to wrap and unwrap one
small blob per keyring open, which is exactly what a cloud KMS offers (``Encrypt``/``Decrypt``
with an associated-data "encryption context"); a KMS provider is a class with the three members
of :class:`MasterKeyProvider`, and no other part of veil changes.

The built-in :class:`LocalMasterKey` takes 32+ random bytes from an environment variable or a
key file (mode 600, outside any git work tree) and wraps with AES-256-GCM under an HKDF subkey.
A wrong master key makes the GCM tag check fail, which is reported as
:class:`~veil.errors.WrongMasterKeyError`, never as garbage key material.
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from veil.errors import MasterKeyError, WrongMasterKeyError
from veil.keys.provider import decode_key_text, derive_key, fingerprint

MASTER_KEY_ENV = "VEIL_MASTER_KEY"
MASTER_KEY_FILE_ENV = "VEIL_MASTER_KEY_FILE"
_NONCE = 12
_WRAP_PURPOSE = "keyring/master-wrap"


@runtime_checkable
class MasterKeyProvider(Protocol):
    """Wraps and unwraps the keyring's data key. Implementations never expose key material.

    ``unwrap`` raises :class:`WrongMasterKeyError` when the blob does not authenticate under
    this master key (for a KMS: the service refuses, or the key id differs).
    """

    @property
    def description(self) -> str:
        """Where the master key comes from, for messages (e.g. ``env:VEIL_MASTER_KEY``)."""
        ...

    def wrap(self, plaintext: bytes, aad: bytes) -> str:
        """Encrypt ``plaintext`` bound to ``aad``; returns printable text for the keyring."""
        ...

    def unwrap(self, wrapped: str, aad: bytes) -> bytes:
        """Inverse of :meth:`wrap`."""
        ...


class LocalMasterKey:
    """A master key held in memory, from an environment variable or a key file."""

    def __init__(self, key: bytes, description: str) -> None:
        if len(key) < 32:
            raise MasterKeyError(f"master key from {description} is shorter than 32 bytes")
        self._aead = AESGCM(derive_key(key, _WRAP_PURPOSE, 32))
        self._check = fingerprint(key)
        self._description = description

    def __repr__(self) -> str:
        return f"LocalMasterKey({self._description})"

    @property
    def description(self) -> str:
        return self._description

    @property
    def check_value(self) -> str:
        """A fingerprint of the master key (HMAC of a fixed label); safe to print."""
        return self._check

    def wrap(self, plaintext: bytes, aad: bytes) -> str:
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, plaintext, aad)
        return "local-gcm:" + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def unwrap(self, wrapped: str, aad: bytes) -> bytes:
        scheme, _, body = wrapped.partition(":")
        if scheme != "local-gcm":
            raise WrongMasterKeyError(
                f"the keyring's data key was wrapped by a {scheme!r} master key provider, "
                f"not by a local master key ({self._description})"
            )
        try:
            raw = base64.urlsafe_b64decode(body.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise WrongMasterKeyError(
                "the keyring's wrapped data key is not valid base64"
            ) from None
        try:
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], aad)
        except (InvalidTag, ValueError):
            raise WrongMasterKeyError(
                f"wrong master key: the master key from {self._description} does not open this "
                "keyring (AES-GCM authentication failed)"
            ) from None


def _git_work_tree(path: Path) -> Path | None:
    """The git work tree that contains ``path``, if any."""
    for parent in path.resolve().parents:
        if (parent / ".git").exists():
            return parent
    return None


def read_master_key_file(path: Path) -> LocalMasterKey:
    """A master key from a key file: hex or base64 text, mode 600, outside any git work tree."""
    description = f"file {path}"
    try:
        st = path.stat()
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise MasterKeyError(f"master key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise MasterKeyError(f"master key file {path} is unreadable ({type(e).__name__})") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise MasterKeyError(
            f"master key file {path} is readable by group/others; run `chmod 600 {path}`"
        )
    repo = _git_work_tree(path)
    if repo is not None:
        raise MasterKeyError(
            f"master key file {path} lies inside the git work tree {repo}; keep the master key "
            "outside any repository"
        )
    try:
        key = decode_key_text(text)
    except Exception as e:
        raise MasterKeyError(f"master key file {path}: {e}") from None
    return LocalMasterKey(key, description)


def master_key_from(
    *,
    env_name: str | None = None,
    file: str | Path | None = None,
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> LocalMasterKey:
    """Resolve the local master key.

    Order: an explicit ``env_name`` or ``file`` (from a policy's ``keyring:`` section or a CLI
    option); else ``$VEIL_MASTER_KEY``; else the file named by ``$VEIL_MASTER_KEY_FILE``.
    """
    env = os.environ if environ is None else environ
    if env_name is not None:
        return _from_env(env_name, env)
    if file is not None:
        p = Path(os.path.expanduser(str(file)))
        if not p.is_absolute() and base_dir is not None:
            p = base_dir / p
        return read_master_key_file(p)
    if env.get(MASTER_KEY_ENV):
        return _from_env(MASTER_KEY_ENV, env)
    if env.get(MASTER_KEY_FILE_ENV):
        return read_master_key_file(Path(os.path.expanduser(env[MASTER_KEY_FILE_ENV])))
    raise MasterKeyError(
        f"no master key: set ${MASTER_KEY_ENV} (hex or base64, 32+ bytes) or "
        f"${MASTER_KEY_FILE_ENV} (a mode-600 key file outside the repository), or name one in "
        "the policy's keyring section"
    )


def _from_env(name: str, env: Mapping[str, str]) -> LocalMasterKey:
    text = env.get(name)
    if text is None or not text.strip():
        raise MasterKeyError(f"master key: environment variable {name} is not set")
    try:
        key = decode_key_text(text)
    except Exception as e:
        raise MasterKeyError(f"master key (from ${name}): {e}") from None
    return LocalMasterKey(key, f"env:{name}")
