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
FIELDS = {
    "name": "Name",
    "street": "BillingStreet",
    "city": "BillingCity",
    "state": "BillingState",
    "postal": "BillingPostalCode",
    "phone": "Phones",
}


def records_frame(rows: list[dict]) -> pd.DataFrame:
    columns = ["Id", *FIELDS.values()]
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


@pytest.mark.parametrize(
    "left, right, level",
    [
        ("San Francisco", "san  francisco.", 2),
        ("San Francisco", "San Fransisco", 1),
        ("San Francisco", "South San Francisco", 0),  # 0.79
        ("San Francisco", "Oakland", 0),
        ("San Francisco", None, NULL),
        (None, "San Francisco", NULL),
    ],
)
def test_city_levels(left, right, level):
    assert level_of("city", left, right) == level


@pytest.mark.parametrize(
    "left, right, level",
    [
        ("CA", " ca ", 1),
        ("CA", "NY", 0),
        ("CA", "Calif.", 0),
        ("CA", None, NULL),
        (None, "CA", NULL),
        ("CA", " ", NULL),
    ],
)
def test_state_levels(left, right, level):
    assert level_of("state", left, right) == level


@pytest.mark.parametrize(
    "left, right, level",
    [
        ("94105", "94105-1234", 2),  # only the first five digits compare
        ("94105", "94106", 1),  # one substituted digit
        ("94105", "49105", 1),  # adjacent digits transposed
        ("94105", "94150", 1),
        ("94105", "95104", 0),  # a transposition of non-adjacent digits is two edits
        ("94105", "94176", 0),
        ("94105", "10001", 0),
        ("94105", "9410", NULL),  # too short to have a prefix
        ("94105", None, NULL),
        (None, "94105", NULL),
    ],
)
def test_postal_levels(left, right, level):
    assert level_of("postal", left, right) == level


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
        ("001A", "001B", 5, 4, 1, 1, 1, 1),
        ("001A", "001C", 7, 2, 0, 0, 0, 0),
        ("001B", "001C", 5, 2, 0, 0, 0, 0),
        ("001A", "001D", 0, NULL, NULL, NULL, NULL, NULL),
        ("001C", "001D", 0, NULL, NULL, NULL, NULL, NULL),
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
        int(compare_pairs(pairs_frame(PAIRS[:1]), records, SUFFIXES, digits)["postal"].iloc[0])
        for digits in (3, 4, 5)
    ]
    assert levels == [2, 1, 0]


def test_labels_name_every_level():
    labels = level_labels()
    assert tuple(labels) == COMPARISONS
    top = {"name": 7, "street": 5, "city": 2, "state": 1, "postal": 2, "phone": 1}
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
    if comparison == "postal":
        return 2 if left == right else 1 if OSA.distance(left, right) == 1 else 0
    return 2 if left == right else 1 if jw >= 0.88 else 0  # city


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
    position = {record_id: i for i, record_id in enumerate(records["Id"])}
    for comparison, values in normalised.items():
        plain = [None if pd.isna(v) else v for v in values]
        expected = [
            reference_level(comparison, plain[position[a]], plain[position[b]])
            for a, b in zip(pairs["IdL"], pairs["IdR"], strict=True)
        ]
        assert result[comparison].tolist() == expected, comparison
