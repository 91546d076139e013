"""Training the Fellegi-Sunter model from small tables: what the Dask run gathers to the client.

- u: from random pairs of a record sample (`sample_records`, the same whatever the partitions),
  compared on the client: nearly all random pairs are non-matches. The exact levels of name,
  street and place are counted over every pair of records instead (`with_exact_u`).
- m: EM on the level patterns of the candidate pairs, counted with the set of blocking rules
  that found each pair (`Rules`), in training sessions (as splink trains). Pairs found by
  blocking on a field agree on that field by construction, so EM over them would credit that
  field with evidence it does not carry (run over all candidate pairs at once, EM called 97% of
  FEBRL's candidate pairs matches). Each session runs EM on the pairs that every rule of its
  group found and keeps m only for the comparisons those rules do not bias; a comparison's m
  is the mean over the sessions that estimate it. The sessions (`LinkageParams.sessions`):
  pairs in one sampled postal code (`postal_sample`: they agree on the place, so it trains name,
  street and phone) and pairs with one sampled name (`name_sample`: trains street, place and
  phone). Sessions need pairs where matches are common: on the demo data, pairs sharing one
  common name word ("miller", "plumbing") are nearly all non-matches, and EM over them took
  "same city" for the match class.
- m is then made monotone: a closer level never weighs less than a farther one (`monotone_m`).
- prior: a random pair's chance to match, over all pairs of the records. It starts from the pairs
  a strict deterministic rule calls duplicates, divided by the share of the duplicates that rule
  is assumed to find (`prior_recall`, `deterministic_prior`), and is then estimated by EM with m
  and u held (`em_prior`): the expected number of matches among the candidate pairs, over all
  pairs. The assumed recall is a guess that data sets do not share (the strict rule found 27% of
  FEBRL 3's duplicates, not 70%, and the prior came out 2.5 times too low); EM reads it off the
  data (FEBRL 1, 2, 3: 0.96e-3, 1.39e-4, 4.69e-4 against true 1.00e-3, 1.55e-4, 5.23e-4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .blocking import random_pairs, rules_mask, sample_records
from .compare import COMPARISONS, NORMALISED_FIELDS, compare_normalised, level_labels
from .model import (
    COUNT,
    FLOOR,
    PRIOR_FLOOR,
    FellegiSunter,
    default_m_start,
    estimate_u,
    fit_em,
    pattern_counts,
)

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


# u as a frame (a row per comparison and level), so that Dask computes it among the frames.
U_META = pd.DataFrame(
    {
        "comparison": pd.Series(dtype=object),
        "level": pd.Series(dtype="int64"),
        "u": pd.Series(dtype="float64"),
    }
)


def u_from_samples(samples: list[pd.DataFrame], params: LinkageParams) -> pd.DataFrame:
    """`u_from_sample` of the record sample drawn from the union of per-partition samples
    (`sample_records` gives the same records either way), as a frame (`U_META`; `u_of_frame`
    reads it back). On Dask it runs as one task beside the other counts, not on the client
    after them."""
    sample = sample_records(pd.concat(samples), params.u_sample_records, params.seed)
    # A repeated Id is refused after this stage (AccountChecks); one record per Id keeps the
    # comparison going until then.
    u = u_from_sample(sample.drop_duplicates("Id"), params)
    return pd.DataFrame(
        {
            "comparison": [c for c in u for _ in u[c]],
            "level": [level for c in u for level in range(len(u[c]))],
            "u": np.concatenate([u[c] for c in u]),
        }
    )


def u_of_frame(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The u of each comparison from `u_from_samples`' frame."""
    ordered = frame.sort_values(["comparison", "level"])
    return {
        str(c): group["u"].to_numpy(dtype=np.float64)
        for c, group in ordered.groupby("comparison", sort=False)
    }


def u_from_sample(sample: pd.DataFrame, params: LinkageParams) -> dict[str, np.ndarray]:
    """u from `params.u_pairs` random pairs of the sampled records."""
    pairs = random_pairs(sample["Id"], params.u_pairs, params.seed)
    levels = compare_normalised(pairs, sample[["Id", *NORMALISED_FIELDS]])
    return estimate_u(pattern_counts(levels, COMPARISONS), COMPARISONS, n_levels())


