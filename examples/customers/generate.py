"""Reproducible synthetic customer data (fake PII) for exercising veil.

Usage::

    python examples/customers/generate.py --rows 10000000 --format parquet \\
        --out examples/customers/data/customers.parquet [--seed 7]

Also importable (``examples/`` is not a package, load it by file path)::

    generate(rows=2_000, out=Path("customers.csv"), fmt="csv", seed=7)

How it stays fast: Faker (seeded) is used only to build small pools of names, cities, streets,
companies and note sentences. Every row is then assembled with NumPy random indices into those
pools plus fixed-width digit matrices (ids, phones, SSNs, card numbers, zips) turned into Arrow
string arrays without a Python-level loop. Rows are produced and written in chunks, so memory
stays bounded whatever ``--rows`` is.

Determinism: the same ``seed``, ``rows`` and ``chunk_rows`` (and the same Faker / pyarrow
versions) give byte-identical files. Every value is fake; the SSNs and card numbers merely look
valid (SSN area/group/serial rules, Luhn check digit).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import os
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from faker import Faker

FORMATS = ("csv", "parquet")

SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("email", pa.string()),
        ("phone", pa.string()),
        ("ssn", pa.string()),
        ("card_number", pa.string()),
        ("birth_date", pa.date32()),
        ("zip", pa.string()),
        ("city", pa.string()),
        ("country", pa.string()),
        ("salary", pa.float64()),
        ("signup_ts", pa.timestamp("us")),
        ("notes", pa.string()),
    ]
)

COUNTRIES = ("US", "CA", "GB", "DE")
COUNTRY_P = (0.85, 0.05, 0.05, 0.05)
CITY_LOCALES = {"US": ("en_US", 350), "CA": ("en_CA", 50), "GB": ("en_GB", 50), "DE": ("de_DE", 50)}
# (locale, how many distinct names to draw); en_US dominates.
NAME_LOCALES = (("en_US", 1750), ("es_MX", 100), ("de_DE", 80), ("fr_FR", 50))
# Always present so every dataset has accented and CJK names; (display, ascii slug for email).
EXTRA_FIRST = (
    ("José", "jose"),
    ("Zoë", "zoe"),
    ("Björn", "bjorn"),
    ("Renée", "renee"),
    ("Łukasz", "lukasz"),
    ("Søren", "soren"),
    ("伟", "wei"),
    ("芳", "fang"),
    ("明", "ming"),
    ("秀英", "xiuying"),
)
EXTRA_LAST = (
    ("Peña", "pena"),
    ("Müller", "muller"),
    ("Nguyễn", "nguyen"),
    ("Đặng", "dang"),
    ("Ødegård", "odegard"),
    ("李", "li"),
    ("王", "wang"),
    ("张", "zhang"),
    ("陈", "chen"),
    ("刘", "liu"),
)
DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "hotmail.com",
    "icloud.com",
    "aol.com",
    "proton.me",
    "example.com",
    "example.org",
    "example.net",
    "mail.com",
    "fastmail.com",
    "comcast.net",
    "verizon.net",
    "live.com",
    "gmx.de",
    "web.de",
    "yahoo.co.uk",
    "btinternet.com",
    "shaw.ca",
)

BIRTH_MIN = dt.date(1935, 1, 1)
BIRTH_MAX = dt.date(2006, 12, 31)
SIGNUP_MIN = dt.datetime(2015, 1, 1)
SIGNUP_MAX = dt.datetime(2025, 12, 31, 23, 59, 59)
NOTE_DATE_MIN = dt.date(2015, 1, 1)
NOTE_DATE_MAX = dt.date(2025, 12, 31)
EPOCH = dt.date(1970, 1, 1)

NULL_RATE = 0.01  # phone, zip, salary
NOTES_NULL_RATE = 0.10
NOTES_EMPTY_RATE = 0.03

# Note templates are "<lit0>{a}<lit1>{b}<lit2>" with at most two placeholders.
PLACEHOLDERS = ("", "date", "email", "phone", "first", "company", "address")
_OPENERS = (
    "Called on {date}",
    "Emailed on {date}",
    "Chat session {date}",
    "Visited branch on {date}",
    "Spoke with {first}",
    "Follow-up for {first}",
    "Ticket opened",
    "Customer wrote in",
    "Account review",
    "Inbound call",
)
_ACTIONS = (
    "asked to update card",
    "requested a refund",
    "disputed a charge",
    "wants paper statements",
    "reported a lost card",
    "asked about the loyalty program",
    "changed billing address",
    "requested account closure",
    "complained about fees",
    "asked for a credit limit increase",
    "upgraded to premium",
    "opted out of marketing",
)
_CONTACTS = (
    "; reach at {email}",
    "; callback {phone}",
    ", prefers email {email}",
    ", call back on {phone}",
    "; new address {address}",
    "; employer {company}",
    ".",
    "",
)
_PLAIN = (
    "VIP customer, handle with care.",
    "No issues reported.",
    "Prefers contact in the afternoon.",
    "Do not call before 9am.",
    "Duplicate account merged.",
    "Verified identity over the phone.",
    "Card reissued after fraud alert.",
    "Spanish-speaking, needs translator.",
    "Customer is très satisfait with the service.",
    "Über-loyal customer since day one.",
)


# --------------------------------------------------------------------------- pools


def _ascii_slug(text: str) -> str:
    """Lowercase ASCII letters only: accents stripped, everything else dropped."""
    text = text.replace("ß", "ss").replace("Æ", "Ae").replace("æ", "ae")
    for a, b in (("Ø", "O"), ("ø", "o"), ("Ł", "L"), ("ł", "l"), ("Đ", "D"), ("đ", "d")):
        text = text.replace(a, b)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if "a" <= c.lower() <= "z").lower()


def _distinct(draw, n: int) -> list[str]:
    """Up to ``n`` distinct values from at most ``3 n`` calls of ``draw()`` (order kept)."""
    seen: dict[str, None] = {}
    for _ in range(n * 3):
        seen.setdefault(draw(), None)
        if len(seen) >= n:
            break
    return list(seen)


def _name_pool(fake: Faker, attr: str, extra: tuple[tuple[str, str], ...]) -> tuple[list, list]:
    """``n`` raw draws per locale, duplicates kept: uniform picks from the pool then follow
    Faker's frequency weighting (common names stay common). Returns (names, ascii slugs)."""
    names: list[str] = []
    slugs: list[str] = []
    for locale, n in NAME_LOCALES:
        draw = getattr(fake[locale], attr)
        for _ in range(n):
            name = draw()
            names.append(name)
            slugs.append(_ascii_slug(name) or "user")
    for name, slug in extra:
        names.append(name)
        slugs.append(slug)
    return names, slugs


