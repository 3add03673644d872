"""The `veil` command: a thin layer over the library.

Exit codes (for schedulers): 0 success; 1 unexpected veil error; 2 invalid policy or usage;
3 key problem; 4 malformed input data; 5 engine failure; 6 output not written; 7 audit log
unreadable or tampered with; 8 vault error; 9 access denied; 10 privacy models cannot be met;
130 interrupted.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

import veil
from veil.errors import AuditTamperedError, VeilError
from veil.run import RunResult

log = logging.getLogger("veil")


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            payload.update(extra)
        return json.dumps(payload, sort_keys=True, default=str)


def _setup_logging(quiet: bool, log_format: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _JsonFormatter() if log_format == "json" else logging.Formatter("%(message)s")
    )
    log.handlers[:] = [handler]
    log.setLevel(logging.WARNING if quiet else logging.INFO)
    log.propagate = False


def _fail(e: VeilError) -> None:
    log.error(
        f"error: {e}", extra={"fields": {"error": type(e).__name__, "exit_code": e.exit_code}}
    )
    sys.exit(e.exit_code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(veil.__version__, prog_name="veil")
@click.option("-q", "--quiet", is_flag=True, help="Only print errors (no progress bar).")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per log line, for pipelines.",
)
@click.pass_context
def main(ctx: click.Context, quiet: bool, log_format: str) -> None:
    """veil: anonymize personal data with one declarative policy."""
    ctx.obj = {"quiet": quiet, "log_format": log_format}
    _setup_logging(quiet, log_format)


@main.command()
@click.argument("policy", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--threads", type=int, default=None, help="DuckDB worker threads (default: all cores)."
)
@click.option("--memory-limit", default=None, help="DuckDB memory limit (default 2GB), e.g. 4GB.")
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    default=None,
    help="Execution engine (default: the policy's engine.name, else duckdb).",
)
@click.option("--master", default=None, help="Spark master URL (default local[*]).")
@click.option("--conf", "confs", multiple=True, metavar="KEY=VALUE", help="Spark configuration.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Plan (and run the privacy search) without writing; print the chosen transformation.",
)
@click.pass_context
def run(
    ctx: click.Context,
    policy: Path,
    threads: int | None,
    memory_limit: str | None,
    engine: str | None,
    master: str | None,
    confs: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Anonymize the policy's source into its output (atomically, with a manifest)."""
    quiet = ctx.obj["quiet"]
    show_bar = not quiet and ctx.obj["log_format"] == "text" and sys.stderr.isatty()
    spark_conf = {}
    for c in confs:
        k, sep, v = c.partition("=")
        if not sep:
            raise click.BadParameter(f"expected KEY=VALUE, got {c!r}", param_hint="--conf")
        spark_conf[k] = v
    options: dict[str, Any] = {
        "threads": threads,
        "memory_limit": memory_limit,
        "engine": engine,
        "master": master,
        "spark_conf": spark_conf,
        "dry_run": dry_run,
    }
    try:
        result = _run_with_bar(policy, options) if show_bar else veil.run(policy, **options)
    except VeilError as e:
        _fail(e)
    except KeyboardInterrupt:
        log.error("interrupted; no output was written")
        sys.exit(130)
    m = result.manifest
    if dry_run:
        _print_dry_run(m, ctx.obj["log_format"] == "json")
        return
    rows = m["rows"]
    log.info(
        f"wrote {rows['out']:,} rows to {result.output} in {m['duration_s']:.2f}s"
        + (
            f"; {rows['quarantined']:,} rows quarantined to {m['quarantine']['path']}"
            if rows["quarantined"]
            else ""
        )
        + f"; manifest {result.manifest_path}",
        extra={
            "fields": {
                "event": "run.completed",
                "rows": rows,
                "output": str(result.output),
                "manifest": str(result.manifest_path),
                "duration_s": m["duration_s"],
            }
        },
    )


def _print_dry_run(manifest: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(manifest, indent=2, default=str))
        return
    console = Console()
    console.print(f"[bold]dry run[/] of {manifest['policy']['path']}: nothing was written")
    table = Table()
    for h in ("column", "class", "transform", "what happens"):
        table.add_column(h)
    for c in manifest["columns"]:
        table.add_row(c["name"], c["class"], c["transform"], c["description"])
    console.print(table)
    p = manifest.get("privacy")
    if p:
        kind = p.get("search", p["algorithm"])
        console.print(f"[bold]privacy search[/] ({kind}): levels {p['levels']}")
        console.print(
            f"  {p['suppressed_records']:,} of {p['records']:,} records suppressed "
            f"(limit {p['max_suppressed_records']:,}); {p['classes']['count']:,} classes, "
            f"smallest {p['classes']['min_size']}; {p['metric']} = {p['metric_value']:.5f}"
        )
        console.print(f"  max prosecutor risk {p['risk'].get('prosecutor_max', 'n/a')}")


