"""The decision on hand-built scored pairs: merges, the chaining guard, review, evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dialflow.jobs.linkage.compare import COMPARISONS
from dialflow.jobs.linkage.decide import decide, evidence
from dialflow.jobs.linkage.model import FellegiSunter
from dialflow.jobs.linkage.train import n_levels

LEVELS = n_levels()
MODEL = FellegiSunter(
    COMPARISONS,
    {c: np.arange(1.0, LEVELS[c] + 1) for c in COMPARISONS},
    {c: np.full(LEVELS[c], 1.0) for c in COMPARISONS},
    prior=0.5,
)


def scored(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    """Pairs (IdL, IdR, probability), every comparison at its top level."""
    frame = pd.DataFrame(rows, columns=["IdL", "IdR", "MatchProbability"])
    for comparison in COMPARISONS:
        frame[comparison] = np.int8(LEVELS[comparison] - 1)
    return frame.assign(MatchWeight=0.0).astype({"IdL": "string", "IdR": "string"})


def records(ids: str) -> pd.DataFrame:
    """Records named by one letter; later letters are newer."""
    return pd.DataFrame(
        {
            "Id": list(ids),
            "LastModifiedDate": pd.to_datetime(
                [f"2026-01-{i + 1:02d}" for i in range(len(ids))], utc=True
            ),
            "CreatedDate": pd.to_datetime(["2020-01-01"] * len(ids), utc=True),
            "Name": [f"Firm {c}" for c in ids],
            "BillingStreet": None,
            "BillingCity": None,
            "BillingState": None,
            "BillingPostalCode": None,
        }
    ).astype({"Id": "string", "Name": "string"})


def test_merges_flag_all_but_the_newest_and_the_band_goes_to_review():
    pairs = scored([("A", "B", 0.99), ("B", "C", 0.97), ("D", "E", 0.90), ("A", "C", 0.85)])
    result = decide(pairs, records("ABCDE"), MODEL, 0.95, 0.80, 20)
    assert result.flagged[["Id", "SurvivorId", "ClusterSize", "MatchKeys"]].values.tolist() == [
        ["A", "C", 3, "probabilistic"],
        ["B", "C", 3, "probabilistic"],
    ]
    # A's best pair is A-B, B's is A-B too (0.99 over 0.97).
    assert result.flagged["MatchProbability"].tolist() == [0.99, 0.99]
    # A-C is in the band but A and C are one cluster already: only D-E is for review.
    assert result.review[["Reason", "IdL", "IdR", "NameL", "NameR"]].values.tolist() == [
        ["review_band", "D", "E", "Firm D", "Firm E"]
    ]
    assert result.counts["matched_pairs"] == 2 and result.counts["review_pairs"] == 1
    assert result.counts["largest_clusters"] == [3]


def test_a_cluster_above_the_size_limit_is_not_merged_and_its_pairs_go_to_review():
    chain = scored([("A", "B", 0.99), ("B", "C", 0.99), ("C", "D", 0.99), ("E", "F", 0.99)])
    result = decide(chain, records("ABCDEF"), MODEL, 0.95, 0.80, 3)
    assert result.flagged[["Id", "SurvivorId"]].values.tolist() == [["E", "F"]]
    assert result.review[["Reason", "IdL", "IdR"]].values.tolist() == [
        ["cluster_too_large", "A", "B"],
        ["cluster_too_large", "B", "C"],
        ["cluster_too_large", "C", "D"],
    ]
    assert result.counts["clusters_over_max_size"] == 1
    assert result.counts["records_held_back"] == 4
    assert result.merged[["IdL", "IdR"]].values.tolist() == [["E", "F"]]


def test_nothing_likely_flags_nothing():
    result = decide(scored([]), records(""), MODEL, 0.95, 0.80, 20)
    assert result.flagged.empty and result.review.empty
    assert result.counts["flagged"] == 0 and result.counts["largest_cluster"] == 0


def test_evidence_names_each_level_with_its_weight_and_nulls_without_one():
    levels = pd.DataFrame({"name": [7], "street": [0], "place": [-1], "phone": [1]})
    model = FellegiSunter(
        COMPARISONS,
        {c: np.full(LEVELS[c], 1.0) for c in COMPARISONS},
        {c: np.full(LEVELS[c], 1.0) for c in COMPARISONS},
        prior=0.5,
    )
    assert evidence(levels, model).tolist() == [
        "name=exact(+0.00); street=else(+0.00); place=null; phone=shared_number(+0.00)"
    ]
