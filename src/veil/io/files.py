"""Resolve a source path (file, glob or directory) to files, and fingerprint them."""

from __future__ import annotations

import glob
import hashlib
import os
from pathlib import Path
from typing import Any

from veil.errors import DataError

_PATTERNS = {
    "csv": ("*.csv", "*.tsv", "*.txt", "*.csv.gz"),
    "parquet": ("*.parquet", "*.pq"),
    "jsonl": ("*.jsonl", "*.ndjson", "*.json", "*.jsonl.gz"),
}


def resolve_files(path: Path, fmt: str) -> list[Path]:
    """Files of a source, sorted; a directory means every file of the format below it."""
    text = str(path)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise DataError(f"no input file matches {text}", file=text)
        return files
    if path.is_dir():
        files = sorted({p for pat in _PATTERNS[fmt] for p in path.rglob(pat) if p.is_file()})
        if not files:
            raise DataError(f"directory {path} holds no {fmt} file", file=text)
        return files
    if not path.exists():
        raise DataError(f"input {path} does not exist", file=text)
    return [path]


def fingerprint(files: list[Path]) -> dict[str, Any]:
    """Names, sizes and modification times of the inputs, and one digest over them all."""
    entries = []
    for f in files:
        st = f.stat()
        entries.append({"path": str(f), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    digest = hashlib.sha256(
        "\n".join(f"{e['path']}|{e['size']}|{e['mtime_ns']}" for e in entries).encode()
    ).hexdigest()
    return {"files": entries, "total_bytes": sum(e["size"] for e in entries), "digest": digest}


def same_or_inside(a: Path, b: Path) -> bool:
    ra, rb = os.path.realpath(a), os.path.realpath(b)
    return ra == rb or ra.startswith(rb.rstrip(os.sep) + os.sep)
