"""Authentication (API keys stored as salted scrypt hashes) and permission checks.

An API key is ``vk_`` + 43 base64url characters (256 random bits), shown once when made and
never stored: the access file keeps ``scrypt$N$r$p$salt$hash`` (RFC 7914, hashlib.scrypt, 16-byte
random salt, 32-byte output). Verification runs scrypt for unknown principals too, so timing
does not tell which principal names exist, and compares in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from veil.access.model import AccessFile
from veil.errors import AccessDeniedError, AuthenticationError, PolicyError

ACCESS_ENV = "VEIL_ACCESS"
API_KEY_ENV = "VEIL_API_KEY"
DEFAULT_ACCESS = "access.yaml"
_N, _R, _P = 16384, 8, 1
_DUMMY_HASH = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"


def _b64(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def _unb64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def new_api_key() -> str:
    return "vk_" + secrets.token_urlsafe(32)


def hash_api_key(api_key: str, *, n: int = _N, r: int = _R, p: int = _P) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(api_key.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_api_key(api_key: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        got = hashlib.scrypt(
            api_key.encode("utf-8"),
            salt=_unb64(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=256 * 1024 * 1024,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


@dataclass(frozen=True)
class Authenticated:
    """A principal whose API key was verified."""

    name: str


class AccessControl:
    """An access file, loaded and validated."""

    def __init__(self, model: AccessFile, path: Path) -> None:
        self.model = model
        self.path = path

    def __repr__(self) -> str:
        return f"AccessControl({str(self.path)!r}, principals={sorted(self.model.principals)})"

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AccessControl:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise PolicyError(
                f"access file {p} does not exist (every access is denied without one)", file=str(p)
            ) from None
        except OSError as e:
            raise PolicyError(
                f"access file {p} is unreadable ({e.strerror})", file=str(p)
            ) from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise PolicyError(f"access file {p} is not valid YAML: {e}", file=str(p)) from None
        try:
            model = AccessFile.model_validate(data if data is not None else {})
        except ValidationError as e:
            problems = [
                f"{'.'.join(str(x) for x in err['loc']) or '(top)'}: {err['msg']}"
                for err in e.errors()
            ]
            raise PolicyError(
                f"access file {p} is invalid:\n  " + "\n  ".join(problems),
                file=str(p),
                problems=problems,
            ) from None
        return cls(model, p)

    def authenticate(self, principal: str, api_key: str | None) -> Authenticated:
        p = self.model.principals.get(principal)
        stored = p.api_key_hash if p is not None else _DUMMY_HASH
        ok = verify_api_key(api_key or "", stored)
        if p is None or not ok or not api_key:
            raise AuthenticationError(
                f"principal {principal!r} could not be authenticated (unknown principal or "
                "wrong API key)"
            )
        if p.disabled:
            raise AuthenticationError(f"principal {principal!r} is disabled")
        return Authenticated(principal)

    def allows(self, who: Authenticated, permission: str, target: str) -> bool:
        return self.model.allows(who.name, permission, target)

    def require(self, who: Authenticated, permission: str, target: str) -> None:
        if not self.allows(who, permission, target):
            raise AccessDeniedError(
                f"principal {who.name!r} may not {permission.replace('_', ' ')} {target} "
                f"(no role in {self.path.name} grants it; access is denied by default)"
            )


def access_path(
    explicit: str | os.PathLike[str] | None,
    policy_dir: Path | None,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """An explicit path, else ``$VEIL_ACCESS``, else ``access.yaml`` next to the policy."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        return Path(explicit)
    if env.get(ACCESS_ENV):
        return Path(os.path.expanduser(env[ACCESS_ENV]))
    return (policy_dir or Path.cwd()) / DEFAULT_ACCESS
