"""mask: characters hidden, first/last n kept, separators optionally kept; email mode."""

from __future__ import annotations

import unicodedata

import pyarrow as pa
import pytest
from pydantic import ValidationError

CARD = "4111-1111-1111-1234"


def ref_mask(
    value: str,
    keep_first: int = 0,
    keep_last: int = 0,
    char: str = "X",
    keep_separators: bool = True,
) -> str:
    """Independent reference of the documented rule: content characters are Unicode letters
    and digits (all characters when separators are not kept); the first/last n content
    characters are kept unless the value has no more than keep_first + keep_last of them."""

    def is_content(c: str) -> bool:
        return not keep_separators or unicodedata.category(c)[0] in "LN"

    positions = [i for i, c in enumerate(value) if is_content(c)]
    n = len(positions)
    kept: set[int] = set()
    if n > keep_first + keep_last:
        kept.update(positions[:keep_first])
        if keep_last:
            kept.update(positions[n - keep_last :])
    return "".join(c if (i in kept or not is_content(c)) else char for i, c in enumerate(value))


# ------------------------------------------------------------------------ chars mode


def test_card_keep_last_four(run):
    assert run([CARD], {"type": "mask", "keep_last": 4}) == ["XXXX-XXXX-XXXX-1234"]


def test_keep_first_and_last(run):
    assert run([CARD], {"type": "mask", "keep_first": 2, "keep_last": 2}) == ["41XX-XXXX-XXXX-XX34"]


def test_default_masks_every_letter_and_digit_keeping_separators(run):
    assert run(["Ab-12 c.d/e", "+1 (555) 010-2030"], {"type": "mask"}) == [
        "XX-XX X.X/X",
        "+X (XXX) XXX-XXXX",
    ]


def test_keep_separators_false_masks_separators_too(run):
    t = {"type": "mask", "keep_last": 4, "keep_separators": False}
    assert run([CARD], t) == ["XXXXXXXXXXXXXXX1234"]
    # keep_first/keep_last count every character (separators included) when not kept.
    t2 = {"type": "mask", "keep_first": 2, "keep_last": 2, "keep_separators": False}
    assert run(["4111-1111"], t2) == ["41XXXXX11"]
    assert run(["a b"], {"type": "mask", "keep_separators": False}) == ["XXX"]


def test_separators_do_not_count_towards_kept_characters(run):
    # The last 4 content characters are 2,3,4,5 even though a dash sits among them.
    assert run(["1-2-3-4-5"], {"type": "mask", "keep_last": 4}) == ["X-2-3-4-5"]
    assert run(["--ab--cd--"], {"type": "mask", "keep_first": 1, "keep_last": 1}) == ["--aX--Xd--"]


@pytest.mark.parametrize(
    ("value", "params", "expected"),
    [
        ("abc", {"keep_last": 4}, "XXX"),
        ("abcd", {"keep_last": 4}, "XXXX"),  # exactly keep_last: still masked whole
        ("abcde", {"keep_last": 4}, "Xbcde"),
        ("abcd", {"keep_first": 2, "keep_last": 2}, "XXXX"),
        ("abcde", {"keep_first": 2, "keep_last": 2}, "abXde"),
        ("12-34", {"keep_last": 4}, "XX-XX"),  # 4 content chars only
        ("a", {"keep_first": 1}, "X"),
        ("ab", {"keep_first": 1}, "aX"),
        ("--", {"keep_last": 1}, "--"),  # no content at all
    ],
)
def test_short_values_are_masked_completely(run, value, params, expected):
    assert run([value], {"type": "mask", **params}) == [expected]


@pytest.mark.parametrize("char", ["*", "#", "•", "李"])
def test_custom_mask_char(run, char):
    assert run([CARD], {"type": "mask", "keep_last": 4, "char": char}) == [
        f"{char * 4}-{char * 4}-{char * 4}-1234"
    ]


