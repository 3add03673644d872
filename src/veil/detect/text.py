"""Entities inside free text: where they are, and what to write instead.

Every entity has one search pattern written in the common subset of RE2 (DuckDB, Spark's Java
regex) and Python's ``re`` (compiled with ``re.ASCII`` so ``\\b`` and ``\\d`` mean the same).
*Pattern* entities (email, URL, IP, MAC, SSN, ITIN, dates, street addresses) are fully decided
by their pattern, so the engine can replace them with ``regexp_replace``. *Validated* entities
(IBAN mod 97, cards by Luhn and issuer, phones by ``phonenumbers``, person names by dictionary)
need Python: their pattern only finds candidates.

Used by the scanner (which free-text columns hold personal data) and by the
``redact_entities`` transform.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from veil.detect import validators as v
from veil.detect.formats import _STREET_WORDS_EN
from veil.detect.names import COMMON_WORDS, fold, name_sets

_MONTH = (
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|January|February|March|April|"
    r"June|July|August|September|October|November|December)"
)
_STREET = (
    r"(?i:"
    + _STREET_WORDS_EN.removesuffix(r"\.?")[3:-1]
    + r"|rue|strasse|straße|str|weg|platz|allee|"
    r"gasse|straat|laan|calle|rua)s?"
)


@dataclass(frozen=True)
class TextEntity:
    name: str
    label: str
    pattern: str
    validated: bool
    """True when Python must confirm each candidate (the pattern alone over-matches)."""


ENTITIES: tuple[TextEntity, ...] = (
    TextEntity(
        "email",
        "EMAIL",
        r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}",
        False,
    ),
    TextEntity(
        "url",
        "URL",
        r"(?i)\b(?:https?://|ftp://|www\.)[^\s<>\x22']*[^\s<>\x22'.,;:!?)\]]",
        False,
    ),
    TextEntity(
        "iban", "IBAN", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", True
    ),
    TextEntity("credit_card", "CREDIT_CARD", r"\b\d(?:[ -]?\d){11,18}\b", True),
    TextEntity(
        "us_ssn",
        "US_SSN",
        r"\b(?:00[1-9]|0[1-9]\d|[1-5]\d\d|6[0-5]\d|66[0-57-9]|6[7-9]\d|[78]\d\d)-(?:0[1-9]|[1-9]\d)-(?:000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})\b",
        False,
    ),
    TextEntity(
        "us_itin",
        "US_ITIN",
        r"\b9\d\d-(?:5\d|6[0-5]|7\d|8[0-8]|9[0-2]|9[4-9])-(?:000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})\b",
        False,
    ),
    TextEntity("mac_address", "MAC", r"\b[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}\b", False),
    TextEntity(
        "ip_address",
        "IP",
        r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b|\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5})?\b",
        False,
    ),
    TextEntity(
        "date",
        "DATE",
        rf"\b\d{{4}}-\d{{2}}-\d{{2}}(?:[T ]\d{{2}}:\d{{2}}(?::\d{{2}})?)?\b|\b\d{{1,2}}[./]\d{{1,2}}[./](?:\d{{4}}|\d{{2}})\b|\b\d{{1,2}}\.? {_MONTH}\.? \d{{4}}\b|\b{_MONTH}\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}\b",
        False,
    ),
    TextEntity(
        "phone",
        "PHONE",
        r"(?:\+|\b00)\d{1,3}[ .\-/]?(?:\(0\)[ .\-/]?)?(?:\(?\d{1,5}\)?[ .\-/]?){1,5}\d\b|(?:\(\d{2,5}\)[ .\-]?|\b\d{2,5}[ .\-/])\d{2,5}(?:[ .\-/]\d{2,5}){0,3}\b|\b0\d{8,11}\b|\b[2-9]\d{9}\b",
        True,
    ),
    TextEntity(
        "street_address",
        "ADDRESS",
        rf"\b\d{{1,5}}[A-Za-z]? (?:[A-Z][A-Za-z'.-]* ){{1,4}}{_STREET}\b\.?(?:,? (?:Apt|Suite|Ste|Unit)\.? ?[A-Za-z0-9-]+)?",
        False,
    ),
    TextEntity("person", "PERSON", "", True),
)

ENTITY_NAMES: tuple[str, ...] = tuple(e.name for e in ENTITIES)
BY_NAME: dict[str, TextEntity] = {e.name: e for e in ENTITIES}

# Entities that count as personal data when the scanner decides whether free text needs care.
PERSONAL: frozenset[str] = frozenset(
    {
        "email",
        "iban",
        "credit_card",
        "us_ssn",
        "us_itin",
        "phone",
        "street_address",
        "person",
        "ip_address",
    }
)


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


# ---------------------------------------------------------------- validation of candidates


def _iban_span(m: re.Match[str]) -> tuple[int, int] | None:
    """The longest prefix of an IBAN candidate (cut at a group boundary) that validates."""
    text = m.group(0)
    cuts = [len(text)] + [i for i in range(len(text) - 1, 14, -1) if text[i] == " "]
    for cut in cuts:
        if v.iban_ok(text[:cut]):
            return m.start(), m.start() + cut
    return None


_PHONE_FORMATTED = re.compile(r"^\+|^00|\(|\d[ .\-/]\d+[ .\-/]\d")


def _phone_ok(candidate: str, regions: Sequence[str]) -> bool:
    digits = sum(c.isdigit() for c in candidate)
    if digits < 7 or digits > 15:
        return False
    if v.parse_date(candidate) is not None:
        return False
    possible, valid = v.phone_status(candidate, regions)
    return valid or (possible and bool(_PHONE_FORMATTED.search(candidate)))


_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_CUES = frozenset(
    [
        "with",
        "for",
        "from",
        "to",
        "by",
        "contact",
        "called",
        "dear",
        "hi",
        "hello",
        "mr",
        "mrs",
        "ms",
        "miss",
        "dr",
        "prof",
        "herr",
        "frau",
        "m",
        "mme",
        "mlle",
        "sr",
        "sra",
        "srta",
        "sig",
        "signor",
        "signora",
        "customer",
        "client",
        "patient",
        "named",
        "name",
        "agent",
        "rep",
    ]
)


def person_spans(text: str) -> list[tuple[int, int]]:
    """Spans of person names: capitalized first name (dictionary) plus capitalized surname(s),
    or a lone first name right after a cue word (``with Anna``, ``Mr. Schmidt``)."""
    first, last = name_sets()
    words = [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        s, e, w = words[i]
        fw = fold(w)
        if w[0].isupper() and fw in first and fw not in COMMON_WORDS:
            j = i
            end = e
            # following capitalized words separated by one space (or a hyphen) are the surname
            while j + 1 < len(words) and j - i < 2:
                ns, ne, nw = words[j + 1]
                gap = text[words[j][1] : ns]
                if gap not in (" ", "-") or not nw[0].isupper() or fold(nw) in COMMON_WORDS:
                    break
                j += 1
                end = ne
            if j > i:
                spans.append((s, end))
                i = j + 1
                continue
            prev = fold(words[i - 1][2]) if i > 0 else ""
            if prev in _CUES and (i == 0 or text[words[i - 1][1] : s].strip() in ("", ".")):
                spans.append((s, e))
        elif w[0].isupper() and fw in last and i > 0:
            prev = fold(words[i - 1][2])
            if prev in ("mr", "mrs", "ms", "dr", "herr", "frau", "mme", "sr", "sra", "prof"):
                spans.append((s, e))
        i += 1
    return spans


# ---------------------------------------------------------------- finding


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: str


def find_entities(
    text: str,
    entities: Iterable[str] = ENTITY_NAMES,
    regions: Sequence[str] = v.DEFAULT_REGIONS,
) -> list[Span]:
    """Non-overlapping entity spans in ``text``; earlier entities in :data:`ENTITIES` win."""
    wanted = set(entities)
    taken: list[Span] = []

    def free(a: int, b: int) -> bool:
        return all(b <= t.start or a >= t.end for t in taken)

    for ent in ENTITIES:
        if ent.name not in wanted:
            continue
        if ent.name == "person":
            for a, b in person_spans(text):
                if free(a, b):
                    taken.append(Span(a, b, "person"))
            continue
        for m in _compiled(ent.pattern).finditer(text):
            a, b = m.start(), m.end()
            if ent.name == "iban":
                span = _iban_span(m)
                if span is None:
                    continue
                a, b = span
            elif ent.name == "credit_card" and not v.credit_card_ok(m.group(0)):
                continue
            elif ent.name == "phone" and not _phone_ok(m.group(0), regions):
                continue
            elif ent.name == "ip_address" and (
                not v.ip_ok(m.group(0)) or text[max(0, a - 1) : a] in ("/", ".", ":")
            ):
                continue  # "Chrome/10.0.1.2" is a version number
            if free(a, b):
                taken.append(Span(a, b, ent.name))
    return sorted(taken, key=lambda s: s.start)


Replacer = Callable[[str, str], str]
"""(entity name, span text) -> replacement text."""


def label_replacer(entity: str, _span: str) -> str:
    return f"<{BY_NAME[entity].label}>"


def mask_replacer(char: str = "X") -> Replacer:
    def mask(_entity: str, span: str) -> str:
        return "".join(char if c.isalnum() else c for c in span)

    return mask


def pseudonym_replacer(secret: bytes, length: int = 12) -> Replacer:
    """``<EMAIL_3f2a9c1b04d2>``: HMAC-SHA-256 of the span under ``secret``; equal spans get
    equal pseudonyms in every row and run, so counts and joins on them survive."""

    def pseudo(entity: str, span: str) -> str:
        digest = hmac.new(secret, f"{entity}\x00{span}".encode(), hashlib.sha256).hexdigest()
        return f"<{BY_NAME[entity].label}_{digest[:length]}>"

    return pseudo


def replace_entities(text: str, spans: Sequence[Span], replacer: Replacer) -> str:
    out: list[str] = []
    pos = 0
    for s in spans:
        out.append(text[pos : s.start])
        out.append(replacer(s.entity, text[s.start : s.end]))
        pos = s.end
    out.append(text[pos:])
    return "".join(out)


def candidate_pattern(entities: Iterable[str]) -> str | None:
    """One RE2/Python pattern that matches wherever any of ``entities`` may start (a cheap,
    vectorized row filter before Python looks closer); None when person names are wanted
    (any capitalized word may start one)."""
    parts = []
    for name in entities:
        ent = BY_NAME[name]
        if name == "person":
            return None
        p = ent.pattern
        if p.startswith("(?i)"):
            p = "(?i:" + p[4:] + ")"
        parts.append(f"(?:{p})")
    return "|".join(parts) if parts else None