# Comparison -> its exact level and the normalised fields that are all equal at it (place 6 is
# the postal code and the city; a city merely close counts too, which this leaves out).
EXACT_LEVELS: dict[str, tuple[int, tuple[str, ...]]] = {
    "name": (7, ("name",)),
    "street": (5, ("street",)),
    "place": (6, ("postal", "city")),
}
EXACT_COMPARISON = pd.CategoricalDtype(list(EXACT_LEVELS))
EXACT_VALUES_META = pd.DataFrame(
    {"comparison": pd.Series(dtype=EXACT_COMPARISON), "value": pd.Series(dtype="uint64")}
)
SHARED_META = pd.DataFrame(
    {
        "comparison": pd.Series(dtype=object),
        "shared_pairs": pd.Series(dtype="float64"),
        "holders": pd.Series(dtype="float64"),
    }
)


def exact_values(records: pd.DataFrame) -> pd.DataFrame:
    """One row per record and comparison of EXACT_LEVELS whose fields the record has: the
    comparison and a 64-bit hash of the fields' values (`EXACT_VALUES_META`). Counted by value
    on Dask, the three comparisons take one shuffle of integers instead of one of texts each;
    two values of 400,000 sharing a hash is a chance of about 1 in 10^8, and would only add
    their holders' pairs to the exact level's share."""
    parts = [
        pd.DataFrame(
            {
                "comparison": pd.Categorical.from_codes(
                    np.full(len(held), code, dtype=np.int8), dtype=EXACT_COMPARISON
                ),
                "value": pd.util.hash_pandas_object(held, index=False).to_numpy(np.uint64),
            }
        )
        for code, (_, fields) in enumerate(EXACT_LEVELS.values())
        for held in [records[list(fields)].dropna()]
    ]
    return pd.concat(parts, ignore_index=True)


def shared_value_pairs(records: pd.DataFrame) -> pd.DataFrame:
    """`shared_pairs_of` the value counts of one frame's records."""
    return shared_pairs_of(exact_values(records).groupby(["comparison", "value"]).size())


def shared_pairs_of(counts: pd.Series) -> pd.DataFrame:
    """From how many records hold each value of each comparison (counts indexed by comparison
    and value, every value's holders counted whole): per comparison, the pairs of records
    sharing a value and the records holding one. Rows of several partitions of the counts add
    up."""
    holders = counts[counts > 0].astype(np.float64)
    by_comparison = pd.DataFrame(
        {"shared_pairs": holders * (holders - 1) / 2, "holders": holders}
    ).groupby(level="comparison", observed=True)
    summed = by_comparison.sum().reset_index()
    return summed.astype({"comparison": object})[list(SHARED_META.columns)]


def with_exact_u(u: dict[str, np.ndarray], shared: pd.DataFrame) -> dict[str, np.ndarray]:
    """u with each exact level's share counted over every pair of records instead of a sample.

    Exact agreement on a name or an address is rare among random pairs: 200,000 sampled pairs
    hold a handful, and smoothing puts its u up to 2 bits off (at 400,000 demo accounts, a
    name agreed by 2 sampled pairs of 200,000 against 1 pair in 100,000 counted over all).
    Counting the holders of each value gives it exactly; the other levels keep their sampled
    shares of the rest.
    """
    exact = dict(u)
    totals = shared.groupby("comparison")[["shared_pairs", "holders"]].sum()
    for comparison, row in totals.iterrows():  # one row per comparison in EXACT_LEVELS
        pairs = row["holders"] * (row["holders"] - 1) / 2
        if pairs <= 0 or row["shared_pairs"] <= 0:
            continue
        level, _ = EXACT_LEVELS[comparison]
        share = row["shared_pairs"] / pairs
        levels = np.array(u[comparison], dtype=np.float64)
        others = np.delete(levels, level)
        exact[comparison] = np.insert(others / others.sum() * (1.0 - share), level, share)
    return exact


def deterministic_prior(patterns: pd.DataFrame, recall: float, records: int) -> float:
    """P(match) of two records drawn at random: the candidate pairs a strict rule calls
    duplicates (the same name once spaces are removed and the same postal code, or a shared
    phone number), divided by the share of duplicates that rule is assumed to find, over all
    pairs of the records.

    Over all pairs, not over the candidate pairs: u comes from random pairs, so a level's weight
    log2(m/u) measures evidence against a random pair, and the prior must be a random pair's
    too (as splink's `probability_two_random_records_match`). Taken over the candidate pairs it
    was 12 bits too high on 400,000 demo accounts (0.002 against 3e-7), which turned every
    pair with a common name word and a neighbouring ZIP in one city into a match.
    """
    pairs = records * (records - 1) / 2
    if pairs <= 0:
        return 0.5
    # name levels 6 and 7: equal once spaces are removed, exact; place 5 and 6: postal exact
    sure = ((patterns["name"] >= 6) & (patterns["place"] >= 5)) | (patterns["phone"] == 1)
    return float(np.clip(patterns.loc[sure, COUNT].sum() / recall / pairs, 1e-12, 0.99))


