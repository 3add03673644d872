"""Column classification: combine what the values, the checksums and the name say.

For every candidate type a column gets

* ``support``: the share of its non-null sampled values that are confirmed as that type
  (they match one of the type's formats and, where the type has one, pass its validator);
* ``spec`` (specificity, 0..1): how much such a match proves. It is the strength of the
  matched format, or the *significance* of the checksum when that is higher:
  ``(pass_rate - chance) / (1 - chance)``, where ``chance`` is the rate at which random values
  of the same shape pass. Luhn passes 10% of random digit strings, so a 12% pass rate says
  nothing while 100% of 300 values says everything; the US SSN rules pass 89% of random
  9-digit numbers, so for SSNs the format (``ddd-dd-dddd``) or the name has to speak;
* a name hint (0.35 weak, 0.55 head noun, 0.6 strong) from :mod:`veil.detect.hints`.

Confidence is ``1 - (1 - support * spec) * (1 - hint)``: values alone, the name alone, or
both together can carry a detection; the name hint is ignored when the values contradict it
(under 20% of them fit the hinted type). A column is reported as the type with the highest
confidence at or above ``min_confidence``; otherwise it is insensitive.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from veil.detect import text as textmod
from veil.detect import validators as v
from veil.detect.formats import FORMATS_BY_ID, UUID, formats_of
from veil.detect.hints import NameHint, name_hints
from veil.detect.names import fold, name_sets
from veil.detect.types import TYPES, ColumnReport, Evidence, class_of
from veil.engines.types import FLOAT_TYPES, INTEGER_TYPES

# Types whose values can confirm or refute them; a name hint for one of these is dropped when
# the values plainly do not fit.
VALUE_TYPES = frozenset(
    {
        "email",
        "phone",
        "credit_card",
        "iban",
        "us_ssn",
        "us_itin",
        "aba_routing",
        "national_id",
        "ip_address",
        "mac_address",
        "url",
        "date",
        "birth_date",
        "postal_code",
        "coordinates",
        "first_name",
        "last_name",
        "full_name",
        "street_address",
        "company",
        "gender",
        "age",
        "country",
    }
)
DATE_ENGINE_TYPES = frozenset({"DATE"})
TIMESTAMP_ENGINE_TYPES = frozenset(
    {"TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S", "TIMESTAMP WITH TIME ZONE"}
)

MIN_VALIDATE = 8
"""Fewer format matches than this and a checksum rate is not trusted (too few to tell)."""


@dataclass
class ColumnProfile:
    """What the scanner measured on one column of the sample."""

    name: str
    engine_type: str
    rows: int
    non_null: int
    distinct: int
    avg_len: float = 0.0
    multiword: float = 0.0
    """Share of non-null values with three or more whitespace-separated words."""
    type_hits: dict[str, int] = field(default_factory=dict)
    """type -> rows matching any of the type's formats (exact, on the whole sample)."""
    values: list[str] = field(default_factory=list)
    """Distinct non-null values (a bounded, hash-ordered subset), as text."""
    counts: list[int] = field(default_factory=list)
    """How many sampled rows hold each of ``values``."""
    flags: dict[str, list[bool]] = field(default_factory=dict)
    """format id -> for each of ``values``, whether it matches."""
    num_min: float | None = None
    num_max: float | None = None
    num_integral: float | None = None
    """Share of numeric values without a fractional part."""
    num_decimals: float | None = None
    """Average number of decimals of numeric values (as printed)."""
    date_years: list[int] = field(default_factory=list)
    """Years of a DATE/TIMESTAMP column's distinct values (bounded)."""
    time_share: float | None = None
    """Share of TIMESTAMP values with a time of day other than midnight."""

    @property
    def distinct_ratio(self) -> float:
        return self.distinct / self.non_null if self.non_null else 0.0


@dataclass
class Candidate:
    type: str
    support: float
    spec: float
    match_rate: float | None = None
    checksum_rate: float | None = None
    chance: float | None = None
    detail: str = ""


