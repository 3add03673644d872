"""fake: deterministic, realistic surrogates picked by a keyed hash of the original value."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pyarrow as pa
import pydantic
import pytest
from pydantic import ValidationError

import veil

INPUTS = [f"customer-{i}" for i in range(300)]
UNICODE = ["é", "ü", "李", "😀", "Zoë", "Müller", ""]
SAFE_DOMAINS = ("example.com", "example.org", "example.net")
EMAIL_RE = re.compile(r"^[a-z0-9._-]+@example\.(com|org|net)$")


def fake(kind, **params):
    return {"type": "fake", "kind": kind, "key": "main", **params}


def run_id(run, values, transform, **kwargs):
    return run(values, transform, column_class="identifier", **kwargs)


def test_deterministic_across_runs(run):
    t = fake("name")
    a = run_id(run, INPUTS[:50] + UNICODE, t)
    b = run_id(run, INPUTS[:50] + UNICODE, t)
    assert a == b
    # ...and independent of row position / batch composition.
    c = run_id(run, list(reversed(UNICODE)), t)
    assert c == list(reversed(a[50:]))


_SUBPROCESS = """
import json, sys
import pyarrow as pa
import veil
from veil.policy.model import Policy

policy = Policy.model_validate({
    "name": "p",
    "keys": {"main": {"env": "VEIL_TEST_KEY"}},
    "columns": {"v": {"class": "identifier",
                      "transform": {"type": "fake", "kind": sys.argv[1], "key": "main"}}},
})
out = veil.anonymize(pa.table({"v": json.loads(sys.argv[2])}), policy,
                     environ={"VEIL_TEST_KEY": sys.argv[3]})
