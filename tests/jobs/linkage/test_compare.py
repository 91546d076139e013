import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler

from dialflow.jobs.dedupe import normalize_names, postal_prefix
from dialflow.jobs.linkage.compare import (
    COMPARED_META,
    COMPARISONS,
    NULL,
    compare_pairs,
    level_labels,
)

SUFFIXES = ("llc", "inc")
FIELDS = {"name": "Name", "street": "BillingStreet", "phone": "Phones"}
PLACE_FIELDS = ("BillingCity", "BillingState", "BillingPostalCode")


def records_frame(rows: list[dict]) -> pd.DataFrame:
    columns = ["Id", "Name", "BillingStreet", *PLACE_FIELDS, "Phones"]
    return pd.DataFrame([{c: row.get(c) for c in columns} for row in rows], columns=columns).astype(
        "string[pyarrow]"
    )


def level_of(comparison: str, left, right) -> int:
    field = FIELDS[comparison]
    records = records_frame([{"Id": "001A", field: left}, {"Id": "001B", field: right}])
    pairs = pd.DataFrame({"IdL": ["001A"], "IdR": ["001B"]}, dtype="string[pyarrow]")
    return int(compare_pairs(pairs, records, SUFFIXES, 5)[comparison].iloc[0])


@pytest.mark.parametrize(
    "left, right, level",
    [
        ("Jack Matthews", "JACK MATTHEWS", 7),
        ("Acme, Inc.", "acme", 7),  # the suffix and punctuation go before comparing
        ("Ja ck Matthews", "Jack Matthews", 6),
        ("JackMatthews", "Jack Matthews", 6),
        ("Matthews, Jack", "Jack Matthews", 5),
        ("Jon Smith Plumbing", "Smith Plumbing", 5),
        ("Jon Smith Plumbing", "John Smith Plumbing LLC", 4),  # Jaro-Winkler 0.94
        ("Jack Matthews", "Jack Mattson", 4),  # 0.9205
        ("Jon Matthews", "John Matthews", 4),  # 0.98: the whole is close before the words
        ("J. Matthews", "Jack Matthews", 3),  # an initial, the last words equal (whole 0.87)
        ("Jack Matthews", "J Matthews", 3),
        ("Stephen Acme Plumbing", "Steven Acme Plumbing", 3),  # firsts 0.894, whole 0.917
        ("Acme Tile Supply", "Acme Tile and Stone Supplies", 3),  # firsts equal, lasts 0.89
        ("Smith Kristina", "Christina Smith", 3),  # swapped; kristina / christina 0.884
        ("Matthews Jakc", "Jack Matthews", 3),  # swapped; jakc / jack 0.93
        ("Jack Matthews", "Kylie Matthews", 2),  # a shared last word (whole 0.76)
        ("Jack Matthews", "Jill Matthews", 2),  # 0.83 whole, but only a shared word
        ("Charlotte Vincent", "Charlotte McCracken", 2),  # a shared first word (whole 0.87)
        ("Matthews Kylie", "Jack Matthews", 2),  # one's first word is the other's last
        ("J Matthews", "K Smith", 0),  # initials alone share nothing
        ("Jack Matthews", "Jake Mathers", 1),  # 0.89, no word equal
        ("Jack Matthews", "Acme Plumbing", 0),
        ("Jack Matthews", None, NULL),
        (None, "Jack Matthews", NULL),
        ("...", "Jack Matthews", NULL),  # nothing left once normalised
        (None, None, NULL),
    ],
)
def test_name_levels(left, right, level):
    assert level_of("name", left, right) == level


@pytest.mark.parametrize(
    "left, right, level",
    [
        ("123 Main St.", "123 main st", 5),
        ("123 Main St", "123 Main Street", 4),  # same number, rest 0.93
        ("123 Main St", "123 Maine St", 4),
        ("Main St", "123 Main Street", 3),  # a number left out, the rests 0.93
        ("123 Main St", "Main St", 3),  # whole 0.78
        ("12B Oak Ave", "Oak Avenue", 3),
        ("123 Main St", "124 Main St", 2),  # another number: only the whole is close
        ("Main St", "Main Street", 2),  # no house number
        ("123 Main St", "123 Elm St", 2),  # rest 0.75 but the whole 0.91 (shared "123 " prefix)
        ("123 Main St", "123 Oak Ave", 1),  # the same number only
        ("123", "123 Main St", 1),  # a street that is only a number, the same one
        ("123", "124 Main St", 0),
        ("123", "124", 0),
        ("PO Box 7", "7 Oak Ave", 0),
        ("123 Main St", "500 Oak Ave", 0),
        ("123 Main St", None, NULL),
        (None, "123 Main St", NULL),
        ("123 Main St", "  ", NULL),
    ],
)
def test_street_levels(left, right, level):
    assert level_of("street", left, right) == level