@dataclass
class Settings:
    regions: tuple[str, ...] = v.DEFAULT_REGIONS
    min_confidence: float = 0.5
    max_validate: int = 300
    """Distinct candidates per column and type that go through a Python validator."""
    seed: int = 0
    today: dt.date = field(default_factory=dt.date.today)


def _clamp(x: float) -> float:
    return max(0.0, min(1.0, x))


def significance(rate: float, chance: float, n: int) -> float:
    """How far a pass rate is above chance, 0..1, discounted for few observations."""
    if n < MIN_VALIDATE or chance >= 0.999:
        return 0.0
    sig = _clamp((rate - chance) / (1.0 - chance))
    return sig * min(1.0, n / 20)


# ---------------------------------------------------------------- helpers over the value sample


class _Values:
    def __init__(self, p: ColumnProfile, cap: int) -> None:
        self.p = p
        self.cap = cap
        self.total = sum(p.counts) or 1

    def matching(self, fmt_ids: Sequence[str]) -> list[int]:
        """Indexes of values matching any of the formats."""
        idx = []
        for i in range(len(self.p.values)):
            if any(self.p.flags.get(f, [False] * len(self.p.values))[i] for f in fmt_ids):
                idx.append(i)
        return idx

    def weight(self, idx: Sequence[int]) -> int:
        return sum(self.p.counts[i] for i in idx)

    def strongest(self, i: int, fmt_ids: Sequence[str]) -> float:
        best = 0.0
        for f in fmt_ids:
            flags = self.p.flags.get(f)
            if flags is not None and flags[i]:
                best = max(best, FORMATS_BY_ID[f].strength)
        return best


def _validated(
    p: ColumnProfile,
    vals: _Values,
    type_: str,
    validator: Callable[[str], bool] | None,
    settings: Settings,
    fmt_ids: Sequence[str] | None = None,
    chance_validator: Callable[[str], bool] | None = None,
) -> Candidate | None:
    """Support and specificity of a format-based type, with an optional validator."""
    ids = list(fmt_ids) if fmt_ids is not None else [f.id for f in formats_of(type_)]
    hits = p.type_hits.get(type_, 0) if fmt_ids is None else None
    idx = vals.matching(ids)
    if not idx:
        return None
    if hits is None:
        hits = round(vals.weight(idx) / vals.total * p.non_null)
    match_rate = hits / p.non_null if p.non_null else 0.0
    if validator is None:
        w = vals.weight(idx)
        spec = sum(vals.strongest(i, ids) * p.counts[i] for i in idx) / w
        return Candidate(type_, match_rate, spec, match_rate=match_rate)
    checked = idx[: settings.max_validate]
    ok = [i for i in checked if validator(p.values[i])]
    w_checked = vals.weight(checked)
    rate = vals.weight(ok) / w_checked if w_checked else 0.0
    cands = [p.values[i] for i in checked]
    chance = (
        v.chance_rate(chance_validator or validator, cands, trials=200, seed=settings.seed)
        if rate >= 0.5
        else None
    )
    sig = significance(rate, chance, len(checked)) if chance is not None else 0.0
    fmt_spec = (
        sum(vals.strongest(i, ids) * p.counts[i] for i in ok) / vals.weight(ok) if ok else 0.0
    )
    return Candidate(
        type_,
        match_rate * rate,
        max(fmt_spec, sig),
        match_rate=match_rate,
        checksum_rate=rate,
        chance=chance,
    )


# ---------------------------------------------------------------- candidate types


