"""pseudonymize: HMAC-SHA-256 under an HKDF-derived subkey, checked against an independent
implementation (Python's hmac + cryptography's HKDF)."""

from __future__ import annotations

import base64
import re

import pyarrow as pa
import pytest
from pydantic import ValidationError

import veil

VALUES = ["alice", "Bob", "", "é", "ü", "李", "😀", "Zoë O'Brien", "a@b.example", " padded "]


def pseudo(**params):
    return {"type": "pseudonymize", "key": "main", **params}


def run_id(run, values, transform, **kwargs):
    return run(values, transform, column_class="identifier", **kwargs)


def test_matches_independent_hmac(run, ref_hmac, key_hex):
    out = run_id(run, VALUES, pseudo())
    expected = [ref_hmac(key_hex, "pseudonymize:default", v)[:32] for v in VALUES]
    assert out == expected


@pytest.mark.parametrize("length", [8, 16, 20, 32, 64])
def test_hex_length(run, ref_hmac, key_hex, length):
    out = run_id(run, VALUES, pseudo(length=length, domain="customer"))
    assert out == [ref_hmac(key_hex, "pseudonymize:customer", v)[:length] for v in VALUES]
    assert all(len(v) == length and re.fullmatch(r"[0-9a-f]+", v) for v in out)


def test_full_length_is_whole_digest(run, ref_hmac, key_hex):
    (out,) = run_id(run, ["alice"], pseudo(length=64))
    assert out == ref_hmac(key_hex, "pseudonymize:default", "alice")


def test_stable_across_runs(run):
    first = run_id(run, VALUES, pseudo(domain="customer"))
    second = run_id(run, list(reversed(VALUES)), pseudo(domain="customer"))
    assert first == list(reversed(second))


def test_equal_inputs_equal_pseudonyms_within_a_run(run):
    out = run_id(run, ["x", "y", "x", "李", "李"], pseudo())
    assert out[0] == out[2] and out[3] == out[4]
    assert out[0] != out[1]


def test_distinct_inputs_distinct_pseudonyms(run):
    values = [f"user{i}" for i in range(500)]
    assert len(set(run_id(run, values, pseudo(length=16)))) == 500


def test_changes_with_key(run, ref_hmac, key_hex, other_key_hex):
    a = run_id(run, VALUES, pseudo())
    b = run_id(run, VALUES, pseudo(), key_hex=other_key_hex)
    assert b == [ref_hmac(other_key_hex, "pseudonymize:default", v)[:32] for v in VALUES]
    assert all(x != y for x, y in zip(a, b, strict=True))


def test_changes_with_domain(run, ref_hmac, key_hex):
    a = run_id(run, VALUES, pseudo(domain="customer"))
    b = run_id(run, VALUES, pseudo(domain="patient"))
    assert b == [ref_hmac(key_hex, "pseudonymize:patient", v)[:32] for v in VALUES]
    assert all(x != y for x, y in zip(a, b, strict=True))


def test_unicode_domain(run, ref_hmac, key_hex):
    out = run_id(run, ["x"], pseudo(domain="kunden-ü-李"))
    assert out == [ref_hmac(key_hex, "pseudonymize:kunden-ü-李", "x")[:32]]


def test_domain_and_subkey_separation(run, ref_hmac, key_hex):
    # The pseudonym is not an HMAC under the raw policy key, nor under another purpose.
    (out,) = run_id(run, ["alice"], pseudo(length=64))
    import hashlib
    import hmac

    raw = hmac.new(bytes.fromhex(key_hex), b"alice", hashlib.sha256).hexdigest()
    assert out != raw
    assert out != ref_hmac(key_hex, "date_shift:default", "alice")


