"""Column-level precision/recall of `veil scan` on the labelled corpus (tests/detect/corpus.py).

Targets: macro F1 >= 0.95 over the detected types, and no identifier column missed at all.
Tables whose names come from locales the name dictionaries were not built from (holdout) are
scored apart: they measure generalization, not the target. Run with ``-s`` to see the table.
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.detect.corpus import LabelledTable, Score, build_corpus, score
from veil.detect import scan
from veil.detect.types import TYPES

IDENTIFIER_TYPES = {t for t, (cls, _) in TYPES.items() if cls == "identifier"}


@pytest.fixture(scope="module")
def corpus() -> list[LabelledTable]:
    return build_corpus(seed=7)


@pytest.fixture(scope="module")
def predictions(
    corpus: list[LabelledTable],
) -> dict[bool, list[tuple[str, str, str | None, str | None]]]:
    out: dict[bool, list[tuple[str, str, str | None, str | None]]] = {False: [], True: []}
    for lt in corpus:
        result = scan(lt.table, discover_qi=False, seed=1, today=dt.date(2026, 1, 1))
        for c in result.columns:
            out[lt.holdout].append((lt.name, c.name, lt.labels[c.name], c.type))
    return out


def test_corpus_is_substantial(corpus: list[LabelledTable]) -> None:
    labels = [lab for lt in corpus for lab in lt.labels.values()]
    assert len(labels) >= 200
    assert len({lab for lab in labels if lab}) >= 25  # types
    assert sum(lab is None for lab in labels) >= 40  # hard negatives
    assert len({lt.name.split()[0] for lt in corpus}) >= 10  # locales


def test_precision_recall_targets(
    predictions: dict[bool, list[tuple[str, str, str | None, str | None]]],
) -> None:
    s: Score = score(predictions[False], IDENTIFIER_TYPES)
    print("\n" + s.table())
    for e in s.errors:
        print("  error:", e)
    assert s.macro_f1 >= 0.95, s.table()
    assert s.missed_identifiers == [], s.missed_identifiers
    # every type keeps a usable precision and recall, not only the average
    for t in s.per_type:
        p, r, _ = s.precision_recall(t)
        assert p >= 0.75 and r >= 0.75, (t, p, r)


def test_holdout_locales_reported(
    predictions: dict[bool, list[tuple[str, str, str | None, str | None]]],
) -> None:
    s = score(predictions[False] + predictions[True], IDENTIFIER_TYPES)
    held = score(predictions[True], IDENTIFIER_TYPES)
    print(f"\nwith holdout locales: macro F1 {s.macro_f1:.3f}; holdout errors:")
    for e in held.errors:
        print("  ", e)
    # Names from unseen locales under unknown column names are a known weakness; the
    # structured types (phones, national ids) must still hold there.
    assert s.macro_f1 >= 0.9
    assert all(
        "first_name" in e or "last_name" in e or "full_name" in e or "postal" in e
        for e in held.errors
    )