def _phone(p: ColumnProfile, vals: _Values, s: Settings) -> Candidate | None:
    ids = [f.id for f in formats_of("phone")]
    idx = [i for i in vals.matching(ids) if v.parse_date(p.values[i]) is None]
    if not idx:
        return None
    checked = idx[:80]
    statuses = [v.phone_status(p.values[i], s.regions) for i in checked]
    w = vals.weight(checked) or 1
    possible = sum(p.counts[i] for i, st in zip(checked, statuses, strict=True) if st[0]) / w
    valid = sum(p.counts[i] for i, st in zip(checked, statuses, strict=True) if st[1]) / w
    ok = [i for i, st in zip(checked, statuses, strict=True) if st[0]]
    fmt_spec = (
        sum(vals.strongest(i, ids) * p.counts[i] for i in ok) / vals.weight(ok) if ok else 0.0
    )
    spec = fmt_spec
    chance_valid: float | None = None
    if fmt_spec >= 0.4 and valid >= 0.5:
        # Validity far above chance upgrades *formatted* numbers only: for bare digit runs the
        # region rules (which leading digits are in use) make chance meaningless.
        cands = [p.values[i] for i in checked]
        chance_valid = v.chance_rate(
            lambda x: v.phone_status(x, s.regions)[1], cands, trials=80, seed=s.seed
        )
        spec = max(fmt_spec, significance(valid, chance_valid, len(checked)))
    match_rate = vals.weight(idx) / vals.total
    return Candidate(
        "phone",
        match_rate * possible,
        spec,
        match_rate=match_rate,
        checksum_rate=valid,
        chance=chance_valid,
        detail=f"{possible:.0%} possible and {valid:.0%} valid numbers for regions "
        f"{','.join(s.regions[:6])}{'...' if len(s.regions) > 6 else ''}",
    )


def _national_id(p: ColumnProfile, vals: _Values, s: Settings) -> Candidate | None:
    idx = vals.matching(["nid_digits", "nid_alnum"])
    if not idx:
        return None
    # group candidates by scheme (shape), validate, compare with chance per scheme
    checked = idx[:150]
    best: Candidate | None = None
    per_scheme: dict[str, list[int]] = {}
    for i in checked:
        for scheme in v.national_schemes_for(p.values[i]):
            per_scheme.setdefault(f"{scheme.country}:{scheme.name}", []).append(i)
    schemes = {f"{sc.country}:{sc.name}": sc for sc in v.NATIONAL_SCHEMES}
    nino = [
        i for i in checked if v.GB_NINO.shape.fullmatch(re.sub(r"[\s]", "", p.values[i].upper()))
    ]
    if nino:
        per_scheme["GB:National Insurance number"] = nino
    total_w = vals.weight(checked) or 1
    for key, members in per_scheme.items():
        if vals.weight(members) < 0.3 * total_w:
            continue
        validator = v.gb_nino_ok if key.startswith("GB:") else schemes[key].validate
        ok = [i for i in members if validator(p.values[i])]
        rate = vals.weight(ok) / vals.weight(members)
        if rate < 0.5:
            continue
        chance = v.chance_rate(validator, [p.values[i] for i in members], trials=120, seed=s.seed)
        sig = significance(rate, chance, len(members))
        if key.startswith("GB:"):
            sig = max(sig, 0.8 if rate > 0.9 else 0.0)  # letters+digits format, no checksum
        # the checked subset stands for all values in an ID format
        support = vals.weight(ok) / total_w * vals.weight(idx) / vals.total
        cand = Candidate(
            "national_id",
            support,
            sig,
            match_rate=vals.weight(members) / vals.total,
            checksum_rate=rate,
            chance=chance,
            detail=f"scheme {key}",
        )
        if best is None or cand.support * cand.spec > best.support * best.spec:
            best = cand
    return best


