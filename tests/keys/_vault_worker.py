"""Run in a separate process by the concurrency tests: tokenize values against a shared vault."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa

from veil.vault.base import open_backend
from veil.vault.tokenizer import Tokenizer, VersionKeys


def tokenize_job(
    location: str,
    table: str,
    seal_hex: str,
    lookup_hex: str,
    values: list[str],
    out: str,
    barrier: object,
) -> None:
    backend = open_backend(location, Path("/"), table)
    tok = Tokenizer(
        backend, "people", [VersionKeys(1, bytes.fromhex(seal_hex), bytes.fromhex(lookup_hex))]
    )
    barrier.wait()  # type: ignore[attr-defined]  # start together
    tokens: dict[str, str] = {}
    for i in range(0, len(values), 97):  # many small batches: many interleaved transactions
        chunk = values[i : i + 97]
        for v, t in zip(chunk, tok.tokenize(pa.array(chunk)).to_pylist(), strict=True):
            tokens[v] = t
    backend.close()
    Path(out).write_text(json.dumps(tokens))


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run by the tests")
