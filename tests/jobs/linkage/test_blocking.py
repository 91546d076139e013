"""Blocking: exact candidate pairs on hand-built records, block-size limits, random pairs."""

from __future__ import annotations

import pandas as pd

from dialflow.jobs.linkage.blocking import blocking_keys, candidate_pairs, random_pairs

SUFFIXES = ("inc", "llc")


def records(rows: list[dict]) -> pd.DataFrame:
    columns = ["Id", "Name", "BillingCity", "BillingPostalCode", "Phones"]
    return pd.DataFrame([{c: row.get(c) for c in columns} for row in rows]).astype("string")


RECORDS = records(
    [
        dict(Id="A", Name="Jon Smith Plumbing", BillingCity="Austin", BillingPostalCode="78701",
             Phones="+15125550100"),
        dict(Id="B", Name="John Smith Plumbing LLC", BillingCity="Austin",
             BillingPostalCode="78710", Phones="+15125550100;+15125550199"),
        dict(Id="C", Name="Acme Tools", BillingCity="Dallas", BillingPostalCode="75201"),
        dict(Id="D", Name="Acme Tools Inc", BillingCity="Dallas", BillingPostalCode=None),
        dict(Id="E", Name=None, BillingCity="Austin", BillingPostalCode="75201"),
    ]
)  # fmt: skip


def pairs_of(rules: tuple[str, ...], max_block_size: int = 100) -> list[tuple[str, str]]:
    keys = blocking_keys(RECORDS, rules, SUFFIXES, 5)
    pairs, _ = candidate_pairs(keys, max_block_size)
    return sorted(pairs[["IdL", "IdR"]].itertuples(index=False, name=None))


def test_each_rule_finds_exactly_its_pairs():
    assert pairs_of(("phone",)) == [("A", "B")]
    assert pairs_of(("postal",)) == [("C", "E")]
    assert pairs_of(("first_token",)) == [("C", "D")]  # "jon" / "john" differ
    assert pairs_of(("last_token",)) == [("A", "B"), ("C", "D")]
    # Metaphone of the last word with the city: "plumbing|austin" twice, "tls|dallas" twice.
    assert pairs_of(("phonetic_city",)) == [("A", "B"), ("C", "D")]


def test_pairs_found_by_several_rules_are_listed_once_and_counted_per_rule():
    keys = blocking_keys(RECORDS, ("phone", "last_token", "postal"), SUFFIXES, 5)
    pairs, counts = candidate_pairs(keys, 100)
    # Rules: phone 1, postal 2, last_token 8 (the bits of BLOCKING_RULES' order).
    assert sorted(pairs.itertuples(index=False, name=None)) == [
        ("A", "B", 1 | 8), ("C", "D", 8), ("C", "E", 2),
    ]  # fmt: skip
    assert counts["pairs_by_rule"] == {"last_token": 2, "phone": 1, "postal": 1}
    assert counts["skipped_blocks"] == 0


def test_a_block_above_the_limit_is_skipped_and_counted():
    many = records([dict(Id=f"{i:03d}", Name=f"Firm {i} Smith", BillingCity="X") for i in range(5)])
    keys = blocking_keys(many, ("last_token",), SUFFIXES, 5)
    pairs, counts = candidate_pairs(keys, max_block_size=4)
    assert pairs.empty
    assert counts["skipped_blocks"] == 1 and counts["skipped_block_records"] == 5
    pairs, counts = candidate_pairs(keys, max_block_size=5)
    assert len(pairs) == 10  # 5 records: 5 x 4 / 2 pairs


def test_random_pairs_are_distinct_ordered_and_independent_of_input_order():
    ids = pd.Series([f"{i:04d}" for i in range(50)])
    first = random_pairs(ids, 500, seed=3)
    again = random_pairs(ids.sample(frac=1, random_state=1), 500, seed=3)
    assert first.equals(again)
    assert (first["IdL"] < first["IdR"]).all() and len(first) > 450
