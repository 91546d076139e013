"""The decision: which scored pairs merge, which go to a person, and what each flagged record
shows as its evidence. Runs on the client over pairs that are small by construction (only
pairs at or above the review threshold come back from the workers).

- Pairs with MatchProbability >= `threshold` link their records; clusters are the connected
  components of those links and the survivor rule is dedupe's (newest LastModifiedDate, then
  CreatedDate, then greatest Id).
- Chaining guard: a cluster of more than `max_cluster_size` records is not merged (a chain of
  pairs, each likely, can join records that are nothing alike); its pairs go to review.
- Pairs with `review_threshold` <= MatchProbability < `threshold` go to review unless their two
  records already share a cluster.
- A flagged record's MatchProbability and Evidence are those of its most probable merging pair
  (ties: the pair's other Id, smallest first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...schema import STRING, empty_frame
from ..dedupe import FLAGGED_META, resolve_clusters
from .compare import COMPARISONS, NULL, level_labels
from .model import FellegiSunter

METHOD = "probabilistic"  # the MatchKeys of a probabilistic duplicate

FLAGGED_PROBABILISTIC_META = empty_frame(
    {**FLAGGED_META.dtypes.to_dict(), "MatchProbability": "float64", "Evidence": STRING}
)
# The fields a person compares in the review file, each as <field>L and <field>R.
REVIEW_FIELDS = ("Name", "BillingStreet", "BillingCity", "BillingState", "BillingPostalCode")
REVIEW_META = empty_frame(
    {
        "Reason": STRING,
        "MatchProbability": "float64",
        "MatchWeight": "float64",
        "IdL": STRING,
        "IdR": STRING,
        **{f"{field}{side}": STRING for field in REVIEW_FIELDS for side in "LR"},
        "Evidence": STRING,
    }
)


def evidence(levels: pd.DataFrame, model: FellegiSunter) -> pd.Series:
    """Each pair's levels in words with their weights, e.g. `name=exact(+9.31); phone=null`."""
    labels = level_labels()
    weights = model.weights()
    parts = []
    for comparison in COMPARISONS:
        words = {NULL: f"{comparison}=null"}
        for level, weight in enumerate(weights[comparison]):
            words[level] = f"{comparison}={labels[comparison][level]}({weight:+.2f})"
        parts.append(levels[comparison].astype(np.int64).map(words).astype(STRING))
    if levels.empty:
        return pd.Series(pd.array([], dtype=STRING), index=levels.index)
    return parts[0].str.cat(parts[1:], sep="; ")


def _best_pair_of_each_record(matched: pd.DataFrame) -> pd.DataFrame:
    """Id -> MatchProbability and Evidence of its most probable pair."""
    both = pd.concat(
        [
            matched.rename(columns={"IdL": "Id", "IdR": "Other"}),
            matched.rename(columns={"IdR": "Id", "IdL": "Other"}),
        ],
        ignore_index=True,
    )
    best = both.sort_values(
        ["Id", "MatchProbability", "Other"], ascending=[True, False, True], kind="stable"
    ).drop_duplicates("Id")
    return best.set_index("Id")[["MatchProbability", "Evidence"]]


@dataclass(frozen=True)
class Decision:
    flagged: pd.DataFrame  # FLAGGED_PROBABILISTIC_META
    review: pd.DataFrame  # REVIEW_META
    merged: pd.DataFrame  # the pairs that link records: scored pairs with Evidence
    counts: dict[str, Any]


def decide(
    scored: pd.DataFrame,
    records: pd.DataFrame,
    model: FellegiSunter,
    threshold: float,
    review_threshold: float,
    max_cluster_size: int,
) -> Decision:
    """Return the flagged records, the pairs for review, the merging pairs and the counts.

    Args:
        scored: pairs at or above `review_threshold`: IdL, IdR, the levels, MatchWeight,
            MatchProbability.
        records: the records those pairs name: Id, LastModifiedDate, CreatedDate and the
            REVIEW_FIELDS.
    """
    scored = scored.assign(Evidence=evidence(scored, model))
    merging = scored[scored["MatchProbability"] >= threshold]
    dates = records.set_index("Id")[["LastModifiedDate", "CreatedDate"]]
    members = pd.concat(
        [
            pd.DataFrame(
                {
                    "Id": merging[side].to_numpy(),
                    "MatchKey": METHOD,
                    "KeyValue": np.arange(len(merging)).astype(str),
                }
            )
            for side in ("IdL", "IdR")
        ],
        ignore_index=True,
    ).astype(STRING)
    members = members.join(dates, on="Id")
    flagged = resolve_clusters(members, (METHOD,))

    # Chaining guard: clusters above the size limit are not merged; their pairs go to review.
    too_large = flagged["ClusterSize"] > max_cluster_size
    oversized = flagged[too_large]
    held_back = set(oversized["Id"]) | set(oversized["SurvivorId"])
    flagged = flagged[~too_large]
    large_pairs = merging["IdL"].isin(held_back).to_numpy(dtype=bool)
    merged = merging[~large_pairs]

    survivors = flagged["SurvivorId"].unique()
    cluster_of = pd.concat(
        [
            pd.Series(flagged["SurvivorId"].to_numpy(), index=flagged["Id"].to_numpy()),
            pd.Series(survivors, index=survivors),
        ]
    )
    band = scored[scored["MatchProbability"] < threshold]
    left_cluster, right_cluster = band["IdL"].map(cluster_of), band["IdR"].map(cluster_of)
    same_cluster = (left_cluster == right_cluster).fillna(False).to_numpy(dtype=bool)
    review = pd.concat(
        [
            merging[large_pairs].assign(Reason="cluster_too_large"),
            band[~same_cluster].assign(Reason="review_band"),
        ],
        ignore_index=True,
    )

    flagged = flagged.join(_best_pair_of_each_record(merged), on="Id")
    flagged = flagged[list(FLAGGED_PROBABILISTIC_META.columns)].astype(
        FLAGGED_PROBABILISTIC_META.dtypes.to_dict()
    )
    sizes = flagged.groupby("SurvivorId")["ClusterSize"].first().sort_values(ascending=False)
    counts = {
        "matched_pairs": int(len(merged)),
        "review_pairs": int(len(review)),
        "clusters": int(len(sizes)),
        "records_in_clusters": int(sizes.sum()),
        "flagged": int(len(flagged)),
        "largest_cluster": int(sizes.max()) if len(sizes) else 0,
        "largest_clusters": [int(size) for size in sizes.head(10)],
        "clusters_over_max_size": int(oversized["SurvivorId"].nunique()),
        "records_held_back": len(held_back),
    }
    return Decision(flagged.reset_index(drop=True), review_frame(review, records), merged, counts)


def review_frame(review: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """The review pairs with both records' fields side by side, most probable first."""
    fields = records.set_index("Id")[list(REVIEW_FIELDS)]
    out = review.join(fields.add_suffix("L"), on="IdL").join(fields.add_suffix("R"), on="IdR")
    out = out.sort_values(
        ["MatchProbability", "IdL", "IdR"], ascending=[False, True, True], kind="stable"
    )
    return (
        out[list(REVIEW_META.columns)].astype(REVIEW_META.dtypes.to_dict()).reset_index(drop=True)
    )
