"""noise: keyed, reproducible Laplace / Gaussian / multiplicative perturbation.

Values are checked against the draws documented in the module docstring, computed here with
Python's hmac and cryptography's HKDF: u = (13 hex digits + 0.5) / 2^52; Laplace by inverse
CDF; Gaussian by Box-Muller with the next 13 digits; multiplicative x·(1 + p/100·(2u−1)).
"""

from __future__ import annotations

import math
import statistics

import pyarrow as pa
import pytest
from pydantic import ValidationError

import veil

COLUMN = "value"  # the column under test (see conftest.py)
N = 20_000


def noise(**params):
    return {"type": "noise", **params}


def keyed(**params):
    return noise(key="main", **params)


def uniforms(ref_hmac, key_hex, message, domain="default"):
    h = ref_hmac(key_hex, f"noise:{domain}", message)
    return (int(h[0:13], 16) + 0.5) / 2**52, (int(h[13:26], 16) + 0.5) / 2**52


def ref_laplace(x, b, u):
    c = u - 0.5
    return x + b * math.copysign(1.0, c) * -math.log(1 - 2 * abs(c))


def ref_gaussian(x, sigma, u1, u2):
    return x + sigma * math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)


def ref_multiplicative(x, p, u):
    return x * (1 + p / 100 * (2 * u - 1))


# Values whose DuckDB text form equals Python's repr (the HMAC message is the value as text).
FLOATS = [100.0, 2.5, -7.25, 0.0, 1234.5]


def test_laplace_matches_reference(run, ref_hmac, key_hex):
    out = run(FLOATS, keyed(distribution="laplace", scale=5), arrow_type=pa.float64())
    expected = [ref_laplace(x, 5, uniforms(ref_hmac, key_hex, repr(x))[0]) for x in FLOATS]
    assert out == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_gaussian_matches_reference(run, ref_hmac, key_hex):
    out = run(FLOATS, keyed(distribution="gaussian", scale=3), arrow_type=pa.float64())
    expected = [ref_gaussian(x, 3, *uniforms(ref_hmac, key_hex, repr(x))) for x in FLOATS]
    assert out == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_multiplicative_matches_reference(run, ref_hmac, key_hex):
    out = run(FLOATS, keyed(distribution="multiplicative", percent=10), arrow_type=pa.float64())
    expected = [ref_multiplicative(x, 10, uniforms(ref_hmac, key_hex, repr(x))[0]) for x in FLOATS]
    assert out == pytest.approx(expected, rel=1e-12, abs=1e-9)


def test_by_column_mixed_into_draw(run, ref_hmac, key_hex):
    ids = ["p1", "p2", "李", "😀", ""]
    out = run(
        [50.0] * 5,
        keyed(distribution="laplace", scale=2, by="pid"),
        arrow_type=pa.float64(),
        extra={"pid": ids},
    )
    expected = [ref_laplace(50.0, 2, uniforms(ref_hmac, key_hex, f"{i}|50.0")[0]) for i in ids]
    assert out == pytest.approx(expected, rel=1e-12)
    assert len(set(out)) == 5  # equal values, different people: different noise


def test_equal_values_equal_noise_without_by(run):
    out = run([10.0, 10.0, 11.0], keyed(distribution="gaussian", scale=1), arrow_type=pa.float64())
    assert out[0] == out[1] != out[2]


def test_reproducible_with_key(run):
    values = [float(i) for i in range(200)]
    t = keyed(distribution="laplace", scale=10)
    a = run(values, t, arrow_type=pa.float64())
    b = run(values, t, arrow_type=pa.float64())
    assert a == b
    assert a != values


def test_different_key_different_noise(run, other_key_hex):
    values = [float(i) for i in range(200)]
    t = keyed(distribution="laplace", scale=10)
    a = run(values, t, arrow_type=pa.float64())
    b = run(values, t, arrow_type=pa.float64(), key_hex=other_key_hex)
    assert sum(x != y for x, y in zip(a, b, strict=True)) == 200


def test_different_domain_different_noise(run):
    values = [float(i) for i in range(200)]
    a = run(values, keyed(distribution="gaussian", scale=10), arrow_type=pa.float64())
    b = run(values, keyed(distribution="gaussian", scale=10, domain="x"), arrow_type=pa.float64())
    assert sum(x != y for x, y in zip(a, b, strict=True)) == 200


def test_without_key_is_random(run):
    values = [0.0] * 200
    t = noise(distribution="laplace", scale=10)
    a = run(values, t, arrow_type=pa.float64())
    b = run(values, t, arrow_type=pa.float64())
    assert a != b
    assert len(set(a)) > 190  # a fresh draw per row


def _noise_sample(run, transform, value=1000.0):
    ids = [f"r{i}" for i in range(N)]
    out = run([value] * N, {**transform, "by": "pid"}, arrow_type=pa.float64(), extra={"pid": ids})
    return [o - value for o in out]


def test_laplace_empirical_scale(run):
    scale = 50.0
    d = _noise_sample(run, keyed(distribution="laplace", scale=scale))
    # |Laplace(b)| is Exponential(b): mean b, sd b -> standard error b/sqrt(N) ~ 0.7 % of b.
    assert statistics.fmean(abs(x) for x in d) == pytest.approx(scale, rel=0.05)
    assert abs(statistics.fmean(d)) < 0.05 * scale
    # median |x| = b·ln 2: half the draws fall inside.
    inside = sum(abs(x) <= scale * math.log(2) for x in d) / N
    assert inside == pytest.approx(0.5, abs=0.02)
    # Laplace tails: P(|x| > 3b) = e^-3 ~ 0.0498.
    assert sum(abs(x) > 3 * scale for x in d) / N == pytest.approx(math.exp(-3), abs=0.01)


