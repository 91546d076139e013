"""compare: the comparison levels of candidate pairs (the evidence of Fellegi-Sunter linkage).

Each comparison gives a pair one integer level, higher meaning closer. Level -1 (`NULL`) means
either record has no value once normalised: neutral evidence, the model neither rewards nor
penalises it. The first level (from the top) whose rule holds is the pair's level.

name -- `normalize_names` of Name (casefolded, punctuation removed, whitespace collapsed, trailing
legal suffixes dropped); its words are split on spaces, "first" and "last" word being the same word
in a one-word name:
    7  exact
    6  equal once spaces are removed ("ja ck matthews" / "jack matthews")
    5  the same tokens in another order, or one name's tokens all inside the other's
       ("matthews jack" / "jack matthews", "jon smith plumbing" / "smith plumbing"):
       rapidfuzz token_sort_ratio == 100 or token_set_ratio == 100
    4  Jaro-Winkler >= 0.92 (`NAME_JW_HIGH`)
    3  one word exact and the other close, in the same or the swapped order: the last words
       equal and the first words Jaro-Winkler >= 0.88 (`NAME_WORD_JW`) or one of them a single
       letter (an initial) that the other starts with ("j matthews" / "jack matthews",
       "stephen acme plumbing" / "steven acme plumbing", whole 0.917); or the first words
       equal and the last words >= 0.88; or one's first word equal to the other's last and
       the remaining pair >= 0.88 ("smith kristina" / "christina smith")
    2  a shared word: the first or last word of one is the first or last word of the other
       ("jack matthews" / "kylie matthews", "matthews kylie" / "jack matthews"); above level 1
       because the Jaro-Winkler of whole names is lifted by a shared first word alone
       ("charlotte vincent" / "charlotte mccracken" is 0.87)
    1  Jaro-Winkler >= 0.80 (`NAME_JW_LOW`)
    0  else

street -- BillingStreet casefolded, punctuation removed, whitespace collapsed; its house number
is a first token starting with a digit, its rest what follows (the whole street when it has no
house number, nothing when it is only a number):
    5  exact
    4  the same house number and the rests Jaro-Winkler >= 0.88 (`STREET_JW`)
    3  only one street has a house number and the rests Jaro-Winkler >= 0.88 (a number left
       out: "main st" / "123 main street")
    2  Jaro-Winkler >= 0.88 on the whole streets (e.g. only the house number differs; a shared
       number also lifts the whole: "123 main st" / "123 elm st" is 0.91 though the rest is 0.75)
    1  the same house number (the rests not close, or one street only a number: "123 main st" /
       "123 oak ave", "123" / "123 main st")
    0  else

place -- one comparison of BillingPostalCode, BillingCity and BillingState together: the three
agree together (a ZIP code lies in one city and state), and as three comparisons a pair in the
same ZIP code would count the one fact three times (on the demo data, a shared business word and
a neighbouring ZIP in the same city added up to a match). Postal is `postal_prefix` (its first
`postal_digits` digits; null when fewer), city normalised as street, state stripped and
upper-cased; each compares only where both records have it:
    6  postal exact and city exact or Jaro-Winkler >= 0.88 (`CITY_JW`)
    5  postal exact (city different or missing)
    4  postal one edit (one digit substituted, or two adjacent digits transposed: OSA distance
       == 1; 94105 / 49105, 94105 / 94150, 94105 / 94106; not 94105 / 95104) and city exact
       or >= 0.88
    3  city exact or >= 0.88, postal not exact and states not different
    2  postal one edit (city different or missing)
    1  state exact
    0  else
   -1  none of the three on both records

phone -- Phones, the record's valid E.164 numbers joined by ';':
    1  the two records share a number
    0  both have numbers but share none
   -1  either has none

Jaro-Winkler is rapidfuzz's (prefix weight 0.1), computed in float64. Every string comparison
runs once per distinct pair of values, element-wise in C (`rapidfuzz.process.cpdist`); nulls
never reach rapidfuzz (it scores None as 0 and two empty strings as Jaro-Winkler 1).
A pair whose Id is not among the records has every comparison at NULL.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler

from ...schema import STRING, empty_frame
from ..dedupe import normalize_names, postal_prefix

COMPARISONS = ("name", "street", "place", "phone")
NULL = -1  # level when either side has no value: neutral evidence

NAME_JW_HIGH = 0.92
NAME_JW_LOW = 0.80
NAME_WORD_JW = 0.88
STREET_JW = 0.88
CITY_JW = 0.88
POSTAL_MAX_EDITS = 1  # OSA distance: one substitution or one adjacent transposition

# The frame compare_pairs returns (e.g. the `meta` of a Dask step).
COMPARED_META = empty_frame(
    {"IdL": STRING, "IdR": STRING, **{comparison: "int8" for comparison in COMPARISONS}}
)

# On normalised streets: a leading token starting with a digit, and the rest after a space (\p
# classes: RE2, pyarrow's regex engine, reads \d and \w as ASCII only).
_HOUSE_NUMBER = r"^(?P<number>\p{Nd}[\pL\pN_]*)(?: (?P<rest>.+))?$"

# Levels of distinct value pairs: (the distinct values, codes of the left and right values of
# each pair into them) -> int8 levels. Equal codes are equal values.
_Leveller = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def level_labels() -> dict[str, dict[int, str]]:
    """For each comparison, level -> a short human label (model.json, the evidence column)."""
    return {
        "name": {
            NULL: "null",
            0: "else",
            1: f"jaro_winkler>={NAME_JW_LOW:.2f}",
            2: "shared_word",
            3: f"one_word_exact_other_jaro_winkler>={NAME_WORD_JW:.2f}_or_initial",
            4: f"jaro_winkler>={NAME_JW_HIGH:.2f}",
            5: "same_tokens_or_subset",
            6: "equal_without_spaces",
            7: "exact",
        },
        "street": {
            NULL: "null",
            0: "else",
            1: "same_number",
            2: f"jaro_winkler>={STREET_JW:.2f}",
            3: f"number_missing_rest_jaro_winkler>={STREET_JW:.2f}",
            4: f"same_number_rest_jaro_winkler>={STREET_JW:.2f}",
            5: "exact",
        },
        "place": {
            NULL: "null",
            0: "else",
            1: "same_state",
            2: f"postal_osa_distance=={POSTAL_MAX_EDITS}",
            3: f"same_city_jaro_winkler>={CITY_JW:.2f}",
            4: f"postal_osa_distance=={POSTAL_MAX_EDITS}_same_city",
            5: "postal_exact",
            6: "postal_exact_same_city",
        },
        "phone": {NULL: "null", 0: "no_shared_number", 1: "shared_number"},
    }


def _scores(left: np.ndarray, right: np.ndarray, scorer: Callable, **kwargs: object) -> np.ndarray:
    """Score left[i] against right[i] for every i, in C.

    Two rapidfuzz workers: its threaded path converts the strings once and scores without
    holding the GIL, so the Dask threads of an in-process cluster compare side by side (one
    worker held it: two threads comparing at once took 0.83 of the time one took twice); it
    also took three quarters of the CPU of one worker for 300,000 pairs of words."""
    if len(left) == 0:
        return np.zeros(0, dtype=np.float64)
    return process.cpdist(
        left.tolist(), right.tolist(), scorer=scorer, workers=2, dtype=np.float64, **kwargs
    )


def _jaro_winkler(values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return _scores(values[left], values[right], JaroWinkler.normalized_similarity)


def _words(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The words of names: (vocabulary, each value's first word and last word as codes into it,
    the code of each vocabulary word's first letter). A one-word value has it as both."""
    names = pd.Series(values, dtype=STRING)  # normalised: single spaces, none at either end
    codes, vocabulary = pd.factorize(
        pd.concat(
            [names.str.replace(" .*$", "", regex=True), names.str.replace("^.* ", "", regex=True)],
            ignore_index=True,
        )
    )
    vocabulary = np.asarray(vocabulary, dtype=object)
    letters, _ = pd.factorize(pd.Series(vocabulary, dtype=STRING).str[0])
    return vocabulary, codes[: len(values)], codes[len(values) :], letters


