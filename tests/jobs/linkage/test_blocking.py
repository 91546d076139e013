"""Blocking: exact candidate pairs on hand-built records, block-size limits, random pairs."""

from __future__ import annotations

import pandas as pd

from dialflow.jobs.linkage.blocking import (
    BlockLimits,
    blocking_keys,
    candidate_pairs,
    merge_found_pairs,
    random_pairs,
    rule_bit,
    sample_records,
)

SUFFIXES = ("inc", "llc")


def records(rows: list[dict]) -> pd.DataFrame:
    columns = [
        "Id",
        "Name",
        "BillingStreet",
        "BillingCity",
        "BillingState",
        "BillingPostalCode",
        "Phones",
    ]
    return pd.DataFrame([{c: row.get(c) for c in columns} for row in rows]).astype("string")


RECORDS = records(
    [
        dict(Id="A", Name="Jon Smith Plumbing", BillingCity="Austin", BillingState="TX",
             BillingPostalCode="78701", Phones="+15125550100"),
        dict(Id="B", Name="John Smith Plumbing LLC", BillingCity="Austin", BillingState="TX",
             BillingPostalCode="78710", Phones="+15125550100;+15125550199"),
        dict(Id="C", Name="Acme Tools", BillingCity="Dallas", BillingState="TX",
             BillingPostalCode="75201"),
        dict(Id="D", Name="Acme Tools Inc", BillingCity="Dallas", BillingState="TX",
             BillingPostalCode=None),
        dict(Id="E", Name=None, BillingCity="Austin", BillingState="TX",
             BillingPostalCode="75201"),
        dict(Id="F", Name="Tools Acme", BillingCity="Plano", BillingState="TX",
             BillingPostalCode="75024"),
        dict(Id="G", Name="Acme Tool Supply", BillingCity="Dallas", BillingState="TX",
             BillingPostalCode="75201"),
    ]
)  # fmt: skip


def pairs_of(rules: tuple[str, ...], rows: pd.DataFrame = RECORDS) -> list[tuple[str, str]]:
    keys = blocking_keys(rows, rules, SUFFIXES, 5)
    pairs, _ = candidate_pairs(keys, BlockLimits())
    return sorted(pairs[["IdL", "IdR"]].itertuples(index=False, name=None))


def test_each_rule_finds_exactly_its_pairs():
    assert pairs_of(("phone",)) == [("A", "B")]
    assert pairs_of(("postal",)) == [("C", "E"), ("C", "G"), ("E", "G")]
    assert pairs_of(("first_token",)) == [("C", "D"), ("C", "G"), ("D", "G")]  # "jon" / "john"
    assert pairs_of(("last_token",)) == [("A", "B"), ("C", "D")]
    # Metaphone of the last word with the city: "plumbing|austin" twice, "tls|dallas" twice.
    assert pairs_of(("phonetic_city",)) == [("A", "B"), ("C", "D")]
    # ZIP 75201 with the sound of the first word and the other word's first letter, or the
    # reverse: C gives acme+t and tools+a, G acme+s and supply+a; E has no name.
    assert pairs_of(("postal_word",)) == []
    # The whole name without spaces, with the city: "acmetools" in Dallas (suffix dropped).
    assert pairs_of(("name_city",)) == [("C", "D")]
    # Sorted sounds of the first and last word with the state: "jon" and "john" sound alike
    # (JN); "acme tools" is swapped in F.
    assert pairs_of(("words_state",)) == [("A", "B"), ("C", "D"), ("C", "F"), ("D", "F")]