def test_gaussian_empirical_std(run):
    scale = 20.0
    d = _noise_sample(run, keyed(distribution="gaussian", scale=scale))
    assert statistics.pstdev(d) == pytest.approx(scale, rel=0.05)
    assert abs(statistics.fmean(d)) < 0.05 * scale
    within = sum(abs(x) <= scale for x in d) / N
    assert within == pytest.approx(0.6827, abs=0.02)


def test_multiplicative_within_percent(run):
    d = _noise_sample(run, keyed(distribution="multiplicative", percent=10), value=1000.0)
    assert all(-100.0 <= x <= 100.0 for x in d)
    # Uniform over the whole ±10 % range.
    assert min(d) < -95 and max(d) > 95
    assert abs(statistics.fmean(d)) < 2.0
    assert sum(x > 0 for x in d) / N == pytest.approx(0.5, abs=0.02)


def test_multiplicative_negative_values(run):
    out = run(
        [-200.0, -1.0], keyed(distribution="multiplicative", percent=5), arrow_type=pa.float64()
    )
    assert -210.0 <= out[0] <= -190.0
    assert -1.05 <= out[1] <= -0.95


def test_multiplicative_keeps_zero(run):
    assert run(
        [0.0], keyed(distribution="multiplicative", percent=50), arrow_type=pa.float64()
    ) == [0.0]


@pytest.mark.parametrize("arrow_type", [pa.int64(), pa.int32(), pa.int16()])
def test_integer_column_stays_integer(anonymize, arrow_type):
    values = list(range(0, 1000, 10))
    out = anonymize(values, keyed(distribution="laplace", scale=25), arrow_type=arrow_type)
    assert pa.types.is_integer(out.schema.field(COLUMN).type)
    got = out.column(COLUMN).to_pylist()
    assert all(isinstance(v, int) for v in got)
    assert got != values


def test_integer_column_is_rounded_reference(run, ref_hmac, key_hex):
    values = [100, 7, -3]
    out = run(values, keyed(distribution="laplace", scale=5), arrow_type=pa.int64())
    expected = [round(ref_laplace(x, 5, uniforms(ref_hmac, key_hex, str(x))[0])) for x in values]
    # ROUND half away from zero vs Python's banker's rounding only differs on exact .5.
    assert out == expected


def test_round_parameter(run):
    out = run(FLOATS, keyed(distribution="gaussian", scale=3, round=2), arrow_type=pa.float64())
    assert all(v == round(v, 2) for v in out)
    out0 = run(FLOATS, keyed(distribution="gaussian", scale=3, round=0), arrow_type=pa.float64())
    assert all(float(v).is_integer() for v in out0)


def test_nulls_stay_null(run):
    out = run([None, 1.0, None], keyed(distribution="laplace", scale=1), arrow_type=pa.float64())
    assert out[0] is None and out[2] is None and out[1] is not None
    out = run([None, 5], noise(distribution="gaussian", scale=1), arrow_type=pa.int64())
    assert out[0] is None and out[1] is not None


def test_null_by_does_not_null_the_value(run):
    out = run(
        [1.0, 2.0],
        keyed(distribution="laplace", scale=1, by="pid"),
        arrow_type=pa.float64(),
        extra={"pid": [None, "a"]},
    )
    assert all(v is not None for v in out)


def test_string_column_rejected(run):
    with pytest.raises(veil.DataError):
        run(["1.5", "", "é李😀"], keyed(distribution="laplace", scale=1))


@pytest.mark.parametrize(
    "params",
    [
        {"distribution": "laplace"},  # no scale
        {"distribution": "gaussian"},  # no scale
        {"distribution": "multiplicative"},  # no percent
        {"distribution": "multiplicative", "percent": 10, "scale": 1},
        {"distribution": "laplace", "scale": 1, "percent": 10},
        {"distribution": "laplace", "scale": 0},
        {"distribution": "gaussian", "scale": -1},
        {"distribution": "multiplicative", "percent": 0},
        {"distribution": "multiplicative", "percent": 101},
        {"distribution": "laplace", "scale": 1, "round": 13},
        {"distribution": "laplace", "scale": 1, "round": -1},
        {"distribution": "uniform", "scale": 1},
        {"scale": 1},  # distribution is required
        {"distribution": "laplace", "scale": 1, "key": "undeclared"},
    ],
)
def test_invalid_parameters(policy_for, params):
    with pytest.raises(ValidationError):
        policy_for(noise(**params), column_class="sensitive")


@pytest.mark.parametrize("digits", [0, 2])
def test_rounding_to_zero_gives_positive_zero(run, digits):
    """A noisy value rounded to zero is 0.0, never -0.0: DuckDB's ROUND keeps the sign and
    Spark's does not, so a -0.0 would break engine parity (and reads oddly in CSV output)."""
    ids = [f"r{i}" for i in range(200)]
    out = run(
        [0.0] * 200,
        {**keyed(distribution="laplace", scale=1e-6, round=digits), "by": "pid"},
        arrow_type=pa.float64(),
        extra={"pid": ids},
    )
    assert out == [0.0] * 200
    assert all(math.copysign(1.0, v) == 1.0 for v in out)
