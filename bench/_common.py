"""Shared helpers for the veil benchmarks (bench/*.py). Not a benchmark itself.

* data: ``ensure_data(rows)`` generates ``bench/data/customers_<rows>.parquet`` once with
  ``examples/customers/generate.py`` (seed 7) and reuses it afterwards.
* policies: ``render_policy("nofake", data)`` copies ``bench/policies/nofake.yaml`` into
  ``bench/out/policies/`` with absolute source/output/audit paths for that data file.
* key: ``bench_env()`` returns a copy of the environment with a fresh random hex key in
  ``$VEIL_BENCH_KEY`` (the variable the bench policies name). It is never printed or saved.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
OUT = BENCH / "out"
POLICIES = BENCH / "policies"
KEY_ENV = "VEIL_BENCH_KEY"
ADULT = ROOT / "tests" / "data" / "adult"
ADULT_QIS: list[str] = list(
    yaml.safe_load((ROOT / "examples" / "adult" / "policy.yaml").read_text())["privacy"][
        "quasi_identifiers"
    ]
)
"""The eight quasi-identifiers of ARX's Adult benchmark, as the example policy names them."""
VENV_BIN = Path(sys.executable).parent
SEED = 7


def _generator() -> Any:
    path = ROOT / "examples" / "customers" / "generate.py"
    spec = importlib.util.spec_from_file_location("veil_customers_generate", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def ensure_data(rows: int) -> Path:
    """The cached customers Parquet file of ``rows`` rows (generated on first use)."""
    path = DATA / f"customers_{rows}.parquet"
    if not path.exists():
        print(f"# generating {rows:,} customers -> {path.relative_to(ROOT)} (once) ...", flush=True)
        t0 = time.perf_counter()
        _generator().generate(rows, path, "parquet", seed=SEED)
        print(f"# generated in {time.perf_counter() - t0:.1f}s", flush=True)
    return path


def warm_page_cache(path: Path) -> None:
    """Read the file once so that every timed run starts with it in the page cache."""
    with open(path, "rb") as fh:
        while fh.read(16 << 20):
            pass


def bench_env() -> dict[str, str]:
    """os.environ plus a random 256-bit hex key in $VEIL_BENCH_KEY (never print this)."""
    env = dict(os.environ)
    env[KEY_ENV] = secrets.token_hex(32)
    env.pop("VEIL_AUDIT_LOG", None)
    return env


def render_policy(
    template: str | dict[str, Any],
    data: Path,
    out_name: str,
    *,
    columns: dict[str, Any] | None = None,
) -> Path:
    """Write a runnable copy of a bench policy for ``data``; returns its path.

    ``template`` is a file stem in bench/policies/ or an already loaded policy dict;
    ``columns`` replaces the policy's columns (used to time one transform alone).
    """
    if isinstance(template, str):
        doc = yaml.safe_load((POLICIES / f"{template}.yaml").read_text())
    else:
        doc = dict(template)
    if columns is not None:
        doc["columns"] = columns
    (OUT / "policies").mkdir(parents=True, exist_ok=True)
    doc["source"] = {"path": str(data)}
    doc["output"] = {"path": str(OUT / f"{out_name}.parquet"), "overwrite": True}
    doc["audit"] = {"path": str(OUT / ".veil" / "audit.jsonl")}
    path = OUT / "policies" / f"{out_name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def load_template(name: str) -> dict[str, Any]:
    return yaml.safe_load((POLICIES / f"{name}.yaml").read_text())  # type: ignore[no-any-return]


def timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median(xs: Sequence[float]) -> float:
    return statistics.median(xs)


def fmt_s(x: float) -> str:
    return f"{x:8.2f}s" if x >= 0.1 else f"{x * 1000:7.1f}ms"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain left/right aligned text table (numbers right-aligned)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: Sequence[str]) -> str:
        out = []
        for i, c in enumerate(r):
            numeric = c[:1].isdigit() or c[:1] in "+-." and c[1:2].isdigit()
            out.append(c.rjust(widths[i]) if numeric and i else c.ljust(widths[i]))
        return "  ".join(out).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), sep, *[line(r) for r in cells[1:]]])


def file_size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def run_main(main: Callable[[], int]) -> None:
    """Run a benchmark's ``main`` and exit with its status, printing the total time."""
    t0 = time.perf_counter()
    rc = main()
    print(f"# total bench time {time.perf_counter() - t0:.0f}s")
    sys.exit(rc)
