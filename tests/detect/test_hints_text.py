"""Column-name hints and entities inside free text."""

from __future__ import annotations

import pytest

from veil.detect import text as t
from veil.detect.hints import name_hints, tokens


def _top(name: str) -> str | None:
    hints = name_hints(name)
    return hints[0].type if hints else None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dob", "birth_date"),
        ("Geburtsdatum", "birth_date"),
        ("date_of_birth", "birth_date"),
        ("cust_email", "email"),
        ("custEmailAddr", "email"),
        ("tel", "phone"),
        ("Telefonnummer", "phone"),
        ("PLZ", "postal_code"),
        ("code_postal", "postal_code"),
        ("vorname", "first_name"),
        ("nachname", "last_name"),
        ("customer_id", "record_id"),
        ("kundennummer", "record_id"),
        ("billing_city", "city"),
        ("api_key", "secret"),
        ("salary", "sensitive"),
    ],
)
def test_name_hints(name: str, expected: str) -> None:
    assert _top(name) == expected


@pytest.mark.parametrize("name", ["order_id", "product_name", "sku", "amount", "file_name"])
def test_vetoed_or_neutral_names(name: str) -> None:
    assert _top(name) not in ("record_id", "full_name", "first_name", "last_name")


def test_tokens() -> None:
    assert tokens("custEmailAddr_2") == ["cust", "email", "addr", "2"]
    assert tokens("Straße") == ["strasse"]


def _labels(text: str) -> str:
    return t.replace_entities(text, t.find_entities(text), t.label_replacer)


def test_entities_in_text() -> None:
    text = (
        "Mr. Schmidt (jane.doe@example.org, +1 415-555-0134) paid with 4111 1111 1111 1111 "
        "on 2024-03-05 from 10.0.0.7; IBAN DE89 3704 0044 0532 0130 00; SSN 123-45-6789; "
        "lives at 12 Oak Street. Spoke with Anna Kowalski."
    )
    out = _labels(text)
    for label in (
        "<PERSON>",
        "<EMAIL>",
        "<PHONE>",
        "<CREDIT_CARD>",
        "<DATE>",
        "<IP>",
        "<IBAN>",
        "<US_SSN>",
        "<ADDRESS>",
    ):
        assert label in out, (label, out)
    for raw in ("Schmidt", "jane.doe", "4111", "0532", "6789", "Oak", "Anna", "10.0.0.7"):
        assert raw not in out, (raw, out)


def test_no_false_entities_in_plain_text() -> None:
    plain = "Order 12 shipped in 3 days; version 1.2.3, build 4567, price 19.99, ref AB-1234."
    assert t.find_entities(plain) == []
    # a Luhn-invalid 16-digit number is not a card; a version after '/' is not an IP
    assert (
        _labels("id 1234 5678 9012 3456, Chrome/10.0.1.2")
        == "id 1234 5678 9012 3456, Chrome/10.0.1.2"
    )


def test_replacers() -> None:
    spans = t.find_entities("mail a@b.co now")
    assert t.replace_entities("mail a@b.co now", spans, t.mask_replacer("*")) == "mail *@*.** now"
    p1 = t.replace_entities("mail a@b.co now", spans, t.pseudonym_replacer(b"k" * 32))
    p2 = t.replace_entities("mail a@b.co now", spans, t.pseudonym_replacer(b"k" * 32))
    p3 = t.replace_entities("mail a@b.co now", spans, t.pseudonym_replacer(b"j" * 32))
    assert p1 == p2 != p3 and p1.startswith("mail <EMAIL_")