def place_of(left: tuple, right: tuple) -> int:
    """The place level of two records given as (city, state, postal code)."""
    records = records_frame(
        [
            {"Id": "001A", **dict(zip(PLACE_FIELDS, left, strict=True))},
            {"Id": "001B", **dict(zip(PLACE_FIELDS, right, strict=True))},
        ]
    )
    pairs = pd.DataFrame({"IdL": ["001A"], "IdR": ["001B"]}, dtype="string[pyarrow]")
    return int(compare_pairs(pairs, records, SUFFIXES, 5)["place"].iloc[0])


SF = ("San Francisco", "CA", "94105")


@pytest.mark.parametrize(
    "left, right, level",
    [
        (SF, ("san  francisco.", " ca ", "94105-1234"), 6),  # only five digits compare
        (SF, ("San Fransisco", "CA", "94105"), 6),  # city Jaro-Winkler >= 0.88
        (SF, ("Oakland", "CA", "94105"), 5),
        (SF, (None, None, "94105"), 5),
        (SF, ("San Francisco", "CA", "94106"), 4),  # one substituted digit
        (SF, ("San Francisco", "CA", "49105"), 4),  # adjacent digits transposed
        (SF, ("San Francisco", "CA", "94150"), 4),
        (SF, ("San Francisco", "CA", "95104"), 3),  # a far transposition is two edits
        (SF, ("San Francisco", None, None), 3),
        (SF, ("San Francisco", "NY", "10001"), 0),  # the same city name in another state
        (SF, ("South San Francisco", "CA", "94106"), 2),  # city 0.79: not close
        (SF, ("Oakland", "NY", "49105"), 2),
        (SF, ("Oakland", "CA", "94612"), 1),
        (SF, ("Oakland", "ca", "9461"), 1),  # a postal code too short to compare
        (SF, ("Oakland", "NY", "10001"), 0),
        (SF, ("Oakland", "Calif.", None), 0),
        (SF, (None, None, None), NULL),
        (SF, (None, " ", "941"), NULL),  # a blank state and a short postal code are missing
        ((None, None, None), (None, None, None), NULL),
    ],
)
def test_place_levels(left, right, level):
    assert place_of(left, right) == level


@pytest.mark.parametrize(
    "left, right, level",
    [
        ("+14155550100", "+14155550100", 1),
        ("+14155550100;+14155550101", "+13125550199;+14155550101", 1),
        ("+14155550100", "+14155550101", 0),
        ("+14155550100;+14155550102", "+14155550101", 0),
        ("+14155550100", None, NULL),
        (None, "+14155550100", NULL),
        ("", "+14155550100", NULL),
        ("+14155550100", "", NULL),
        (None, None, NULL),
    ],
)
def test_phone_levels(left, right, level):
    assert level_of("phone", left, right) == level


ACCOUNTS = [
    dict(
        Id="001A",
        Name="Jack Matthews",
        BillingStreet="123 Main St",
        BillingCity="San Francisco",
        BillingState="CA",
        BillingPostalCode="94105",
        Phones="+14155550100",
    ),
    dict(
        Id="001B",
        Name="Matthews, Jack",
        BillingStreet="123 Main Street",
        BillingCity="San Fransisco",
        BillingState="ca",
        BillingPostalCode="49105",
        Phones="+14155550100;+14155550101",
    ),
    dict(
        Id="001C",
        Name="Jack Matthews Inc",
        BillingStreet="124 Main St",
        BillingCity="Oakland",
        BillingState="NY",
        BillingPostalCode="95104",
        Phones="+13125550199",
    ),
    dict(Id="001D", Name="Acme"),
]
PAIRS = [("001A", "001B"), ("001A", "001C"), ("001B", "001C"), ("001A", "001D"), ("001C", "001D")]
EXPECTED = pd.DataFrame(
    [
        ("001A", "001B", 5, 4, 4, 1),
        ("001A", "001C", 7, 2, 0, 0),
        ("001B", "001C", 5, 2, 0, 0),
        ("001A", "001D", 0, NULL, NULL, NULL),
        ("001C", "001D", 0, NULL, NULL, NULL),
    ],
    columns=list(COMPARED_META.columns),
).astype(COMPARED_META.dtypes.to_dict())


