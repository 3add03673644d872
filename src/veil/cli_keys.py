"""CLI commands for keys, access and reversal: ``veil keys ...``, ``veil access ...``,
``veil reveal``. Key material and API keys are never printed; API keys are read from
``$VEIL_API_KEY`` or a file, never from the command line (where ``ps`` would show them).

Exit codes are those of :mod:`veil.errors`: 3 key problem (wrong master key, missing key,
destroyed version), 8 vault problem, 9 access denied or authentication failed.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from veil.errors import KeyMaterialError, PolicyError, VeilError

log = logging.getLogger("veil")


def _fail(e: VeilError) -> NoReturn:
    log.error(
        f"error: {e}", extra={"fields": {"error": type(e).__name__, "exit_code": e.exit_code}}
    )
    sys.exit(e.exit_code)


def _read_api_key(api_key_file: Path | None) -> str | None:
    if api_key_file is not None:
        try:
            return api_key_file.read_text(encoding="utf-8").strip()
        except OSError as e:
            raise KeyMaterialError(
                f"API key file {api_key_file} is unreadable ({e.strerror})"
            ) from None
    from veil.access.control import API_KEY_ENV

    return os.environ.get(API_KEY_ENV)


# --------------------------------------------------------------------------- keys
class _KeyringTarget:
    """Where the keyring is, which master key opens it, and where key events are audited."""

    def __init__(
        self,
        keyring: Path | None,
        policy: Path | None,
        master_key_env: str | None,
        master_key_file: Path | None,
    ) -> None:
        from veil.keys.master import master_key_from
        from veil.keys.resolve import keyring_path, policy_master_key
        from veil.policy.load import load_policy

        self.loaded = load_policy(policy) if policy is not None else None
        self.path = keyring if keyring is not None else keyring_path(self.loaded)
        if master_key_env is not None or master_key_file is not None:
            self.master = master_key_from(env_name=master_key_env, file=master_key_file)
        else:
            self.master = policy_master_key(self.loaded)

    def audit(self, event: str, data: dict[str, Any], actor: str | None) -> None:
        from veil.audit import AuditLog

        if self.loaded is not None:
            from veil.run import _audit_log

            log_ = _audit_log(self.loaded, None)
        else:
            override = os.environ.get("VEIL_AUDIT_LOG")
            log_ = AuditLog(Path(override) if override else self.path.parent / "audit.jsonl")
        log_.append(event, {"keyring": str(self.path), **data}, actor=actor)


def _authorize_admin(
    audit: Callable[[str, dict[str, Any], str | None], object],
    access: Path | None,
    principal: str | None,
    api_key_file: Path | None,
    key: str,
) -> str | None:
    """With an access file (--access or $VEIL_ACCESS), require administer_keys on ``key``;
    a refusal is audited (``keys.denied``) through ``audit``."""
    from veil.access.control import ACCESS_ENV, AccessControl

    path = access if access is not None else os.environ.get(ACCESS_ENV)
    if not path:
        return None
    if not principal:
        raise PolicyError("an access file is configured: give --principal (and $VEIL_API_KEY)")
    control = AccessControl.load(path)
    try:
        who = control.authenticate(principal, _read_api_key(api_key_file))
        control.require(who, "administer_keys", key)
    except VeilError as e:
        audit("keys.denied", {"key": key, "principal": principal, "error": type(e).__name__}, None)
        raise
    return who.name


def _keyring_options(f: Any) -> Any:
    f = click.option(
        "--keyring",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Keyring file (default: $VEIL_KEYRING, the policy's keyring.path, or .veil/keyring.json).",
    )(f)
    f = click.option(
        "--policy",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Take the keyring and master key settings from this policy.",
    )(f)
    f = click.option(
        "--master-key-env", default=None, help="Environment variable holding the master key."
    )(f)
    f = click.option(
        "--master-key-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Master key file (mode 600, outside any repository).",
    )(f)
    return f


def _admin_options(f: Any) -> Any:
    f = click.option(
        "--access",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Access file; when given (or $VEIL_ACCESS is set) administer_keys is required.",
    )(f)
    f = click.option("--principal", default=None, help="Who is acting (with --access).")(f)
    f = click.option(
        "--api-key-file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="File holding the principal's API key (default: $VEIL_API_KEY).",
    )(f)
    return f


@click.group()
def keys() -> None:
    """Manage the keyring: named, versioned keys encrypted under a master key."""


@keys.command("create")
@click.argument("name")
@_keyring_options
@_admin_options
def keys_create(name: str, **opts: Any) -> None:
    """Create key NAME (version 1), creating the keyring if needed."""
    _change("create", name, None, **opts)


@keys.command("rotate")
@click.argument("name")
@_keyring_options
@_admin_options
def keys_rotate(name: str, **opts: Any) -> None:
    """Add a new version of NAME; new values use it, older values still reverse."""
    _change("rotate", name, None, **opts)


@keys.command("destroy")
@click.argument("name")
@click.option("--version", "version", type=int, required=True, help="The old version to destroy.")
@click.option("--yes", is_flag=True, help="Confirm: values made under it become irreversible.")
@_keyring_options
@_admin_options
def keys_destroy(name: str, version: int, yes: bool, **opts: Any) -> None:
    """Erase one old version of NAME (crypto-shredding: its values can no longer be reversed)."""
    if not yes:
        log.error("error: destroying a key version is irreversible; add --yes to confirm")
        sys.exit(2)
    _change("destroy", name, version, **opts)


def _change(
    action: str,
    name: str,
    version: int | None,
    *,
    keyring: Path | None,
    policy: Path | None,
    master_key_env: str | None,
    master_key_file: Path | None,
    access: Path | None,
    principal: str | None,
    api_key_file: Path | None,
) -> None:
    from veil.keys.keyring import Keyring, check_key_name

    try:
        check_key_name(name)
        target = _KeyringTarget(keyring, policy, master_key_env, master_key_file)
        actor = _authorize_admin(target.audit, access, principal, api_key_file, name)
        if action == "create":
            info = Keyring.create_key(target.path, target.master, name)
        elif action == "rotate":
            info = Keyring.rotate(target.path, target.master, name)
        else:
            assert version is not None
            info = Keyring.destroy(target.path, target.master, name, version)
        target.audit(
            f"keys.{action}d" if action != "destroy" else "keys.destroyed",
            {"key": name, "version": info.version, "fingerprint": info.fingerprint},
            actor,
        )
    except VeilError as e:
        _fail(e)
    verb = {"create": "created", "rotate": "rotated", "destroy": "destroyed"}[action]
    log.info(
        f"{verb} key {name!r} version {info.version} (fingerprint {info.fingerprint}) in "
        f"{target.path}",
        extra={"fields": {"event": f"keys.{verb}", "key": name, "version": info.version}},
    )


@keys.command("rewrap")
@click.option(
    "--new-master-key-env", default=None, help="Environment variable holding the new master key."
)
@click.option(
    "--new-master-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File holding the new master key (mode 600, outside any repository).",
)
@_keyring_options
@_admin_options
def keys_rewrap(
    new_master_key_env: str | None, new_master_key_file: Path | None, **opts: Any
) -> None:
    """Rotate the master key: re-wrap the keyring's data key under a new master key.

    The current master key opens the keyring (--master-key-env/--master-key-file, the policy's
    settings or $VEIL_MASTER_KEY); the new one is named with --new-master-key-env or
    --new-master-key-file. Key versions and the values made under them do not change. With an
    access file, administer_keys on all keys ("*") is required."""
    from veil.keys.keyring import Keyring
    from veil.keys.master import master_key_from

    try:
        if (new_master_key_env is None) == (new_master_key_file is None):
            raise PolicyError("give exactly one of --new-master-key-env or --new-master-key-file")
        target = _KeyringTarget(
            opts["keyring"], opts["policy"], opts["master_key_env"], opts["master_key_file"]
        )
        actor = _authorize_admin(
            target.audit, opts["access"], opts["principal"], opts["api_key_file"], "*"
        )
        new_master = master_key_from(env_name=new_master_key_env, file=new_master_key_file)
        names = Keyring.rewrap(target.path, target.master, new_master)
        target.audit(
            "keys.rewrapped",
            {"old_master": target.master.description, "new_master": new_master.description},
            actor,
        )
    except VeilError as e:
        _fail(e)
    log.info(
        f"re-wrapped keyring {target.path} ({len(names)} key{'' if len(names) == 1 else 's'}) "
        f"under {new_master.description}; "
        "the old master key no longer opens it",
        extra={"fields": {"event": "keys.rewrapped", "keys": len(names)}},
    )


@keys.command("list")
@_keyring_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def keys_list(as_json: bool, **opts: Any) -> None:
    """List keys, versions, fingerprints and states (never key material)."""
    from veil.keys.keyring import Keyring

    try:
        target = _KeyringTarget(
            opts["keyring"], opts["policy"], opts["master_key_env"], opts["master_key_file"]
        )
        ring = Keyring.open(target.path, target.master)
    except VeilError as e:
        _fail(e)
    entries = ring.entries()
    if as_json:
        payload = {
            "keyring": str(ring.path),
            "keys": [
                {
                    "name": entry.name,
                    "created": entry.created,
                    "current_version": entry.current.version,
                    "versions": [v.as_dict() for v in entry.versions],
                }
                for entry in entries
            ],
        }
        click.echo(json.dumps(payload, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=str(ring.path))
    for h in ("key", "version", "status", "created", "fingerprint"):
        table.add_column(h)
    for entry in entries:
        for v in entry.versions:
            current = " (current)" if v.version == entry.current.version else ""
            table.add_row(entry.name, f"{v.version}{current}", v.status, v.created, v.fingerprint)
    Console().print(table)
    if not entries:
        click.echo("no keys yet: `veil keys create NAME`")


# --------------------------------------------------------------------------- vault
@click.group()
def vault() -> None:
    """Maintain the token vaults of a policy's tokenize columns."""


