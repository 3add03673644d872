"""Checksums and rules, and the chance rates they are compared against."""

from __future__ import annotations

import random

import pytest

from veil.detect import validators as v


def test_luhn_and_cards() -> None:
    assert v.luhn_ok("4111111111111111")
    assert not v.luhn_ok("4111111111111112")
    assert v.credit_card_ok("4111 1111 1111 1111")
    assert v.credit_card_ok("3782-822463-10005")  # Amex, 15 digits
    assert not v.credit_card_ok("1111111111111117")  # Luhn-valid, no issuer starts with 1
    assert not v.credit_card_ok("4111")


def test_iban_mod97() -> None:
    assert v.iban_ok("DE89 3704 0044 0532 0130 00")
    assert v.iban_ok("GB82WEST12345698765432")
    assert not v.iban_ok("DE89 3704 0044 0532 0130 01")


def test_ssn_itin_aba_rules() -> None:
    assert v.us_ssn_ok("123-45-6789")
    for bad in ("000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "123-45-0000"):
        assert not v.us_ssn_ok(bad), bad
    assert v.us_itin_ok("912-70-1234")
    assert not v.us_itin_ok("912-93-1234")  # group 93 is not an ITIN group
    assert not v.us_itin_ok("123-70-1234")
    assert v.aba_routing_ok("011000015")  # a Federal Reserve routing number
    assert not v.aba_routing_ok("011000016")
    assert not v.aba_routing_ok("991000011")  # prefix 99 is not assigned


@pytest.mark.parametrize(
    ("value", "scheme"),
    [
        ("214035797", "NL:BSN"),
        ("172023201312126", "FR:NIR"),
        ("BCCFRC15M25E852P", "IT:codice fiscale"),
        ("77082514178", "PL:PESEL"),
        ("261002A5846", "FI:HETU"),
        ("187.244.670-14", "BR:CPF"),
        ("756.2140.3579.85", "CH:AHV/AVS number"),
        ("12345678Z", "ES:DNI"),
        ("AB123456C", "GB:National Insurance number"),
    ],
)
def test_national_identifiers(value: str, scheme: str) -> None:
    assert scheme in v.national_id_matches(value)


def test_chance_rates_are_what_theory_says() -> None:
    rng = random.Random(1)
    sixteen = ["".join(rng.choice("0123456789") for _ in range(16)) for _ in range(50)]
    assert 0.05 < v.chance_rate(v.luhn_ok, sixteen, trials=2000) < 0.15  # Luhn: 10%
    nine = ["123-45-6789"] * 10
    assert v.chance_rate(v.us_ssn_ok, nine, trials=2000) > 0.8  # SSN rules prove little
    assert v.chance_rate(v.iban_ok, ["DE89370400440532013000"], trials=500) < 0.03


def test_phone_regions() -> None:
    # a German national number is valid read as German, not as a US number
    assert v.phone_status("030 901820", ["DE"])[1]
    assert not v.phone_status("030 901820", ["US"])[1]
    assert v.phone_status("+1 650-253-0000", [])[1]  # international: region not needed
    assert v.phone_status("(650) 253-0000", ["US"]) == (True, True)


def test_dates() -> None:
    assert v.parse_date("1984-07-23") is not None
    assert v.parse_date("23.07.1984") is not None
    assert v.parse_date("July 23, 1984") is not None
    assert v.parse_date("2024-02-30") is None
    assert v.has_time("2024-01-01T10:00:00Z") and not v.has_time("2024-01-01")
