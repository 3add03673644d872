"""Input data for the parity tests: deterministic, with the awkward values each transform has
to agree on across engines (nulls, empty strings, accents, CJK, emoji, İ and Σ, tabs, CR/LF,
long values, -0.0, 1e16, 1e-5, tiny and huge numbers, leap days, microseconds)."""

from __future__ import annotations

import datetime as dt
import decimal
import random
from typing import Any

import pyarrow as pa

N = 600

TEXTS = [
    "alice",
    "Bob Smith",
    "",
    " padded ",
    "\ttab\t",
    "line1\nline2",
    "cr\rcr",
    "trailing newline\n",
    "İstanbul ΟΔΟΣ",
    "ΣΊΣΥΦΟΣ",
    "José Zoë Björn",
    "伟 芳 明",
    "emoji 👍🏽 ok",
    "e\u0301 combining",
    "ß straße",
    "x" * 300,
    'quote " and , comma',
    "dollar $1 back\\slash",
    "4111-1111-1111-1234",
    "+1 (415) 555-0134",
    "AB",
    "a",
]
EMAILS = [
    "jane.doe@example.com",
    "JOHN@Example.ORG",
    "no-at-sign",
    "two@at@signs.net",
    "@leading.org",
    "trailing@",
    "dots.in.local@sub.domain.co.uk",
    "ünïcode@exämple.de",
    "line\nbreak@x.com",
    "cr\r@y.com",
    "",
]
FREE_TEXT = [
    "Call me at +1 415-555-0134 or mail jane@x.org",
    "Card 4111 1111 1111 1111 expires 12/27, SSN 123-45-6789",
    "IBAN DE89 3704 0044 0532 0130 00 please",
    "Visit https://example.com/path?q=1 or www.test.org.",
    "Met Maria Garcia on 2024-03-05 at 10 Downing Street",
    "server 192.168.0.1 mac 00:1A:2B:3C:4D:5E",
    "nothing to see here",
    "é1990-01-01 Jörg 5 Main St",
]
COUNTRIES = ["US", "CA", "GB", "DE"]
DOUBLES = [
    0.0,
    -0.0,
    0.1,
    1.5,
    -7.25,
    100.0,
    1234.5,
    12345678.9,
    1e15,
    1e16,
    1.2345678901234567e17,
    1e-4,
    1e-5,
    2.5e-8,
    -3.3333333333333335,
    92342.48,
    180590.32,
    1e18,
    5e-324,
]
WIDE = [
    1e300,
    -1e300,
    5e-324,
    2.2250738585072014e-308,
    1e22,
    9007199254740993.0,
    0.30000000000000004,
]


def _rng() -> random.Random:
    return random.Random(20240601)


def base_columns() -> dict[str, pa.Array]:
    """Named input columns of N rows; ~5% nulls in most."""
    r = _rng()

    def maybe(v: Any, p: float = 0.05) -> Any:
        return None if r.random() < p else v

    ids = [maybe(f"u{i % 450:04d}", 0.02) for i in range(N)]
    nids = [maybe(i % 500 - 50, 0.02) for i in range(N)]
    texts = [
        maybe(TEXTS[i % len(TEXTS)] if i < 3 * len(TEXTS) else r.choice(TEXTS)) for i in range(N)
    ]
    emails = [maybe(EMAILS[i % len(EMAILS)]) for i in range(N)]
    doubles = [
        maybe(DOUBLES[i] if i < len(DOUBLES) else round(r.uniform(-1e6, 1e6), r.randint(0, 6)))
        for i in range(N)
    ]
    wide = WIDE + [
        maybe(r.choice([r.uniform(-1, 1), r.expovariate(1e-9), -r.expovariate(1e-3)]))
        for _ in range(N - len(WIDE))
    ]
    ints = [maybe(r.randint(-(10**12), 10**12)) for _ in range(N)]
    ages = [maybe(r.randint(0, 120)) for _ in range(N)]
    dates = [
        maybe(dt.date(1900, 1, 1) + dt.timedelta(days=r.randint(0, 47000))) for _ in range(N - 3)
    ] + [dt.date(2024, 2, 29), dt.date(1999, 12, 31), dt.date(2000, 1, 1)]
    births = [
        maybe(dt.date(2025, 12, 31) - dt.timedelta(days=r.randint(0, 40000))) for _ in range(N)
    ]
    times = [
        maybe(
            dt.datetime(1970, 1, 1)
            + dt.timedelta(
                seconds=r.randint(0, 2_000_000_000),
                microseconds=r.choice([0, 0, 120000, 123456, 1]),
            )
        )
        for _ in range(N)
    ]
    countries = [maybe(r.choice(COUNTRIES)) for _ in range(N)]
    free = [maybe(FREE_TEXT[i % len(FREE_TEXT)]) for i in range(N)]
    decimals = [maybe(decimal.Decimal(r.randint(-(10**9), 10**9)) / 100) for _ in range(N)]
    floats32 = [
        maybe(r.choice([0.1, 1e7, 1e-5, 3.0, 1.5, r.uniform(-1e9, 1e9), 1.2345679e17]))
        for _ in range(N)
    ]
    digits = [
        maybe("".join(r.choice("0123456789") for _ in range(r.choice([9, 12, 16]))))
        for _ in range(N)
    ]
    return {
        "_rid": pa.array(range(N), pa.int64()),
        "id": pa.array(ids, pa.string()),
        "nid": pa.array(nids, pa.int64()),
        "text": pa.array(texts, pa.string()),
        "email": pa.array(emails, pa.string()),
        "x": pa.array(doubles, pa.float64()),
        "wide": pa.array(wide, pa.float64()),
        "n": pa.array(ints, pa.int64()),
        "age": pa.array(ages, pa.int32()),
        "day": pa.array(dates, pa.date32()),
        "birth": pa.array(births, pa.date32()),
        "ts": pa.array(times, pa.timestamp("us")),
        "country": pa.array(countries, pa.string()),
        "free": pa.array(free, pa.string()),
        "dec": pa.array(decimals, pa.decimal128(14, 2)),
        "f32": pa.array(floats32, pa.float32()),
        "digits": pa.array(digits, pa.string()),
    }


def matrix_table(variants: list[tuple[str, str, dict[str, Any]]]) -> pa.Table:
    """The base columns plus one copy of an input column per transform variant."""
    base = base_columns()
    cols = dict(base)
    for name, source, _ in variants:
        cols[name] = base[source]
    return pa.table(cols)