# em_prior stops when a step moves the prior by less than this share of it (FEBRL: 4-5 steps).
EM_PRIOR_TOLERANCE = 1e-6
EM_PRIOR_STEPS = 200


def em_prior(
    patterns: pd.DataFrame,
    m: dict[str, np.ndarray],
    u: dict[str, np.ndarray],
    start: float,
    records: int,
) -> float:
    """The prior by EM with m and u held, from `start`: repeatedly, the candidate pairs' summed
    match probabilities over all pairs of the records, until it settles.

    The pairs that no blocking rule found count as non-matches (their probabilities would add
    nearly nothing: they share no key, so no name, address or number), which makes this the
    EM step for the mixing weight of the two classes over all pairs, m and u given.
    """
    pairs = records * (records - 1) / 2
    if pairs <= 0 or patterns.empty:
        return start
    # log2 of each pattern's Bayes factor: its match weight under even prior odds.
    factor = np.exp2(FellegiSunter(COMPARISONS, m, u, 0.5).match_weight(patterns).to_numpy())
    counts = patterns[COUNT].to_numpy(dtype=np.float64)
    prior = start
    for _ in range(EM_PRIOR_STEPS):
        matched = prior * factor / (prior * factor + 1.0 - prior)
        settled = float(np.clip((counts * matched).sum() / pairs, PRIOR_FLOOR, 0.99))
        if abs(settled - prior) <= EM_PRIOR_TOLERANCE * prior:
            return settled
        prior = settled
    return prior


def train_m(
    patterns: pd.DataFrame, u: dict[str, np.ndarray], params: LinkageParams
) -> dict[str, np.ndarray]:
    """Return m per comparison from the training sessions (module docstring); a comparison no
    session estimates keeps EM's starting values. A session trains on the pairs found by every
    one of its rules, and skips when there are none."""
    levels = n_levels()
    estimates: dict[str, list[np.ndarray]] = {c: [] for c in COMPARISONS}
    for rules, biased in params.sessions:
        mask = rules_mask(rules)
        found = (patterns["Rules"].to_numpy(dtype=np.int64) & mask) == mask
        if patterns.loc[found, COUNT].sum() == 0:
            continue
        others = tuple(c for c in COMPARISONS if c not in biased)
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


def monotone_m(m: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Raise m where a closer level would weigh less than a farther one, then renormalise.

    Levels are ordered by closeness, so a closer level is never weaker evidence of a match:
    where a session saw (nearly) no matches at a level, EM leaves its m at the floor, and an
    exact agreement ("the two records share a phone number") would count against the match.
    Each level's ratio m/u is raised to the greatest ratio of the levels below it; the common
    renormalisation shifts every weight alike, so the order holds.
    """
    ratio = np.maximum.accumulate(m / u)
    raised = u * ratio
    return raised / raised.sum()


def train_model(
    patterns: pd.DataFrame,
    u: dict[str, np.ndarray],
    shared: pd.DataFrame,
    records: int,
    params: LinkageParams,
) -> FellegiSunter:
    """The model from the candidate pairs' pattern counts, u of random pairs of the record
    sample (`u_from_sample`), the pairs sharing each exact value (`shared_value_pairs`) and the
    number of records."""
    random_u = with_exact_u(u, shared)

    def fitted(u: dict[str, np.ndarray], start: float) -> tuple[dict[str, np.ndarray], float]:
        m = {c: monotone_m(found, u[c]) for c, found in train_m(patterns, u, params).items()}
        return m, em_prior(patterns, m, u, start, records)

    m, prior = fitted(random_u, deterministic_prior(patterns, params.prior_recall, records))
    # Once more on u without the matches the first round found among the random pairs.
    u = {c: without_matches(random_u[c], m[c], prior) for c in COMPARISONS}
    m, prior = fitted(u, prior)
    return FellegiSunter(COMPARISONS, m, u, prior)


def without_matches(u: np.ndarray, m: np.ndarray, prior: float) -> np.ndarray:
    """u of the non-matches, from u of random pairs: a random pair is a match with chance
    prior, so u_random = prior * m + (1 - prior) * u. Where duplicates are a large share of
    all pairs, a random pair that agrees exactly is often a match (FEBRL 1: one pair in 1,000
    is one, and the matches made most of the exact street agreements), and the uncleaned u
    weakens exactly the evidence that matters; at the demo's scale (a prior of 2e-7) nothing
    changes."""
    cleaned = np.maximum(u - prior * m, FLOOR) / (1.0 - prior)
    return cleaned / cleaned.sum()
