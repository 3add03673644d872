"""Value validators: checksums and structural rules that confirm what a format only suggests.

Every validator takes one string and returns a bool; none raises. They run in Python, so the
scanner calls them only on the *candidates* that a vectorized format test (DuckDB regex)
already selected, and on a bounded number of distinct values per column.

:func:`chance_rate` measures how often a validator accepts *random* strings of the same shape
as the candidates (each digit replaced by a random digit, each letter by a random letter, the
separators kept). That is the pass rate expected by chance: Luhn accepts 10% of random digit
strings and the US SSN area/group/serial rules accept about 89% of random 9-digit numbers, so a
pass rate only counts as evidence when it is far above that.
"""

from __future__ import annotations

import datetime as dt
import importlib
import ipaddress
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

Validator = Callable[[str], bool]

_NON_DIGIT = re.compile(r"[^0-9]")
_SEPARATORS = re.compile(r"[\s.\-/]")


def digits_of(value: str) -> str:
    return _NON_DIGIT.sub("", value)


# ---------------------------------------------------------------- checksums


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check over a string of ASCII digits."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Issuer prefixes (IIN ranges) and lengths of the major card networks.
_CARD_RULES: tuple[tuple[re.Pattern[str], frozenset[int]], ...] = (
    (re.compile(r"4"), frozenset({13, 16, 19})),  # Visa
    (re.compile(r"5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)"), frozenset({16})),  # Mastercard
    (re.compile(r"3[47]"), frozenset({15})),  # American Express
    (re.compile(r"6(?:011|5|4[4-9])"), frozenset({16, 19})),  # Discover
    (re.compile(r"35(?:2[89]|[3-8]\d)"), frozenset({16, 17, 18, 19})),  # JCB
    (re.compile(r"3(?:0[0-5]|[689])"), frozenset({14, 16, 19})),  # Diners Club
    (re.compile(r"62"), frozenset({16, 17, 18, 19})),  # UnionPay
    (re.compile(r"5[06-8]|6"), frozenset({12, 13, 14, 15, 16, 17, 18, 19})),  # Maestro
)


def credit_card_ok(value: str) -> bool:
    """A payment card number: 12-19 digits, a known issuer prefix and length, Luhn."""
    d = digits_of(value)
    if not 12 <= len(d) <= 19 or not luhn_ok(d):
        return False
    return any(p.match(d) and len(d) in lengths for p, lengths in _CARD_RULES)


def iban_ok(value: str) -> bool:
    """IBAN: country code, length for that country, ISO 7064 mod 97-10 check digits."""
    from stdnum import iban

    try:
        return bool(iban.is_valid(value))
    except Exception:
        return False


def _area_group_serial(d: str) -> tuple[int, int, int] | None:
    if len(d) != 9 or not d.isdigit():
        return None
    return int(d[:3]), int(d[3:5]), int(d[5:])