def test_postal_word_meets_swapped_words_and_city_number_a_mistyped_zip():
    rows = records(
        [
            dict(Id="A", Name="Matthews Jack", BillingStreet="12 Oak St", BillingCity="Austin",
                 BillingPostalCode="78701"),
            dict(Id="B", Name="Jack Mathews", BillingStreet="12 Oak Street", BillingCity="Austin",
                 BillingPostalCode="78710"),
            dict(Id="C", Name="Jack Matthews", BillingStreet="12 Elm St", BillingCity="Austin",
                 BillingPostalCode="78701"),
            dict(Id="D", Name="Acme", BillingStreet="12 O", BillingCity="Dallas",
                 BillingPostalCode="78701"),
            dict(Id="E", Name="Zed", BillingStreet="Oak St", BillingCity="Austin",
                 BillingPostalCode="78799"),
        ]
    )  # fmt: skip

    # ZIP 78701: A's last word "jack" meets C's first word "jack", A's first word C's last.
    assert pairs_of(("postal_word",), rows) == [("A", "C")]
    # Austin, house number 12, a street starting with "o": A and B (ZIPs differ); C's street
    # starts with "e", D is in Dallas, E has no house number.
    assert pairs_of(("city_number",), rows) == [("A", "B")]


def test_pairs_found_by_several_rules_are_listed_once_with_every_rule_and_counted_per_rule():
    keys = blocking_keys(RECORDS, ("phone", "last_token", "postal"), SUFFIXES, 5)
    pairs, counts = candidate_pairs(keys, BlockLimits())
    bits = {rule: rule_bit(rule) for rule in ("phone", "last_token", "postal")}
    assert sorted(pairs.itertuples(index=False, name=None)) == [
        ("A", "B", bits["phone"] | bits["last_token"]),
        ("C", "D", bits["last_token"]),
        ("C", "E", bits["postal"]),
        ("C", "G", bits["postal"]),
        ("E", "G", bits["postal"]),
    ]
    assert counts["pairs_by_rule"] == {"last_token": 2, "phone": 1, "postal": 3}
    assert counts["skipped_blocks"] == 0


def test_copies_of_a_pair_from_several_partitions_merge_their_rules():
    found = pd.DataFrame(
        {"IdL": ["A", "A", "B", "A"], "IdR": ["B", "B", "C", "C"], "Rules": [1, 4, 2, 8]}
    ).astype({"IdL": "string", "IdR": "string", "Rules": "int16"})
    merged = merge_found_pairs(found)
    assert list(merged.itertuples(index=False, name=None)) == [
        ("A", "B", 5), ("A", "C", 8), ("B", "C", 2),
    ]  # fmt: skip


def test_the_record_sample_does_not_depend_on_how_records_are_split():
    many = records([dict(Id=f"{i:04d}") for i in range(500)])
    whole = sample_records(many, 40, seed=3)
    parts = pd.concat([sample_records(part, 40, seed=3) for part in (many[:170], many[170:])])
    assert len(whole) == 40
    assert sorted(sample_records(parts, 40, seed=3)["Id"]) == sorted(whole["Id"])
    assert sorted(sample_records(many, 40, seed=4)["Id"]) != sorted(whole["Id"])


def test_a_block_above_the_limit_is_skipped_and_counted():
    many = records([dict(Id=f"{i:03d}", Name=f"Firm {i} Smith") for i in range(5)])
    keys = blocking_keys(many, ("last_token",), SUFFIXES, 5)
    pairs, counts = candidate_pairs(keys, BlockLimits(most=4))
    assert pairs.empty
    assert counts["skipped_blocks"] == 1 and counts["skipped_block_records"] == 5
    pairs, counts = candidate_pairs(keys, BlockLimits(most=5))
    assert len(pairs) == 10  # 5 records: 5 x 4 / 2 pairs
    assert counts["windowed_blocks"] == 0 and counts["pairs_by_rule"] == {"last_token": 10}


