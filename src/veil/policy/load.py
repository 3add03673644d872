"""Load a policy file: YAML -> validated :class:`Policy`, or a :class:`PolicyError` that names
the file, the line, the field path, what was expected and, for misspellings, a suggestion."""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from veil.errors import PolicyError
from veil.policy.model import Policy, PolicyCrossCheckError
from veil.transforms.registry import TRANSFORMS

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class LoadedPolicy:
    policy: Policy
    path: Path
    text: str

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.base_dir / p


def _line_map(text: str) -> dict[Loc, int]:
    """Field path -> 1-based line of its key (or item) in the YAML text."""
    lines: dict[Loc, int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines

    def walk(node: yaml.Node, loc: Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                key = k.value
                lines[(*loc, key)] = k.start_mark.line + 1
                walk(v, (*loc, key))
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                lines[(*loc, i)] = v.start_mark.line + 1
                walk(v, (*loc, i))

    if root is not None:
        walk(root, ())
    return lines


def _data_loc(loc: Loc, data: Any) -> Loc:
    """Drop the union-tag entries pydantic puts in error locations (they are not in the file)."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        if isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, list) and isinstance(part, int) and part < len(cur):
            out.append(part)
            cur = cur[part]
        elif isinstance(cur, dict) and part not in cur and part in {"type", "method"} | _tags():
            continue
        else:
            out.append(part)
            cur = None
    return tuple(out)


def _tags() -> set[str]:
    tags: set[str] = set()
    for cls in TRANSFORMS:
        for f in ("type", "method"):
            if f in cls.model_fields and isinstance(cls.model_fields[f].default, str):
                tags.add(cls.model_fields[f].default)
    return tags


def _transform_class(spec: Any) -> type[BaseModel] | None:
    if not isinstance(spec, dict):
        return None
    for cls in TRANSFORMS:
        if cls.model_fields["type"].default != spec.get("type"):
            continue
        if "method" in cls.model_fields and cls.model_fields["method"].default != spec.get(
            "method"
        ):
            continue
        return cls
    return None


def _unwrap(t: Any) -> Any:
    origin = typing.get_origin(t)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(t) if a is not type(None)]
        return args[0] if len(args) == 1 else t
    return t


def _fields_for(loc: Loc, data: Any) -> list[str]:
    # Walk handling dict-valued fields (keys, columns) explicitly; simple and predictable.
    model: Any = Policy
    cur: Any = data
    i = 0
    parts = list(loc)
    while i < len(parts):
        part = parts[i]
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field = next(
            (f for n, f in model.model_fields.items() if (f.alias or n) == part or n == part), None
        )
        if field is None:
            return []
        cur = cur.get(part) if isinstance(cur, dict) else None
        if part == "transform":
            model = _transform_class(cur)
            i += 1
            continue
        ann = _unwrap(field.annotation)
        if typing.get_origin(ann) is dict:
            i += 1
            if i < len(parts):
                cur = cur.get(parts[i]) if isinstance(cur, dict) else None
            model = _unwrap(typing.get_args(ann)[1])
        else:
            model = ann
        i += 1
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [f.alias or n for n, f in model.model_fields.items()]
    return []


def _suggest(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(err: dict[str, Any], data: Any) -> tuple[Loc, str]:
    loc = _data_loc(tuple(err["loc"]), data)
    etype = err["type"]
    ctx = err.get("ctx") or {}
    if etype == "extra_forbidden":
        field = str(loc[-1])
        allowed = _fields_for(loc[:-1], data)
        hint = _suggest(field, allowed)
        if not hint and allowed:
            hint = f"; allowed here: {', '.join(sorted(allowed))}"
        return loc, f"unknown field {field!r}{hint}"
    if etype == "union_tag_invalid":
        expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        tag = str(ctx.get("tag"))
        disc = str(ctx.get("discriminator", "")).strip("'")
        what = "transform" if disc == "type" else "generalize method"
        hint = _suggest(tag, expected) or f"; expected one of {', '.join(expected)}"
        return (*loc, disc), f"unknown {what} {tag!r}{hint}"
    if etype == "union_tag_not_found":
        disc = str(ctx.get("discriminator", "")).strip("'")
        return (*loc, disc), f"field {disc!r} is required"
    if etype == "missing":
        return loc, "this field is required"
    if etype == "literal_error":
        wanted = str(ctx.get("expected", ""))
        options = [o.strip(" '") for o in wanted.replace(" or ", ",").split(",")]
        given = str(err.get("input"))
        return loc, f"expected {wanted}, got {given!r}{_suggest(given, options)}"
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    got = err.get("input")
    if etype.endswith(("_type", "_parsing")) and not isinstance(got, dict | list):
        msg = f"{msg} (got {type(got).__name__} {got!r})"
    return loc, msg


def format_problems(path: Path, text: str, problems: list[tuple[Loc, str]]) -> list[str]:
    lines = _line_map(text)
    out = []
    for loc, msg in problems:
        line = None
        for n in range(len(loc), 0, -1):
            if loc[:n] in lines:
                line = lines[loc[:n]]
                break
        where = f"{path}:{line}" if line else str(path)
        out.append(f"{where}: {_format_loc(loc)}: {msg}")
    return out


def parse_policy(text: str, path: Path) -> Policy:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise PolicyError(f"{where}: invalid YAML: {problem}", file=str(path)) from None
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: a policy is a YAML mapping at the top level", file=str(path))
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        problems: list[tuple[Loc, str]] = []
        for err in e.errors():
            exc = (err.get("ctx") or {}).get("error")
            if isinstance(exc, PolicyCrossCheckError):
                problems.extend(exc.problems)
            else:
                problems.append(_describe(dict(err), data))
        formatted = format_problems(path, text, problems)
        raise PolicyError(
            f"invalid policy {path}:\n  " + "\n  ".join(formatted),
            file=str(path),
            problems=formatted,
        ) from None


def load_policy(path: str | Path) -> LoadedPolicy:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError(f"policy file {p} does not exist", file=str(p)) from None
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(
            f"policy file {p} cannot be read: {type(e).__name__}", file=str(p)
        ) from None
    return LoadedPolicy(policy=parse_policy(text, p), path=p.resolve(), text=text)


def policy_error(loaded: LoadedPolicy, loc: Loc, message: str) -> PolicyError:
    """A PolicyError about one field of an already-loaded policy (e.g. a missing column)."""
    formatted = format_problems(loaded.path, loaded.text, [(loc, message)])
    return PolicyError(
        f"invalid policy {loaded.path}:\n  " + "\n  ".join(formatted),
        file=str(loaded.path),
        problems=formatted,
    )