def us_ssn_ok(value: str) -> bool:
    """US SSN rules: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    parts = _area_group_serial(digits_of(value))
    if parts is None:
        return False
    area, group, serial = parts
    return area not in (0, 666) and area < 900 and group != 0 and serial != 0


def us_itin_ok(value: str) -> bool:
    """US ITIN: area 9xx, group 50-65, 70-88, 90-92 or 94-99, serial not 0000."""
    parts = _area_group_serial(digits_of(value))
    if parts is None:
        return False
    area, group, serial = parts
    groups_ok = 50 <= group <= 65 or 70 <= group <= 88 or 90 <= group <= 92 or 94 <= group <= 99
    return area >= 900 and groups_ok and serial != 0


def aba_routing_ok(value: str) -> bool:
    """ABA routing transit number: 9 digits, a Federal Reserve prefix, 3-7-1 checksum."""
    d = digits_of(value)
    if len(d) != 9 or len(value.strip()) != 9:
        return False
    prefix = int(d[:2])
    if not (prefix <= 12 or 21 <= prefix <= 32 or 61 <= prefix <= 72 or prefix == 80):
        return False
    weights = (3, 7, 1) * 3
    return sum(int(c) * w for c, w in zip(d, weights, strict=True)) % 10 == 0


# ---------------------------------------------------------------- national identifiers


@dataclass(frozen=True)
class NationalScheme:
    country: str
    name: str
    module: str
    shape: re.Pattern[str]
    """Shape of the value after removing spaces, dots, dashes and slashes (upper-cased)."""

    def validate(self, value: str) -> bool:
        compact = _SEPARATORS.sub("", value).upper()
        if not self.shape.fullmatch(compact):
            return False
        mod = _module(self.module)
        try:
            return bool(mod.is_valid(value.strip()))
        except Exception:
            return False


@lru_cache(maxsize=64)
def _module(name: str) -> Any:
    return importlib.import_module(f"stdnum.{name}")


def _s(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


NATIONAL_SCHEMES: tuple[NationalScheme, ...] = (
    NationalScheme("DE", "Steuer-IdNr", "de.idnr", _s(r"[1-9]\d{10}")),
    NationalScheme("NL", "BSN", "nl.bsn", _s(r"\d{8,9}")),
    NationalScheme("FR", "NIR", "fr.nir", _s(r"[12]\d{4}[0-9AB]\d{9}")),
    NationalScheme("ES", "DNI", "es.dni", _s(r"\d{8}[A-Z]")),
    NationalScheme("ES", "NIE", "es.nie", _s(r"[XYZ]\d{7}[A-Z]")),
    NationalScheme(
        "IT",
        "codice fiscale",
        "it.codicefiscale",
        _s(r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]"),
    ),
    NationalScheme("PL", "PESEL", "pl.pesel", _s(r"\d{11}")),
    NationalScheme("SE", "personnummer", "se.personnummer", _s(r"(?:\d{2})?\d{10}|\d{6}\+\d{4}")),
    NationalScheme("FI", "HETU", "fi.hetu", _s(r"\d{6}[-+A-FU-Y]\d{3}[0-9A-Y]")),
    NationalScheme("NO", "fødselsnummer", "no.fodselsnummer", _s(r"\d{11}")),
    NationalScheme("DK", "CPR", "dk.cpr", _s(r"\d{10}")),
    NationalScheme("BR", "CPF", "br.cpf", _s(r"\d{11}")),
    NationalScheme("CA", "SIN", "ca.sin", _s(r"\d{9}")),
    NationalScheme("BE", "national number", "be.nn", _s(r"\d{11}")),
    NationalScheme("CH", "AHV/AVS number", "ch.ssn", _s(r"756\d{10}")),
    NationalScheme("AT", "VNR", "at.vnr", _s(r"\d{10}")),
    NationalScheme("CN", "resident ID", "cn.ric", _s(r"\d{17}[\dX]")),
    NationalScheme("KR", "RRN", "kr.rrn", _s(r"\d{13}")),
    NationalScheme("MX", "CURP", "mx.curp", _s(r"[A-Z]{4}\d{6}[HM][A-Z]{5}[0-9A-Z]\d")),
    NationalScheme("IN", "Aadhaar", "in_.aadhaar", _s(r"[2-9]\d{11}")),
    NationalScheme("IN", "PAN", "in_.pan", _s(r"[A-Z]{5}\d{4}[A-Z]")),
    NationalScheme("RO", "CNP", "ro.cnp", _s(r"\d{13}")),
    NationalScheme("EE", "isikukood", "ee.ik", _s(r"\d{11}")),
    NationalScheme("HR", "OIB", "hr.oib", _s(r"\d{11}")),
    NationalScheme("GR", "AMKA", "gr.amka", _s(r"\d{11}")),
    NationalScheme("IL", "ID number", "il.idnr", _s(r"\d{5,9}")),
    NationalScheme("TR", "T.C. Kimlik", "tr.tckimlik", _s(r"[1-9]\d{10}")),
    NationalScheme("TH", "PIN", "th.pin", _s(r"\d{13}")),
    NationalScheme("ZA", "ID number", "za.idnr", _s(r"\d{13}")),
    NationalScheme("CZ", "rodné číslo", "cz.rc", _s(r"\d{9,10}")),
    NationalScheme("BG", "EGN", "bg.egn", _s(r"\d{10}")),
    NationalScheme("LT", "asmens kodas", "lt.asmens", _s(r"\d{11}")),
    NationalScheme("PT", "Cartão de Cidadão", "pt.cc", _s(r"\d{9}[A-Z0-9]{2}\d")),
    NationalScheme("IE", "PPS number", "ie.pps", _s(r"\d{7}[A-W][ABWTX]?")),
    NationalScheme("CL", "RUT", "cl.rut", _s(r"\d{7,8}[\dK]")),
    NationalScheme("UA", "RNTRC", "ua.rntrc", _s(r"\d{10}")),
)

_NINO = re.compile(
    r"(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]", re.ASCII
)


def gb_nino_ok(value: str) -> bool:
    """UK National Insurance number (format and prefix rules; it has no check digit)."""
    return bool(_NINO.fullmatch(re.sub(r"\s", "", value.upper())))


GB_NINO = NationalScheme("GB", "National Insurance number", "", _s(r"[A-Z]{2}\d{6}[A-D]"))


def national_schemes_for(value: str) -> list[NationalScheme]:
    """The schemes whose shape ``value`` has (a cheap filter before the checksum)."""
    compact = _SEPARATORS.sub("", value).upper()
    return [s for s in NATIONAL_SCHEMES if s.shape.fullmatch(compact)]


def national_id_matches(value: str) -> list[str]:
    """Names (``CC:scheme``) of every national scheme that accepts ``value``."""
    out = [f"{s.country}:{s.name}" for s in national_schemes_for(value) if s.validate(value)]
    if gb_nino_ok(value):
        out.append("GB:National Insurance number")
    return out


# ---------------------------------------------------------------- networks, dates, places


def ip_ok(value: str) -> bool:
    try:
        ipaddress.ip_address(value.strip())
        return True
    except ValueError:
        return False


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d.%m.%y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%Y%m%d",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
)
_TIME_TAIL = re.compile(
    r"[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2}|[AP]M)?$", re.I
)


_DATE_SHAPE = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})|\d{8}"
    r"|\d{1,2}\.? [A-Za-z]{3,9}\.? \d{4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4}",
    re.ASCII,
)


def parse_date(value: str) -> dt.date | None:
    """The calendar date a string denotes (time of day ignored), for years 1850-2150."""
    text = value.strip()
    text = _TIME_TAIL.sub("", text)
    if not _DATE_SHAPE.fullmatch(text):
        return None  # cheap shape test before trying every strptime format
    for fmt in _DATE_FORMATS:
        try:
            d = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if 1850 <= d.year <= 2150:
            return d
    return None


def date_ok(value: str) -> bool:
    return parse_date(value) is not None


def has_time(value: str) -> bool:
    return bool(_TIME_TAIL.search(value.strip()))


_LATLON = re.compile(r"^\s*\(?\s*([-+]?\d{1,3}\.\d+)\s*[,;/ ]\s*([-+]?\d{1,3}\.\d+)\s*\)?\s*$")


def latlon_ok(value: str) -> bool:
    m = _LATLON.match(value)
    if not m:
        return False
    lat, lon = float(m.group(1)), float(m.group(2))
    return -90 <= lat <= 90 and -180 <= lon <= 180


# ---------------------------------------------------------------- phones


DEFAULT_REGIONS: tuple[str, ...] = (
    "US",
    "GB",
    "DE",
    "FR",
    "ES",
    "IT",
    "NL",
    "BR",
    "IN",
    "CA",
    "PL",
    "JP",
)


def phone_status(value: str, regions: Sequence[str]) -> tuple[bool, bool]:
    """(possible, valid) for ``value`` read as a phone number of any of ``regions``.

    An international number (``+CC ...``) is read as such whatever the regions. *possible*
    checks the length for the country; *valid* also checks the number ranges in use."""
    return _phone_status(value, tuple(regions))


@lru_cache(maxsize=65536)
def _phone_status(value: str, regions: tuple[str, ...]) -> tuple[bool, bool]:
    import phonenumbers

    text = value.strip()
    if sum(c.isdigit() for c in text) < 6:
        return False, False
    tries = [None] if text.startswith(("+", "00")) else list(regions)
    if text.startswith("00"):
        text = "+" + text[2:]
    possible = False
    for region in tries:
        try:
            n = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(n):
            return True, True
        possible = possible or phonenumbers.is_possible_number(n)
    return possible, False


def phone_ok(regions: Sequence[str]) -> Validator:
    def check(value: str) -> bool:
        return phone_status(value, regions)[0]

    return check


# ---------------------------------------------------------------- chance


def randomize(value: str, rng: random.Random) -> str:
    """Same shape, random content: digits, upper- and lower-case letters redrawn."""
    out = []
    for ch in value:
        if "0" <= ch <= "9":
            out.append(chr(48 + rng.randrange(10)))
        elif "A" <= ch <= "Z":
            out.append(chr(65 + rng.randrange(26)))
        elif "a" <= ch <= "z":
            out.append(chr(97 + rng.randrange(26)))
        else:
            out.append(ch)
    return "".join(out)


def chance_rate(
    validator: Validator, candidates: Sequence[str], trials: int = 400, seed: int = 0
) -> float:
    """How often ``validator`` accepts random strings shaped like ``candidates`` (0..1)."""
    if not candidates:
        return 0.0
    rng = random.Random(seed)
    n = min(trials, max(len(candidates) * 2, 100))
    hits = 0
    for i in range(n):
        hits += bool(validator(randomize(candidates[i % len(candidates)], rng)))
    return hits / n
