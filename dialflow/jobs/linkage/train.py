"""Training the Fellegi-Sunter model from small tables: what the Dask run gathers to the client.

- u: from random pairs of a record sample (`sample_records`, the same whatever the partitions),
  compared on the client: nearly all random pairs are non-matches.
- m: EM on the level patterns of the candidate pairs, counted with the set of blocking rules
  that found each pair (`Rules`), in training sessions (as splink trains). Pairs found by
  blocking on a field agree on that field by construction, so EM over them would credit that
  field with evidence it does not carry (run over all candidate pairs at once, EM called 97% of
  FEBRL's candidate pairs matches). Each session runs EM on the pairs one group of rules found
  and keeps m only for the comparisons those rules do not bias; a comparison's m is the mean
  over the sessions that estimate it.
- prior: the pairs a strict deterministic rule calls duplicates, divided by the share of the
  duplicates that rule is assumed to find (`prior_recall`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .blocking import random_pairs, rules_mask
from .compare import COMPARISONS, compare_pairs, level_labels
from .model import COUNT, FellegiSunter, default_m_start, estimate_u, fit_em, pattern_counts

if TYPE_CHECKING:
    from .reference import LinkageParams

# Pattern counts of candidate pairs keep the rules that found them, for the sessions.
PATTERN_COLUMNS = (*COMPARISONS, "Rules")


def n_levels() -> dict[str, int]:
    """The number of non-null levels of each comparison."""
    labels = level_labels()
    return {c: max(labels[c]) + 1 for c in COMPARISONS}


def candidate_patterns(levels: pd.DataFrame) -> pd.DataFrame:
    """Count the candidate pairs of one partition by level pattern and finding rules."""
    return pattern_counts(levels, PATTERN_COLUMNS)


def add_patterns(parts: pd.DataFrame) -> pd.DataFrame:
    """Sum pattern counts gathered from several partitions (small: patterns x partitions)."""
    columns = [c for c in parts.columns if c != COUNT]
    if parts.empty:
        return parts
    return parts.groupby(columns, sort=True)[COUNT].sum().reset_index()


def u_from_sample(sample: pd.DataFrame, params: LinkageParams) -> dict[str, np.ndarray]:
    """u from `params.u_pairs` random pairs of the sampled records."""
    pairs = random_pairs(sample["Id"], params.u_pairs, params.seed)
    levels = compare_pairs(pairs, sample, params.legal_suffixes, params.postal_digits)
    return estimate_u(pattern_counts(levels, COMPARISONS), COMPARISONS, n_levels())


def deterministic_prior(patterns: pd.DataFrame, recall: float) -> float:
    """P(match) among candidate pairs, from the pairs a strict rule calls duplicates (the same
    name once spaces are removed, in the same postal area, or a shared phone number), divided
    by the share of duplicates that rule is assumed to find."""
    total = patterns[COUNT].sum()
    if total == 0:
        return 0.5
    sure = ((patterns["name"] >= 4) & (patterns["postal"] == 2)) | (patterns["phone"] == 1)
    return float(np.clip(patterns.loc[sure, COUNT].sum() / recall / total, 1e-6, 0.99))


def train_m(
    patterns: pd.DataFrame, u: dict[str, np.ndarray], params: LinkageParams
) -> dict[str, np.ndarray]:
    """Return m per comparison from the training sessions (module docstring); a comparison no
    session estimates keeps EM's starting values."""
    levels = n_levels()
    estimates: dict[str, list[np.ndarray]] = {c: [] for c in COMPARISONS}
    for rules, biased in params.sessions:
        found = (patterns["Rules"].to_numpy(dtype=np.int64) & rules_mask(rules)) != 0
        others = tuple(c for c in COMPARISONS if c != biased)
        session = fit_em(
            patterns[found],
            others,
            {c: levels[c] for c in others},
            {c: u[c] for c in others},
            params.session_prior_start,
        )
        for comparison in others:
            estimates[comparison].append(session.m[comparison])
    start = default_m_start(levels)
    return {c: np.mean(found, axis=0) if found else start[c] for c, found in estimates.items()}


def train_model(
    patterns: pd.DataFrame, sample: pd.DataFrame, params: LinkageParams
) -> FellegiSunter:
    """The model from the candidate pairs' pattern counts and the record sample."""
    u = u_from_sample(sample, params)
    m = train_m(patterns, u, params)
    return FellegiSunter(COMPARISONS, m, u, deterministic_prior(patterns, params.prior_recall))
