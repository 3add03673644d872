"""Draft policy: a YAML file for `veil run`, one recommended transform per column, with a comment
that says what was detected and why that transform.

The recommendations follow the column class and type:

* identifiers that are join keys (ids, e-mails, SSNs, national ids, IPs) are pseudonymized
  with a keyed HMAC, so the same value links across runs and datasets under the same key;
* cards, phones and IBANs are masked (last digits kept for support staff);
* names and street addresses get deterministic fake surrogates (joins survive);
* dates and postal codes are generalized (truncated dates, postal-code prefixes), birth dates
  to the year, ages and coordinates to intervals;
* secrets are redacted; free text gets ``redact_entities``; insensitive columns are kept.

The draft must load and run unchanged: keys come from ``$VEIL_KEY``; the output is written
beside the input. It is a starting point for review, never a finished policy.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import re
from pathlib import Path
from typing import Any

import yaml

from veil.detect.types import TYPES, ColumnReport, ScanResult
from veil.engines.types import NUMERIC_TYPES
from veil.policy.model import CsvOptions

KEY_NAME = "main"
KEY_ENV = "VEIL_KEY"
_TEMPORAL = ("DATE", "TIMESTAMP")


def _is_temporal(engine_type: str) -> bool:
    return engine_type.startswith(_TEMPORAL)


def _is_numeric(engine_type: str) -> bool:
    return engine_type.startswith("DECIMAL") or engine_type in NUMERIC_TYPES


def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return s or "column"


def _nice_width(lo: float, hi: float, bins: int = 10) -> float:
    span = max(hi - lo, 1e-9)
    raw = span / bins
    exp10 = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * exp10:
            return float(m * exp10)
    return float(10 * exp10)


def recommend(col: ColumnReport) -> tuple[dict[str, Any] | None, str]:
    """(transform or None for keep, why) for one scanned column."""
    t, et = col.type, col.engine_type
    key = KEY_NAME
    if t is None:
        return None, "nothing personal detected: kept unchanged"
    if t == "record_id":
        return (
            {
                "type": "pseudonymize",
                "key": key,
                "domain": _slug(col.name),
                "length": 20,
                "normalize": "trim",
            },
            "an id that links records to a person: keyed HMAC pseudonym, so joins on it still work",
        )
    if t == "email":
        return (
            {"type": "pseudonymize", "key": key, "domain": "email", "normalize": "trim_lower"},
            "e-mails are join keys: keyed pseudonym (case and spaces normalized); "
            "use {type: mask, mode: email} to keep the domain instead",
        )
    if t in ("us_ssn", "us_itin", "national_id"):
        return (
            {"type": "pseudonymize", "key": key, "domain": t, "normalize": "trim"},
            "government identifier: keyed pseudonym for linking; "
            "use {type: redact} if nothing links on it",
        )
    if t in ("ip_address", "mac_address", "url"):
        return (
            {"type": "pseudonymize", "key": key, "domain": t, "normalize": "trim_lower"},
            "network identifier: keyed pseudonym (same device, same pseudonym)",
        )
    if t == "credit_card":
        return (
            {"type": "mask", "keep_last": 4},
            "card number masked, last 4 digits kept (what receipts show)",
        )
    if t == "phone":
        return ({"type": "mask", "keep_last": 2}, "phone number masked, last 2 digits kept")
    if t == "iban":
        return ({"type": "mask", "keep_first": 2}, "IBAN masked, country code kept")
    if t in ("first_name", "last_name", "full_name", "street_address"):
        kind = {"full_name": "name"}.get(t, t)
        return (
            {"type": "fake", "kind": kind, "key": key},
            f"replaced by a realistic fake {kind.replace('_', ' ')}, deterministic per value "
            "(the same input always gets the same surrogate)",
        )
    if t == "secret":
        return ({"type": "redact"}, "credentials never leave: redacted to NULL")
    if t == "free_text":
        return (
            {"type": "redact_entities"},
            "free text: e-mails, phones, cards, SSNs, IBANs, dates, addresses and names "
            "inside it are replaced by labels such as <EMAIL>",
        )
    if t == "birth_date":
        if _is_temporal(et):
            return (
                {"type": "generalize", "method": "date", "unit": "year"},
                "birth date truncated to the year (or an age band: "
                "{type: generalize, method: age, as_of: ..., width: 10})",
            )
        return (
            {"type": "suppress"},
            "birth date stored as text: dropped (parse it to a date to generalize)",
        )
    if t == "date":
        if _is_temporal(et):
            return (
                {"type": "generalize", "method": "date", "unit": "month"},
                "date truncated to the month",
            )
        return (
            {"type": "suppress"},
            "date stored as text: dropped (parse it to a date to generalize)",
        )
    if t == "postal_code":
        shape = col.evidence.examples[0] if col.evidence.examples else ""
        keep = 3 if re.fullmatch(r"#{5}(-#{4})?", shape) else 2
        return (
            {"type": "generalize", "method": "prefix", "keep": keep},
            f"postal code generalized to its first {keep} characters",
        )
    if t == "coordinates":
        if _is_numeric(et):
            return (
                {"type": "generalize", "method": "interval", "width": 0.1, "output": "lower"},
                "coordinate rounded down to a 0.1 degree grid (about 11 km)",
            )
        return ({"type": "suppress"}, "coordinates stored as text: dropped")
    if t == "age" and _is_numeric(et):
        return (
            {"type": "generalize", "method": "interval", "width": 10, "top": 90},
            "age generalized to 10-year bands, 90+ coded together",
        )
    if t == "quasi_identifier" and _is_numeric(et) and col.value_range is not None:
        lo, hi = col.value_range
        width = _nice_width(lo, hi)
        w: int | float = int(width) if width.is_integer() else width
        return (
            {"type": "generalize", "method": "interval", "width": w},
            f"quasi-identifier generalized to intervals of {w}",
        )
    if t == "quasi_identifier" and _is_temporal(et):
        return (
            {"type": "generalize", "method": "date", "unit": "month"},
            "quasi-identifier date truncated to the month",
        )
    if t == "aba_routing":
        return None, "a routing number identifies a bank branch, not a person: kept"
    if t in ("gender", "country", "city", "company", "age", "quasi_identifier"):
        if col.distinct <= 50:
            return None, (
                f"quasi-identifier with {col.distinct} distinct values: kept; check "
                "re-identification risk (k-anonymity) before release"
            )
        return (
            {"type": "suppress"},
            f"quasi-identifier with {col.distinct}+ distinct values and no hierarchy to "
            "generalize it: dropped (generalize with a hierarchy file to keep it)",
        )
    if t == "sensitive":
        return None, (
            "sensitive attribute: kept for analysis; protect it with l-diversity, "
            "t-closeness or differential privacy"
        )
    return None, "kept unchanged"


def _flow(obj: dict[str, Any]) -> str:
    text = yaml.safe_dump(obj, default_flow_style=True, sort_keys=False, width=1000).strip()
    return text


def _key(name: str) -> str:
    return json.dumps(name, ensure_ascii=False)


def default_output(source: Path) -> Path:
    """``data/customers.csv`` -> ``data/customers.anonymized.parquet``;
    ``data/`` -> ``data.anonymized.parquet`` (beside the directory, never inside it)."""
    s = source
    if any(ch in str(s) for ch in "*?["):
        s = Path(str(s).split("*")[0].rstrip("/") or ".")
        if s.name == "":
            s = s.resolve()
    if s.is_dir():
        return s.parent / f"{s.name}.anonymized.parquet"
    stem = s.name
    for suf in (".gz", ".csv", ".tsv", ".txt", ".parquet", ".pq", ".jsonl", ".ndjson", ".json"):
        if stem.lower().endswith(suf):
            stem = stem[: -len(suf)]
    return s.with_name(f"{stem}.anonymized.parquet")


def draft_policy(
    result: ScanResult,
    policy_path: str | Path,
    *,
    source_path: str | Path | None = None,
    csv: CsvOptions | None = None,
    name: str | None = None,
) -> str:
    """The YAML text of a draft policy for the scanned source, to be saved at ``policy_path``.

    Paths inside it are relative to the policy's folder."""
    policy_dir = Path(policy_path).resolve().parent
    src = Path(source_path or result.source)
    out = default_output(src)

    def rel(p: Path) -> str:
        try:
            return os.path.relpath(p.resolve(), policy_dir)
        except ValueError:  # another drive (Windows)
            return str(p.resolve())

    policy_name = name or _slug(src.stem if src.suffix else src.name) or "dataset"
    today = dt.date.today().isoformat()
    lines: list[str] = [
        "# Draft policy written by `veil scan` on " + today + ". REVIEW EVERY COLUMN before use:",
        "# detection is statistical and works on a sample; the comments say what was found and why",
        "# each transform was chosen. Check it with `veil explain <this file>`.",
        "version: 1",
        f"name: {_key(policy_name)}",
        f"description: {_key('Draft from veil scan of ' + src.name + ' (' + result.sample_method + ')')}",
        "",
    ]
    source: dict[str, Any] = {"path": rel(src)}
    if result.format in ("csv", "parquet", "jsonl"):
        source["format"] = result.format
    if result.format == "csv" and csv is not None and csv != CsvOptions():
        source["csv"] = csv.model_dump(exclude_defaults=True)
    lines += ["source:"] + [
        f"  {k}: {_flow(v) if isinstance(v, dict) else _key(v)}" for k, v in source.items()
    ]
    lines += [
        "",
        "# Written beside the input; `overwrite: true` lets you re-run the draft as you edit it.",
        "output:",
        f"  path: {_key(rel(out))}",
        "  overwrite: true",
        "",
    ]
    recs = {c.name: recommend(c) for c in result.columns}
    needs_key = any(t is not None and "key" in t for t, _ in recs.values())
    if needs_key:
        lines += [
            "# Pseudonyms and fake values are keyed: the key is read from the environment variable",
            f"# {KEY_ENV} (hex or base64, at least 32 bytes; create one with `veil keygen --out FILE`",
            f"# and export its content as {KEY_ENV}). The same key gives the same pseudonyms in every run.",
            "keys:",
            f"  {KEY_NAME}: {{env: {KEY_ENV}}}",
            "",
        ]
    lines += [
        "# Columns not listed below are dropped (the safe default).",
        "unlisted_columns: drop",
        "",
    ]
    if result.quasi_identifier_sets:
        lines.append(
            f"# Quasi-identifier sets (each makes more than {result.qi_threshold:.0%} of sampled rows unique):"
        )
        for q in result.quasi_identifier_sets[:10]:
            lines.append(f"#   {', '.join(q.columns)}: {q.unique_share:.0%} unique")
        lines.append("")
    lines.append("columns:")
    for c in result.columns:
        transform, why = recs[c.name]
        cls = c.column_class
        if cls == "identifier" and transform is None:  # never keep an identifier raw
            transform, why = {"type": "redact"}, "identifier without a better choice: redacted"
        what = (
            f"detected {c.type} ({TYPES[c.type][1]}), confidence {c.confidence:.2f}"
            if c.type
            else "no personal data detected"
        )
        ev = c.evidence
        facts = []
        if ev.match_rate is not None:
            facts.append(f"{ev.match_rate:.0%} of values match")
        if ev.checksum_rate is not None:
            chance = f" (chance {ev.chance_rate:.0%})" if ev.chance_rate is not None else ""
            facts.append(f"{ev.checksum_rate:.0%} pass the check{chance}")
        if ev.name_hint:
            facts.append(f"name hint '{ev.name_hint}'")
        lines.append(f"  # {what}" + (f"; {'; '.join(facts)}" if facts else ""))
        if ev.detail and c.type:
            lines.append(f"  # evidence: {ev.detail}")
        lines.append(f"  # {why}")
        lines.append(f"  {_key(c.name)}:")
        lines.append(f"    class: {cls}")
        if transform is not None:
            lines.append(f"    transform: {_flow(transform)}")
        else:
            lines.append("    transform: {type: keep}")
    return "\n".join(lines) + "\n"
