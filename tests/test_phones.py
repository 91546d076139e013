"""Hand-picked cases for dialflow.phones: exact E.164 output, fast-path coverage, log masking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dialflow.phones import _fast_e164, is_blank, mask_phones, normalize_e164, reference_e164

# phonenumbers 9.x treats 555-01xx (the "fictional" block) as ordinary valid numbers in a valid
# area code, so these are the real expectations, checked against phonenumbers itself.
CASES = [
    ("(415) 555-0100", "+14155550100"),
    ("(415)555-0100", "+14155550100"),
    ("415-555-0100", "+14155550100"),
    ("415.555.0100", "+14155550100"),
    ("415 555 0100", "+14155550100"),
    ("4155550100", "+14155550100"),
    ("+1 415.555.0100", "+14155550100"),
    ("+14155550100", "+14155550100"),
    ("+1 (415) 555-0100", "+14155550100"),
    ("1-415-555-0100", "+14155550100"),
    ("1 (415) 555-0100", "+14155550100"),
    ("  415-555-0100\t", "+14155550100"),
    ("4155550100 x12", "+14155550100"),
    ("415-555-0100 x 12", "+14155550100"),
    ("415-555-0100 ext 12", "+14155550100"),
    ("415-555-0100 ext. 12", "+14155550100"),
    ("415-555-0100 EXT.12", "+14155550100"),
    ("415-555-0100#12", "+14155550100"),
    ("(212) 555-0199", "+12125550199"),
    ("(800) 555-0100", "+18005550100"),
    ("(613) 555-0199", "+16135550199"),  # Ottawa: Canadian, valid under region US
    ("+1 604 555 0123", "+16045550123"),  # Vancouver
    ("(787) 555-0100", "+17875550100"),  # Puerto Rico, claimed via leading digits
    ("(123) 555-0100", None),  # area codes cannot start with 1
    ("(555) 555-0100", None),  # 555 is not an assigned area code
    ("(911) 555-0100", None),
    ("(415) 155-0100", None),  # exchanges cannot start with 1
    ("+1 0415 555 0100", None),
    ("415-555-010", None),  # too short
    ("41555501000", None),  # too long and no country code 1 in front
    ("415555010", None),
    ("not a phone", None),
    ("1-800-FLOWERS", "+18003569377"),  # vanity letters: slow path, phonenumbers maps them
    ("٤١٥٥٥٥٠١٠٠", "+14155550100"),  # Arabic-Indic digits: slow path
    ("+44 20 7946 0958", "+442079460958"),
    ("020 7946 0958", None),  # a UK national number is not valid under region US
    ("415-555-0100\nx12", None),  # phonenumbers allows no newline before an extension
    ("415-555-0100 x1234567890", None),  # too many extension digits: no longer parses
    ("", None),
    ("   ", None),
    (None, None),
]

FAST_FORMATS = [
    "(415) 555-0100",
    "(415)555-0100",
    "415-555-0100",
    "415.555.0100",
    "415 555 0100",
    "4155550100",
    "+1 415.555.0100",
    "+14155550100",
    "+1 (415) 555-0100",
    "1-415-555-0100",
    "1 (415) 555-0100",
    "14155550100",
    " 415-555-0100 ",
    "4155550100 x12",
    "4155550100x12",
    "415-555-0100 x 12",
    "415-555-0100 X12",
    "415-555-0100 ext 12",
    "415-555-0100 ext. 12",
    "415-555-0100 Ext.12",
    "415-555-0100#12",
    "415-555-0100 #12",
    "(613) 555-0199",
    "(787) 555-0100",
]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_reference_e164(value: object, expected: str | None) -> None:
    assert reference_e164(value) == expected


def test_normalize_matches_hand_picked_expectations() -> None:
    values = pd.Series([v for v, _ in CASES], dtype=object, index=range(100, 100 + len(CASES)))
    out = normalize_e164(values)
    assert out.dtype == pd.StringDtype("pyarrow")
    assert out.index.equals(values.index)
    assert [None if pd.isna(v) else v for v in out] == [e for _, e in CASES]


@pytest.mark.parametrize("dtype", ["str", "string[pyarrow]", "string[python]", object])
def test_normalize_accepts_string_dtypes(dtype: object) -> None:
    values = pd.Series(["(415) 555-0100", None, "bad", "(415) 555-0100", "+44 20 7946 0958"])
    out = normalize_e164(values.astype(dtype))
    assert out.dtype == pd.StringDtype("pyarrow")
    assert out.tolist() == ["+14155550100", pd.NA, pd.NA, "+14155550100", "+442079460958"]


@pytest.mark.parametrize("values", [pd.Series([None, None]), pd.Series([np.nan, np.nan])])
def test_normalize_all_null(values: pd.Series) -> None:
    out = normalize_e164(values)
    assert out.dtype == pd.StringDtype("pyarrow")
    assert out.isna().all()


def test_normalize_empty_series_keeps_index_and_dtype() -> None:
    out = normalize_e164(pd.Series([], dtype="str"))
    assert out.dtype == pd.StringDtype("pyarrow")
    assert len(out) == 0


def test_normalize_non_str_objects_use_their_str() -> None:
    # reference_e164 parses str(value): an int works, a float gets ".0" and bytes get "b'...'".
    values = [4155550100, 4155550100.0, b"4155550100", "\ud800 415 555 0100"]
    out = normalize_e164(pd.Series(values, dtype=object))
    assert [None if pd.isna(v) else v for v in out] == [reference_e164(v) for v in values]
    assert out.iloc[0] == "+14155550100"


def test_slow_path_runs_once_per_distinct_value(monkeypatch: pytest.MonkeyPatch) -> None:
    import dialflow.phones as phones

    calls: list[object] = []

    def counting(value: object, region: str = "US") -> str | None:
        calls.append(value)
        return reference_e164(value, region)

    monkeypatch.setattr(phones, "reference_e164", counting)
    values = pd.Series(["+44 20 7946 0958"] * 50 + ["junk"] * 50 + ["(415) 555-0100"] * 50)
    out = phones.normalize_e164(values)
    assert sorted(calls) == ["+44 20 7946 0958", "junk"]
    assert out.iloc[0] == "+442079460958"
    assert out.iloc[-1] == "+14155550100"


@pytest.mark.parametrize("value", FAST_FORMATS)
def test_fast_path_handles_common_nanp_formats(value: str) -> None:
    result, handled = _fast_e164(pd.Series([value]))
    assert handled.tolist() == [True]
    assert result.iloc[0] == reference_e164(value)


def test_fast_path_leaves_invalid_and_foreign_values_to_slow_path() -> None:
    values = pd.Series(["(555) 555-0100", "+44 20 7946 0958", "1-800-FLOWERS", "", None])
    result, handled = _fast_e164(values)
    assert not handled.any()
    assert result.isna().all()


def test_fast_path_is_off_outside_country_code_1() -> None:
    result, handled = _fast_e164(pd.Series(["(415) 555-0100"]), region="GB")
    assert not handled.any()
    assert normalize_e164(pd.Series(["020 7946 0958"]), region="GB").tolist() == ["+442079460958"]


def test_canadian_region_uses_fast_path() -> None:
    values = pd.Series(["(613) 555-0199", "(415) 555-0100"])
    result, handled = _fast_e164(values, region="CA")
    assert handled.all()
    assert result.tolist() == ["+16135550199", "+14155550100"]


def test_is_blank_separates_empty_from_invalid() -> None:
    values = pd.Series(["", "   ", "\t\u3000", None, "junk", "(415) 555-0100"], index=[*"abcdef"])
    blank = is_blank(values)
    assert blank.dtype == bool
    assert blank.tolist() == [True, True, True, True, False, False]
    invalid = ~blank & normalize_e164(values).isna()
    assert invalid.tolist() == [False, False, False, False, True, False]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call +1 (415) 555-0100 failed", "call +* (***) ***-**00 failed"),
        ("dialled 4155550100 twice", "dialled ********00 twice"),
        ("to 415.555.0100 x12", "to ***.***.**00 x12"),
        ("loaded 12 rows in 2026", "loaded 12 rows in 2026"),
        ("batch 2026-01-15 10:00:00 done", "batch 2026-01-15 10:00:00 done"),
        ("short 555-0100", "short ***-**00"),
        ("six 123456 digits", "six 123456 digits"),
        ("+44 20 7946 0958 and (613) 555-0199", "+** ** **** **58 and (***) ***-**99"),
        ("", ""),
    ],
)
def test_mask_phones(text: str, expected: str) -> None:
    assert mask_phones(text) == expected


def test_values_decided_invalid_without_parsing_agree_with_phonenumbers() -> None:
    values = [
        "555-9192", "(720) 669-455", "152-069-8778", "(078) 520-4480", "123-456-7890",
        "011-442-0794", "0113562123", "000-000-0000", "١٢٣-٤٥٦٧", "1-800-FLOWERS", "+1 212 736",
    ]  # fmt: skip
    got = normalize_e164(pd.Series(values))
    assert [None if pd.isna(v) else v for v in got] == [reference_e164(v) for v in values]
    assert got.isna().sum() == len(values) - 1  # only the vanity number is valid