def _run_with_bar(policy: Path, options: dict[str, Any]) -> RunResult:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    loaded = veil.load_policy(policy)
    total_rows = _estimate_rows(loaded)
    start = time.perf_counter()
    columns = [
        TextColumn("[bold]veil run"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TextColumn("{task.fields[rows]}"),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("run", total=100.0, rows="")

        def update(pct: float) -> None:
            fields = ""
            if total_rows:
                done = int(total_rows * pct / 100)
                elapsed = max(time.perf_counter() - start, 1e-6)
                fields = f"{done:,}/{total_rows:,} rows  {done / elapsed:,.0f} rows/s"
            bar.update(task, completed=pct, rows=fields)

        return veil.run(loaded, progress=update, **options)


def _estimate_rows(loaded: Any) -> int | None:
    """Row count from Parquet metadata (free); None for text formats."""
    src = loaded.policy.source
    if src is None or src.resolved_format() != "parquet":
        return None
    try:
        import pyarrow.parquet as pq

        from veil.io.files import resolve_files

        files = resolve_files(loaded.resolve(src.path), "parquet")
        return int(sum(pq.ParquetFile(f).metadata.num_rows for f in files))
    except Exception:
        return None


@main.command()
@click.argument("policy", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--no-schema", is_flag=True, help="Do not open the input to list its columns.")
def explain(policy: Path, as_json: bool, no_schema: bool) -> None:
    """Show what the policy does to each column, without processing any data."""
    try:
        ex = veil.explain(policy, read_schema=not no_schema)
    except VeilError as e:
        _fail(e)
    if as_json:
        click.echo(json.dumps(ex.as_dict(), indent=2))
        return
    console = Console()
    console.print(f"[bold]policy[/] {ex.policy}")
    console.print(f"[bold]source[/] {ex.source}   [bold]output[/] {ex.output}")
    table = Table(show_lines=False)
    for h in ("column", "class", "transform", "what happens"):
        table.add_column(h)
    for c in ex.columns:
        table.add_row(c.name, c.column_class, c.transform, c.description)
    console.print(table)
    if ex.dropped:
        console.print(
            f"[bold]dropped[/] ({'suppressed or unlisted; unlisted_columns: ' + ex.unlisted_default}): "
            + ", ".join(ex.dropped)
        )
    if ex.privacy:
        console.print(f"[bold]privacy[/] {ex.privacy}")
    if ex.keys:
        console.print(f"[bold]keys[/] {', '.join(ex.keys)} (material is never shown)")
    for n in ex.notes:
        console.print(f"[yellow]note:[/] {n}")


@main.group()
def audit() -> None:
    """Inspect the hash-chained audit log."""


@audit.command("verify")
@click.argument("log_path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--policy",
    "policy",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Verify the audit log this policy writes to.",
)
@click.option(
    "--key-env", default=None, help="Environment variable holding the audit key, if keyed."
)
@click.option("--json", "as_json", is_flag=True)
def audit_verify(
    log_path: Path | None, policy: Path | None, key_env: str | None, as_json: bool
) -> None:
    """Check that no audit record was edited, deleted, inserted or reordered.

    LOG_PATH defaults to $VEIL_AUDIT_LOG, else the log of --policy, else .veil/audit.jsonl."""
    import os

    from veil.audit import AuditLog
    from veil.keys.provider import decode_key_text

    try:
        if log_path is None:
            if os.environ.get("VEIL_AUDIT_LOG"):
                log_path = Path(os.environ["VEIL_AUDIT_LOG"])
            elif policy is not None:
                loaded = veil.load_policy(policy)
                log_path = loaded.resolve(loaded.policy.audit.path)
                key_env = key_env or loaded.policy.audit.key_env
            else:
                log_path = Path(".veil/audit.jsonl")
        key = None
        if key_env:
            text = os.environ.get(key_env)
            if text is None:
                raise veil.KeyMaterialError(f"environment variable {key_env} is not set")
            key = decode_key_text(text)
        report = AuditLog(log_path, key=key).verify()
    except VeilError as e:
        _fail(e)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "log": str(log_path),
                    "ok": report.ok,
                    "records": report.records,
                    "problems": report.problems,
                },
                indent=2,
            )
        )
    elif report.ok:
        click.echo(f"OK: {log_path}: {report.records} records, chain intact")
    else:
        click.echo(f"TAMPERED: {log_path}: {len(report.problems)} problem(s)", err=True)
        for p in report.problems:
            click.echo(f"  {p}", err=True)
    if not report.ok:
        sys.exit(AuditTamperedError.exit_code)


@main.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Key file to create (mode 600). Refuses to overwrite.",
)
def keygen(out: Path) -> None:
    """Create a new random 256-bit key file for a policy's keys section."""
    import os

    from veil.keys.provider import generate_key_text

    if out.exists():
        log.error(f"error: {out} already exists; refusing to overwrite a key")
        sys.exit(2)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(generate_key_text() + "\n")
    log.info(f"wrote a new key to {out} (mode 600); keep it out of version control")


@main.command()
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of standard output.",
)
def schema(out: Path | None) -> None:
    """Print the JSON Schema of the policy file (for editors)."""
    from veil.policy.model import policy_json_schema

    text = json.dumps(policy_json_schema(), indent=2, sort_keys=True) + "\n"
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


from veil.cli_keys import access as _access_group  # noqa: E402
from veil.cli_keys import keys as _keys_group  # noqa: E402
from veil.cli_keys import reveal as _reveal_command  # noqa: E402
from veil.cli_keys import vault as _vault_group  # noqa: E402
from veil.cli_scan import scan as _scan  # noqa: E402

main.add_command(_keys_group)
main.add_command(_access_group)
main.add_command(_vault_group)
main.add_command(_reveal_command)
main.add_command(_scan)


if __name__ == "__main__":  # pragma: no cover
    main()