def _dates(p: ColumnProfile, vals: _Values, s: Settings) -> list[Candidate]:
    """date and birth_date candidates, from a DATE/TIMESTAMP column or from text."""
    years: list[int]
    timed: float
    if p.engine_type in DATE_ENGINE_TYPES | TIMESTAMP_ENGINE_TYPES:
        years = p.date_years
        timed = p.time_share or 0.0
        base = Candidate("date", 1.0, 1.0, detail=f"{p.engine_type} column")
    else:
        cand = _validated(p, vals, "date", v.date_ok, s)
        if cand is None or cand.support == 0:
            return [cand] if cand else []
        base = cand
        idx = vals.matching([f.id for f in formats_of("date")])[: s.max_validate]
        parsed = [(v.parse_date(p.values[i]), p.values[i]) for i in idx]
        years = [d.year for d, _ in parsed if d is not None]
        timed = sum(v.has_time(raw) for _, raw in parsed) / max(1, len(parsed))
    out = [base]
    if years:
        years_sorted = sorted(years)
        median = years_sorted[len(years_sorted) // 2]
        lo, hi = years_sorted[0], years_sorted[-1]
        now = s.today.year
        ages_ok = hi <= now and lo >= now - 120
        median_age = now - median
        if ages_ok and timed < 0.05 and hi - lo >= 20 and 18 <= median_age <= 85:
            birth = Candidate(
                "birth_date",
                base.support,
                0.6 * base.spec,
                match_rate=base.match_rate,
                checksum_rate=base.checksum_rate,
                chance=base.chance,
                detail=f"dates {lo}-{hi}, median age {median_age}, no time of day",
            )
            out.append(birth)
        elif ages_ok and timed < 0.05:
            out.append(
                Candidate(
                    "birth_date",
                    base.support,
                    0.2 * base.spec,
                    detail=f"dates {lo}-{hi} (could be birth dates)",
                )
            )
        base.detail = (base.detail + f"; years {lo}-{hi}").lstrip("; ")
    return out


_TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "jr",
        "sr",
        "ii",
        "iii",
        "iv",
        "md",
        "phd",
        "dds",
        "dvm",
        "esq",
        "herr",
        "frau",
        "mme",
        "mlle",
        "m",
        "sig",
        "sig.ra",
        "dott",
        "dott.ssa",
        "ing",
        "dipl",
        "b.sc",
        "m.sc",
        "mag",
        "pan",
        "pani",
        "sr",
        "sra",
        "srta",
        "dona",
        "don",
        "dna",
    ]
)
_CONNECTORS = frozenset(["and", "&", "und", "et", "y", "e", "og", "och", "en", "i", "és", "es"])
_TOKEN = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_CJK = re.compile(r"^[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]{2,4}$")


def _names(p: ColumnProfile, vals: _Values) -> list[Candidate]:
    first, last = name_sets()
    f_w = l_w = full_w = company_w = 0.0
    letters_w = 0.0
    for value, n in zip(p.values, p.counts, strict=True):
        if any(ch.isdigit() for ch in value):
            continue
        letters_w += n
        if _CJK.match(value):
            fv = fold(value)
            if fv in first:
                f_w += n
            if fv in last:
                l_w += n
            if fv[:1] in last and (fv[1:] in first or len(fv) <= 3):
                full_w += n
            continue
        toks = [t for t in _TOKEN.findall(value)]
        folded = [fold(t) for t in toks]
        core = [t for t in folded if t.rstrip(".") not in _TITLES]
        if not core:
            continue
        if len(core) == 1:
            if core[0] in first:
                f_w += n
            if core[0] in last:
                l_w += n
            continue
        connected = any(c in _CONNECTORS for c in folded) or "," in value and len(core) > 2
        if connected:
            if sum(t in last for t in core if t not in _CONNECTORS) >= 2:
                company_w += n
            continue
        if len(core) <= 4:
            if "," in value and core[-1] in first and core[0] in last:
                full_w += n
            elif (core[0] in first and core[-1] in last) or (core[0] in last and core[-1] in first):
                full_w += n
            elif core[0] in first or core[-1] in last:
                full_w += n / 2
            if " ".join(core) in first:
                f_w += n
            if "-".join(core) in last or " ".join(core) in last:
                l_w += n
    total = vals.total
    if letters_w < 0.5 * total:
        return []
    fr, lr, full = f_w / total, l_w / total, full_w / total
    # a handful of distinct words (colours, statuses) that happen to be names is no name column
    few = 0.3 if p.distinct < 10 and p.non_null >= 30 else 1.0
    out = []
    if fr > 0:
        out.append(
            Candidate(
                "first_name",
                fr,
                few * _clamp(0.5 + (fr - lr)),
                match_rate=fr,
                detail=f"{fr:.0%} in first-name dictionaries, {lr:.0%} in last-name ones",
            )
        )
    if lr > 0:
        out.append(
            Candidate(
                "last_name",
                lr,
                few * _clamp(0.5 + (lr - fr)),
                match_rate=lr,
                detail=f"{lr:.0%} in last-name dictionaries, {fr:.0%} in first-name ones",
            )
        )
    if full > 0:
        out.append(
            Candidate(
                "full_name",
                full,
                0.9 * few,
                match_rate=full,
                detail=f"{full:.0%} are a dictionary first name followed by a last name",
            )
        )
    if company_w:
        out.append(
            Candidate(
                "company",
                company_w / total,
                0.7,
                match_rate=company_w / total,
                detail="surnames joined by 'and', '&' or commas (a firm name)",
            )
        )
    return out