def test_unicode_letters_and_digits_are_masked(run):
    values = ["Müller", "Zoë Li", "李小龙", "Ünïcödé-ß", "٣٤٥", "１２３"]
    assert run(values, {"type": "mask"}) == [
        "XXXXXX",
        "XXX XX",
        "XXX",
        "XXXXXXX-X",
        "XXX",
        "XXX",
    ]


def test_unicode_keep_first_last_count_characters_not_bytes(run):
    assert run(["李小龙", "Jürgen"], {"type": "mask", "keep_last": 1}) == ["XX龙", "XXXXXn"]
    assert run(["ééééé"], {"type": "mask", "keep_first": 2, "keep_last": 2}) == ["ééXéé"]


def test_emoji_is_a_separator_and_kept(run):
    # Emoji are neither letters nor digits: kept in place, not counted.
    assert run(["hi 😀 there"], {"type": "mask", "keep_last": 2}) == ["XX 😀 XXXre"]
    assert run(["😀😀"], {"type": "mask"}) == ["😀😀"]
    # ...but masked when separators are not kept.
    assert run(["a😀b"], {"type": "mask", "keep_separators": False}) == ["XXX"]


def test_nulls_stay_null_and_empty_string_stays_empty(run):
    assert run([None, "", "ab", None], {"type": "mask", "keep_last": 1}) == [
        None,
        "",
        "Xb",
        None,
    ]


def test_all_null_column(run):
    assert run([None, None], {"type": "mask"}, arrow_type=pa.string()) == [None, None]


def test_length_is_preserved(run):
    values = [CARD, "Müller", "李小龙 😀", "a b\tc\nd", ""]
    out = run(values, {"type": "mask", "keep_first": 1, "keep_last": 1})
    assert [len(v) for v in out] == [len(v) for v in values]


def test_integer_column_is_masked_as_text(run):
    assert run([12345, None, 7], {"type": "mask", "keep_last": 2}, arrow_type=pa.int64()) == [
        "XXX45",
        None,
        "X",
    ]


REFERENCE_VALUES = [
    CARD,
    "4111 1111 1111 1234",
    "+49 (0)30 1234-5678",
    "AB-123-CD",
    "Müller-Lüdenscheidt",
    "Zoë O'Brien",
    "李小龙",
    "北京市 朝阳区 100020",
    "😀 smile 😀",
    "e\u0301cole",  # decomposed é: the combining accent is not a letter
    "Ελληνικά 42",
    "Москва-2024",
    "a",
    "ab",
    "",
    "  ",
    "line1\nline2",
    "tab\tsep",
]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"keep_last": 4},
        {"keep_first": 2},
        {"keep_first": 2, "keep_last": 2},
        {"keep_first": 1, "keep_last": 3, "char": "*"},
        {"keep_last": 4, "keep_separators": False},
        {"keep_first": 3, "keep_last": 1, "keep_separators": False, "char": "#"},
    ],
)
def test_matches_independent_reference(run, params):
    out = run(REFERENCE_VALUES, {"type": "mask", **params})
    expected = [ref_mask(v, **params) for v in REFERENCE_VALUES]
    assert out == expected


# ------------------------------------------------------------------------ email mode


def test_email_keep_domain(run):
    values = ["john.doe@example.com", "a@b.co", "Jane+Tag@Mail.Example.ORG"]
    assert run(values, {"type": "mask", "mode": "email"}) == [
        "XXXXXXXX@example.com",
        "X@b.co",
        "XXXXXXXX@Mail.Example.ORG",
    ]


def test_email_mask_domain_keeps_dots_and_at(run):
    values = ["john.doe@example.com", "a@b.co"]
    assert run(values, {"type": "mask", "mode": "email", "keep_domain": False}) == [
        "XXXXXXXX@XXXXXXX.XXX",
        "X@X.XX",
    ]


def test_email_last_at_separates_domain(run):
    assert run(["a@b@c.de"], {"type": "mask", "mode": "email"}) == ["XXX@c.de"]