@vault.command("purge")
@click.argument("policy", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--column",
    "columns",
    multiple=True,
    help="Only this tokenize column (repeatable; default: every tokenize column).",
)
@_admin_options
def vault_purge(
    policy: Path,
    columns: tuple[str, ...],
    access: Path | None,
    principal: str | None,
    api_key_file: Path | None,
) -> None:
    """Delete expired tokens (ttl_days) from the vaults of POLICY's tokenize columns.

    Expired tokens can no longer be revealed; this removes their sealed rows. With an access
    file, administer_keys on each column's key is required (its keyring name for a keyring
    key). Every purge is audited."""
    from veil.policy.load import load_policy
    from veil.run import _audit_log
    from veil.vault.purge import purge_expired, tokenize_columns

    try:
        loaded = load_policy(policy)
        log_ = _audit_log(loaded, None)
        targets = tokenize_columns(loaded, columns)
        actor = None
        for t in targets.values():
            spec = loaded.policy.keys[t.key]  # a keyring key is granted by its keyring name
            name = spec.keyring if spec.keyring is not None else t.key
            actor = _authorize_admin(log_.append, access, principal, api_key_file, name)
        purged = purge_expired(loaded, list(targets))
        for p in purged:
            data = {"column": p.column, "key": p.key, "vault": p.vault, "domain": p.domain}
            log_.append("vault.purged", {**data, "rows": p.rows}, actor=actor)
    except VeilError as e:
        _fail(e)
    if not purged:
        log.info(f"policy {policy} has no tokenize columns: nothing to purge")
    for p in purged:
        log.info(
            f"column {p.column!r}: purged {p.rows} expired tokens from {p.vault} "
            f"(domain {p.domain!r})",
            extra={"fields": {"event": "vault.purged", "column": p.column, "rows": p.rows}},
        )