NAME_TYPES = frozenset({"first_name", "last_name", "full_name"})
_NAME_SHAPE = re.compile(
    r"^[^\W\d_](?:[^\W\d_]|['’.\-])*(?:\s+[^\W\d_](?:[^\W\d_]|['’.\-])*){0,4}$"
)


def _name_shape(p: ColumnProfile, vals: _Values) -> float:
    """Share of values shaped like names: one to five words of letters."""
    w = sum(n for x, n in zip(p.values, p.counts, strict=True) if _NAME_SHAPE.match(x))
    return w / vals.total


def _countries() -> frozenset[str]:
    import importlib

    names: set[str] = set()
    for loc in ("en_US", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR"):
        try:
            prov = importlib.import_module(f"faker.providers.address.{loc}").Provider
        except ImportError:
            continue
        names.update(fold(c) for c in getattr(prov, "countries", ()))
    names.update({"usa", "us", "uk", "u.s.", "u.s.a.", "united states of america", "england"})
    return frozenset(names)


_COUNTRY_NAMES: frozenset[str] | None = None


def _country(p: ColumnProfile, vals: _Values) -> Candidate | None:
    global _COUNTRY_NAMES
    if _COUNTRY_NAMES is None:
        _COUNTRY_NAMES = _countries()
    import phonenumbers

    regions = phonenumbers.SUPPORTED_REGIONS
    names_w = codes_w = 0
    for value, n in zip(p.values, p.counts, strict=True):
        if fold(value) in _COUNTRY_NAMES:
            names_w += n
        elif len(value) == 2 and value.upper() in regions:
            codes_w += n
    total = vals.total
    if names_w / total >= 0.5:
        return Candidate("country", (names_w + codes_w) / total, 0.7, detail="country names")
    if (names_w + codes_w) / total > 0:
        return Candidate("country", (names_w + codes_w) / total, 0.3, detail="country codes")
    return None


_GENDER = frozenset(
    [
        "m",
        "f",
        "w",
        "d",
        "x",
        "u",
        "male",
        "female",
        "man",
        "woman",
        "men",
        "women",
        "other",
        "unknown",
        "diverse",
        "nonbinary",
        "non-binary",
        "maennlich",
        "mannlich",
        "weiblich",
        "divers",
        "homme",
        "femme",
        "hombre",
        "mujer",
        "masculino",
        "femenino",
        "maschio",
        "femmina",
        "man",
        "vrouw",
        "mand",
        "kvinde",
        "kvinna",
        "kvinne",
        "mies",
        "nainen",
        "mezczyzna",
        "kobieta",
    ]
)


def _gender(p: ColumnProfile, vals: _Values) -> Candidate | None:
    if p.distinct > 8:
        return None
    hit = [fold(x) for x in p.values if fold(x) in _GENDER]
    w = sum(n for x, n in zip(p.values, p.counts, strict=True) if fold(x) in _GENDER)
    if len(set(hit)) < 2:
        return None
    words = any(len(h) > 1 for h in hit)
    return Candidate("gender", w / vals.total, 0.6 if words else 0.35, detail="gender values")


def _entropy(s: str) -> float:
    counts: dict[str, int] = {}
    for ch in s:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_UUID = re.compile(UUID.replace("(?i)", ""), re.I)


def _secret(p: ColumnProfile, vals: _Values, s: Settings) -> Candidate | None:
    known = _validated(p, vals, "secret", None, s, fmt_ids=["secret_known"])
    if known is not None and known.support >= 0.5:
        known.detail = "known key/token/hash formats"
        return known
    idx = vals.matching(["secret_token", "hex_hash"])
    if not idx:
        return known
    strong = 0
    hexes = 0
    for i in idx:
        val = p.values[i]
        if _UUID.fullmatch(val) or "@" in val:
            continue
        if p.flags.get("hex_hash", [False] * len(p.values))[i]:
            hexes += p.counts[i]
            continue
        classes = (
            any(c.islower() for c in val)
            + any(c.isupper() for c in val)
            + any(c.isdigit() for c in val)
            + any(not c.isalnum() for c in val)
        )
        if (
            len(val) >= 8
            and any(c.islower() for c in val)
            and any(c.isupper() for c in val)
            and any(c.isdigit() for c in val)
            and classes >= 3
            and _entropy(val) >= 2.8
        ):
            strong += p.counts[i]
    total = vals.total
    if strong / total >= hexes / total:
        spec = 0.6 if p.distinct_ratio > 0.8 else 0.3
        return Candidate("secret", strong / total, spec, detail="high-entropy mixed-case tokens")
    return Candidate("secret", hexes / total, 0.1, detail="hex digests (hash or token?)")


def _coordinates(
    p: ColumnProfile, vals: _Values, s: Settings, hint: NameHint | None
) -> Candidate | None:
    if p.engine_type in FLOAT_TYPES or p.engine_type.startswith("DECIMAL"):
        if p.num_min is None or p.num_max is None:
            return None
        in_lat = p.num_min >= -90 and p.num_max <= 90
        in_lon = p.num_min >= -180 and p.num_max <= 180
        precise = (p.num_decimals or 0) >= 2
        if (in_lat or in_lon) and precise:
            return Candidate(
                "coordinates",
                1.0,
                0.3,
                detail=f"numbers in [{p.num_min:.2f}, {p.num_max:.2f}] with "
                f"{p.num_decimals:.1f} decimals",
            )
        return None
    return _validated(p, vals, "coordinates", None, s)


# ---------------------------------------------------------------- decision


def _text_entities(p: ColumnProfile, s: Settings) -> tuple[float, dict[str, int]]:
    """Share of (sampled distinct) values with a personal entity inside, and counts per entity."""
    counts: dict[str, int] = {}
    hit_w = 0
    total_w = 0
    for value, n in list(zip(p.values, p.counts, strict=True))[: s.max_validate]:
        total_w += n
        spans = textmod.find_entities(value, regions=s.regions)
        personal = [sp for sp in spans if sp.entity in textmod.PERSONAL]
        if personal:
            hit_w += n
        for sp in spans:
            counts[sp.entity] = counts.get(sp.entity, 0) + 1
    return (hit_w / total_w if total_w else 0.0), counts


def mask_example(value: str, limit: int = 40) -> str:
    """A value's shape with no content: letters -> x/X, digits -> #, others kept."""
    out = []
    for ch in value[:limit]:
        if ch.isdigit():
            out.append("#")
        elif ch.isalpha():
            out.append("X" if ch.isupper() else "x")
        else:
            out.append(ch)
    return "".join(out) + ("…" if len(value) > limit else "")


def classify(p: ColumnProfile, settings: Settings) -> ColumnReport:
    """Decide the type and class of one profiled column."""
    hints = {h.type: h for h in name_hints(p.name)}
    vals = _Values(p, settings.max_validate)
    cands: list[Candidate] = []
    notes: list[str] = []
    is_float = p.engine_type in FLOAT_TYPES or p.engine_type.startswith("DECIMAL")
    is_int = p.engine_type in INTEGER_TYPES
    is_temporal = p.engine_type in DATE_ENGINE_TYPES | TIMESTAMP_ENGINE_TYPES

    if p.non_null and not is_temporal and p.engine_type != "BOOLEAN":
        if not is_float:
            for type_, validator in (
                ("email", None),
                ("url", None),
                ("mac_address", None),
                ("ip_address", v.ip_ok),
                ("credit_card", v.credit_card_ok),
                ("iban", v.iban_ok),
                ("us_ssn", v.us_ssn_ok),
                ("us_itin", v.us_itin_ok),
                ("aba_routing", v.aba_routing_ok),
                ("postal_code", None),
                ("street_address", None),
            ):
                if p.type_hits.get(type_, 0):
                    c = _validated(p, vals, type_, validator, settings)
                    if c is not None:
                        cands.append(c)
            if p.type_hits.get("company", 0):
                c = _validated(
                    p, vals, "company", None, settings, fmt_ids=["company_suffix", "company_cjk"]
                )
                if c is not None and c.support > 0:
                    cands.append(c)
            # phone parsing is the costliest check: only where phone formats are common
            if p.type_hits.get("phone", 0) >= 0.1 * p.non_null:
                c = _phone(p, vals, settings)
                if c is not None:
                    cands.append(c)
            if p.type_hits.get("national_id", 0):
                c = _national_id(p, vals, settings)
                if c is not None:
                    cands.append(c)
            if p.type_hits.get("date", 0):
                cands.extend(_dates(p, vals, settings))
            if p.type_hits.get("secret", 0):
                c = _secret(p, vals, settings)
                if c is not None:
                    cands.append(c)
            if not is_int:
                cands.extend(_names(p, vals))
                c = _country(p, vals)
                if c is not None:
                    cands.append(c)
                c = _gender(p, vals)
                if c is not None:
                    cands.append(c)
        c = _coordinates(p, vals, settings, hints.get("coordinates"))
        if c is not None:
            cands.append(c)
        if (
            (is_int or is_float)
            and p.num_min is not None
            and p.num_max is not None
            and p.num_min >= 0
            and p.num_max <= 120
            and (p.num_integral or 0) > 0.95
        ):
            cands.append(Candidate("age", 1.0, 0.1, detail="whole numbers 0-120"))
    elif is_temporal:
        cands.extend(_dates(p, vals, settings))

    # name-only types: the hint decides, values only have to be compatible
    for t in ("record_id", "sensitive", "city", "secret", "company", "country", "free_text"):
        if t in hints and not any(c.type == t for c in cands):
            cands.append(Candidate(t, 0.0, 0.0))
    for t in VALUE_TYPES:
        if t in hints and not any(c.type == t for c in cands):
            cands.append(Candidate(t, 0.0, 0.0))

    name_shape = _name_shape(p, vals) if any(t in hints for t in NAME_TYPES) else 0.0
    dated = any(x.type in ("date", "birth_date") and x.support >= 0.2 for x in cands)
    scored: list[tuple[float, Candidate]] = []
    for c in cands:
        hint = hints.get(c.type)
        h = hint.strength if hint else 0.0
        contradicted = c.type in VALUE_TYPES and p.non_null > 0 and c.support < 0.2
        if c.type in NAME_TYPES and name_shape >= 0.6:
            contradicted = False  # dictionaries are never complete: name-shaped values fit
        if c.type in ("birth_date", "date") and dated:
            contradicted = False  # a date column named as another kind of date
        if contradicted or (c.type == "city" and (is_int or is_float or p.avg_len > 40)):
            h = 0.0
        value = c.support * c.spec
        if c.type == "birth_date" and "date" in hints and "birth_date" not in hints:
            h, value = 0.0, value * 0.5  # named as another kind of date
        scored.append((1 - (1 - value) * (1 - h), c))

    scored.sort(key=lambda x: -x[0])
    best_conf, best = scored[0] if scored else (0.0, None)
    # a birth date is a date: when the refinement holds on its own, it wins
    if best is not None and best.type == "date":
        for cf, c in scored:
            if c.type == "birth_date" and cf >= settings.min_confidence:
                best_conf, best = cf, c
                break

    # free text: structured detection failed; look for entities inside the text
    text_like = p.multiword >= 0.3 and p.avg_len >= 25 and not is_temporal
    if text_like and (
        best is None or best_conf < settings.min_confidence or best.type == "free_text"
    ):
        share, ent_counts = _text_entities(p, settings)
        h = hints["free_text"].strength if "free_text" in hints else 0.0
        value_conf = _clamp(0.6 + share) if share >= 0.03 else 0.0
        conf = 1 - (1 - value_conf) * (1 - h)
        if conf >= settings.min_confidence and conf > best_conf:
            top = ", ".join(f"{k} {n}" for k, n in sorted(ent_counts.items(), key=lambda x: -x[1]))
            best = Candidate(
                "free_text",
                share,
                1.0,
                match_rate=share,
                detail=f"{share:.0%} of sampled texts contain personal data ({top or 'none found'})",
            )
            best_conf = conf
            scored.insert(0, (conf, best))

    # a mix of identifier types (a 'contact' column with e-mails and phones)
    if best is not None and best_conf < settings.min_confidence:
        ident = [
            (cf, c)
            for cf, c in scored
            if class_of(c.type) == "identifier" and c.support >= 0.15 and c.spec >= 0.5
        ]
        total = sum(c.support for _, c in ident)
        if len(ident) >= 2 and total >= 0.6:
            mix = ", ".join(f"{c.type} {c.support:.0%}" for _, c in ident)
            lead = max(ident, key=lambda x: x[1].support)[1]
            best_conf = _clamp(total * sum(c.spec * c.support for _, c in ident) / total)
            best = Candidate(
                lead.type,
                lead.support,
                lead.spec,
                lead.match_rate,
                lead.checksum_rate,
                lead.chance,
                f"mixed column: {mix}",
            )

    detected = best is not None and best_conf >= settings.min_confidence
    examples = [mask_example(x) for x in p.values[:3]]
    if not detected or best is None:
        if p.non_null == 0:
            notes.append("no non-null value in the sample")
        return ColumnReport(
            name=p.name,
            engine_type=p.engine_type,
            type=None,
            column_class="insensitive",
            confidence=round(1 - best_conf, 3) if best is not None else 1.0,
            evidence=Evidence(
                examples=examples,
                detail="no detector matched"
                if best is None
                else f"best guess {best.type} ({best_conf:.2f}) below threshold",
            ),
            non_null=p.non_null,
            distinct=p.distinct,
            distinct_ratio=round(p.distinct_ratio, 4),
            alternatives=[(c.type, round(cf, 3)) for cf, c in scored[:3] if cf > 0.2],
            notes=notes,
        )
    hint = hints.get(best.type)
    ev = Evidence(
        match_rate=None if best.match_rate is None else round(best.match_rate, 4),
        checksum_rate=None if best.checksum_rate is None else round(best.checksum_rate, 4),
        chance_rate=None if best.chance is None else round(best.chance, 4),
        name_hint=hint.matched if hint else None,
        detail=best.detail or TYPES[best.type][1],
        examples=examples,
    )
    return ColumnReport(
        name=p.name,
        engine_type=p.engine_type,
        type=best.type,
        column_class=class_of(best.type),
        confidence=round(best_conf, 3),
        evidence=ev,
        non_null=p.non_null,
        distinct=p.distinct,
        distinct_ratio=round(p.distinct_ratio, 4),
        alternatives=[(c.type, round(cf, 3)) for cf, c in scored if c is not best and cf > 0.2][:3],
        notes=notes,
    )


__all__ = ["ColumnProfile", "Settings", "classify", "mask_example", "significance"]
