"""`veil scan`: find the sensitive data in a dataset and draft a policy for it."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from veil.errors import VeilError

log = logging.getLogger("veil")


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.0%}"


@click.command("scan")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--policy-out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write a draft policy (YAML) for `veil run` to this file.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--sample-rows",
    type=click.IntRange(min=10),
    default=10_000,
    show_default=True,
    help="Rows in the reservoir sample that is examined.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Sampling seed.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet", "jsonl"]),
    default=None,
    help="Input format (default: from the extension).",
)
@click.option("--delimiter", default=None, help="CSV delimiter (default ',').")
@click.option(
    "--region",
    "regions",
    multiple=True,
    help="Phone region (ISO 3166 alpha-2) for numbers without a country code; repeatable. "
    "Default: regions of a country column, then common ones.",
)
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=0.5, show_default=True)
@click.option(
    "--qi-threshold",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Report column sets that make more than this share of sampled rows unique.",
)
@click.option("--qi-max-size", type=click.IntRange(1, 5), default=3, show_default=True)
@click.option("--no-qi", is_flag=True, help="Skip quasi-identifier discovery.")
@click.option("--threads", type=int, default=None, help="DuckDB worker threads.")
@click.option("--memory-limit", default=None, help="DuckDB memory limit, e.g. 2GB.")
@click.option("--force", is_flag=True, help="Overwrite an existing --policy-out file.")
def scan(
    path: Path,
    policy_out: Path | None,
    as_json: bool,
    sample_rows: int,
    seed: int,
    fmt: str | None,
    delimiter: str | None,
    regions: tuple[str, ...],
    min_confidence: float,
    qi_threshold: float,
    qi_max_size: int,
    no_qi: bool,
    threads: int | None,
    memory_limit: str | None,
    force: bool,
) -> None:
    """Find the sensitive columns of PATH (file, glob or directory) and draft a policy.

    Only a reservoir sample is read; examples are shown masked, never raw."""
    from veil.detect import scan as run_scan
    from veil.detect.draft import draft_policy
    from veil.policy.model import CsvOptions

    if policy_out is not None and policy_out.exists() and not force:
        log.error(f"error: {policy_out} already exists; pass --force to overwrite it")
        sys.exit(2)
    csv = CsvOptions(delimiter=delimiter) if delimiter else None
    try:
        result = run_scan(
            path,
            sample_rows=sample_rows,
            seed=seed,
            format=fmt,
            csv=csv,
            regions=list(regions) or None,
            min_confidence=min_confidence,
            qi_threshold=qi_threshold,
            qi_max_size=qi_max_size,
            discover_qi=not no_qi,
            threads=threads,
            memory_limit=memory_limit,
        )
        if policy_out is not None:
            text = draft_policy(result, policy_out, source_path=path, csv=csv)
            policy_out.parent.mkdir(parents=True, exist_ok=True)
            policy_out.write_text(text, encoding="utf-8")
    except VeilError as e:
        log.error(f"error: {e}")
        sys.exit(e.exit_code)
    if as_json:
        payload = result.as_dict()
        payload["policy_out"] = str(policy_out) if policy_out else None
        click.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    console = Console()
    total = f"{result.rows_total:,} rows, " if result.rows_total is not None else ""
    console.print(
        f"[bold]scan[/] {result.source} ({total}{result.sample_method}) in {result.duration_s:.1f}s"
    )
    table = Table(show_lines=False)
    for h in (
        "column",
        "type",
        "class",
        "conf",
        "match",
        "check (chance)",
        "name hint",
        "examples (masked)",
    ):
        table.add_column(h, overflow="fold")
    style = {"identifier": "red", "quasi_identifier": "yellow", "sensitive": "magenta"}
    for c in result.columns:
        ev = c.evidence
        check = ""
        if ev.checksum_rate is not None:
            check = _pct(ev.checksum_rate) + (
                f" ({_pct(ev.chance_rate)})" if ev.chance_rate is not None else ""
            )
        table.add_row(
            c.name,
            c.type or "-",
            f"[{style.get(c.column_class, 'green')}]{c.column_class}[/]",
            f"{c.confidence:.2f}",
            _pct(ev.match_rate),
            check,
            ev.name_hint or "",
            ", ".join(ev.examples[:2]),
        )
    console.print(table)
    if result.quasi_identifier_sets:
        console.print(
            f"[bold]quasi-identifier sets[/] (> {result.qi_threshold:.0%} of sampled rows unique):"
        )
        for q in result.quasi_identifier_sets[:10]:
            console.print(f"  {', '.join(q.columns)}: {q.unique_share:.0%}")
    for n in result.notes:
        console.print(f"[yellow]note:[/] {n}")
    if policy_out is not None:
        console.print(
            f"[bold]draft policy[/] written to {policy_out}; review it, then "
            f"`veil explain {policy_out}` and `veil run {policy_out}` (needs $VEIL_KEY)"
        )