def test_non_email_is_masked_whole(run):
    values = ["not-an-email", "john.doe(at)example.com", "x"]
    assert run(values, {"type": "mask", "mode": "email"}) == [
        "XXXXXXXXXXXX",
        "XXXXXXXXXXXXXXXXXXXXXXX",
        "X",
    ]
    assert run(["nomail"], {"type": "mask", "mode": "email", "keep_domain": False}) == ["XXXXXX"]


def test_email_custom_char(run):
    assert run(["bob@x.org"], {"type": "mask", "mode": "email", "char": "*"}) == ["***@x.org"]


def test_email_unicode(run):
    values = ["jürgen@exämple.de", "李@例子.中国", "😀@emoji.io"]
    assert run(values, {"type": "mask", "mode": "email"}) == [
        "XXXXXX@exämple.de",
        "X@例子.中国",
        "X@emoji.io",
    ]
    assert run(values, {"type": "mask", "mode": "email", "keep_domain": False}) == [
        "XXXXXX@XXXXXXX.XX",
        "X@XX.XX",
        "X@XXXXX.XX",
    ]


def test_email_nulls_and_empty(run):
    assert run([None, "", "a@b.c"], {"type": "mask", "mode": "email"}) == [None, "", "X@b.c"]


# ------------------------------------------------------------------------ invalid params


@pytest.mark.parametrize(
    "bad",
    [
        {"char": ""},
        {"char": "XX"},
        {"char": "\\"},
        {"char": "$"},
        {"keep_first": -1},
        {"keep_last": -2},
        {"mode": "phone"},
        {"keep_separators": "sometimes"},
        {"keep_lst": 4},  # misspelled field
    ],
)
def test_invalid_parameters_rejected(policy_for, bad):
    with pytest.raises(ValidationError):
        policy_for({"type": "mask", **bad})


def test_identifier_may_not_be_kept_raw(policy_for):
    with pytest.raises(ValidationError):
        policy_for({"type": "keep"}, column_class="identifier")
    # ...but masking it is accepted.
    policy_for({"type": "mask", "keep_last": 4}, column_class="identifier")


# ------------------------------------------------------------ DuckDB's ASCII fast path


def _mixed_values(n: int) -> list[str | None]:
    """ASCII and non-ASCII values interleaved across several DuckDB vectors (2,048 rows)."""
    pool = [CARD, "+1 (555) 010-9999", "Müller-12", "李小龙 42", "ab", "", None, "x-y", "٣٤٥6"]
    return [pool[i % len(pool)] if i % 7 else f"id{i}-{i * 7919}" for i in range(n)]


@pytest.mark.parametrize(
    "params",
    [{}, {"keep_last": 4}, {"keep_first": 2, "keep_last": 2}, {"keep_first": 1, "char": "*"}],
)
def test_ascii_fast_path_matches_reference_on_mixed_batches(run, params):
    values = _mixed_values(5000)
    expected = [None if v is None else ref_mask(v, **params) for v in values]
    assert run(values, {"type": "mask", **params}) == expected


def test_mask_ascii_content_helper_refuses_non_ascii_and_honours_slices():
    from veil.engines.duckdb_udfs import mask_ascii_content

    arr = pa.array(["é", "ab-1", None, "Z9"])
    char = pa.array(["#"])
    # A slice whose buffer holds a non-ASCII byte outside the slice is fine.
    assert mask_ascii_content(arr.slice(1), char).to_pylist() == ["##-#", None, "##"]
    with pytest.raises(ValueError, match="non-ASCII"):
        mask_ascii_content(arr, char)
    with pytest.raises(ValueError, match="one ASCII character"):
        mask_ascii_content(arr.slice(1), pa.array(["•"]))


def test_email_with_line_breaks_masks_the_local_part(run):
    assert run(["a\nb@c.de", "x@y\n.z"], {"type": "mask", "mode": "email"}) == [
        "XXX@c.de",
        "X@y\n.z",
    ]