def pairs_frame(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["IdL", "IdR"]).astype("string[pyarrow]")


def test_several_pairs_at_once():
    result = compare_pairs(pairs_frame(PAIRS), records_frame(ACCOUNTS), SUFFIXES, 5)
    assert_frame_equal(result, EXPECTED)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_result_does_not_depend_on_the_order_of_records(seed):
    records = records_frame(ACCOUNTS).sample(frac=1, random_state=seed)
    records.index = [10, 3, 7, 0]  # an index unrelated to the row positions
    result = compare_pairs(pairs_frame(PAIRS), records, SUFFIXES, 5)
    assert_frame_equal(result, EXPECTED)


def test_keeps_the_index_of_pairs():
    pairs = pairs_frame(PAIRS[:2])
    pairs.index = [41, 7]
    result = compare_pairs(pairs, records_frame(ACCOUNTS), SUFFIXES, 5)
    assert result.index.tolist() == [41, 7]
    assert result["name"].tolist() == [5, 7]


def test_repeated_value_pairs_get_the_same_levels():
    # Levels are computed once per distinct pair of values and spread back.
    records = records_frame(
        [dict(Id=f"{i:03d}", Name=["Jack Matthews", "Jill Matthews"][i % 2]) for i in range(8)]
    )
    pairs = pairs_frame([(f"{i:03d}", f"{j:03d}") for i in range(8) for j in range(i + 1, 8)])
    result = compare_pairs(pairs, records, SUFFIXES, 5)
    same = (pairs["IdL"].str[-1].astype(int) % 2) == (pairs["IdR"].str[-1].astype(int) % 2)
    assert (result["name"] == np.where(same, 7, 2)).all()


def test_an_id_the_records_lack_is_null_everywhere():
    pairs = pairs_frame([("001A", "001Z")])
    result = compare_pairs(pairs, records_frame(ACCOUNTS), SUFFIXES, 5)
    assert result[list(COMPARISONS)].iloc[0].tolist() == [NULL] * len(COMPARISONS)


def test_empty_pairs():
    result = compare_pairs(pairs_frame([]), records_frame(ACCOUNTS), SUFFIXES, 5)
    assert_frame_equal(result, COMPARED_META, check_index_type=False)


def test_empty_records():
    result = compare_pairs(pairs_frame(PAIRS[:1]), records_frame([]), SUFFIXES, 5)
    assert result[list(COMPARISONS)].iloc[0].tolist() == [NULL] * len(COMPARISONS)


def test_duplicate_record_ids_are_refused():
    records = records_frame([dict(Id="001A"), dict(Id="001A")])
    with pytest.raises(ValueError, match="one record per Id"):
        compare_pairs(pairs_frame(PAIRS[:1]), records, SUFFIXES, 5)


def test_postal_digits_sets_the_prefix():
    records = records_frame(
        [dict(Id="001A", BillingPostalCode="94105"), dict(Id="001B", BillingPostalCode="94199")]
    )
    levels = [
        int(compare_pairs(pairs_frame(PAIRS[:1]), records, SUFFIXES, digits)["place"].iloc[0])
        for digits in (3, 4, 5)
    ]
    assert levels == [5, 2, 0]


def test_labels_name_every_level():
    labels = level_labels()
    assert tuple(labels) == COMPARISONS
    top = {"name": 7, "street": 5, "place": 6, "phone": 1}
    for comparison, by_level in labels.items():
        assert sorted(by_level) == list(range(NULL, top[comparison] + 1))
        assert all(isinstance(label, str) and label for label in by_level.values())
    assert labels["name"][1] == "jaro_winkler>=0.80"
    assert labels["name"][NULL] == "null"


