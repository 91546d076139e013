"""The probabilistic matcher on one pandas frame: the reference that the Dask wiring
(`dialflow.jobs.linkage.on_dask`) must equal, and what `benchmarks/bench_linkage.py` measures on
FEBRL.

Steps: records (the fields, each record's valid phone numbers and its normalised fields) ->
blocking keys -> candidate pairs -> comparison levels -> the model (`train.py`: u from random
pairs of a record sample and exact levels over all pairs, m by EM on pattern counts in training
sessions, prior over all pairs from a deterministic rule), or a pinned one -> match probability
per pair -> the decision (`decide.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...config import DEFAULT_BLOCKING_RULES
from ...phones import normalize_e164
from ...schema import STRING, TIMESTAMP, empty_frame
from .blocking import BlockLimits, candidate_pairs, keys_of, sample_records
from .compare import COMPARED_META, NORMALISED_FIELDS, compare_normalised, normalise_records
from .decide import decide
from .model import FellegiSunter
from .train import (
    add_patterns,
    candidate_patterns,
    shared_value_pairs,
    train_model,
    u_from_sample,
)

RECORD_COLUMNS = [
    "Id", "Name", "BillingStreet", "BillingCity", "BillingState", "BillingPostalCode",
]  # fmt: skip
DATE_COLUMNS = ["LastModifiedDate", "CreatedDate"]
RECORDS_META = empty_frame(
    {
        **dict.fromkeys(RECORD_COLUMNS, STRING),
        "Phones": STRING,
        **dict.fromkeys(DATE_COLUMNS, TIMESTAMP),
        **{field: STRING for field in NORMALISED_FIELDS if field != "Phones"},
    }
)
# Compared candidate pairs keep the rules that found them (for the training sessions).
FOUND_COMPARED_META = COMPARED_META.assign(Rules=pd.Series(dtype="int16"))


@dataclass(frozen=True)
class LinkageParams:
    """What the probabilistic matcher needs (dedupe's settings fill it: `DedupeParams.linkage`)."""

    phone_fields: tuple[str, ...]
    region: str = "US"
    legal_suffixes: tuple[str, ...] = ("inc", "llc", "ltd", "corp", "co")
    postal_digits: int = 5
    rules: tuple[str, ...] = DEFAULT_BLOCKING_RULES
    blocks: BlockLimits = BlockLimits()
    # Merging needs strong evidence: a false merge hides an account's data behind another's,
    # a missed duplicate costs one extra call.
    threshold: float = 0.95
    review_threshold: float = 0.80
    max_cluster_size: int = 20
    u_pairs: int = 200_000
    u_sample_records: int = 20_000
    seed: int = 7
    # The deterministic rule behind the prior finds this share of the true duplicates.
    prior_recall: float = 0.7
    # Training session -> the blocking rules that must all have found its pairs, and the
    # comparisons those rules bias (left out of that session). See train.py.
    sessions: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
        (("postal_sample",), ("place",)),
        (("name_sample",), ("name",)),
    )
    session_prior_start: float = 0.1


@dataclass(frozen=True)
class LinkageResult:
    pairs: pd.DataFrame  # IdL, IdR, the levels, Rules, MatchWeight, MatchProbability
    model: FellegiSunter
    counts: dict[str, Any]
    records: pd.DataFrame  # prepare_records of the accounts


def _numbers_per_record(numbers: list[pd.Series], index: pd.Index) -> pd.Series:
    """Each record's distinct numbers, sorted and joined by `;` (null when it has none), from
    one Series of numbers per phone field (null where a field has none), in C: a sort of
    (record, number) pairs in pyarrow. pandas' drop_duplicates, a two-column sort of texts and a
    group by Id took a third of preparing the records."""
    import pyarrow as pa
    import pyarrow.compute as pc

    count = len(numbers[0])
    values = pa.chunked_array(
        [pa.array(field.array, pa.large_string()) for field in numbers], pa.large_string()
    ).combine_chunks()
    table = pa.table({"row": np.tile(np.arange(count, dtype=np.int64), len(numbers)), "n": values})
    table = table.filter(pc.is_valid(values))
    table = table.take(pc.sort_indices(table, [("row", "ascending"), ("n", "ascending")]))
    rows = table["row"].to_numpy()
    sorted_numbers = table["n"].combine_chunks()
    repeated = np.zeros(len(rows), dtype=bool)
    if len(rows) > 1:
        repeated[1:] = (rows[1:] == rows[:-1]) & pc.equal(
            sorted_numbers[1:], sorted_numbers[:-1]
        ).to_numpy(zero_copy_only=False)
    rows, sorted_numbers = rows[~repeated], sorted_numbers.filter(pa.array(~repeated))
    offsets = np.searchsorted(rows, np.arange(count + 1)).astype(np.int64)
    lists = pa.LargeListArray.from_arrays(
        pa.array(offsets), sorted_numbers, mask=pa.array(offsets[1:] == offsets[:-1])
    )
    joined = pc.binary_join(lists, pa.scalar(";", pa.large_string()))
    return pd.Series(joined, index=index, dtype=STRING)


