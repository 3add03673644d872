"""veil against per-cell Python anonymization (pandas .apply, Presidio structured).

    python bench/vs_pandas.py [--rows 100000] [--repeat 5] [--no-presidio]

The same 8-column policy (bench/policies/nofake.yaml, no fake) on the same rows, four ways,
interleaved in every repetition:

* veil.anonymize  in-process on a pyarrow.Table (no file I/O).
* veil.run        Parquet file in -> Parquet file out (includes I/O, manifest, audit log).
* pandas .apply   the common hand-written approach, one Python call per cell: HMAC-SHA-256
                  with ``hmac.new`` for the pseudonym and the date-shift offset, string slicing
                  for the masks, ``datetime`` arithmetic for the age band and date shift, and
                  ``numpy.random.laplace`` for the noise (the only vectorized column). It is
                  written to give the SAME output as veil (same HKDF subkeys), and the script
                  checks that cell by cell (noise excepted: veil's is keyed, numpy's is not).
* Presidio        presidio-structured's StructuredEngine + PandasDataProcessor with explicit
                  column -> entity mapping (no NLP analysis): ``hash`` (salted SHA-256) for
                  customer_id, ``mask`` for card_number, ``custom`` lambdas (the pandas
                  functions above) for the columns with nulls or no built-in operator. Skipped,
                  with the reason printed, if presidio-structured cannot be imported.

Timings exclude reading the Parquet file into Arrow/pandas (done once up front), except for
veil.run, which reads and writes files by design.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

import veil  # noqa: E402
from veil.keys.provider import derive_key  # noqa: E402

AS_OF = dt.date(2026, 1, 1)
COLUMNS = list(c.load_template("nofake")["columns"])


# ----------------------------------------------------------------- the per-cell pandas version


def make_pandas_fns(key: bytes) -> dict[str, Any]:
    """Per-cell functions equivalent to the bench policy (same subkeys as veil derives)."""
    k_pseudo = derive_key(key, "pseudonymize:customer")
    k_shift = derive_key(key, "date_shift:default")

    def pseudonymize(v: Any) -> Any:
        if pd.isna(v):
            return None
        return "cus_" + hmac.new(k_pseudo, v.encode(), hashlib.sha256).hexdigest()[:20]

    def mask_email(v: Any) -> Any:
        if pd.isna(v):
            return None
        local, at, domain = v.rpartition("@")
        if not at:
            return "X" * len(v)
        return "X" * len(local) + "@" + domain

    def mask_keep_last(v: Any, n: int) -> Any:
        if pd.isna(v):
            return None
        content = [i for i, ch in enumerate(v) if ch.isalnum()]
        chars = list(v)
        masked = content if len(content) <= n else content[:-n]
        for i in masked:
            chars[i] = "X"
        return "".join(chars)

    def age_band(d: Any) -> Any:
        if pd.isna(d):
            return None
        age = AS_OF.year - d.year - ((d.month, d.day) > (AS_OF.month, AS_OF.day))
        if age >= 80:
            return "80+"
        lo = age // 10 * 10
        return f"{lo}-{lo + 9}"

    def zip_prefix(v: Any) -> Any:
        if pd.isna(v):
            return None
        return v[:3] + "*" * max(len(v) - 3, 0)

    def shift_days(customer_id: str) -> int:
        n = int(hmac.new(k_shift, customer_id.encode(), hashlib.sha256).hexdigest()[:12], 16)
        m = n % 60
        return m - 30 if m < 30 else m - 29

    def date_shift(row: pd.Series) -> Any:
        if pd.isna(row["customer_id"]) or pd.isna(row["signup_ts"]):
            return pd.NaT
        return row["signup_ts"] + dt.timedelta(days=shift_days(row["customer_id"]))

    return {
        "pseudonymize": pseudonymize,
        "mask_email": mask_email,
        "mask_keep_last": mask_keep_last,
        "age_band": age_band,
        "zip_prefix": zip_prefix,
        "date_shift": date_shift,
    }


def pandas_apply(df: pd.DataFrame, fns: dict[str, Any], seed: int = 0) -> pd.DataFrame:
    out = pd.DataFrame(index=df.index)
    out["customer_id"] = df["customer_id"].apply(fns["pseudonymize"])
    out["email"] = df["email"].apply(fns["mask_email"])
    out["card_number"] = df["card_number"].apply(lambda v: fns["mask_keep_last"](v, 4))
    out["phone"] = df["phone"].apply(lambda v: fns["mask_keep_last"](v, 2))
    out["birth_date"] = df["birth_date"].apply(fns["age_band"])
    out["zip"] = df["zip"].apply(fns["zip_prefix"])
    out["signup_ts"] = df.apply(fns["date_shift"], axis=1)
    rng = np.random.default_rng(seed)
    out["salary"] = (df["salary"] + rng.laplace(0.0, 1000.0, len(df))).round(0)
    return out


# ----------------------------------------------------------------- Presidio structured


def presidio_setup(fns: dict[str, Any], salt: bytes) -> tuple[Any, Any, Any] | str:
    """(engine, analysis, operators) or the reason Presidio cannot run here."""
    try:
        from presidio_anonymizer.entities import OperatorConfig
        from presidio_structured import PandasDataProcessor, StructuredAnalysis, StructuredEngine
    except Exception as e:  # ImportError, or a spaCy / model problem at import
        return f"presidio-structured is not importable ({type(e).__name__}: {e})"
    analysis = StructuredAnalysis(
        entity_mapping={
            "customer_id": "CUSTOMER_ID",
            "email": "EMAIL_ADDRESS",
            "card_number": "CREDIT_CARD",
            "phone": "PHONE_NUMBER",
            "birth_date": "DATE_OF_BIRTH",
            "zip": "ZIP",
            "salary": "SALARY",
        }
    )
    laplace = np.random.default_rng(0)

    def s(f: Any) -> Any:
        # Presidio's custom operator must return a str (None is refused): null -> "".
        return lambda v: "" if pd.isna(v) else f(v)

    operators = {
        # customer_id has no nulls: Presidio's own salted SHA-256 hash operator.
        "CUSTOMER_ID": OperatorConfig("hash", {"hash_type": "sha256", "salt": salt}),
        # card_number has no nulls and a fixed 19-char format: built-in mask of the first 15.
        "CREDIT_CARD": OperatorConfig(
            "mask", {"masking_char": "X", "chars_to_mask": 15, "from_end": False}
        ),
        # Built-in operators fail on nulls (NaN has no .encode / len) and have no email,
        # keep-last-n, age-band or noise mode: custom lambdas for these (nulls become "").
        "EMAIL_ADDRESS": OperatorConfig("custom", {"lambda": s(fns["mask_email"])}),
        "PHONE_NUMBER": OperatorConfig(
            "custom", {"lambda": s(lambda v: fns["mask_keep_last"](v, 2))}
        ),
        "DATE_OF_BIRTH": OperatorConfig("custom", {"lambda": s(fns["age_band"])}),
        "ZIP": OperatorConfig("custom", {"lambda": s(fns["zip_prefix"])}),
        "SALARY": OperatorConfig(
            "custom", {"lambda": s(lambda v: str(round(v + laplace.laplace(0, 1000))))}
        ),
    }
    return StructuredEngine(data_processor=PandasDataProcessor()), analysis, operators


def presidio_run(setup: tuple[Any, Any, Any], df: pd.DataFrame, fns: dict[str, Any]) -> Any:
    engine, analysis, operators = setup
    # custom operators return str: the date and float columns are cast to object first.
    data = df[COLUMNS].astype({"birth_date": object, "salary": object})
    out = engine.anonymize(data, analysis, operators)
    # Presidio has no date-shift operator (custom must return a str): same row-wise apply.
    out["signup_ts"] = df.apply(fns["date_shift"], axis=1)
    return out


# ----------------------------------------------------------------- comparison


def agreement(veil_out: pa.Table, pandas_out: pd.DataFrame) -> dict[str, float]:
    """Share of cells where the pandas version equals veil's output (nulls equal nulls)."""
    v = veil_out.to_pandas()
    res = {}
    for col in COLUMNS:
        if col == "salary":
            continue
        a, b = v[col], pandas_out[col]
        if col == "signup_ts":
            a, b = pd.to_datetime(a), pd.to_datetime(b)
        same = a.astype(object).where(a.notna(), None) == b.astype(object).where(b.notna(), None)
        same |= a.isna() & b.isna()
        res[col] = float(same.mean())
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-presidio", action="store_true")
    ap.add_argument(
        "--presidio-repeat",
        type=int,
        default=1,
        help="run Presidio in only the first N repetitions (it takes ~10 min per 100k rows)",
    )
    args = ap.parse_args(argv)
    print(__doc__.split("\n\n", 2)[2].rstrip())

    data = c.ensure_data(args.rows)
    env = c.bench_env()
    key = bytes.fromhex(env[c.KEY_ENV])
    policy = c.render_policy("nofake", data, f"vs_pandas_{args.rows}")
    loaded = veil.load_policy(policy)
    arrow = pq.read_table(data)
    df = arrow.to_pandas()
    fns = make_pandas_fns(key)

    setup: tuple[Any, Any, Any] | str | None = None
    if not args.no_presidio:
        t0 = time.perf_counter()
        setup = presidio_setup(fns, salt=key[:16])
        if isinstance(setup, str):
            print(f"\nPresidio: SKIPPED - {setup}")
        else:
            print(f"\nPresidio structured ready (import + setup {time.perf_counter() - t0:.1f}s)")

    variants: dict[str, Any] = {
        "veil.anonymize": lambda: veil.anonymize(arrow, loaded, environ=env),
        "veil.run": lambda: veil.run(loaded, environ=env),
        "pandas .apply": lambda: pandas_apply(df, fns),
    }
    if setup is not None and not isinstance(setup, str):
        ready = setup
        variants["Presidio"] = lambda: presidio_run(ready, df, fns)

    print(f"\n{args.rows:,} rows, {len(COLUMNS)} columns, {args.repeat} repetitions", flush=True)
    times: dict[str, list[float]] = {k: [] for k in variants}
    results: dict[str, Any] = {}
    for rep in range(args.repeat):
        line = []
        for name, fn in variants.items():
            if name == "Presidio" and rep >= args.presidio_repeat:
                continue
            t0 = time.perf_counter()
            results[name] = fn()
            t = time.perf_counter() - t0
            times[name].append(t)
            line.append(f"{name} {t:.2f}s")
        print(f"  rep {rep + 1}/{args.repeat}: " + ", ".join(line), flush=True)

    med = {k: c.median(v) for k, v in times.items()}

    def rel(name: str) -> float:
        # Paired with veil.anonymize of the same repetitions (Presidio runs in fewer of them).
        return c.median([t / v for t, v in zip(times[name], times["veil.anonymize"], strict=False)])

    rows = [
        [
            name,
            f"{med[name]:.3f}",
            f"{min(times[name]):.3f}",
            f"{args.rows / med[name] / 1e3:,.0f}",
            f"{rel(name):.1f}x",
        ]
        for name in variants
    ]
    print()
    print(
        c.table(
            ["variant", "median s", "min s", "k rows/s", "time vs veil.anonymize (paired)"], rows
        )
    )

    agree = agreement(results["veil.anonymize"], results["pandas .apply"])
    print(
        "\npandas output equal to veil's, per column: "
        + ", ".join(f"{k} {v:.1%}" for k, v in agree.items())
        + " (salary: noise differs by design)"
    )
    speed_pd = med["pandas .apply"] / med["veil.anonymize"]
    speed_pd_run = med["pandas .apply"] / med["veil.run"]
    parts = [
        f"veil.anonymize is {speed_pd:.1f}x faster than pandas .apply "
        f"(veil.run incl. file I/O: {speed_pd_run:.1f}x)"
    ]
    if "Presidio" in med:
        # Presidio runs in fewer repetitions: compare it with veil from the same repetitions.
        paired = [p / v for p, v in zip(times["Presidio"], times["veil.anonymize"], strict=False)]
        paired_pd = [p / v for p, v in zip(times["Presidio"], times["pandas .apply"], strict=False)]
        print(
            "Presidio vs veil.anonymize in the same repetitions: "
            + ", ".join(f"{r:.1f}x" for r in paired)
            + "; vs pandas .apply: "
            + ", ".join(f"{r:.1f}x" for r in paired_pd)
        )
        parts.append(
            f"{c.median(paired):.1f}x faster than Presidio structured "
            f"(paired; Presidio is {c.median(paired_pd):.1f}x slower than pandas .apply)"
        )
    else:
        parts.append("Presidio skipped")
    n_pres = f", Presidio {len(times['Presidio'])}" if "Presidio" in times else ""
    print(
        f"\nRESULT vs_pandas: {'; '.join(parts)} "
        f"(median of {args.repeat}{n_pres}, {args.rows:,} rows)"
    )
    return 0


if __name__ == "__main__":
    c.run_main(main)