def test_a_block_above_whole_pairs_each_record_with_its_neighbours_in_name_order():
    names = ["Smith Zed", "Smith Abe", "Smith Bo", "Smith Abel", "Smith Cy", "Smith Ada"]
    many = records([dict(Id=f"{i}", Name=name) for i, name in enumerate(names)])
    keys = blocking_keys(many, ("first_token",), SUFFIXES, 5)
    pairs, counts = candidate_pairs(keys, BlockLimits(whole=5, window=3, most=6))
    # Name order: smithabe (1), smithabel (3), smithada (5), smithbo (2), smithcy (4), smithzed
    # (0); each with the next two: 1-3 1-5, 3-5 3-2, 5-2 5-4, 2-4 2-0, 4-0.
    assert sorted(pairs[["IdL", "IdR"]].itertuples(index=False, name=None)) == [
        ("0", "2"), ("0", "4"), ("1", "3"), ("1", "5"), ("2", "3"), ("2", "4"), ("2", "5"),
        ("3", "5"), ("4", "5"),
    ]  # fmt: skip
    assert counts["pairs_by_rule"] == {"first_token": 9} and counts["windowed_blocks"] == 1


def test_random_pairs_are_distinct_ordered_and_independent_of_input_order():
    ids = pd.Series([f"{i:04d}" for i in range(50)])
    first = random_pairs(ids, 500, seed=3)
    again = random_pairs(ids.sample(frac=1, random_state=1), 500, seed=3)
    assert first.equals(again)
    assert (first["IdL"] < first["IdR"]).all() and len(first) > 450


def test_an_address_block_above_whole_is_skipped_not_windowed():
    def at_one_main(count: int) -> pd.DataFrame:
        return records(
            [
                dict(Id=f"{i}", Name=f"Firm {i}", BillingStreet="1 Main St", BillingCity="Austin")
                for i in range(count)
            ]
        )

    limits = BlockLimits(whole=5, window=3, most=100)
    pairs, counts = candidate_pairs(
        blocking_keys(at_one_main(6), ("city_number",), SUFFIXES, 5), limits
    )
    assert pairs.empty
    assert counts["skipped_blocks"] == 1 and counts["skipped_block_records"] == 6
    assert counts["windowed_blocks"] == 0
    pairs, counts = candidate_pairs(
        blocking_keys(at_one_main(5), ("city_number",), SUFFIXES, 5), limits
    )
    assert len(pairs) == 10 and counts["pairs_by_rule"] == {"city_number": 10}


def test_postal_street_pairs_one_street_in_one_postal_code_whatever_the_names():
    rows = records(
        [
            dict(Id="A", Name="Tahnee Stanbury", BillingStreet="Collier Street",
                 BillingPostalCode="2200"),
            dict(Id="B", Name="Tahner Stanbjry", BillingStreet="12 Colliervr St",
                 BillingPostalCode="2200"),
            dict(Id="C", Name="Tahnee Stanbury", BillingStreet="Collier Street",
                 BillingPostalCode="2201"),
            dict(Id="D", Name="Zed Co", BillingStreet="12", BillingPostalCode="2200"),
        ]
    )  # fmt: skip
    pairs, counts = candidate_pairs(
        blocking_keys(rows, ("postal_street",), SUFFIXES, 4), BlockLimits()
    )
    assert list(pairs[["IdL", "IdR"]].itertuples(index=False, name=None)) == [("A", "B")]
    assert counts["pairs_by_rule"] == {"postal_street": 1}


def test_a_postal_street_block_above_street_is_skipped_while_other_address_rules_keep_whole():
    def on_main_street(count: int) -> pd.DataFrame:
        return records(
            [
                dict(Id=f"{i}", Name=f"Firm {i}", BillingStreet=f"{i} Main St",
                     BillingCity="Austin", BillingPostalCode="78701")
                for i in range(count)
            ]
        )  # fmt: skip

    limits = BlockLimits(whole=10, window=3, most=100, street=4)
    rules = ("postal_street", "city_number")
    pairs, counts = candidate_pairs(blocking_keys(on_main_street(5), rules, SUFFIXES, 5), limits)
    # Five house numbers: city_number's blocks hold one record each, postal_street's one is
    # over 4.
    assert pairs.empty
    assert counts["skipped_blocks"] == 1 and counts["skipped_block_records"] == 5
    pairs, counts = candidate_pairs(blocking_keys(on_main_street(4), rules, SUFFIXES, 5), limits)
    assert len(pairs) == 6 and counts["pairs_by_rule"] == {"postal_street": 6}
    assert counts["skipped_blocks"] == 0
