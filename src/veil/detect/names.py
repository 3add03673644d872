"""First- and last-name dictionaries, built at run time from Faker's locale provider data.

Faker is already a dependency of veil (the ``fake`` transform), and its person providers carry
curated name lists for dozens of locales. Reading those lists (no Faker call, no network) gives
tens of thousands of names in under a second; the sets are cached for the process.

Matching is case-insensitive and accent-insensitive: each name is stored lower-cased in NFC and
also with its accents stripped, so ``Müller``, ``muller`` and ``MÜLLER`` all match.
"""

from __future__ import annotations

import importlib
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

# Locales whose person providers seed the dictionaries. Tests keep a few other locales out of
# this list on purpose, to measure how detection generalizes to names it has never seen.
NAME_LOCALES: tuple[str, ...] = (
    "en_US",
    "en_GB",
    "en_IN",
    "de_DE",
    "fr_FR",
    "es_ES",
    "es_MX",
    "it_IT",
    "pt_BR",
    "pt_PT",
    "nl_NL",
    "pl_PL",
    "sv_SE",
    "da_DK",
    "no_NO",
    "fi_FI",
    "cs_CZ",
    "tr_TR",
    "ru_RU",
    "ja_JP",
    "zh_CN",
    "ko_KR",
)


def fold(text: str) -> str:
    """Lower case, NFC, accents stripped (``Müller`` -> ``muller``; ``ß`` -> ``ss``)."""
    if text.isascii():
        return text.strip().lower()
    t = unicodedata.normalize("NFKD", text.strip().lower().replace("ß", "ss"))
    t = "".join(c for c in t if not unicodedata.combining(c))
    for a, b in (("ø", "o"), ("ł", "l"), ("đ", "d"), ("æ", "ae"), ("œ", "oe"), ("ı", "i")):
        t = t.replace(a, b)
    return unicodedata.normalize("NFC", t)


def _names_of(provider: type, prefix: str) -> Iterable[str]:
    for attr in dir(provider):
        if not attr.startswith(prefix) or attr.endswith("_formats"):
            continue
        value = getattr(provider, attr, None)
        if isinstance(value, dict):
            yield from (k for k in value if isinstance(k, str))
        elif isinstance(value, list | tuple):
            yield from (v for v in value if isinstance(v, str))


@lru_cache(maxsize=8)
def name_sets(locales: tuple[str, ...] = NAME_LOCALES) -> tuple[frozenset[str], frozenset[str]]:
    """(first names, last names), folded (see :func:`fold`), from Faker's person providers."""
    first: set[str] = set()
    last: set[str] = set()
    for loc in locales:
        try:
            provider = importlib.import_module(f"faker.providers.person.{loc}").Provider
        except (ImportError, AttributeError):
            continue
        first.update(fold(n) for n in _names_of(provider, "first_names"))
        last.update(fold(n) for n in _names_of(provider, "last_names"))
    first.discard("")
    last.discard("")
    return frozenset(first), frozenset(last)


# Words that are first names in some locale but far more often ordinary words in free text.
COMMON_WORDS: frozenset[str] = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "for",
        "from",
        "have",
        "he",
        "her",
        "his",
        "i",
        "if",
        "in",
        "is",
        "it",
        "may",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "the",
        "they",
        "to",
        "up",
        "us",
        "was",
        "we",
        "will",
        "with",
        "you",
        "your",
        "june",
        "april",
        "august",
        "january",
        "february",
        "march",
        "july",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "friday",
        "sunday",
        "customer",
        "client",
        "card",
        "account",
        "new",
        "no",
        "call",
        "email",
        "phone",
        "mark",
        "rose",
        "lily",
        "will",
        "grant",
        "bill",
        "hope",
        "joy",
        "faith",
        "summer",
        "autumn",
        "dawn",
        "chase",
        "sky",
        "river",
        "page",
        "guy",
    ]
)
