"""The probabilistic matcher on one pandas frame: the reference that the Dask wiring (to come)
must equal, and what `benchmarks/bench_linkage.py` measures on FEBRL.

Steps: records (the compared fields and each record's valid phone numbers) -> blocking keys ->
candidate pairs -> comparison levels -> u from random pairs -> m by EM on the counts of level
patterns, in training sessions -> prior from a deterministic rule -> match probability per pair.

Training sessions (as splink trains): pairs found by blocking on a field agree on that field by
construction, so EM over them would credit that field with evidence it does not carry (run over
all candidate pairs at once, EM called 97% of FEBRL's candidate pairs matches). Each session runs
EM on the pairs one group of rules found and keeps m only for the comparisons those rules do not
bias; a comparison's m is the mean over the sessions that estimate it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ...phones import normalize_e164
from ...schema import STRING
from .blocking import BLOCKING_RULES, blocking_keys, candidate_pairs, random_pairs
from .compare import COMPARISONS, compare_pairs, level_labels
from .model import FellegiSunter, default_m_start, estimate_u, fit_em, pattern_counts

RECORD_COLUMNS = [
    "Id", "Name", "BillingStreet", "BillingCity", "BillingState", "BillingPostalCode",
]  # fmt: skip


@dataclass(frozen=True)
class LinkageParams:
    """What the probabilistic matcher needs (config keys to come with its wiring)."""

    phone_fields: tuple[str, ...]
    region: str = "US"
    legal_suffixes: tuple[str, ...] = ("inc", "llc", "ltd", "corp", "co")
    postal_digits: int = 5
    rules: tuple[str, ...] = BLOCKING_RULES
    max_block_size: int = 1_000
    # Merging needs strong evidence: a false merge hides an account's data behind another's,
    # a missed duplicate costs one extra call. Pairs below it will go to review (to come).
    threshold: float = 0.95
    u_pairs: int = 200_000
    seed: int = 7
    # The deterministic rule behind the prior finds this share of the true duplicates.
    prior_recall: float = 0.7
    # Training session -> the blocking rules whose pairs it trains on, and the comparison they
    # bias (left out of that session).
    sessions: tuple[tuple[tuple[str, ...], str], ...] = (
        (("postal",), "postal"),
        (("first_token", "last_token"), "name"),
    )
    session_prior_start: float = 0.1


@dataclass(frozen=True)
class LinkageResult:
    pairs: pd.DataFrame  # IdL, IdR, the levels, MatchWeight, MatchProbability
    model: FellegiSunter
    counts: dict[str, Any]


def prepare_records(
    accounts: pd.DataFrame, phone_fields: tuple[str, ...], region: str
) -> pd.DataFrame:
    """Return the compared fields of each account and its valid numbers joined by `;`."""
    records = accounts[RECORD_COLUMNS].astype(STRING).reset_index(drop=True)
    numbers = pd.concat(
        [
            pd.DataFrame({"Id": records["Id"], "Phone": normalize_e164(accounts[f], region)})
            for f in phone_fields
            if f in accounts.columns
        ]
        or [pd.DataFrame({"Id": pd.Series(dtype=STRING), "Phone": pd.Series(dtype=STRING)})],
        ignore_index=True,
    ).dropna()
    numbers = numbers.drop_duplicates().sort_values(["Id", "Phone"])
    joined = numbers.groupby("Id", sort=False)["Phone"].agg(";".join)
    return records.assign(Phones=records["Id"].map(joined).astype(STRING))


def deterministic_prior(levels: pd.DataFrame, recall: float) -> float:
    """P(match) among candidate pairs, from the pairs a strict rule calls duplicates (the same
    name once spaces are removed, in the same postal area, or a shared phone number), divided
    by the share of duplicates that rule is assumed to find."""
    # name levels 6 and 7: equal once spaces are removed, exact
    sure = ((levels["name"] >= 6) & (levels["postal"] == 2)) | (levels["phone"] == 1)
    if len(levels) == 0:
        return 0.5
    return float(np.clip(sure.sum() / recall / len(levels), 1e-6, 0.99))


def train_m(
    keys: pd.DataFrame,
    levels: pd.DataFrame,
    u: dict[str, np.ndarray],
    n_levels: dict[str, int],
    params: LinkageParams,
) -> dict[str, np.ndarray]:
    """Return m per comparison from the training sessions (module docstring); a comparison no
    session estimates keeps EM's starting values. `levels` are every candidate pair's levels:
    a session's pairs are among them, so they are looked up, not compared again."""
    estimates: dict[str, list[np.ndarray]] = {c: [] for c in COMPARISONS}
    for rules, biased in params.sessions:
        pairs, _ = candidate_pairs(keys[keys["Rule"].isin(rules)], params.max_block_size)
        session_levels = levels.merge(pairs, on=["IdL", "IdR"])
        others = tuple(c for c in COMPARISONS if c != biased)
        session = fit_em(
            pattern_counts(session_levels, others),
            others,
            {c: n_levels[c] for c in others},
            {c: u[c] for c in others},
            params.session_prior_start,
        )
        for comparison in others:
            estimates[comparison].append(session.m[comparison])
    start = default_m_start(n_levels)
    return {
        c: np.mean(found, axis=0) if found else start[c] for c, found in estimates.items()
    }


def probabilistic_pairs(accounts: pd.DataFrame, params: LinkageParams) -> LinkageResult:
    """Score every candidate pair of one frame; pairs at or above `threshold` are duplicates."""
    records = prepare_records(accounts, params.phone_fields, params.region)
    keys = blocking_keys(records, params.rules, params.legal_suffixes, params.postal_digits)
    pairs, counts = candidate_pairs(keys, params.max_block_size)
    levels = compare_pairs(pairs, records, params.legal_suffixes, params.postal_digits)
    labels = level_labels()
    n_levels = {c: max(labels[c]) + 1 for c in COMPARISONS}
    sample = random_pairs(records["Id"], params.u_pairs, params.seed)
    random_levels = compare_pairs(sample, records, params.legal_suffixes, params.postal_digits)
    u = estimate_u(pattern_counts(random_levels, COMPARISONS), COMPARISONS, n_levels)
    m = train_m(keys, levels, u, n_levels, params)
    prior = deterministic_prior(levels, params.prior_recall)
    model = FellegiSunter(COMPARISONS, m, u, prior)
    scored = levels.assign(
        MatchWeight=model.match_weight(levels), MatchProbability=model.match_probability(levels)
    )
    counts = {
        **counts,
        "candidate_pairs": len(pairs),
        "matched_pairs": int((scored["MatchProbability"] >= params.threshold).sum()),
        "prior": prior,
    }
    return LinkageResult(scored, model, counts)