print(json.dumps(out.column("v").to_pylist()))
"""


@pytest.mark.parametrize("kind", ["name", "email"])
def test_deterministic_across_processes(run, key_hex, kind, tmp_path):
    # A later job runs in a new interpreter (with another hash seed): same surrogates. Each
    # process has its own empty pool cache, so both build their pools from Faker.
    values = ["alice", "bob", "李", "😀", ""]
    results = []
    for hash_seed in ("1", "2"):
        proc = subprocess.run(
            [sys.executable, "-c", _SUBPROCESS, kind, json.dumps(values), key_hex],
            capture_output=True,
            text=True,
            check=True,
            env={
                **os.environ,
                "PYTHONHASHSEED": hash_seed,
                "VEIL_CACHE_DIR": str(tmp_path / hash_seed),
            },
        )
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert results[0] == results[1] == run_id(run, values, fake(kind))


def test_same_input_same_surrogate_within_run(run):
    out = run_id(run, ["alice", "bob", "alice", "李", "李"], fake("email"))
    assert out[0] == out[2] and out[3] == out[4] and out[0] != out[1]


def test_different_inputs_mostly_differ(run):
    names = run_id(run, INPUTS, fake("name"))
    assert len(set(names)) >= 280
    emails = run_id(run, INPUTS, fake("email"))
    assert len(set(emails)) >= 295


def test_surrogate_is_not_the_input(run):
    values = ["Alice Smith", "Bob Jones", "alice@example.com"]
    out = run_id(run, values, fake("name"))
    assert all(o != v for o, v in zip(out, values, strict=True))


def test_email_is_realistic_and_safe(run):
    out = run_id(run, INPUTS + UNICODE, fake("email"))
    assert all(EMAIL_RE.fullmatch(e) for e in out), [e for e in out if not EMAIL_RE.fullmatch(e)]
    assert {e.rsplit("@", 1)[1] for e in out} == set(SAFE_DOMAINS)


def test_email_digits_and_domain_come_from_keyed_hash(run, ref_hmac, key_hex):
    values = INPUTS[:40] + UNICODE
    out = run_id(run, values, fake("email"))
    for v, e in zip(values, out, strict=True):
        h = ref_hmac(key_hex, "fake:email:default", v)
        digits = str(int(h[12:20], 16) % 10_000)
        domain = SAFE_DOMAINS[int(h[20:24], 16) % 3]
        assert e.endswith(f"{digits}@{domain}"), (v, e)


def test_name_is_realistic(run):
    out = run_id(run, INPUTS, fake("name"))
    assert all(re.fullmatch(r"[A-Z][A-Za-z.' -]+ [A-Za-z.' -]+", n) for n in out), out[:10]


@pytest.mark.parametrize(
    ("kind", "pattern"),
    [
        ("first_name", r"[A-Z][a-z]+"),
        ("last_name", r"[A-Z][A-Za-z' -]+"),
        ("phone", r"[0-9+().x -]{10,}"),
        ("postcode", r"\d{5}"),
        ("username", r"[a-z0-9._-]+"),
        ("city", r"[A-Z][A-Za-z .'-]+"),
        ("street_address", r"\d+ [A-Za-z0-9 .'-]+"),
        ("address", r"[^\n]+, [^\n]+"),
        ("company", r".+"),
        ("job", r".+"),
    ],
)
def test_kinds_en_us(run, kind, pattern):
    out = run_id(run, INPUTS[:60], fake(kind, pool_size=1000))
    assert all(isinstance(v, str) and re.fullmatch(pattern, v) for v in out), (kind, out[:5])
    assert len(set(out)) > 30


def test_de_de_locale(run):
    from faker.providers.address.de_DE import Provider as AddressDE

    cities = run_id(run, INPUTS[:100], fake("city", locale="de_DE"))
    assert set(cities) <= set(AddressDE.cities)
    postcodes = run_id(run, INPUTS[:100], fake("postcode", locale="de_DE"))
    assert all(re.fullmatch(r"\d{5}", p) for p in postcodes)
    names_de = run_id(run, INPUTS[:100], fake("name", locale="de_DE"))
    names_us = run_id(run, INPUTS[:100], fake("name"))
    assert names_de != names_us
    assert names_de == run_id(run, INPUTS[:100], fake("name", locale="de_DE"))


def test_de_de_email_still_safe(run):
    out = run_id(run, INPUTS[:100], fake("email", locale="de_DE"))
    assert all(re.fullmatch(r"[^@\s]+@example\.(com|org|net)", e) for e in out)


@pytest.mark.parametrize("locale", ["xx_XX", "de_XX", "english", ""])
def test_unknown_locale_rejected(run, locale):
    # Refused when the policy is validated, before any data is touched.
    with pytest.raises(pydantic.ValidationError, match="Faker has no locale"):
        run_id(run, ["a"], fake("name", locale=locale))


def test_unknown_locale_in_policy_file_names_the_field(tmp_path):
    p = tmp_path / "p.yaml"
    p.write_text(
        "name: x\nkeys: {k: {env: K}}\ncolumns:\n"
        "  n: {class: identifier, transform: {type: fake, kind: name, key: k, locale: de_XX}}\n"
    )
    with pytest.raises(
        veil.PolicyError,
        match=r"p.yaml:4: columns.n.transform.locale: Faker has no locale 'de_XX'; did you mean",
    ):
        veil.load_policy(p)


def test_nulls_stay_null(run):
    out = run_id(run, [None, "alice", None, ""], fake("email"))
    assert out[0] is None and out[2] is None
    assert out[1] is not None and out[3] is not None  # the empty string is a value


def test_all_null_column(run):
    assert run_id(run, [None, None], fake("name"), arrow_type=pa.string()) == [None, None]


def test_unicode_inputs(run):
    out = run_id(run, UNICODE, fake("first_name"))
    assert all(isinstance(v, str) and v for v in out)
    assert out == run_id(run, UNICODE, fake("first_name"))


def test_integer_column(run):
    out = run_id(run, [1, 2, None, 1], fake("name"), arrow_type=pa.int64())
    assert out[2] is None and out[0] == out[3]
    assert isinstance(out[0], str) and out[0] != "1"


def test_pool_size_bounds_distinct_outputs(run):
    out = run_id(run, [f"v{i}" for i in range(1000)], fake("name", pool_size=100))
    assert len(set(out)) <= 100


def test_changes_with_key_and_domain(run, other_key_hex):
    a = run_id(run, INPUTS[:100], fake("email"))
    b = run_id(run, INPUTS[:100], fake("email"), key_hex=other_key_hex)
    c = run_id(run, INPUTS[:100], fake("email", domain="crm"))
    assert sum(x != y for x, y in zip(a, b, strict=True)) >= 95
    assert sum(x != y for x, y in zip(a, c, strict=True)) >= 95


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "ssn"},
        {"kind": "name", "pool_size": 99},
        {"kind": "name", "pool_size": 1_000_001},
        {"kind": "name", "seed": 1},
    ],
)
def test_invalid_parameters(policy_for, params):
    with pytest.raises(ValidationError):
        policy_for({"type": "fake", "key": "main", **params}, column_class="identifier")


def test_kind_and_key_required(policy_for):
    with pytest.raises(ValidationError):
        policy_for({"type": "fake", "key": "main"}, column_class="identifier")
    with pytest.raises(ValidationError):
        policy_for({"type": "fake", "kind": "name"}, column_class="identifier")
    with pytest.raises(ValidationError):
        policy_for({"type": "fake", "kind": "name", "key": "nope"}, column_class="identifier")


# ------------------------------------------------------------------ pool disk cache


@pytest.fixture
def pool_cache(tmp_path, monkeypatch):
    from veil.transforms import fake as fake_module

    monkeypatch.setenv("VEIL_CACHE_DIR", str(tmp_path / "cache"))
    fake_module.surrogate_pool.cache_clear()
    yield fake_module
    fake_module.surrogate_pool.cache_clear()


def test_pool_is_built_once_then_read_from_disk(pool_cache, monkeypatch, tmp_path):
    built = pool_cache.surrogate_pool("city", "en_US", 100)
    files = list((tmp_path / "cache").rglob("*.json"))
    assert len(files) == 1 and files[0].stat().st_mode & 0o077 == 0

    def no_faker(*_: object) -> list[str]:
        raise AssertionError("the pool should come from the cache")

    monkeypatch.setattr(pool_cache, "_generate_pool", no_faker)
    pool_cache.surrogate_pool.cache_clear()
    assert pool_cache.surrogate_pool("city", "en_US", 100) == built


def test_corrupt_or_short_cache_entry_is_rebuilt(pool_cache, tmp_path):
    built = pool_cache.surrogate_pool("city", "en_US", 100)
    (entry,) = (tmp_path / "cache").rglob("*.json")
    for damage in ('["only one"]', "{not json", ""):
        entry.write_text(damage, encoding="utf-8")
        pool_cache.surrogate_pool.cache_clear()
        assert pool_cache.surrogate_pool("city", "en_US", 100) == built
    assert json.loads(entry.read_text(encoding="utf-8")) == list(built)


def test_unwritable_cache_still_gives_the_pool(pool_cache, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("VEIL_CACHE_DIR", str(blocker / "sub"))  # a file, not a directory
    assert len(pool_cache.surrogate_pool("city", "en_US", 100)) == 100
