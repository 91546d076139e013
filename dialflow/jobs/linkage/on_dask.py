"""The probabilistic matcher wired on Dask: the same pure steps as `reference.match_frame`.

1. Records per partition (the fields, valid phones, dates and the normalised fields) and their
   blocking keys.
2. Keys shuffled by Block (a hash of rule and value) so every block is whole in one partition,
   the sampled rules' blocks cut once (`sampled_blocks`); the pairs inside each block, and
   per-rule counts of pairs and skipped blocks.
3. The left record joined on (a hash join on IdL, which brings the copies of a pair that several
   rules found together: they merge there), then the right record (a hash join on IdR); the
   comparison levels per partition. Records, levels and the block counts are persisted
   together, so the keys are shuffled once: the training reads them and the scoring reads the
   levels again.
4. Gathered to the client, small by construction: pattern counts (patterns x partitions), u
   (one task compares random pairs of the record sample, drawn from `u_sample_records` per
   partition at most), the block counts, and for each exact level the pairs sharing a value
   (one row per comparison and partition of a groupby that counts each value's holders, by
   hash, on the workers). The model is trained there (or pinned).
5. Scored per partition; only pairs at or above the review threshold come back, with the
   fields of the records they name; the decision runs on the client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from .. import Compute, Persist, dask_compute, dask_persist
from ..rows import AccountChecks, dropped_counts
from .blocking import (
    BLOCK_COUNTS_META,
    FOUND_META,
    KEYS_META,
    block_counts,
    found_pairs,
    keys_of,
    merge_found_pairs,
    sample_records,
    sampled_blocks,
    summed_block_counts,
)
from .compare import NORMALISED_FIELDS
from .decide import decide
from .model import FellegiSunter
from .reference import (
    FOUND_COMPARED_META,
    RECORDS_META,
    MatchResult,
    compare_found,
    id_hashes,
    prepare_records,
    records_named,
    score,
)
from .train import (
    EXACT_VALUES_META,
    PATTERN_COLUMNS,
    SHARED_META,
    U_META,
    add_patterns,
    candidate_patterns,
    exact_values,
    shared_pairs_of,
    train_model,
    u_from_samples,
    u_of_frame,
)

if TYPE_CHECKING:
    from .reference import LinkageParams

# What the pairs carry of each record: its normalised fields only.
COMPARED_FIELDS = ["Id", *NORMALISED_FIELDS]


def compare_joined(joined: pd.DataFrame) -> pd.DataFrame:
    """The levels of pairs that carry both records' fields (`<field>L`, `<field>R`)."""
    sides = [
        joined[[f"{field}{side}" for field in COMPARED_FIELDS]].set_axis(COMPARED_FIELDS, axis=1)
        for side in "LR"
    ]
    # A repeated Id is refused after this stage; one record per Id keeps compare_pairs going.
    records = pd.concat(sides, ignore_index=True).drop_duplicates("Id", ignore_index=True)
    return compare_found(joined[["IdL", "IdR", "Rules"]].reset_index(drop=True), records)


def _side(records: dd.DataFrame, side: str) -> dd.DataFrame:
    return records[COMPARED_FIELDS].rename(columns={f: f"{f}{side}" for f in COMPARED_FIELDS})


def _pattern_meta() -> pd.DataFrame:
    return pd.DataFrame(
        {
            **{c: pd.Series(dtype="int64") for c in PATTERN_COLUMNS},
            "count": pd.Series(dtype="int64"),
        }
    )


