"""A labelled evaluation corpus for `veil scan`: generated tables whose column types are known.

Tables in several locales (Faker, seeded), with informative, localized and neutral column
names, messy formatting (padding, mixed case, separators, nulls, junk values in a share of the
rows) and hard negatives that look like personal data and are not: order numbers, SKUs, epoch
timestamps, 10-digit and 16-digit numeric ids (about 10% of which pass Luhn by chance),
9-digit tracking numbers, zip-like product codes, UUIDs, version strings, amounts.

Each table comes with its labels: column -> true type (None for not personal). Also used by
``bench/scan.py`` to compare precision/recall with Presidio.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
from faker import Faker

ROWS = 400


@dataclass
class LabelledTable:
    name: str
    table: pa.Table
    labels: dict[str, str | None]
    holdout: bool = False
    """Names from locales the name dictionaries were not built from."""


class _Gen:
    def __init__(self, locale: str, seed: int) -> None:
        self.f = Faker(locale)
        self.f.seed_instance(seed)
        self.rng = random.Random(seed)
        self.locale = locale

    def col(
        self,
        make: Callable[[], object],
        *,
        nulls: float = 0.08,
        pad: float = 0.05,
        junk: float = 0.0,
        case: float = 0.0,
        rows: int = ROWS,
    ) -> list[object]:
        out: list[object] = []
        for _ in range(rows):
            r = self.rng.random()
            if r < nulls:
                out.append(None)
                continue
            if r < nulls + junk:
                out.append(self.rng.choice(["n/a", "unknown", "-", "none", "?", "TBD"]))
                continue
            v = make()
            if isinstance(v, str):
                if self.rng.random() < case:
                    v = v.upper() if self.rng.random() < 0.5 else v.lower()
                if self.rng.random() < pad:
                    v = " " + v + "  "
            out.append(v)
        return out

    # ---- formatted values
    def card(self) -> str:
        n = self.f.credit_card_number(
            card_type=self.rng.choice(["visa16", "mastercard", "amex", "discover"])
        )
        style = self.rng.random()
        if style < 0.4:
            return n
        sep = " " if style < 0.7 else "-"
        if len(n) == 15:
            return sep.join([n[:4], n[4:10], n[10:]])
        return sep.join(n[i : i + 4] for i in range(0, len(n), 4))

    def iban(self) -> str:
        n = self.f.iban()
        if self.rng.random() < 0.5:
            return " ".join(n[i : i + 4] for i in range(0, len(n), 4))
        return n

    def ssn(self) -> str:
        return self.f.ssn()

    def ssn_bare(self) -> str:
        return self.f.ssn().replace("-", "")

    def luhn_chance_id(self) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(16))

    def digits(self, n: int, first: str = "123456789") -> str:
        return self.rng.choice(first) + "".join(
            self.rng.choice(string.digits) for _ in range(n - 1)
        )

    def secret(self) -> str:
        kind = self.rng.random()
        if kind < 0.5:
            return self.f.password(length=self.rng.randint(10, 20))
        if kind < 0.75:
            return "sk_live_" + "".join(
                self.rng.choice(string.ascii_letters + string.digits) for _ in range(24)
            )
        return "".join(
            self.rng.choice(string.ascii_letters + string.digits + "_-") for _ in range(32)
        )

    def sku(self) -> str:
        return (
            "".join(self.rng.choice(string.ascii_uppercase) for _ in range(2))
            + "-"
            + self.digits(4)
            + "-"
            + "".join(self.rng.choice(string.ascii_uppercase) for _ in range(2))
        )

    def note(self) -> str:
        f = self.f
        pii = self.rng.choice(
            [
                lambda: f"reach at {f.email()}",
                lambda: f"callback {f.phone_number()}",
                lambda: f"spoke with {f.first_name()} {f.last_name()}",
                lambda: f"new address {f.street_address()}",
                lambda: f"card {f.credit_card_number()} declined",
                lambda: f"SSN on file {f.ssn()}",
                lambda: "",
                lambda: "",
            ]
        )()
        return f"{f.sentence(nb_words=6)} {pii}".strip()

    def product_text(self) -> str:
        return (
            f"{self.rng.choice(['Durable', 'Compact', 'Premium', 'Lightweight'])} "
            f"{self.rng.choice(['steel', 'cotton', 'bamboo', 'aluminium'])} "
            f"{self.rng.choice(['kettle', 'shirt', 'lamp', 'backpack'])} with "
            f"{self.rng.randint(2, 12)} {self.rng.choice(['pockets', 'settings', 'colours'])}, "
            f"ships in {self.rng.randint(1, 9)} days."
        )


def _en_us(seed: int) -> LabelledTable:
    g = _Gen("en_US", seed)
    f = g.f
    cols: dict[str, tuple[list[object], str | None]] = {
        "customer_id": (g.col(lambda: f"C{g.digits(8)}", nulls=0), "record_id"),
        "first_name": (g.col(f.first_name, case=0.1), "first_name"),
        "last_name": (g.col(f.last_name, case=0.1), "last_name"),
        "full_name": (g.col(f.name), "full_name"),
        "cust_email": (g.col(f.email, case=0.2, junk=0.05), "email"),
        "tel": (g.col(f.phone_number), "phone"),
        "ssn": (g.col(g.ssn), "us_ssn"),
        "itin": (g.col(f.itin), "us_itin"),
        "cc_number": (g.col(g.card), "credit_card"),
        "iban": (g.col(g.iban), "iban"),
        "routing_number": (g.col(f.aba), "aba_routing"),
        "ip": (g.col(f.ipv4), "ip_address"),
        "client_ipv6": (g.col(f.ipv6), "ip_address"),
        "device_mac": (g.col(f.mac_address), "mac_address"),
        "website": (g.col(f.url), "url"),
        "dob": (
            g.col(lambda: f.date_of_birth(minimum_age=18, maximum_age=90).isoformat()),
            "birth_date",
        ),
        "created_at": (g.col(lambda: f.date_time_between("-5y").isoformat(sep=" ")), "date"),
        "zip": (g.col(f.zipcode), "postal_code"),
        "street_address": (g.col(f.street_address), "street_address"),
        "employer": (g.col(f.company), "company"),
        "city": (g.col(f.city), "city"),
        "country": (g.col(f.country), "country"),
        "gender": (g.col(lambda: g.rng.choice(["M", "F", "Male", "Female", "X"])), "gender"),
        "age": (g.col(lambda: g.rng.randint(18, 95)), "age"),
        "salary": (g.col(lambda: round(g.rng.uniform(20_000, 200_000), 2)), "sensitive"),
        "password": (g.col(g.secret, nulls=0.02), "secret"),
        "notes": (g.col(g.note), "free_text"),
        "lat": (g.col(lambda: float(f.latitude())), "coordinates"),
        "lng": (g.col(lambda: float(f.longitude())), "coordinates"),
        "order_id": (g.col(lambda: f"ORD-{g.digits(7)}", nulls=0), None),
        "sku": (g.col(g.sku), None),
        "amount": (g.col(lambda: round(g.rng.uniform(1, 999), 2)), None),
        "quantity": (g.col(lambda: g.rng.randint(1, 40)), None),
        "status": (g.col(lambda: g.rng.choice(["open", "shipped", "returned", "cancelled"])), None),
        "product_description": (g.col(g.product_text), None),
    }
    return _table("en_US informative names", cols)


def _neutral(seed: int) -> LabelledTable:
    """Neutral names: only the values can tell."""
    g = _Gen("en_US", seed)
    f = g.f
    gb = Faker("en_GB")
    gb.seed_instance(seed)
    makers: list[tuple[Callable[[], object], str | None, dict[str, float]]] = [
        (f.email, "email", {"case": 0.3}),
        (
            lambda: f"({g.digits(3, '23456789')}) {g.digits(3, '23456789')}-{g.digits(4)}",
            "phone",
            {},
        ),
        (lambda: "+44 20 7946 " + g.digits(4, "0123456789"), "phone", {}),
        (g.card, "credit_card", {}),
        (g.iban, "iban", {"case": 0.2}),
        (g.ssn, "us_ssn", {}),
        (f.itin, "us_itin", {}),
        (f.aba, "aba_routing", {}),
        (f.ipv4, "ip_address", {}),
        (f.mac_address, "mac_address", {"case": 0.5}),
        (f.uri, "url", {}),
        (lambda: f.date_this_decade().strftime("%d/%m/%Y"), "date", {}),
        (lambda: f.date_time_this_year().isoformat(), "date", {}),
        (f.postcode, None, {}),  # 5-digit US zips: without a name nothing tells them apart
        (gb.postcode, "postal_code", {}),
        (lambda: f"{f.latitude():.5f}, {f.longitude():.5f}", "coordinates", {}),
        (f.first_name, "first_name", {}),
        (f.last_name, "last_name", {}),
        (f.name, "full_name", {}),
        (f.street_address, "street_address", {}),
        (lambda: f.company() + " " + g.rng.choice(["Inc", "LLC", "Ltd", "GmbH"]), "company", {}),
        (g.secret, "secret", {"nulls": 0.0}),
        (g.note, "free_text", {}),
        # hard negatives
        (lambda: f"ORD-{g.digits(6)}", None, {}),
        (g.sku, None, {}),
        (lambda: str(g.rng.randint(1_500_000_000, 1_750_000_000)), None, {}),  # epoch seconds
        (lambda: g.digits(10), None, {}),  # 10-digit numbers that are not phones
        (g.luhn_chance_id, None, {}),  # 16-digit ids, ~10% pass Luhn by chance
        (lambda: g.digits(9), None, {}),  # 9-digit tracking numbers
        (lambda: g.digits(5), None, {}),  # zip-like product codes
        (f.uuid4, None, {}),
        (lambda: f"{g.rng.randint(0, 9)}.{g.rng.randint(0, 30)}.{g.rng.randint(0, 99)}", None, {}),
        (lambda: f"{g.rng.uniform(1, 5000):.2f}", None, {}),
        (lambda: g.rng.choice(["red", "green", "blue", "black"]), None, {}),
        (g.product_text, None, {}),
        (lambda: f"#{g.rng.randint(0, 0xFFFFFF):06x}", None, {}),
        (lambda: g.rng.randint(1, 10_000), None, {}),
    ]
    cols: dict[str, tuple[list[object], str | None]] = {}
    for i, (make, label, opts) in enumerate(makers):
        cols[f"col_{i:02d}"] = (g.col(make, **opts), label)  # type: ignore[arg-type]
    return _table("en_US neutral names", cols)


def _locale_table(
    locale: str, seed: int, names: dict[str, str], holdout: bool = False
) -> LabelledTable:
    """A customer table in ``locale`` with localized column names (``names``: type -> name)."""
    g = _Gen(locale, seed)
    f = g.f
    make: dict[str, Callable[[], object]] = {
        "first_name": f.first_name,
        "last_name": f.last_name,
        "full_name": f.name,
        "email": f.email,
        "phone": f.phone_number,
        "postal_code": f.postcode,
        "street_address": f.street_address,
        "company": f.company,
        "birth_date": lambda: f.date_of_birth(minimum_age=18, maximum_age=90).isoformat(),
        "city": f.city,
        "iban": g.iban,
        "national_id": f.ssn,
        "national_id_nif": f.nif if hasattr(f, "nif") else f.ssn,
    }
    cols: dict[str, tuple[list[object], str | None]] = {}
    for t, col_name in names.items():
        label = "national_id" if t.startswith("national_id") else t
        cols[col_name] = (g.col(make[t], pad=0.05), label)
    cols["bestellnummer" if locale == "de_DE" else "ref"] = (g.col(lambda: f"{g.digits(8)}"), None)
    cols["montant" if locale == "fr_FR" else "betrag"] = (
        g.col(lambda: round(g.rng.uniform(1, 500), 2)),
        None,
    )
    return _table(f"{locale} localized names", cols, holdout=holdout)


def _de_idnr(g: _Gen) -> str:
    from stdnum.de import idnr
    from stdnum.iso7064 import mod_11_10

    while True:
        body = g.digits(10)
        if len(set(body)) >= 7:  # the IdNr forbids most repeated digits
            number = body + mod_11_10.calc_check_digit(body)
            if idnr.is_valid(number):
                return number


def _mixed(seed: int) -> LabelledTable:
    """Dirty columns: mixed content, many nulls, odd spacing."""
    g = _Gen("en_US", seed)
    f = g.f
    de = Faker("de_DE")
    de.seed_instance(seed)

    def contact() -> str:
        return f.email() if g.rng.random() < 0.6 else f.phone_number()

    cols: dict[str, tuple[list[object], str | None]] = {
        "contact": (g.col(contact), "email"),
        "email_address": (g.col(f.email, nulls=0.6, junk=0.1), "email"),
        "Telefonnummer": (g.col(lambda: de.phone_number(), pad=0.3), "phone"),
        "steuer_id": (g.col(lambda: _de_idnr(g)), "national_id"),
        "kartennummer": (g.col(lambda: g.card().replace(" ", "  ")), "credit_card"),
        "GEBURTSDATUM": (g.col(lambda: f.date_of_birth().strftime("%d.%m.%Y")), "birth_date"),
        "PLZ": (g.col(lambda: de.postcode()), "postal_code"),
        "social_sec_no": (g.col(g.ssn_bare), "us_ssn"),
        "api_token": (
            g.col(
                lambda: (
                    "ghp_"
                    + "".join(g.rng.choice(string.ascii_letters + string.digits) for _ in range(36))
                )
            ),
            "secret",
        ),
        "comment": (g.col(g.note, nulls=0.3), "free_text"),
        "tracking_no": (g.col(lambda: g.digits(12)), None),
        "invoice_date": (g.col(lambda: f.date_this_decade().isoformat()), "date"),
        "campaign_code": (g.col(lambda: g.digits(5)), None),
        "notes_internal": (g.col(lambda: f.sentence(nb_words=8)), None),
    }
    return _table("mixed and messy", cols)


def _variants(seed: int) -> LabelledTable:
    """camelCase names, numbers stored as integers, and more look-alikes that are not personal."""
    g = _Gen("en_US", seed)
    f = g.f
    cols: dict[str, tuple[list[object], str | None]] = {
        "userId": (g.col(lambda: g.rng.randint(1, 10**7), nulls=0), "record_id"),
        "firstName": (g.col(lambda: f.first_name().upper()), "first_name"),
        "lastName": (g.col(lambda: f.last_name().lower()), "last_name"),
        "emailAddress": (g.col(f.free_email, case=0.5), "email"),
        "phoneNumber": (g.col(lambda: int(g.digits(10, "23456789"))), "phone"),
        "dateOfBirth": (
            g.col(lambda: f.date_of_birth(minimum_age=18).strftime("%m/%d/%Y")),
            "birth_date",
        ),
        "zipCode": (g.col(lambda: int(f.zipcode())), "postal_code"),
        "homeAddress": (g.col(lambda: f.address().replace("\n", ", ")), "street_address"),
        "passwordHash": (
            g.col(
                lambda: (
                    "$2b$12$"
                    + "".join(
                        g.rng.choice(string.ascii_letters + string.digits + "./") for _ in range(53)
                    )
                )
            ),
            "secret",
        ),
        "lastLogin": (g.col(lambda: f.date_time_this_year().strftime("%Y-%m-%d %H:%M:%S")), "date"),
        "sex": (g.col(lambda: g.rng.choice(["male", "female"])), "gender"),
        "geo": (g.col(lambda: f"{f.latitude():.4f},{f.longitude():.4f}"), "coordinates"),
        # look-alikes
        "isbn": (g.col(f.isbn13), None),
        "ean": (g.col(f.ean13), None),
        "currency": (g.col(f.currency_code), None),
        "state": (g.col(f.state_abbr), None),
        "language": (g.col(lambda: g.rng.choice(["en", "de", "fr", "es", "it"])), None),
        "rating": (g.col(lambda: g.rng.randint(1, 5)), None),
        "year": (g.col(lambda: g.rng.randint(2010, 2025)), None),
        "price": (g.col(lambda: f"${g.rng.uniform(1, 99):.2f}"), None),
        "jobTitle": (g.col(f.job), None),
        "productName": (g.col(f.catch_phrase), None),
        "couponCode": (
            g.col(
                lambda: "".join(
                    g.rng.choice(string.ascii_uppercase + string.digits) for _ in range(10)
                )
            ),
            None,
        ),
        "sessionId": (g.col(lambda: f.md5()), None),
        "userAgent": (g.col(f.user_agent), None),
        "filePath": (g.col(f.file_path), None),
        "durationMs": (g.col(lambda: g.rng.randint(10, 99999)), None),
        "batchNo": (g.col(lambda: f"B{g.rng.randint(2020, 2025)}-{g.digits(4)}"), None),
    }
    return _table("en_US variants and look-alikes", cols)


def _table(
    name: str, cols: dict[str, tuple[list[object], str | None]], holdout: bool = False
) -> LabelledTable:
    arrays = {}
    for c, (values, _) in cols.items():
        arrays[c] = pa.array(values)
    return LabelledTable(name, pa.table(arrays), {c: lab for c, (_, lab) in cols.items()}, holdout)


LOCALE_TABLES: list[tuple[str, dict[str, str], bool]] = [
    (
        "de_DE",
        {
            "first_name": "vorname",
            "last_name": "nachname",
            "email": "e_mail",
            "phone": "telefon",
            "postal_code": "plz",
            "street_address": "strasse",
            "company": "arbeitgeber",
            "birth_date": "geburtsdatum",
            "iban": "iban",
            "city": "wohnort",
        },
        False,
    ),
    (
        "fr_FR",
        {
            "first_name": "prenom",
            "last_name": "nom_de_famille",
            "email": "courriel",
            "phone": "telephone",
            "postal_code": "code_postal",
            "street_address": "adresse",
            "company": "entreprise",
            "birth_date": "date_de_naissance",
            "national_id": "numero_securite_sociale",
            "iban": "iban",
        },
        False,
    ),
    (
        "es_ES",
        {
            "full_name": "nombre_completo",
            "email": "correo",
            "phone": "telefono",
            "postal_code": "codigo_postal",
            "street_address": "direccion",
            "company": "empresa",
            "birth_date": "fecha_nacimiento",
            "national_id_nif": "dni",
            "iban": "cuenta_iban",
        },
        False,
    ),
    (
        "it_IT",
        {
            "first_name": "nome",
            "last_name": "cognome",
            "phone": "cellulare",
            "postal_code": "cap",
            "street_address": "indirizzo",
            "company": "azienda",
            "national_id": "codice_fiscale",
            "iban": "iban",
        },
        False,
    ),
    (
        "nl_NL",
        {
            "first_name": "voornaam",
            "last_name": "achternaam",
            "phone": "telefoonnummer",
            "postal_code": "postcode",
            "street_address": "straat",
            "national_id": "bsn",
            "birth_date": "geboortedatum",
            "iban": "iban",
        },
        False,
    ),
    (
        "pt_BR",
        {
            "full_name": "nome_completo",
            "email": "email",
            "phone": "celular",
            "national_id": "cpf",
            "street_address": "endereco",
            "company": "empresa",
        },
        False,
    ),
    (
        "en_GB",
        {
            "full_name": "customer_name",
            "phone": "mobile",
            "postal_code": "postcode",
            "street_address": "address_line1",
            "company": "company_name",
            "email": "email",
        },
        False,
    ),
    (
        "pl_PL",
        {
            "first_name": "imie",
            "last_name": "nazwisko",
            "phone": "telefon",
            "postal_code": "kod_pocztowy",
            "national_id": "pesel",
            "iban": "iban",
        },
        False,
    ),
    (
        "sv_SE",
        {
            "full_name": "namn",
            "phone": "telefon",
            "national_id": "personnummer",
            "postal_code": "postnummer",
            "street_address": "adress",
        },
        False,
    ),
    # names from locales the dictionaries do not include: generalization, reported apart
    (
        "ro_RO",
        {
            "first_name": "prenume",
            "last_name": "nume_familie",
            "full_name": "nume_complet",
            "national_id": "cnp",
            "phone": "telefon",
        },
        True,
    ),
    ("hu_HU", {"full_name": "name", "phone": "phone", "postal_code": "postal_code"}, True),
]


def build_corpus(seed: int = 7) -> list[LabelledTable]:
    tables = [_en_us(seed), _neutral(seed + 1), _mixed(seed + 2), _variants(seed + 3)]
    for i, (loc, names, holdout) in enumerate(LOCALE_TABLES):
        tables.append(_locale_table(loc, seed + 10 + i, names, holdout))
    return tables


# ---------------------------------------------------------------- scoring


@dataclass
class Score:
    per_type: dict[str, tuple[int, int, int]]
    """type -> (true positives, false positives, false negatives)."""
    missed_identifiers: list[str]
    errors: list[str]

    def precision_recall(self, t: str) -> tuple[float, float, float]:
        tp, fp, fn = self.per_type[t]
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f1

    @property
    def macro_f1(self) -> float:
        types = [t for t, (tp, _, fn) in self.per_type.items() if tp + fn > 0]
        return sum(self.precision_recall(t)[2] for t in types) / len(types)

    def table(self) -> str:
        lines = [f"{'type':16} {'P':>6} {'R':>6} {'F1':>6}  tp fp fn"]
        for t in sorted(self.per_type):
            p, r, f1 = self.precision_recall(t)
            tp, fp, fn = self.per_type[t]
            lines.append(f"{t:16} {p:6.3f} {r:6.3f} {f1:6.3f}  {tp:2d} {fp:2d} {fn:2d}")
        lines.append(f"macro F1 {self.macro_f1:.3f}")
        return "\n".join(lines)


def score(
    predictions: list[tuple[str, str, str | None, str | None]], identifier_types: set[str]
) -> Score:
    """``predictions``: (table, column, true type, predicted type)."""
    per: dict[str, list[int]] = {}
    missed: list[str] = []
    errors: list[str] = []
    for table, col, truth, pred in predictions:
        if truth == pred:
            if truth is not None:
                per.setdefault(truth, [0, 0, 0])[0] += 1
            continue
        errors.append(f"{table}.{col}: expected {truth}, got {pred}")
        if pred is not None:
            per.setdefault(pred, [0, 0, 0])[1] += 1
        if truth is not None:
            per.setdefault(truth, [0, 0, 0])[2] += 1
            if truth in identifier_types and pred not in identifier_types:
                missed.append(f"{table}.{col} ({truth} -> {pred})")
    return Score({t: (a, b, c) for t, (a, b, c) in per.items()}, missed, errors)