def _split_template(template: str) -> tuple[str, str, str, str, str]:
    """'a{x}b{y}c' -> ('a', 'x', 'b', 'y', 'c'); missing placeholders become ''."""
    lits, phs, rest = [], [], template
    while "{" in rest and len(phs) < 2:
        head, _, tail = rest.partition("{")
        ph, _, rest = tail.partition("}")
        if ph not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{ph}}} in note template")
        lits.append(head)
        phs.append(ph)
    lits.append(rest)
    while len(phs) < 2:
        phs.append("")
        lits.append("")
    return lits[0], phs[0], lits[1], phs[1], lits[2]


class Pools:
    """Small Faker-built value pools as Arrow arrays, ready for ``take``."""

    def __init__(self, seed: int):
        locales = sorted({loc for loc, _ in NAME_LOCALES} | {v[0] for v in CITY_LOCALES.values()})
        fake = Faker(locales)
        # Per-instance seeds (no global Faker state touched), distinct per locale.
        for i, locale in enumerate(locales):
            fake[locale].seed_instance(seed * 1_000 + i)

        first, first_slug = _name_pool(fake, "first_name", EXTRA_FIRST)
        last, last_slug = _name_pool(fake, "last_name", EXTRA_LAST)
        self.first = pa.array(first, pa.string())
        self.first_slug = pa.array(first_slug, pa.string())
        self.last = pa.array(last, pa.string())
        self.last_slug = pa.array(last_slug, pa.string())
        self.domains = pa.array(DOMAINS, pa.string())

        # One flat city pool; country c owns cities[city_start[c] : city_start[c] + city_size[c]].
        cities, starts, sizes = [], [], []
        for country in COUNTRIES:
            locale, n = CITY_LOCALES[country]
            pool = _distinct(fake[locale].city, n)
            starts.append(len(cities))
            sizes.append(len(pool))
            cities.extend(pool)
        self.cities = pa.array(cities, pa.string())
        self.city_start = np.array(starts, dtype=np.int64)
        self.city_size = np.array(sizes, dtype=np.int64)
        self.countries = pa.array(COUNTRIES, pa.string())

        self.streets = pa.array(_distinct(fake["en_US"].street_name, 1_000), pa.string())
        self.companies = pa.array(_distinct(fake["en_US"].company, 300), pa.string())

        templates = [f"{o}, {a}{c}" for o in _OPENERS for a in _ACTIONS for c in _CONTACTS]
        templates += list(_PLAIN)
        templates += _distinct(lambda: fake["en_US"].sentence(nb_words=10), 150)
        parts = [_split_template(t) for t in templates]
        self.note_lit0 = pa.array([p[0] for p in parts], pa.string())
        self.note_lit1 = pa.array([p[2] for p in parts], pa.string())
        self.note_lit2 = pa.array([p[4] for p in parts], pa.string())
        self.note_ph1 = np.array([PLACEHOLDERS.index(p[1]) for p in parts], dtype=np.int8)
        self.note_ph2 = np.array([PLACEHOLDERS.index(p[3]) for p in parts], dtype=np.int8)
        self.n_templates = len(templates)


