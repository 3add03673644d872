"""The detected types, their default column class, and the result objects of a scan."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

ColumnClass = Literal["identifier", "quasi_identifier", "sensitive", "insensitive"]

# type -> (class, one-line description)
TYPES: dict[str, tuple[ColumnClass, str]] = {
    "email": ("identifier", "e-mail address"),
    "phone": ("identifier", "phone number"),
    "credit_card": ("identifier", "payment card number"),
    "iban": ("identifier", "IBAN bank account number"),
    "us_ssn": ("identifier", "US Social Security number"),
    "us_itin": ("identifier", "US Individual Taxpayer Identification Number"),
    "aba_routing": ("quasi_identifier", "ABA bank routing number (identifies a bank branch)"),
    "national_id": ("identifier", "national identification number"),
    "ip_address": ("identifier", "IP address"),
    "mac_address": ("identifier", "MAC (hardware) address"),
    "url": ("identifier", "URL"),
    "first_name": ("identifier", "first name"),
    "last_name": ("identifier", "last name"),
    "full_name": ("identifier", "person's full name"),
    "street_address": ("identifier", "street address"),
    "record_id": ("identifier", "identifier of a person or account (by column name)"),
    "date": ("quasi_identifier", "date or timestamp"),
    "birth_date": ("quasi_identifier", "date of birth"),
    "postal_code": ("quasi_identifier", "postal code"),
    "coordinates": ("quasi_identifier", "geographic coordinates"),
    "company": ("quasi_identifier", "company or employer name"),
    "city": ("quasi_identifier", "city or town"),
    "country": ("quasi_identifier", "country"),
    "gender": ("quasi_identifier", "gender or sex"),
    "age": ("quasi_identifier", "age"),
    "quasi_identifier": ("quasi_identifier", "makes rows unique together with other columns"),
    "secret": ("sensitive", "password, secret, token or API key"),
    "free_text": ("sensitive", "free text containing personal data"),
    "sensitive": ("sensitive", "sensitive attribute (by column name)"),
}


def class_of(type_: str | None) -> ColumnClass:
    if type_ is None:
        return "insensitive"
    return TYPES[type_][0]


@dataclass
class Evidence:
    match_rate: float | None = None
    """Share of non-null sampled values in the detected type's format (None: not a format)."""
    checksum_rate: float | None = None
    """Share of format matches that pass the type's checksum/validator."""
    chance_rate: float | None = None
    """Pass rate of random values of the same shape (what the checksum gives by luck)."""
    name_hint: str | None = None
    """The synonym the column name matched."""
    detail: str = ""
    examples: list[str] = field(default_factory=list)
    """Masked sample values: letters become x/X, digits #; never a raw value."""


@dataclass
class ColumnReport:
    name: str
    engine_type: str
    type: str | None
    column_class: ColumnClass
    confidence: float
    evidence: Evidence
    non_null: int
    distinct: int
    distinct_ratio: float
    alternatives: list[tuple[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    value_range: tuple[float, float] | None = None
    """Smallest and largest sampled value of a numeric column."""

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["class"] = d.pop("column_class")
        d["alternatives"] = [{"type": t, "confidence": c} for t, c in self.alternatives]
        return d


@dataclass
class QuasiIdentifierSet:
    columns: tuple[str, ...]
    unique_share: float
    """Share of sampled rows whose combination of these columns' values is unique."""


@dataclass
class ScanResult:
    source: str
    format: str
    files: list[str]
    rows_total: int | None
    rows_sampled: int
    sample_method: str
    columns: list[ColumnReport]
    quasi_identifier_sets: list[QuasiIdentifierSet]
    qi_threshold: float
    duration_s: float
    regions: list[str]
    notes: list[str] = field(default_factory=list)

    def column(self, name: str) -> ColumnReport:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "format": self.format,
            "files": self.files,
            "rows_total": self.rows_total,
            "rows_sampled": self.rows_sampled,
            "sample_method": self.sample_method,
            "regions": self.regions,
            "duration_s": round(self.duration_s, 3),
            "columns": [c.as_dict() for c in self.columns],
            "quasi_identifier_sets": [
                {"columns": list(q.columns), "unique_share": round(q.unique_share, 4)}
                for q in self.quasi_identifier_sets
            ],
            "qi_threshold": self.qi_threshold,
            "notes": self.notes,
        }
