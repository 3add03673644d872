"""Peak memory (RSS) of a `veil run` subprocess for growing inputs.

    python bench/memory.py [--rows 10000000 20000000] [--repeat 1]
                           [--threads N] [--memory-limit 1GB] [--settings]

Runs ``veil run bench/policies/nofake.yaml`` (8 transformed columns, Parquet in -> Parquet out)
as a child process for each input size and reports its peak resident set size, read exactly
from the kernel with ``os.wait4`` (``ru_maxrss`` of that child alone), plus a psutil sample of
the RSS every 0.1 s to show whether memory creeps up during the run.

The target is a peak under 2 GB that stays flat as the input doubles. ``--threads`` and
``--memory-limit`` are passed to ``veil run``; ``--settings`` also tries, on the largest input,
the DuckDB settings veil exposes (``memory_limit``, ``threads``) to see which bounds memory.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

TARGET_BYTES = 2 * 1024**3


@dataclass
class Sample:
    rows: int
    label: str
    peak: int  # bytes, from wait4 ru_maxrss
    seconds: float
    timeline: list[tuple[float, int]] = field(default_factory=list)

    def rss_at(self, fraction: float) -> int:
        if not self.timeline:
            return 0
        i = min(int(len(self.timeline) * fraction), len(self.timeline) - 1)
        return self.timeline[i][1]


def run_child(cmd: list[str], env: dict[str, str]) -> tuple[int, float, list[tuple[float, int]]]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    timeline: list[tuple[float, int]] = []
    stop = threading.Event()

    def poll() -> None:
        try:
            p = psutil.Process(proc.pid)
            while not stop.is_set():
                try:
                    rss = p.memory_info().rss
                    rss += sum(ch.memory_info().rss for ch in p.children(recursive=True))
                except psutil.Error:
                    break
                timeline.append((time.perf_counter() - t0, rss))
                stop.wait(0.1)
        except psutil.Error:
            pass

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    stop.set()
    th.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"veil run failed ({proc.returncode}): {err.strip()[-2000:]}")
    return usage.ru_maxrss * 1024, seconds, timeline  # ru_maxrss is in KiB on Linux


def measure(
    rows: int, env: dict[str, str], threads: int | None, memory_limit: str | None, label: str
) -> Sample:
    data = c.ensure_data(rows)
    policy = c.render_policy("nofake", data, f"mem_{rows}")
    cmd = [str(c.VENV_BIN / "veil"), "-q", "run", str(policy)]
    if threads:
        cmd += ["--threads", str(threads)]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    c.warm_page_cache(data)
    peak, seconds, timeline = run_child(cmd, env)
    s = Sample(rows, label, peak, seconds, timeline)
    print(
        f"  {rows:>12,} rows  {label:<28} peak {peak / 2**20:8.0f} MiB  ({seconds:.1f}s)",
        flush=True,
    )
    return s


def mib(x: int) -> str:
    return f"{x / 2**20:.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 20_000_000])
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--memory-limit", default=None)
    ap.add_argument(
        "--settings",
        action="store_true",
        help="also try memory_limit / threads settings on the largest input",
    )
    args = ap.parse_args(argv)
    print(__doc__.split("\n\n", 2)[2].rstrip())
    print(f"\nmachine: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB")
    env = c.bench_env()
    base_label = "default"
    if args.threads or args.memory_limit:
        base_label = f"threads={args.threads} memory_limit={args.memory_limit}"

    samples: dict[int, list[Sample]] = {}
    for rep in range(args.repeat):
        for rows in args.rows:  # interleaved sizes within each repetition
            samples.setdefault(rows, []).append(
                measure(rows, env, args.threads, args.memory_limit, base_label)
            )
            print(f"    (repetition {rep + 1}/{args.repeat})", flush=True)

    table_rows = []
    peaks = {}
    for rows, ss in samples.items():
        peak = int(c.median([s.peak for s in ss]))
        peaks[rows] = peak
        s0 = ss[0]
        table_rows.append(
            [
                f"{rows:,}",
                base_label,
                mib(peak),
                mib(s0.rss_at(0.25)),
                mib(s0.rss_at(0.5)),
                mib(s0.rss_at(0.75)),
                f"{c.median([s.seconds for s in ss]):.1f}",
                "yes" if peak < TARGET_BYTES else "NO",
            ]
        )

    extra: list[Sample] = []
    if args.settings:
        big = max(args.rows)
        print(f"\ntrying DuckDB settings on {big:,} rows:", flush=True)
        for threads, limit in ((None, "1GB"), (None, "512MB"), (1, None), (1, "1GB")):
            label = f"threads={threads or 'all'} memory_limit={limit or 'default'}"
            extra.append(measure(big, env, threads, limit, label))
        for s in extra:
            table_rows.append(
                [
                    f"{s.rows:,}",
                    s.label,
                    mib(s.peak),
                    mib(s.rss_at(0.25)),
                    mib(s.rss_at(0.5)),
                    mib(s.rss_at(0.75)),
                    f"{s.seconds:.1f}",
                    "yes" if s.peak < TARGET_BYTES else "NO",
                ]
            )

    print()
    print(
        c.table(
            [
                "rows",
                "settings",
                "peak MiB",
                "RSS@25% MiB",
                "RSS@50% MiB",
                "RSS@75% MiB",
                "seconds",
                "< 2 GiB",
            ],
            table_rows,
        )
    )
    sizes = sorted(peaks)
    small, large = sizes[0], sizes[-1]
    if small == large:
        # One input size: judge from the RSS timeline of the run instead.
        s0 = samples[small][0]
        q1, q3 = s0.rss_at(0.25), s0.rss_at(0.75)
        growth = q3 / q1 if q1 else float("nan")
        flat = growth <= 1.15
        print(
            f"\nRSS grows {growth:.2f}x from 25% to 75% of the run: "
            f"{'flat (bounded)' if flat else 'GROWS during the run'}"
        )
        print(
            f"RESULT memory: peak RSS {mib(peaks[small])} MiB at {small / 1e6:g}M rows "
            f"({base_label}; {'flat' if flat else 'grows'} during the run; target < 2 GiB: "
            f"{'met' if peaks[small] < TARGET_BYTES and flat else 'MISSED'})"
        )
        return 0
    growth = peaks[large] / peaks[small] if peaks[small] else float("nan")
    flat = growth <= 1.25
    print(
        f"\npeak grows {growth:.2f}x while the input grows {large / small:.1f}x: "
        f"{'flat (bounded)' if flat else 'GROWS with input size'}"
    )
    print(
        f"RESULT memory: peak RSS {mib(peaks[small])} MiB at {small / 1e6:g}M rows, "
        f"{mib(peaks[large])} MiB at {large / 1e6:g}M rows ({growth:.2f}x; "
        f"{'flat' if flat else 'grows'}; target < 2 GiB: "
        f"{'met' if max(peaks.values()) < TARGET_BYTES and flat else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    c.run_main(main)