# --------------------------------------------------------------------------- access
@click.group()
def access() -> None:
    """Principals' API keys for the access file."""


@access.command("new-key")
@click.argument("principal")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="File to write the new API key to (mode 600; refuses to overwrite).",
)
def access_new_key(principal: str, out: Path) -> None:
    """Make an API key for PRINCIPAL: the key goes to --out, its salted hash to stdout
    (paste it into the access file as api_key_hash)."""
    from veil.access.control import hash_api_key, new_api_key

    if out.exists():
        log.error(f"error: {out} already exists; refusing to overwrite an API key")
        sys.exit(2)
    key = new_api_key()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    click.echo(
        f'principals:\n  {principal}:\n    roles: []\n    api_key_hash: "{hash_api_key(key)}"'
    )
    log.info(f"wrote the API key of {principal!r} to {out} (mode 600); hand it over securely")


# --------------------------------------------------------------------------- reveal
@click.command()
@click.argument("policy", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("values", nargs=-1)
@click.option("--column", required=True, help="The policy column the values come from.")
@click.option("--purpose", required=True, help="Why the originals are needed (audited).")
@click.option("--principal", required=True, help="Who asks (authenticated by API key).")
@click.option(
    "--api-key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File holding the principal's API key (default: $VEIL_API_KEY).",
)
@click.option(
    "--access",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Access file (default: $VEIL_ACCESS, else access.yaml next to the policy).",
)
@click.option("--key-version", type=int, default=None, help="Key version of FPE values.")
@click.option(
    "--manifest",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Manifest of the run that made the values (gives the FPE key version).",
)
@click.option(
    "--input",
    "input_path",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    default=None,
    help="Read values from this file, one per line ('-' for stdin; empty line = null).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the originals to this file (mode 600) instead of stdout.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of lines.")
def reveal(
    policy: Path,
    values: tuple[str, ...],
    column: str,
    purpose: str,
    principal: str,
    api_key_file: Path | None,
    access: Path | None,
    key_version: int | None,
    manifest: Path | None,
    input_path: Path | None,
    output: Path | None,
    as_json: bool,
) -> None:
    """Turn tokens, ciphertexts or FPE values of a column back into the originals.

    Needs a principal holding detokenize/decrypt on POLICY-NAME.COLUMN and a stated purpose;
    every attempt is audited (never the values)."""
    from veil.reveal import reveal_detailed

    items: list[str | None] = list(values)
    if input_path is not None:
        text = (
            sys.stdin.read() if str(input_path) == "-" else input_path.read_text(encoding="utf-8")
        )
        items += [line if line else None for line in text.splitlines()]
    if not items:
        log.error("error: no values given (arguments, or --input FILE)")
        sys.exit(2)
    try:
        result = reveal_detailed(
            policy,
            column,
            items,
            principal=principal,
            api_key=_read_api_key(api_key_file),
            purpose=purpose,
            access=access,
            key_version=key_version,
            manifest=manifest,
        )
    except VeilError as e:
        _fail(e)
    if as_json:
        text_out = json.dumps(result.values) + "\n"
    else:
        text_out = "".join(("" if v is None else v) + "\n" for v in result.values)
    if output is not None:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text_out)
    else:
        click.echo(text_out, nl=False)
    log.info(
        f"revealed {sum(v is not None for v in result.values)} value(s) of column "
        f"{column!r} ({result.transform}, key {result.key!r} version(s) {result.versions}) for "
        f"{principal!r}; audited"
    )