def reference_level(comparison: str, left, right) -> int:
    """The rules written pair by pair, straight from the module docstring."""
    if left is None or right is None:
        return NULL
    jw = JaroWinkler.normalized_similarity(left, right)
    if comparison == "name":
        if left == right:
            return 7
        if left.replace(" ", "") == right.replace(" ", ""):
            return 6
        if fuzz.token_sort_ratio(left, right) == 100 or fuzz.token_set_ratio(left, right) == 100:
            return 5
        if jw >= 0.92:
            return 4
        words_l, words_r = left.split(), right.split()
        first_l, last_l, first_r, last_r = words_l[0], words_l[-1], words_r[0], words_r[-1]
        for (a, b), (c, d) in [
            ((last_l, last_r), (first_l, first_r)),
            ((first_l, first_r), (last_l, last_r)),
            ((first_l, last_r), (last_l, first_r)),
            ((last_l, first_r), (first_l, last_r)),
        ]:
            if a == b and JaroWinkler.normalized_similarity(c, d) >= 0.88:
                return 3
        initial = (len(first_l) == 1) != (len(first_r) == 1) and first_l[0] == first_r[0]
        if last_l == last_r and initial:
            return 3
        if {first_l, last_l} & {first_r, last_r}:
            return 2
        return 1 if jw >= 0.80 else 0
    if comparison == "street":
        if left == right:
            return 5
        num_l, _, rest_l = left.partition(" ") if left[0].isdigit() else ("", "", left)
        num_r, _, rest_r = right.partition(" ") if right[0].isdigit() else ("", "", right)
        rests_close = bool(rest_l and rest_r) and (
            JaroWinkler.normalized_similarity(rest_l, rest_r) >= 0.88
        )
        if num_l and num_l == num_r and rests_close:
            return 4
        if bool(num_l) != bool(num_r) and rests_close:
            return 3
        if jw >= 0.88:
            return 2
        return 1 if num_l and num_l == num_r else 0
    raise AssertionError(comparison)


def reference_place(city_l, city_r, postal_l, postal_r) -> int:
    """The place level of records without a state, straight from the module docstring."""
    if (city_l is None or city_r is None) and (postal_l is None or postal_r is None):
        return NULL
    city_close = (
        city_l is not None
        and city_r is not None
        and (city_l == city_r or JaroWinkler.normalized_similarity(city_l, city_r) >= 0.88)
    )
    postal_known = postal_l is not None and postal_r is not None
    if postal_known and postal_l == postal_r:
        return 6 if city_close else 5
    one_edit = postal_known and OSA.distance(postal_l, postal_r) == 1
    if one_edit and city_close:
        return 4
    if city_close:
        return 3
    return 2 if one_edit else 0


def test_agrees_with_the_rules_pair_by_pair():
    rng = np.random.default_rng(14)
    pools = {
        "Name": [
            "Jack Matthews",
            "Matthews Jack",
            "Ja ck Matthews",
            "Jack Mathews",
            "Jill Matthews",
            "J Matthews",
            "Matthews Jakc",
            "Kylie Matthews",
            "Jack",
            "Jon Smith Plumbing",
            "John Smith Plumbing LLC",
            "Smith Plumbing",
            "Acme Inc",
            None,
        ],
        "BillingStreet": [
            "123 Main St",
            "123 Main Street",
            "124 Main St",
            "123 Elm St",
            "Main St",
            "12B Oak Ave",
            "12B Oak Avenue",
            "Oak Avenue",
            "123",
            "123 Oak Ave",
            "PO Box 7",
            None,
        ],
        "BillingCity": ["San Francisco", "San Fransisco", "Oakland", "Oak Land", None],
        "BillingPostalCode": ["94105", "49105", "94150", "95104", "94106", "10001", "941", None],
    }
    n = 60
    records = records_frame(
        [
            {
                "Id": f"{i:03d}",
                **{field: pool[rng.integers(len(pool))] for field, pool in pools.items()},
            }
            for i in range(n)
        ]
    )
    pairs = pairs_frame([(f"{i:03d}", f"{j:03d}") for i in range(n) for j in range(i + 1, n)])
    result = compare_pairs(pairs, records, SUFFIXES, 5)
    normalised = {
        "name": normalize_names(records["Name"], SUFFIXES),
        "street": normalize_names(records["BillingStreet"], ()),
        "city": normalize_names(records["BillingCity"], ()),
        "postal": postal_prefix(records["BillingPostalCode"], 5),
    }
    plain = {
        field: [None if pd.isna(v) else v for v in values] for field, values in normalised.items()
    }
    position = {record_id: i for i, record_id in enumerate(records["Id"])}
    at = [(position[a], position[b]) for a, b in zip(pairs["IdL"], pairs["IdR"], strict=True)]
    for comparison in ("name", "street"):
        values = plain[comparison]
        expected = [reference_level(comparison, values[i], values[j]) for i, j in at]
        assert result[comparison].tolist() == expected, comparison
    city, postal = plain["city"], plain["postal"]
    expected = [reference_place(city[i], city[j], postal[i], postal[j]) for i, j in at]
    assert result["place"].tolist() == expected
