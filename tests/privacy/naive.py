"""Deliberately naive reference implementations (Python loops over records) of the privacy
models and utility metrics, written from the papers' definitions, for cross-checking veil's
vectorized ones on small data."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from veil.privacy import GeneralizationHierarchy


def classes(
    records: Sequence[Mapping[str, str]],
    qis: Sequence[str],
    hierarchies: Mapping[str, GeneralizationHierarchy],
    levels: Sequence[int],
) -> dict[tuple[str, ...], list[Mapping[str, str]]]:
    out: dict[tuple[str, ...], list[Mapping[str, str]]] = defaultdict(list)
    for r in records:
        key = tuple(hierarchies[q].generalize(r[q], lv) for q, lv in zip(qis, levels, strict=True))
        out[key].append(r)
    return out


def hierarchical_emd(
    q: Mapping[str, float], p: Mapping[str, float], h: GeneralizationHierarchy
) -> float:
    """Li et al. 2007, section 4.2, walking the tree level by level."""
    height = h.height - 1
    rows = h.rows()
    extra = {r[0]: q.get(r[0], 0.0) - p.get(r[0], 0.0) for r in rows}
    cost = 0.0
    for lv in range(1, height + 1):
        children: dict[str, list[float]] = defaultdict(list)
        seen = set()
        for r in rows:
            if (r[lv - 1], r[lv]) not in seen:
                seen.add((r[lv - 1], r[lv]))
                children[r[lv]].append(extra[r[lv - 1]])
        extra = {}
        for node, ex in children.items():
            pos = sum(e for e in ex if e > 0)
            neg = -sum(e for e in ex if e < 0)
            cost += lv / height * min(pos, neg)
            extra[node] = pos - neg
    return cost


def satisfies(
    model: Any,
    members: Sequence[Mapping[str, str]],
    everyone: Sequence[Mapping[str, str]],
    hierarchies: Mapping[str, GeneralizationHierarchy],
) -> bool:
    kind = model.type
    if kind == "k-anonymity":
        return len(members) >= model.k
    values = Counter(r[model.attribute] for r in members)
    n = len(members)
    if kind == "distinct-l-diversity":
        return len(values) >= model.l
    if kind == "entropy-l-diversity":
        h = -sum(c / n * math.log(c / n) for c in values.values())
        return h >= math.log(model.l) - 1e-9
    if kind == "recursive-cl-diversity":
        r = sorted(values.values(), reverse=True)
        return r[0] < model.c * sum(r[model.l - 1 :])
    if kind == "t-closeness":
        glob = Counter(r[model.attribute] for r in everyone)
        p = {v: c / len(everyone) for v, c in glob.items()}
        qd = {v: c / n for v, c in values.items()}
        if model.distance == "equal":
            d = 0.5 * sum(abs(qd.get(v, 0.0) - p[v]) for v in p)
        elif model.distance == "ordered":
            order = sorted(p, key=float)
            cum, total = 0.0, 0.0
            for v in order:
                cum += qd.get(v, 0.0) - p[v]
                total += abs(cum)
            d = total / (len(order) - 1) if len(order) > 1 else 0.0
        else:
            d = hierarchical_emd(qd, p, hierarchies[model.attribute])
        return d <= model.t + 1e-12
    raise AssertionError(kind)


def evaluate(
    records: Sequence[Mapping[str, str]],
    qis: Sequence[str],
    hierarchies: Mapping[str, GeneralizationHierarchy],
    models: Sequence[Any],
    limit: float,
    levels: Sequence[int],
) -> tuple[bool, int, dict[tuple[str, ...], list[Mapping[str, str]]], set[tuple[str, ...]]]:
    """(acceptable, suppressed records, classes, keys of suppressed classes)."""
    cls = classes(records, qis, hierarchies, levels)
    bad = {
        key
        for key, members in cls.items()
        if not all(satisfies(m, members, records, hierarchies) for m in models)
    }
    suppressed = sum(len(cls[k]) for k in bad)
    return suppressed <= math.floor(limit * len(records) + 1e-9), suppressed, cls, bad


def metric(
    name: str,
    records: Sequence[Mapping[str, str]],
    qis: Sequence[str],
    hierarchies: Mapping[str, GeneralizationHierarchy],
    levels: Sequence[int],
    cls: Mapping[tuple[str, ...], Sequence[Mapping[str, str]]],
    bad: set[tuple[str, ...]],
    k: int,
) -> float:
    n = len(records)
    kept = [key for key in cls if key not in bad]
    suppressed = sum(len(cls[key]) for key in bad)
    if name == "height":
        return float(sum(levels))
    if name == "discernibility":
        return float(sum(len(cls[key]) ** 2 for key in kept) + suppressed * n)
    if name == "aecs":
        return sum(len(cls[key]) for key in kept) / len(kept) / k if kept else 0.0
    if name == "precision":
        per = []
        for q, lv in zip(qis, levels, strict=True):
            top = hierarchies[q].height - 1
            frac = lv / top if top else 0.0
            per.append(((n - suppressed) * frac + suppressed) / n)
        return sum(per) / len(per)
    if name == "entropy":
        total = 0.0
        for q, lv in zip(qis, levels, strict=True):
            h = hierarchies[q]
            f = Counter(r[q] for r in records)
            g = Counter(h.generalize(r[q], lv) for r in records)
            total += -sum(c * math.log2(c / g[h.generalize(v, lv)]) for v, c in f.items())
        return total
    if name == "loss":
        per = []
        for a, (q, lv) in enumerate(zip(qis, levels, strict=True)):
            h = hierarchies[q]
            rows = h.rows()
            cover = Counter(r[lv] for r in rows)
            raw = suppressed + sum(len(cls[key]) * cover[key[a]] / len(rows) for key in kept)
            lo = n / len(rows)
            per.append(max((raw - lo) / (n - lo), 0.0) if n > lo else 0.0)
        prod = 1.0
        for v in per:
            prod *= (1.0 + v) ** (1.0 / len(per))
        return prod - 1.0
    raise AssertionError(name)
