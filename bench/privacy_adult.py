"""Adult, k=5, 8 quasi-identifiers, 0% / 1% / 4% suppression: veil's optimal search vs anjana.

Every run is a cold process (interpreter start, imports, reading the CSV, the search), timed from
outside; the worker also reports its phases. anjana (PyPI) pins old numpy/pandas, so it runs in
its own virtualenv, created on first use under ~/.cache/veil-bench/anjana with pip. Its result
(levels and suppressed records) is scored with veil's Loss metric (ARX's definition), so both
information losses are on the same scale.

    python bench/privacy_adult.py [--repeat 3] [--no-anjana]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ADULT, ROOT  # noqa: E402
from _common import ADULT_QIS as QIS  # noqa: E402

LIMITS = [0.0, 0.01, 0.04]
ANJANA_VENV = Path.home() / ".cache" / "veil-bench" / "anjana"

VEIL_WORKER = r"""
import json, sys, time
t0 = time.perf_counter()
import duckdb
from veil.privacy import KAnonymity, anonymize_histogram, build_histogram, load_hierarchy
t1 = time.perf_counter()
adult, qis, limit = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3])
con = duckdb.connect()
rel = f"read_csv('{adult}/adult.csv', delim=';', header=true, all_varchar=true)"
hist = build_histogram(con, rel, qis)
hs = {q: load_hierarchy(f"{adult}/adult_hierarchy_{q}.csv") for q in qis}
t2 = time.perf_counter()
r = anonymize_histogram(hist, hs, [KAnonymity(k=5)], limit, "loss")
t3 = time.perf_counter()
print(json.dumps({"levels": list(r.levels.values()), "suppressed": r.suppressed_records,
    "loss": r.metric_value, "checked": r.nodes_checked, "import": t1 - t0,
    "histogram": t2 - t1, "search": t3 - t2}))
"""

ANJANA_WORKER = r"""
import json, sys, time, io, contextlib
t0 = time.perf_counter()
import pandas as pd
from anjana.anonymity._k_anonymity import k_anonymity_inner
t1 = time.perf_counter()
adult, qis, limit = sys.argv[1], sys.argv[2].split(","), float(sys.argv[3])
data = pd.read_csv(f"{adult}/adult.csv", sep=";", dtype=str)
hierarchies = {
    q: dict(pd.read_csv(f"{adult}/adult_hierarchy_{q}.csv", sep=";", header=None, dtype=str))
    for q in qis
}
t2 = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    out, supp, levels = k_anonymity_inner(data, [], qis, 5, limit * 100, hierarchies)
t3 = time.perf_counter()
print(json.dumps({"levels": [int(levels[q]) for q in qis], "suppressed": int(supp),
    "import": t1 - t0, "load": t2 - t1, "search": t3 - t2}))
"""


def _run(python: str, code: str, limit: float) -> tuple[float, dict[str, object]]:
    t = time.perf_counter()
    out = subprocess.run(
        [python, "-W", "ignore", "-c", code, str(ADULT), ",".join(QIS), str(limit)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    wall = time.perf_counter() - t
    return wall, json.loads(out.stdout.strip().splitlines()[-1])


def _anjana_python() -> str:
    py = ANJANA_VENV / "bin" / "python"
    if not py.exists():
        print(f"# creating {ANJANA_VENV} with anjana (once) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(ANJANA_VENV)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "anjana"], check=True)
    return str(py)


def _loss_of(levels: list[int], limit: float) -> tuple[float, int]:
    """veil's Loss (ARX definition) of a full-domain result chosen by someone else."""
    import duckdb

    from veil.privacy import KAnonymity, build_histogram, load_hierarchy
    from veil.search.evaluate import Evaluator

    con = duckdb.connect()
    rel = f"read_csv('{ADULT}/adult.csv', delim=';', header=true, all_varchar=true)"
    hist = build_histogram(con, rel, QIS)
    hs = {q: load_hierarchy(ADULT / f"adult_hierarchy_{q}.csv") for q in QIS}
    ev = Evaluator(hist, hs, [KAnonymity(k=5)], 1.0, "loss")
    r = ev.evaluate(levels)
    return r.value, r.suppressed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-anjana", action="store_true")
    args = ap.parse_args()
    anjana = None if args.no_anjana else _anjana_python()
    print(
        f"# Adult {len(QIS)} QIs, k=5, {args.repeat} cold runs each (median); load: "
        f"{os.getloadavg()[0]:.1f}"
    )
    print(
        "limit | veil wall s | import / histogram / search s | veil loss | veil levels "
        "| anjana wall s | anjana search s | anjana loss | anjana levels | speed-up (wall)"
    )
    for limit in LIMITS:
        runs = [_run(sys.executable, VEIL_WORKER, limit) for _ in range(args.repeat)]
        wall = statistics.median(w for w, _ in runs)
        info = runs[-1][1]
        phases = " / ".join(
            f"{statistics.median(float(r[1][k]) for r in runs):.2f}"  # type: ignore[arg-type]
            for k in ("import", "histogram", "search")
        )
        row = (
            f"{limit:.0%} | {wall:.2f} | {phases} | {info['loss']:.5f} | {info['levels']} "
            f"(supp {info['suppressed']}, {info['checked']} checked)"
        )
        if anjana is not None:
            aruns = [_run(anjana, ANJANA_WORKER, limit) for _ in range(args.repeat)]
            awall = statistics.median(w for w, _ in aruns)
            asearch = statistics.median(float(r[1]["search"]) for r in aruns)  # type: ignore[arg-type]
            alevels = aruns[-1][1]["levels"]
            aloss, asupp = _loss_of(alevels, limit)  # type: ignore[arg-type]
            row += (
                f" | {awall:.2f} | {asearch:.2f} | {aloss:.5f} | {alevels} (supp {asupp}) "
                f"| {awall / wall:.1f}x"
            )
        print(row, flush=True)


if __name__ == "__main__":
    main()