def prepare_records(accounts: pd.DataFrame, params: LinkageParams) -> pd.DataFrame:
    """Return each account's fields (for review), its valid numbers joined by `;` (Phones), its
    dates (null when the accounts have none) and its normalised fields (`normalise_records`:
    name, street, city, state, postal), computed once per record."""
    records = accounts[RECORD_COLUMNS].astype(STRING).reset_index(drop=True)
    records["Phones"] = _numbers_per_record(
        [
            normalize_e164(accounts[field], params.region)
            for field in params.phone_fields
            if field in accounts.columns
        ]
        or [pd.Series(pd.NA, index=records.index, dtype=STRING)],
        records.index,
    )
    for column in DATE_COLUMNS:
        if column in accounts.columns:
            # .array: to_numpy() of a time-zone-aware column makes one Timestamp per row.
            records[column] = accounts[column].astype(TIMESTAMP).array
        else:
            records[column] = pd.Series(pd.NaT, index=records.index, dtype=TIMESTAMP)
    normalised = normalise_records(records, params.legal_suffixes, params.postal_digits)
    return pd.concat([records, normalised.drop(columns=["Id", "Phones"])], axis=1)


def id_hashes(ids: pd.Series | np.ndarray) -> np.ndarray:
    """A 64-bit hash of each Id (the same on every partition and in every run)."""
    values = pd.Series(np.asarray(ids, dtype=object), dtype=STRING)
    return pd.util.hash_pandas_object(values, index=False, hash_key="dialflowrecord00").to_numpy(
        np.uint64
    )


def records_named(records: pd.DataFrame, wanted: np.ndarray) -> pd.DataFrame:
    """The records whose Id hash (`id_hashes`) is in `wanted`: the records a few pairs name,
    picked on every partition by one integer lookup (a list of the Ids in every task made the
    graph large and each task build a table of them). A hash may name another record too; the
    caller keeps the Ids it asked for."""
    return records[pd.Index(id_hashes(records["Id"])).isin(wanted)]


def compare_found(found: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """The levels of candidate pairs, keeping the rules that found them."""
    levels = compare_normalised(found, records[["Id", *NORMALISED_FIELDS]])
    return levels.assign(Rules=found["Rules"].to_numpy())


def score(levels: pd.DataFrame, model: FellegiSunter, least: float = 0.0) -> pd.DataFrame:
    """Add MatchWeight and MatchProbability; keep the pairs at or above `least`."""
    scored = levels.assign(
        MatchWeight=model.match_weight(levels), MatchProbability=model.match_probability(levels)
    )
    return scored[scored["MatchProbability"] >= least]


def probabilistic_pairs(
    accounts: pd.DataFrame, params: LinkageParams, model: FellegiSunter | None = None
) -> LinkageResult:
    """Score every candidate pair of one frame with a trained (or the given) model."""
    records = prepare_records(accounts, params)
    keys = keys_of(records, params.rules)
    found, blocking = candidate_pairs(keys, params.blocks)
    levels = compare_found(found, records)
    if model is None:
        patterns = add_patterns(candidate_patterns(levels))
        u = u_from_sample(sample_records(records, params.u_sample_records, params.seed), params)
        shared = shared_value_pairs(records)
        model = train_model(patterns, u, shared, len(records), params)
    counts = {
        "method": "probabilistic",
        "accounts": len(records),
        "blocking": blocking,
        "candidate_pairs": len(found),
    }
    return LinkageResult(score(levels, model), model, counts, records)


@dataclass(frozen=True)
class MatchResult:
    flagged: pd.DataFrame
    review: pd.DataFrame
    model: FellegiSunter
    counts: dict[str, Any]
    merged: pd.DataFrame  # the pairs that link records


def match_frame(
    accounts: pd.DataFrame, params: LinkageParams, model: FellegiSunter | None = None
) -> MatchResult:
    """The whole probabilistic dedupe on one frame (the counts as the Dask run's, without the
    dropped rows)."""
    result = probabilistic_pairs(accounts, params, model)
    likely = result.pairs[result.pairs["MatchProbability"] >= params.review_threshold]
    records = result.records
    named = records[records["Id"].isin(likely["IdL"]) | records["Id"].isin(likely["IdR"])]
    decision = decide(
        likely.reset_index(drop=True),
        named,
        result.model,
        params.threshold,
        params.review_threshold,
        params.max_cluster_size,
    )
    counts = {**result.counts, **decision.counts, "prior": result.model.prior}
    return MatchResult(decision.flagged, decision.review, result.model, counts, decision.merged)
