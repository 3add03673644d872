"""A per-user disk cache for deterministic, non-secret data that is slow to build (Faker pools).

Entries live under ``$VEIL_CACHE_DIR`` (default ``$XDG_CACHE_HOME/veil`` or ``~/.cache/veil``),
are written atomically and readable by the owner only. A missing, unreadable or malformed entry
is rebuilt; a cache directory that cannot be written is skipped silently, since the cache only
saves time. Never store key material or data values here.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def cache_dir() -> Path:
    root = os.environ.get("VEIL_CACHE_DIR")
    if root:
        return Path(root)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "veil"


def cached_strings(relative: str, build: Callable[[], list[str]], expected_len: int) -> list[str]:
    """The list of strings stored at ``relative`` in the cache, built and stored on a miss."""
    path = cache_dir() / relative
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if (
            isinstance(loaded, list)
            and len(loaded) == expected_len
            and all(isinstance(v, str) for v in loaded)
        ):
            return loaded
    except (OSError, ValueError):
        pass
    values = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(values, f, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass
    return values