def run_matcher(
    accounts: dd.DataFrame,
    params: LinkageParams,
    model: FellegiSunter | None = None,
    compute: Compute = dask_compute,
    persist: Persist = dask_persist,
) -> MatchResult:
    """Flag duplicate accounts with the probabilistic matcher (module docstring).

    Args:
        accounts: Account with the survivor rule's columns, the compared fields and the phone
            fields.
        params: the matcher's parameters.
        model: a pinned model; None trains one from these accounts.
        compute, persist: run the stages (the CLI's show progress); default dask's.
    """
    checks = AccountChecks.of(accounts)
    records = checks.accounts.map_partitions(
        prepare_records,
        params,
        meta=RECORDS_META,
        token="linkage-records",
    )
    keys = records.map_partitions(
        keys_of,
        params.rules,
        meta=KEYS_META,
        token="linkage-keys",
    )
    blocks = keys.shuffle(on="Block").map_partitions(
        sampled_blocks, meta=KEYS_META, token="linkage-sampled-blocks"
    )
    counted = blocks.map_partitions(
        block_counts, params.blocks, meta=BLOCK_COUNTS_META, token="linkage-blocks"
    )
    found = blocks.map_partitions(
        found_pairs, params.blocks, meta=FOUND_META, token="linkage-pairs"
    )
    # The hash join on IdL brings every copy of a pair (found by several rules) into one
    # partition, where they merge before the second join.
    with_left = found.merge(_side(records, "L"), on="IdL")
    pairs = with_left.map_partitions(
        merge_found_pairs, meta=with_left._meta, token="linkage-merge-pairs"
    )
    joined = pairs.merge(_side(records, "R"), on="IdR")
    levels = joined.map_partitions(
        compare_joined, meta=FOUND_COMPARED_META, token="linkage-compare"
    )
    # The block counts go in the same persist as the levels: computed later, they would shuffle
    # every key again (at 10,000,000 accounts the run spent minutes redoing the keys).
    records, levels, counted, without_id, repeated = persist(
        records, levels, counted, *checks.collections, stage="compare candidate pairs"
    )
    patterns = levels.map_partitions(
        candidate_patterns, meta=_pattern_meta(), token="linkage-patterns"
    )
    # Each exact value's holders counted whole (a groupby across partitions on hashed values),
    # then summed per partition of the counts: a row per comparison and partition comes back;
    # u from the record sample, compared in one task beside the counts.
    trained = (
        [
            records.map_partitions(exact_values, meta=EXACT_VALUES_META, token="linkage-exact")
            .groupby(["comparison", "value"], observed=True)
            .size(split_out=True)
            .map_partitions(shared_pairs_of, meta=SHARED_META, token="linkage-shared"),
            # One task on the partitions' samples (a Delayed among the frames made Dask
            # 2026.8 return the results out of order).
            dd.from_delayed(
                [
                    dask.delayed(u_from_samples, pure=True)(
                        # Only the compared fields: the task holds every partition's sample.
                        records[COMPARED_FIELDS]
                        .map_partitions(
                            sample_records,
                            params.u_sample_records,
                            params.seed,
                            meta=RECORDS_META[COMPARED_FIELDS],
                            token="linkage-sample",
                        )
                        .to_delayed(),
                        params,
                    )
                ],
                meta=U_META,
                verify_meta=False,
            ),
        ]
        if model is None
        else []
    )
    # Small by construction: patterns x partitions, rules x partitions rows, the shared-value
    # rows and u.
    pattern_parts, count_parts, n_records, *rest = compute(
        patterns,
        counted,
        records.map_partitions(len).sum(),
        *trained,
        without_id,
        repeated,
        stage="count patterns",
    )
    trained_parts, checked = rest[: len(trained)], rest[len(trained) :]
    dropped = dropped_counts(AccountChecks.settle(*checked))
    if model is None:
        shared_parts, random_u = trained_parts
        model = train_model(
            add_patterns(pattern_parts), u_of_frame(random_u), shared_parts, int(n_records), params
        )

    scored = levels.map_partitions(
        score, model, params.review_threshold, meta=_scored_meta(), token="linkage-score"
    )
    (likely,) = compute(scored, stage="score pairs")
    # The records the likely pairs name: small by construction. Their Ids' hashes go to the
    # workers once, as one object of the graph.
    named_ids = pd.unique(pd.concat([likely["IdL"], likely["IdR"]]).to_numpy())
    wanted = dask.delayed(np.unique(id_hashes(named_ids)), pure=True)
    (named,) = compute(
        records.map_partitions(records_named, wanted, meta=records._meta, token="linkage-named"),
        stage="gather pair records",
    )
    # A hash table of the wanted Ids (isin of Arrow strings took 0.4 s for 30,000 Ids).
    named = named[pd.Index(named_ids).get_indexer(named["Id"].to_numpy(dtype=object)) >= 0]
    decision = decide(
        likely.reset_index(drop=True),
        named,
        model,
        params.threshold,
        params.review_threshold,
        params.max_cluster_size,
    )
    counts = {
        "method": "probabilistic",
        "accounts": int(n_records),
        "blocking": summed_block_counts(count_parts),
        "candidate_pairs": int(pattern_parts["count"].sum()),
        **decision.counts,
        "prior": model.prior,
        "dropped_rows": dropped,
    }
    return MatchResult(decision.flagged, decision.review, model, counts, decision.merged)


def _scored_meta() -> pd.DataFrame:
    return FOUND_COMPARED_META.assign(
        MatchWeight=pd.Series(dtype="float64"), MatchProbability=pd.Series(dtype="float64")
    )