@functools.lru_cache(maxsize=4)
def _pools(seed: int) -> Pools:
    return Pools(seed)


# --------------------------------------------------------------------------- vector helpers


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative ints -> (n, width) uint8 matrix of zero-padded ASCII digits."""
    v = values.astype(np.int64 if width > 9 else np.int32)
    out = np.empty((v.size, width), dtype=np.uint8)
    for col in range(width - 1, -1, -1):
        v, r = np.divmod(v, 10)
        out[:, col] = r
    out += ord("0")
    return out


def _fixed(n: int, *parts) -> np.ndarray:
    """Concatenate ASCII uint8 matrices and literal strings column-wise into an (n, w) matrix."""
    width = sum(len(p) if isinstance(p, str) else p.shape[1] for p in parts)
    out = np.empty((n, width), dtype=np.uint8)
    pos = 0
    for part in parts:
        if isinstance(part, str):
            part = np.frombuffer(part.encode("ascii"), dtype=np.uint8)
        w = part.shape[-1]
        out[:, pos : pos + w] = part
        pos += w
    return out


def _strings(matrix: np.ndarray, null_mask: np.ndarray | None = None) -> pa.Array:
    """(n, w) uint8 matrix -> Arrow string array of n w-byte values, zero-copy."""
    n, w = matrix.shape
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(w)
    return _as_string_array(n, offsets, matrix.reshape(-1), null_mask)


def _strings_choice(matrices: list[np.ndarray], choice: np.ndarray, null_mask=None) -> pa.Array:
    """Row i takes its bytes from ``matrices[choice[i]][i]`` (matrices may differ in width)."""
    n = choice.size
    widths = np.array([m.shape[1] for m in matrices], dtype=np.int32)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(widths[choice], out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    for k, m in enumerate(matrices):
        rows = np.flatnonzero(choice == k)
        data[offsets[rows][:, None] + np.arange(m.shape[1])] = m[rows]
    return _as_string_array(n, offsets, data, null_mask)


def _as_string_array(n, offsets, data, null_mask) -> pa.Array:
    validity = None
    if null_mask is not None and null_mask.any():
        validity = pa.py_buffer(np.packbits(~null_mask, bitorder="little"))
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(data), validity, null_count=-1
    )


def _with_nulls(arr: pa.Array, null_mask: np.ndarray) -> pa.Array:
    """``arr`` with the rows where ``null_mask`` is true set to null (buffers reused)."""
    if not null_mask.any():
        return arr
    if arr.null_count == 0 and arr.offset == 0 and pa.types.is_string(arr.type):
        _, offsets, data = arr.buffers()
        validity = pa.py_buffer(np.packbits(~null_mask, bitorder="little"))
        return pa.StringArray.from_buffers(len(arr), offsets, data, validity, null_count=-1)
    return pc.if_else(pa.array(null_mask), pa.scalar(None, arr.type), arr)


_LUHN_DOUBLE = np.array([0, 2, 4, 6, 8, 1, 3, 5, 7, 9], dtype=np.uint8)  # 2d, minus 9 if > 9


def _luhn_check_digit(payload: np.ndarray) -> np.ndarray:
    """Luhn check digit for each row of an (n, k) uint8 matrix of digits (most significant
    first). Doubling starts at the rightmost payload digit, i.e. the one left of the check digit."""
    k = payload.shape[1]
    doubled = _LUHN_DOUBLE[payload[:, k - 1 :: -2]].sum(axis=1, dtype=np.int32)
    plain = payload[:, k - 2 :: -2].sum(axis=1, dtype=np.int32) if k > 1 else 0
    return ((10 - (doubled + plain) % 10) % 10).astype(np.uint8)


def _days(d: dt.date) -> int:
    return (d - EPOCH).days


# --------------------------------------------------------------------------- one chunk


def _chunk(pools: Pools, rng: np.random.Generator, start: int, n: int, id_width: int) -> pa.Table:
    # customer_id: C + zero-padded sequence number, 1-based.
    ids = np.arange(start + 1, start + n + 1, dtype=np.int64)
    customer_id = _strings(_fixed(n, "C", _digits(ids, id_width)))

    fi = pa.array(rng.integers(0, len(pools.first), n, dtype=np.int32))
    li = pa.array(rng.integers(0, len(pools.last), n, dtype=np.int32))
    first_name = pools.first.take(fi)
    last_name = pools.last.take(li)
    nn = pc.cast(pa.array(rng.integers(1, 100, n, dtype=np.int32)), pa.string())
    domain = pools.domains.take(pa.array(rng.integers(0, len(pools.domains), n, dtype=np.int32)))
    email = pc.binary_join_element_wise(
        pools.first_slug.take(fi), ".", pools.last_slug.take(li), nn, "@", domain, ""
    )

    # Phone: NANP-looking area code and exchange (first digit 2-9), four formats.
    area = _digits(rng.integers(200, 1000, n), 3)
    exch = _digits(rng.integers(200, 1000, n), 3)
    line = _digits(rng.integers(0, 10_000, n), 4)
    phone_formats = [
        _fixed(n, "+1 ", area, "-", exch, "-", line),
        _fixed(n, "(", area, ") ", exch, "-", line),
        _fixed(n, area, ".", exch, ".", line),
        _fixed(n, area, "-", exch, "-", line),
    ]
    phone_fmt = rng.choice(4, n, p=[0.3, 0.3, 0.2, 0.2]).astype(np.int8)
    phone_full = _strings_choice(phone_formats, phone_fmt)
    phone_null = rng.random(n) < NULL_RATE
    phone = _with_nulls(phone_full, phone_null)

    # SSN: area 001-899 except 666, group 01-99, serial 0001-9999.
    ssn_area = rng.integers(1, 899, n)
    ssn_area[ssn_area >= 666] += 1
    ssn = _strings(
        _fixed(
            n,
            _digits(ssn_area, 3),
            "-",
            _digits(rng.integers(1, 100, n), 2),
            "-",
            _digits(rng.integers(1, 10_000, n), 4),
        )
    )

    # Card: 16 digits, Visa 4 / Mastercard 51-55 / Discover 6011, Luhn-valid, dashed.
    digits = rng.integers(0, 10, (n, 16), dtype=np.uint8)
    scheme = rng.choice(3, n, p=[0.55, 0.35, 0.10])
    visa, mc, disc = scheme == 0, scheme == 1, scheme == 2
    digits[visa, 0] = 4
    digits[mc, 0] = 5
    digits[mc, 1] = rng.integers(1, 6, int(mc.sum()))
    digits[disc, :4] = (6, 0, 1, 1)
    digits[:, 15] = _luhn_check_digit(digits[:, :15])
    cd = digits + np.uint8(ord("0"))
    card_number = _strings(
        _fixed(n, cd[:, 0:4], "-", cd[:, 4:8], "-", cd[:, 8:12], "-", cd[:, 12:16])
    )

    birth_days = rng.integers(_days(BIRTH_MIN), _days(BIRTH_MAX) + 1, n, dtype=np.int32)
    birth_date = pa.array(birth_days.astype("datetime64[D]"), pa.date32())

    zip_null = rng.random(n) < NULL_RATE
    zip_ = _strings(_digits(rng.integers(501, 99_951, n), 5), zip_null)

    country_i = rng.choice(len(COUNTRIES), n, p=COUNTRY_P)
    country = pools.countries.take(pa.array(country_i.astype(np.int32)))
    city_i = pools.city_start[country_i] + (rng.random(n) * pools.city_size[country_i]).astype(
        np.int64
    )
    city = pools.cities.take(pa.array(city_i))

    salary_v = np.round(rng.lognormal(np.log(60_000), 0.45, n), 2)
    salary = pa.array(salary_v, pa.float64(), mask=rng.random(n) < NULL_RATE)

    span_s = int((SIGNUP_MAX - SIGNUP_MIN).total_seconds())  # naive, no local-time involvement
    signup_s = rng.integers(0, span_s + 1, n, dtype=np.int64) + _days(SIGNUP_MIN.date()) * 86_400
    signup_ts = pa.array((signup_s * 1_000_000).astype("datetime64[us]"), pa.timestamp("us"))

    notes = _notes(pools, rng, n, email, phone_full, first_name)

    return pa.Table.from_arrays(
        [
            customer_id,
            first_name,
            last_name,
            email,
            phone,
            ssn,
            card_number,
            birth_date,
            zip_,
            city,
            country,
            salary,
            signup_ts,
            notes,
        ],
        schema=SCHEMA,
    )


def _notes(pools: Pools, rng, n: int, email, phone, first_name) -> pa.Array:
    t = rng.integers(0, pools.n_templates, n, dtype=np.int32)
    t_arr = pa.array(t)
    note_days = rng.integers(_days(NOTE_DATE_MIN), _days(NOTE_DATE_MAX) + 1, n, dtype=np.int32)
    date_str = pc.cast(pa.array(note_days.astype("datetime64[D]"), pa.date32()), pa.string())
    company = pools.companies.take(pa.array(rng.integers(0, len(pools.companies), n, np.int32)))
    house = pc.cast(pa.array(rng.integers(1, 10_000, n, dtype=np.int32)), pa.string())
    street = pools.streets.take(pa.array(rng.integers(0, len(pools.streets), n, np.int32)))
    address = pc.binary_join_element_wise(house, street, " ")
    empty = _strings(np.empty((n, 0), dtype=np.uint8))
    # Order must match PLACEHOLDERS.
    values = [empty, date_str, email, phone, first_name, company, address]
    slot1 = pc.choose(pa.array(pools.note_ph1[t]), *values)
    slot2 = pc.choose(pa.array(pools.note_ph2[t]), *values)
    notes = pc.binary_join_element_wise(
        pools.note_lit0.take(t_arr),
        slot1,
        pools.note_lit1.take(t_arr),
        slot2,
        pools.note_lit2.take(t_arr),
        "",
    )
    u = rng.random(n)
    notes = pc.if_else(
        pa.array((u >= NOTES_NULL_RATE) & (u < NOTES_NULL_RATE + NOTES_EMPTY_RATE)), "", notes
    )
    return _with_nulls(notes, u < NOTES_NULL_RATE)


# --------------------------------------------------------------------------- driver


def generate(rows: int, out: Path, fmt: str, seed: int = 7, chunk_rows: int = 500_000) -> Path:
    """Write ``rows`` synthetic customers to ``out`` as ``fmt`` ('csv' or 'parquet').

    Output is byte-identical for the same (rows, fmt, seed, chunk_rows). The file is written to
    a temporary sibling and renamed into place, so a crash never leaves a half-written ``out``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    if rows < 0 or chunk_rows <= 0:
        raise ValueError("rows must be >= 0 and chunk_rows > 0")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")

    pools = _pools(seed)
    id_width = max(8, len(str(rows)))
    if fmt == "parquet":
        writer = pq.ParquetWriter(tmp, SCHEMA, compression="zstd")
    else:
        writer = pacsv.CSVWriter(tmp, SCHEMA)
    try:
        for index, start in enumerate(range(0, rows, chunk_rows)):
            n = min(chunk_rows, rows - start)
            # Independent stream per chunk, derived from (seed, chunk index).
            rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
            writer.write_table(_chunk(pools, rng, start, n, id_width))
        if rows == 0 and fmt == "parquet":
            writer.write_table(SCHEMA.empty_table())
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(tmp, out)
    return out


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate synthetic customer data.")
    parser.add_argument("--rows", type=int, required=True, help="number of customers")
    parser.add_argument("--format", choices=FORMATS, required=True, dest="fmt")
    parser.add_argument("--out", type=Path, required=True, help="output file")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--chunk-rows", type=int, default=500_000, help="rows per chunk")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    out = generate(args.rows, args.out, args.fmt, seed=args.seed, chunk_rows=args.chunk_rows)
    size_mb = out.stat().st_size / 1e6
    elapsed = time.perf_counter() - t0
    print(
        f"wrote {args.rows:,} rows to {out} ({size_mb:.1f} MB) in {elapsed:.1f}s", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    sys.exit(_main())
