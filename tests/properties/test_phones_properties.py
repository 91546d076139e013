"""Property tests: normalize_e164 agrees with the per-value phonenumbers reference, row by row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialflow.phones import _fast_e164, is_blank, mask_phones, normalize_e164, reference_e164

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Real US/Canadian/Caribbean area codes plus ones that can never be valid, so both branches of
# the metadata check (and the leading-digits region claims) get exercised.
AREA_CODES = [
    "415",
    "212",
    "202",
    "312",
    "646",
    "613",
    "604",
    "416",
    "787",
    "939",
    "268",
    "876",
    "658",
    "809",
    "684",
    "671",
    "800",
    "888",
    "900",
    "500",
    "555",
    "911",
    "411",
    "123",
    "023",
    "999",
]
PREFIXES = [
    "",
    "",
    "",
    "1",
    "+1",
    "1 ",
    "+1 ",
    "1-",
    "+1-",
    "1.",
    "+1.",
    "+ 1 ",
    "+11",
    "01",
    "011 ",
]
SEPARATORS = ["", "", " ", " ", "-", "-", ".", "  ", " - ", "/", "_", ",", "\t"]
EXTENSIONS = [
    "",
    "",
    "",
    " x12",
    "x12",
    " x 12",
    " X7",
    " ext 12",
    "ext12",
    " ext. 12",
    " EXT.12",
    "#12",
    " #12",
    " # 12",
    "\nx12",
    " extension 12",
    ";ext=12",
    ",,12",
    " x.12",
    "#",
    " x",
    " ext",
    " int 5",
]
EDGES = ["", "", "", " ", "\t", "\n", "  ", "\u00a0", "\u3000", "(", ")", "tel:", "Phone: "]
# Fullwidth and Arabic-Indic digits: phonenumbers normalizes them; the fast path must not claim
# them.
DIGIT_SHIFTS = [0x30, 0xFF10, 0x0660]


@st.composite
def digit_string(draw: st.DrawFn, size: int) -> str:
    """Draw `size` random ASCII digits."""
    return "".join(draw(st.sampled_from("0123456789")) for _ in range(size))


@st.composite
def nanp_like(draw: st.DrawFn) -> str:
    """Draw a NANP-looking value in a common or slightly broken format."""
    area = draw(st.one_of(st.sampled_from(AREA_CODES), digit_string(3)))
    exchange = draw(st.one_of(st.sampled_from(["555", "234", "100", "011"]), digit_string(3)))
    line = draw(st.one_of(st.sampled_from(["0100", "0199", "1234"]), digit_string(4)))
    ext_digits = draw(digit_string(draw(st.integers(1, 11))))
    ext = draw(st.sampled_from(EXTENSIONS)).replace("12", ext_digits)
    area_part = draw(st.sampled_from([area, f"({area})", f"({area}", f"{area})"]))
    sep1, sep2, sep3 = (draw(st.sampled_from(SEPARATORS)) for _ in range(3))
    prefix = draw(st.sampled_from(PREFIXES))
    value = (
        draw(st.sampled_from(EDGES))
        + prefix
        + sep1
        + area_part
        + sep2
        + exchange
        + sep3
        + line
        + ext
        + draw(st.sampled_from(EDGES))
    )
    if draw(st.integers(0, 9)) == 0:
        value = _shift_digits(value, draw(st.sampled_from(DIGIT_SHIFTS)))
    if draw(st.integers(0, 9)) == 0:
        # Drop or duplicate one character to get near-miss lengths and stray punctuation.
        i = draw(st.integers(0, len(value) - 1))
        value = value[:i] + value[i + 1 :] if draw(st.booleans()) else value[:i] + value[i - 1 :]
    return value


def _shift_digits(value: str, base: int) -> str:
    """Rewrite ASCII digits in another Unicode digit block."""
    return "".join(chr(base + int(c)) if c.isascii() and c.isdigit() else c for c in value)


@st.composite
def foreign_number(draw: st.DrawFn) -> str:
    """Draw a +CC international number, mostly not NANP."""
    cc = draw(st.sampled_from(["44", "33", "49", "61", "81", "52", "7", "86", "1", "999"]))
    body = draw(digit_string(draw(st.integers(4, 13))))
    sep = draw(st.sampled_from(["", " ", "-"]))
    return f"+{cc}{sep}{body[:3]}{sep}{body[3:]}"


letters_and_digits = st.text(
    alphabet=st.sampled_from("0123456789 -.()+xXet#abcFLOWERS"), max_size=24
)
blanks = st.sampled_from(["", " ", "   ", "\t\n", "\u3000", None, np.nan, pd.NA])
any_value = st.one_of(
    nanp_like(),
    nanp_like(),
    nanp_like(),
    foreign_number(),
    letters_and_digits,
    st.text(max_size=16),
    blanks,
)


@st.composite
def value_lists(draw: st.DrawFn, element: st.SearchStrategy[object] = any_value) -> list[object]:
    """Draw a list of values in which some values repeat (to exercise the distinct-value path)."""
    base = draw(st.lists(element, min_size=1, max_size=12))
    repeats = draw(st.lists(st.sampled_from(base), max_size=12))
    values = base + repeats
    return draw(st.permutations(values))


def _as_list(series: pd.Series) -> list[str | None]:
    """Return the series as a list with pd.NA turned into None."""
    return [None if pd.isna(v) else v for v in series]


@pytest.mark.parametrize("region", ["US", "CA", "JM"])
@SETTINGS
@given(values=value_lists())
def test_normalize_equals_reference(region: str, values: list[object]) -> None:
    series = pd.Series(values, dtype=object, index=np.arange(len(values)) * 3 + 7)
    out = normalize_e164(series, region)
    assert out.dtype == pd.StringDtype("pyarrow")
    assert out.index.equals(series.index)
    assert _as_list(out) == [reference_e164(v, region) for v in values]


@SETTINGS
@given(values=value_lists(st.one_of(nanp_like(), letters_and_digits, st.none())))
def test_normalize_equals_reference_for_str_dtype(values: list[object]) -> None:
    for dtype in ("str", "string[pyarrow]"):
        out = normalize_e164(pd.Series(values, dtype=dtype))
        assert _as_list(out) == [reference_e164(v) for v in values]


@SETTINGS
@given(values=value_lists(nanp_like()))
def test_fast_path_never_claims_what_reference_rejects(values: list[object]) -> None:
    result, handled = _fast_e164(pd.Series(values, dtype="str"))
    for value, got, claimed in zip(values, result, handled, strict=True):
        if claimed:
            assert got == reference_e164(value)
        else:
            assert pd.isna(got)


@SETTINGS
@given(values=value_lists())
def test_blank_values_are_never_valid(values: list[object]) -> None:
    blank = is_blank(pd.Series(values, dtype=object))
    for value, is_empty in zip(values, blank, strict=True):
        if is_empty:
            assert reference_e164(value) is None
        expected = value is None or pd.isna(value) or not str(value).strip()
        assert is_empty == expected


@SETTINGS
@given(value=nanp_like(), before=st.text(max_size=10), after=st.text(max_size=10))
def test_mask_phones_keeps_at_most_two_digits_of_a_valid_number(
    value: str, before: str, after: str
) -> None:
    if reference_e164(value) is None or not value.strip().isascii():
        return
    masked = mask_phones(f"{before} {value.strip()} {after}")
    middle = masked[len(before) + 1 : len(masked) - len(after) - 1]
    assert len(masked) == len(before) + len(value.strip()) + len(after) + 2
    # Extension digits may stay, but at most 2 of the 10 national digits survive.
    assert middle.count("*") >= 8, (value, masked)