def _word_close(
    words: np.ndarray, left: np.ndarray, right: np.ndarray, mask: np.ndarray
) -> np.ndarray:
    """Whether words[left] and words[right] are close (Jaro-Winkler >= NAME_WORD_JW), computed
    only where mask holds (False elsewhere)."""
    close = np.zeros(len(left), dtype=bool)
    close[mask] = _jaro_winkler(words, left[mask], right[mask]) >= NAME_WORD_JW
    return close


def _name_levels(values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    jw = _jaro_winkler(values, left, right)
    same_tokens = (
        _scores(values[left], values[right], fuzz.token_sort_ratio, score_cutoff=100) >= 100
    ) | (_scores(values[left], values[right], fuzz.token_set_ratio, score_cutoff=100) >= 100)
    unspaced, _ = pd.factorize(pd.Series(values, dtype=STRING).str.replace(" ", "", regex=False))
    vocabulary, first, last, letter = _words(values)
    fl, fr, ll, lr = first[left], first[right], last[left], last[right]
    # An initial: a one-letter first word on one side only, the other's first letter.
    lengths = pd.Series(vocabulary, dtype=STRING).str.len().to_numpy(dtype=np.int64)
    one_initial = ((lengths[fl] == 1) != (lengths[fr] == 1)) & (letter[fl] == letter[fr])
    # One word exact and the other close or an initial, in the same or the swapped order.
    same_order = ((ll == lr) & (_word_close(vocabulary, fl, fr, ll == lr) | one_initial)) | (
        (fl == fr) & _word_close(vocabulary, ll, lr, fl == fr)
    )
    swapped = ((fl == lr) & _word_close(vocabulary, ll, fr, fl == lr)) | (
        (ll == fr) & _word_close(vocabulary, fl, lr, ll == fr)
    )
    shared_word = (fl == fr) | (ll == lr) | (fl == lr) | (ll == fr)
    return np.select(
        [
            left == right,
            unspaced[left] == unspaced[right],
            same_tokens,
            jw >= NAME_JW_HIGH,
            same_order | swapped,
            shared_word,
            jw >= NAME_JW_LOW,
        ],
        [7, 6, 5, 4, 3, 2, 1],
        0,
    ).astype(np.int8)


def _text(values: pa.Array, valid: pa.Array | None = None) -> pd.Series:
    """Arrow strings as a pandas string Series, null where `valid` is false."""
    if valid is not None:
        values = pc.if_else(valid, values, pa.scalar(None, pa.string()))
    return pd.Series(values.to_pandas(types_mapper=pd.ArrowDtype), dtype=STRING)


def _street_levels(values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    streets = pa.array(values, pa.string())
    parts = pc.extract_regex(streets, _HOUSE_NUMBER)  # null where there is no house number
    number, _ = pd.factorize(_text(parts.field("number"), parts.is_valid()))  # -1: none
    # The street without its number: the whole street when it has none, null when it is only one.
    rest = _text(parts.field("rest"), parts.is_valid()).where(number >= 0, _text(streets))
    rest = rest.mask(rest == "")
    rest_codes, rests = pd.factorize(rest)  # -1 where null
    rests = np.asarray(rests, dtype=object)
    nl, nr = number[left], number[right]
    same_number = (nl >= 0) & (nl == nr)
    one_number = (nl >= 0) != (nr >= 0)
    rl, rr = rest_codes[left], rest_codes[right]
    wanted = (same_number | one_number) & (rl >= 0) & (rr >= 0)
    rest_close = np.zeros(len(left), dtype=bool)
    rest_close[wanted] = _jaro_winkler(rests, rl[wanted], rr[wanted]) >= STREET_JW
    jw = _jaro_winkler(values, left, right)
    return np.select(
        [
            left == right,
            same_number & rest_close,
            one_number & rest_close,
            jw >= STREET_JW,
            same_number,
        ],
        [5, 4, 3, 2, 1],
        0,
    ).astype(np.int8)


def _city_levels(values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    jw = _jaro_winkler(values, left, right)
    return np.select([left == right, jw >= CITY_JW], [2, 1], 0).astype(np.int8)


def _state_levels(values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return (left == right).astype(np.int8)


def _postal_levels(values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    # postal_prefix gives every code the same length, so OSA distance 1 is one substituted digit
    # or two adjacent digits transposed, never a digit more or less.
    edits = _scores(values[left], values[right], OSA.distance)
    return np.select([left == right, edits <= POSTAL_MAX_EDITS], [2, 1], 0).astype(np.int8)


def _levels(
    values: pd.Series, at_l: np.ndarray, at_r: np.ndarray, leveller: _Leveller
) -> np.ndarray:
    """Level every pair, computing each distinct (left, right) pair of values once.

    Args:
        values: one normalised value per record, null where it has none.
        at_l, at_r: each pair's record positions in `values` (-1: no such record).
        leveller: the levels of distinct value pairs.
    """
    codes, uniques = pd.factorize(values)  # -1 for null
    codes = np.append(codes, -1)  # position -1: a record the pair names but records lack
    left, right = codes[at_l].astype(np.int64), codes[at_r].astype(np.int64)
    both = (left >= 0) & (right >= 0)
    result = np.full(len(at_l), NULL, dtype=np.int8)
    if not both.any():
        return result
    width = np.int64(len(uniques))
    inverse, distinct = pd.factorize(left[both] * width + right[both])
    distinct = np.asarray(distinct, dtype=np.int64)
    result[both] = leveller(np.asarray(uniques, dtype=object), distinct // width, distinct % width)[
        inverse
    ]
    return result


# The normalised fields every comparison and blocking rule works on, one row per record.
NORMALISED_FIELDS = ("name", "street", "city", "state", "postal", "Phones")


def normalise_records(
    records: pd.DataFrame, legal_suffixes: tuple[str, ...], postal_digits: int
) -> pd.DataFrame:
    """Id and the normalised fields (NORMALISED_FIELDS) of raw records: computed once per
    record, then compared in every pair the record is in."""
    state = records["BillingState"].astype(STRING).str.strip().str.upper()
    return pd.DataFrame(
        {
            "Id": records["Id"].astype(STRING),
            "name": normalize_names(records["Name"], legal_suffixes),
            "street": normalize_names(records["BillingStreet"], ()),
            "city": normalize_names(records["BillingCity"], ()),
            "state": state.mask(state == ""),
            "postal": postal_prefix(records["BillingPostalCode"], postal_digits),
            "Phones": records["Phones"].astype(STRING),
        },
        index=records.index,
    )


_LEVELLERS: dict[str, _Leveller] = {
    "name": _name_levels,
    "street": _street_levels,
    "city": _city_levels,
    "state": _state_levels,
    "postal": _postal_levels,
}


def arrow_text(values: pd.Series) -> pa.Array:
    """The values as one pyarrow string array (for pyarrow.compute)."""
    array = pa.array(values.astype(STRING).array)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _place_levels(city: np.ndarray, state: np.ndarray, postal: np.ndarray) -> np.ndarray:
    """The place level from the levels of city (2/1/0), state (1/0) and postal (2/1/0), each
    NULL where a record lacks it."""
    city_close = city >= 1
    states_differ = state == 0
    level = np.select(
        [
            (postal == 2) & city_close,
            postal == 2,
            (postal == 1) & city_close,
            city_close & ~states_differ,
            postal == 1,
            state == 1,
        ],
        [6, 5, 4, 3, 2, 1],
        0,
    )
    nothing = (city == NULL) & (state == NULL) & (postal == NULL)
    return np.where(nothing, NULL, level).astype(np.int8)


def _phone_levels(phones: pd.Series, at_l: np.ndarray, at_r: np.ndarray) -> np.ndarray:
    """1 where the two records share a number, 0 where both have numbers, NULL otherwise.

    Args:
        phones: each record's numbers joined by ';' (empty or null when none).
        at_l, at_r: each pair's record positions in `phones` (-1: no such record).
    """
    lists = pc.split_pattern(arrow_text(phones), ";")
    numbers = pc.utf8_trim_whitespace(pc.list_flatten(lists))
    holders = pc.list_parent_indices(lists).to_numpy()
    kept = pc.and_(pc.is_valid(numbers), pc.not_equal(numbers, "")).to_numpy(zero_copy_only=False)
    holder = holders[kept].astype(np.int64)
    number, distinct = pd.factorize(numbers.filter(kept).to_numpy(zero_copy_only=False))
    width = np.int64(max(len(distinct), 1))
    # (record, number) as one integer; looked up in a hash table (pandas isin), not sorted.
    held = pd.Index(holder * width + number)

    has = np.zeros(len(phones) + 1, dtype=bool)  # the last: a record the records lack
    has[holder] = True
    result = np.where(has[at_l] & has[at_r], np.int8(0), np.int8(NULL)).astype(np.int8)
    # Each pair's left numbers, looked up among its right record's.
    at_r_known = np.where(at_r >= 0, at_r, len(phones)).astype(np.int64)
    left_numbers = pd.DataFrame({"row": np.arange(len(at_l)), "holder": at_l}).merge(
        pd.DataFrame({"holder": holder, "number": number}), on="holder"
    )
    rows = left_numbers["row"].to_numpy()
    wanted = at_r_known[rows] * width + left_numbers["number"].to_numpy(dtype=np.int64)
    result[rows[pd.Index(wanted).isin(held)]] = 1
    return result


def compare_pairs(
    pairs: pd.DataFrame,
    records: pd.DataFrame,
    legal_suffixes: tuple[str, ...],
    postal_digits: int,
) -> pd.DataFrame:
    """Return pairs' IdL, IdR plus one int8 column per comparison (names as in COMPARISONS)
    holding its level (see the module docstring for the levels).

    Args:
        pairs: columns IdL, IdR (strings, IdL < IdR).
        records: one row per Id (column Id) with Name, BillingStreet, BillingCity,
            BillingState, BillingPostalCode (strings, may be null) and Phones (the record's
            valid E.164 numbers joined by ';', empty or null when none).
        legal_suffixes: casefolded suffixes `normalize_names` drops from names.
        postal_digits: how many leading postal digits compare.
    """
    return compare_normalised(pairs, normalise_records(records, legal_suffixes, postal_digits))


def compare_normalised(pairs: pd.DataFrame, normalised: pd.DataFrame) -> pd.DataFrame:
    """`compare_pairs` on records already normalised (`normalise_records`)."""
    ids = pd.Index(normalised["Id"].astype(STRING))
    if not ids.is_unique:
        raise ValueError("compare_pairs needs one record per Id")
    id_l = pairs["IdL"].astype(STRING)
    id_r = pairs["IdR"].astype(STRING)
    result = pd.DataFrame({"IdL": id_l, "IdR": id_r}, index=pairs.index)
    if pairs.empty:
        return result.assign(**{c: np.zeros(0, dtype=np.int8) for c in COMPARISONS})
    at_l = ids.get_indexer(id_l)
    at_r = ids.get_indexer(id_r)
    fields = {
        field: _levels(normalised[field], at_l, at_r, leveller)
        for field, leveller in _LEVELLERS.items()
    }
    result["name"] = fields["name"]
    result["street"] = fields["street"]
    result["place"] = _place_levels(fields["city"], fields["state"], fields["postal"])
    result["phone"] = _phone_levels(normalised["Phones"], at_l, at_r)
    return result