def ref_b64url(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@pytest.mark.parametrize("length", [8, 22, 43])
def test_base64url(run, ref_digest, key_hex, length):
    out = run_id(run, VALUES, pseudo(encoding="base64url", length=length))
    expected = [ref_b64url(ref_digest(key_hex, "pseudonymize:default", v))[:length] for v in VALUES]
    assert out == expected
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", v) and len(v) == length for v in out)


def test_base64url_uses_url_safe_alphabet(run, ref_digest, key_hex):
    # Enough values that '-' and '_' (the URL-safe replacements of '+' and '/') both occur.
    values = [f"v{i}" for i in range(200)]
    out = run_id(run, values, pseudo(encoding="base64url", length=43))
    joined = "".join(out)
    assert "-" in joined and "_" in joined
    assert "+" not in joined and "/" not in joined and "=" not in joined
    assert out == [ref_b64url(ref_digest(key_hex, "pseudonymize:default", v)) for v in values]


def test_prefix(run, ref_hmac, key_hex):
    out = run_id(run, ["alice", None], pseudo(prefix="cus_", length=20, domain="customer"))
    assert out == ["cus_" + ref_hmac(key_hex, "pseudonymize:customer", "alice")[:20], None]


def test_unicode_prefix(run, ref_hmac, key_hex):
    out = run_id(run, ["alice"], pseudo(prefix="ü李😀-", length=8))
    assert out == ["ü李😀-" + ref_hmac(key_hex, "pseudonymize:default", "alice")[:8]]


@pytest.mark.parametrize(
    ("normalize", "fn"),
    [
        ("none", lambda s: s),
        ("trim", lambda s: s.strip(" ")),
        ("lower", lambda s: s.lower()),
        ("trim_lower", lambda s: s.strip(" ").lower()),
    ],
)
def test_normalize(run, ref_hmac, key_hex, normalize, fn):
    values = [" A@x.com ", "a@x.com", "A@X.COM", "  ÉCOLE Ü ", "école ü"]
    out = run_id(run, values, pseudo(normalize=normalize))
    assert out == [ref_hmac(key_hex, "pseudonymize:default", fn(v))[:32] for v in values]


def test_trim_lower_makes_variants_agree(run):
    out = run_id(
        run, [" A@x.com ", "a@x.com", "A@X.COM  ", "b@x.com"], pseudo(normalize="trim_lower")
    )
    assert out[0] == out[1] == out[2] != out[3]


def test_nulls_stay_null(run, ref_hmac, key_hex):
    out = run_id(run, [None, "a", None, ""], pseudo(prefix="p_"))
    assert out[0] is None and out[2] is None
    assert out[1] == "p_" + ref_hmac(key_hex, "pseudonymize:default", "a")[:32]
    # The empty string is a value, not a null: it gets a pseudonym.
    assert out[3] == "p_" + ref_hmac(key_hex, "pseudonymize:default", "")[:32]


def test_all_null_column(run):
    assert run_id(run, [None, None], pseudo(), arrow_type=pa.string()) == [None, None]


def test_integer_column(run, ref_hmac, key_hex):
    values = [1, 42, -7, 12345678901, None]
    out = run_id(run, values, pseudo(), arrow_type=pa.int64())
    assert out == [
        None if v is None else ref_hmac(key_hex, "pseudonymize:default", str(v))[:32]
        for v in values
    ]


def test_integer_and_text_forms_join(run):
    # An ID stored as a number in one table and as text in another gets the same pseudonym.
    as_int = run_id(run, [1001, 2002], pseudo(domain="customer"), arrow_type=pa.int64())
    as_text = run_id(run, ["1001", "2002"], pseudo(domain="customer"))
    assert as_int == as_text


@pytest.mark.parametrize(
    "params",
    [
        {"length": 65},
        {"length": 100},
        {"length": 44, "encoding": "base64url"},
        {"length": 7},
        {"length": 0},
        {"encoding": "base32"},
        {"domain": ""},
        {"normalize": "upper"},
        {"salt": "x"},
    ],
)
def test_invalid_parameters(policy_for, params):
    with pytest.raises(ValidationError):
        policy_for(pseudo(**params), column_class="identifier")


def test_key_required(policy_for):
    with pytest.raises(ValidationError):
        policy_for({"type": "pseudonymize"}, column_class="identifier")


def test_undeclared_key_rejected(policy_for):
    with pytest.raises(ValidationError):
        policy_for({"type": "pseudonymize", "key": "nope"}, column_class="identifier")


def test_missing_key_material(policy_for):
    policy = policy_for(pseudo(), column_class="identifier")
    table = pa.table({"_rid": [0], "value": ["a"]})
    with pytest.raises(veil.KeyMaterialError):
        veil.anonymize(table, policy, environ={})
    with pytest.raises(veil.KeyMaterialError):
        veil.anonymize(table, policy, environ={"VEIL_TEST_KEY": "ab" * 16})  # 16 bytes: too short
