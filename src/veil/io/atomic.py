"""Atomic outputs: write to a temporary sibling, then rename into place.

A failed or interrupted job leaves at most a hidden ``.veil-tmp-*`` sibling (removed on the
way out when possible) and never a half-written output under the final name.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from veil.errors import OutputError


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


@contextlib.contextmanager
def atomic_path(final: Path, *, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; on success move it over ``final``."""
    final = final.absolute()
    if final.exists() and not overwrite:
        raise OutputError(
            f"output {final} already exists; set output.overwrite: true to replace it"
        )
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create output directory {final.parent}: {e.strerror}") from None
    tmp = final.with_name(f".{final.name}.veil-tmp-{uuid.uuid4().hex[:12]}")
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"the engine wrote no output for {final}")
        _fsync_tree(tmp)
        if final.exists() and (final.is_dir() != tmp.is_dir() or tmp.is_dir()):
            trash = final.with_name(f".{final.name}.veil-old-{uuid.uuid4().hex[:12]}")
            os.replace(final, trash)
            os.replace(tmp, final)
            _remove(trash)
        else:
            os.replace(tmp, final)
        _fsync_dir(final.parent)
    finally:
        _remove(tmp)


def _fsync_tree(p: Path) -> None:
    paths = [p] if p.is_file() else [q for q in p.rglob("*") if q.is_file()]
    for q in paths:
        fd = os.open(q, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, payload: dict[str, Any], *, overwrite: bool = True) -> None:
    with atomic_path(path, overwrite=overwrite) as tmp:
        tmp.write_text(
            json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
        )
