"""The Fellegi-Sunter model of probabilistic linkage: pure numpy/pandas, no Dask.

A candidate pair carries one integer level per comparison (0 = else, higher = closer, -1 = null).
Given the match it has level k with probability m[k], given a non-match with probability u[k];
comparisons are taken as independent given the match status. The evidence of a pair is

    match_weight = log2(prior / (1 - prior)) + sum over non-null comparisons of log2(m[k] / u[k])

and its match probability is 1 / (1 + 2 ** -match_weight). A null level adds nothing.

Training never touches pairs: the levels are reduced to the distinct patterns and how often each
occurs (`pattern_counts`, a small table), u is estimated from the patterns of random record pairs
(`estimate_u`; nearly all of them non-matches), and EM (`fit_em`) finds m (and the prior, and u if
it is not fixed) from the patterns of the candidate pairs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

NULL_LEVEL = -1
"""The level of a comparison that could not be made (a value missing on either side)."""

FLOOR = 1e-6
"""Least probability of any level (and least 1 - prior), so weights stay finite."""

PRIOR_FLOOR = 1e-12
"""Least prior: the chance that two random records match is below FLOOR from a few hundred
thousand records on (3e-7 for 400,000 accounts)."""

COUNT = "count"
"""The column of `pattern_counts` that holds how many pairs share a pattern."""


def _floored(p: Iterable[float]) -> np.ndarray:
    """Probabilities normalised, floored at FLOOR, and normalised again (read-only copy).

    A vector that already sums to 1 (within 1e-12) with no entry below the floor is kept as it is,
    so that applying this twice (a model rebuilt from its JSON) changes nothing.
    """
    p = np.asarray(p, dtype=np.float64).copy()
    if p.ndim != 1 or p.size == 0:
        raise ValueError(f"a probability vector needs one or more levels, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"probabilities must be finite and non-negative, got {p.tolist()}")
    total = p.sum()
    if abs(total - 1.0) <= 1e-12 and np.all(p >= FLOOR * (1.0 - 1e-9)):
        p.setflags(write=False)
        return p
    p = p / total if total > 0 else np.full(p.size, 1.0 / p.size)
    p = np.maximum(p, FLOOR)
    p = p / p.sum()
    p.setflags(write=False)
    return p


def _clamped_prior(prior: float) -> float:
    prior = float(prior)
    if not 0.0 <= prior <= 1.0 or not np.isfinite(prior):
        raise ValueError(f"prior must be a probability, got {prior}")
    return min(max(prior, PRIOR_FLOOR), 1.0 - FLOOR)


def _level_matrix(
    levels: pd.DataFrame, comparisons: tuple[str, ...], n_levels: Mapping[str, int]
) -> np.ndarray:
    """The levels as an int64 matrix (pairs x comparisons), nulls (-1 or missing) as -1; a level
    outside -1..K, or a missing comparison column, is refused."""
    missing = [c for c in comparisons if c not in levels.columns]
    if missing:
        raise KeyError(f"level columns missing: {missing}")
    out = np.empty((len(levels), len(comparisons)), dtype=np.int64)
    for j, c in enumerate(comparisons):
        column = pd.to_numeric(levels[c])
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        values = np.where(np.isnan(values), NULL_LEVEL, values)
        if np.any(values != np.round(values)):
            raise ValueError(f"levels of {c!r} must be integers")
        bad = (values < NULL_LEVEL) | (values >= n_levels[c])
        if np.any(bad):
            raise ValueError(
                f"levels of {c!r} must lie in -1..{n_levels[c] - 1}, got {np.unique(values[bad])}"
            )
        out[:, j] = values.astype(np.int64)
    return out


def _log_odds(
    matrix: np.ndarray,
    comparisons: tuple[str, ...],
    m: Mapping[str, np.ndarray],
    u: Mapping[str, np.ndarray],
    prior: float,
) -> np.ndarray:
    """Natural-log posterior odds of each row: log prior odds + log(m/u) of its non-null levels."""
    out = np.full(matrix.shape[0], np.log(prior) - np.log1p(-prior))
    for j, c in enumerate(comparisons):
        log_ratio = np.log(m[c]) - np.log(u[c])
        column = matrix[:, j]
        known = column != NULL_LEVEL
        out[known] += log_ratio[column[known]]
    return out


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow."""
    return np.exp(-np.logaddexp(0.0, -x))


@dataclass(frozen=True)
class FellegiSunter:
    """A fitted model: per comparison the level probabilities given match (m) and non-match (u),
    levels 0..K (null excluded), and the share of matches among candidate pairs (prior).

    The arrays are copied, floored at FLOOR, renormalised and made read-only on construction.
    """

    comparisons: tuple[str, ...]
    m: dict[str, np.ndarray]
    u: dict[str, np.ndarray]
    prior: float

    def __post_init__(self) -> None:
        comparisons = tuple(self.comparisons)
        if len(set(comparisons)) != len(comparisons) or not comparisons:
            raise ValueError(f"comparisons must be distinct and non-empty, got {comparisons}")
        for name, table in (("m", self.m), ("u", self.u)):
            if set(table) != set(comparisons):
                raise ValueError(f"{name} must have exactly the comparisons {comparisons}")
        m = {c: _floored(self.m[c]) for c in comparisons}
        u = {c: _floored(self.u[c]) for c in comparisons}
        for c in comparisons:
            if m[c].size != u[c].size:
                raise ValueError(f"m and u of {c!r} have different numbers of levels")
        object.__setattr__(self, "comparisons", comparisons)
        object.__setattr__(self, "m", m)
        object.__setattr__(self, "u", u)
        object.__setattr__(self, "prior", _clamped_prior(self.prior))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FellegiSunter):
            return NotImplemented
        return (
            self.comparisons == other.comparisons
            and self.prior == other.prior
            and all(np.array_equal(self.m[c], other.m[c]) for c in self.comparisons)
            and all(np.array_equal(self.u[c], other.u[c]) for c in self.comparisons)
        )

    def __hash__(self) -> int:
        return hash(
            (
                self.comparisons,
                self.prior,
                tuple(self.m[c].tobytes() for c in self.comparisons),
                tuple(self.u[c].tobytes() for c in self.comparisons),
            )
        )

    @property
    def n_levels(self) -> dict[str, int]:
        """Number of non-null levels (K + 1) per comparison."""
        return {c: int(self.m[c].size) for c in self.comparisons}

    def weights(self) -> dict[str, np.ndarray]:
        """Per comparison and level the log2 Bayes factor log2(m / u)."""
        return {c: np.log2(self.m[c]) - np.log2(self.u[c]) for c in self.comparisons}

    @property
    def prior_weight(self) -> float:
        """log2 of the prior odds, the weight of a pair with every comparison null."""
        return float(np.log2(self.prior) - np.log2(1.0 - self.prior))

    def match_weight(self, levels: pd.DataFrame) -> pd.Series:
        """log2 prior odds plus the sum of log2(m / u) over the non-null levels of each pair."""
        matrix = _level_matrix(levels, self.comparisons, self.n_levels)
        weight = _log_odds(matrix, self.comparisons, self.m, self.u, self.prior) / np.log(2.0)
        return pd.Series(weight, index=levels.index, name="match_weight", dtype=np.float64)

    def match_probability(self, levels: pd.DataFrame) -> pd.Series:
        """Posterior P(match | levels) = 1 / (1 + 2 ** -match_weight)."""
        matrix = _level_matrix(levels, self.comparisons, self.n_levels)
        log_odds = _log_odds(matrix, self.comparisons, self.m, self.u, self.prior)
        return pd.Series(
            _sigmoid(log_odds), index=levels.index, name="match_probability", dtype=np.float64
        )

    def to_json(self, labels: dict[str, dict[int, str]] | None = None) -> dict:
        """A JSON-able, human-readable model: the prior (and its log2 odds) and per comparison and
        level m, u and weight = log2(m / u), each level with its label when `labels` names one."""
        labels = labels or {}
        weights = self.weights()
        return {
            "prior": self.prior,
            "prior_weight": self.prior_weight,
            "comparisons": [
                {
                    "name": c,
                    "levels": [
                        {
                            "level": k,
                            **({"label": labels[c][k]} if k in labels.get(c, {}) else {}),
                            "m": float(self.m[c][k]),
                            "u": float(self.u[c][k]),
                            "weight": float(weights[c][k]),
                        }
                        for k in range(self.m[c].size)
                    ],
                }
                for c in self.comparisons
            ],
        }

    @classmethod
    def from_json(cls, data: dict) -> FellegiSunter:
        """The model `to_json` wrote (labels and weights are ignored; m, u and prior are read)."""
        comparisons = tuple(entry["name"] for entry in data["comparisons"])
        m: dict[str, np.ndarray] = {}
        u: dict[str, np.ndarray] = {}
        for entry in data["comparisons"]:
            rows = sorted(entry["levels"], key=lambda row: int(row["level"]))
            if [int(row["level"]) for row in rows] != list(range(len(rows))):
                raise ValueError(f"levels of {entry['name']!r} must be 0..K without gaps")
            m[entry["name"]] = np.array([float(row["m"]) for row in rows])
            u[entry["name"]] = np.array([float(row["u"]) for row in rows])
        return cls(comparisons=comparisons, m=m, u=u, prior=float(data["prior"]))


def pattern_counts(levels: pd.DataFrame, comparisons: tuple[str, ...]) -> pd.DataFrame:
    """Distinct level patterns with a `count` column (groupby size); what EM runs on.

    Missing levels count as null (-1); the levels come back as int64, sorted by pattern.
    """
    comparisons = tuple(comparisons)
    missing = [c for c in comparisons if c not in levels.columns]
    if missing:
        raise KeyError(f"level columns missing: {missing}")
    frame = pd.DataFrame(
        {c: pd.to_numeric(levels[c]).fillna(NULL_LEVEL).astype(np.int64) for c in comparisons},
        index=levels.index,
    )
    if frame.empty:
        return pd.DataFrame(
            {
                **{c: pd.Series(dtype=np.int64) for c in comparisons},
                COUNT: pd.Series(dtype=np.int64),
            }
        )
    counts = frame.groupby(list(comparisons), sort=True).size().rename(COUNT).reset_index()
    counts[COUNT] = counts[COUNT].astype(np.int64)
    return counts


def _pattern_arrays(
    patterns: pd.DataFrame, comparisons: tuple[str, ...], n_levels: Mapping[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    if COUNT not in patterns.columns:
        raise KeyError(f"pattern counts need a {COUNT!r} column")
    missing = [c for c in comparisons if c not in n_levels]
    if missing:
        raise KeyError(f"n_levels missing: {missing}")
    counts = patterns[COUNT].to_numpy(dtype=np.float64)
    if np.any(counts < 0) or not np.all(np.isfinite(counts)):
        raise ValueError("pattern counts must be finite and non-negative")
    return _level_matrix(patterns, comparisons, n_levels), counts


def _level_totals(column: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Sum of weights per level 0..n-1 of one comparison; null rows left out."""
    known = column != NULL_LEVEL
    return np.bincount(column[known], weights=weights[known], minlength=n)[:n]


def estimate_u(
    random_pattern_counts: pd.DataFrame,
    comparisons: tuple[str, ...],
    n_levels: dict[str, int],
    smoothing: float = 1.0,
) -> dict[str, np.ndarray]:
    """u from comparison patterns of random record pairs (nearly all non-matches), Laplace-smoothed;
    nulls ignored.

    u[c][k] = (pairs with level k on c + smoothing) / (non-null pairs on c + smoothing * (K + 1)),
    then floored at FLOOR and renormalised.
    """
    if smoothing < 0:
        raise ValueError(f"smoothing must be non-negative, got {smoothing}")
    comparisons = tuple(comparisons)
    matrix, counts = _pattern_arrays(random_pattern_counts, comparisons, n_levels)
    return {
        c: _floored(_level_totals(matrix[:, j], counts, n_levels[c]) + smoothing)
        for j, c in enumerate(comparisons)
    }


def default_m_start(n_levels: Mapping[str, int]) -> dict[str, np.ndarray]:
    """A start for m rising with the level: proportional to (level + 1) ** 2."""
    return {c: _floored(np.arange(1, n + 1, dtype=np.float64) ** 2) for c, n in n_levels.items()}


def fit_em(
    pattern_counts: pd.DataFrame,
    comparisons: tuple[str, ...],
    n_levels: dict[str, int],
    u: dict[str, np.ndarray],
    prior: float,
    fix_u: bool = True,
    max_iterations: int = 100,
    tolerance: float = 1e-6,
    m_start: dict | None = None,
) -> FellegiSunter:
    """EM over pattern counts: E-step the match probability of each pattern, M-step m (and u
    unless fix_u) and the prior; nulls contribute to neither; deterministic; stops at tolerance.

    With n_p the count of pattern p and l_pc its level on comparison c:

    E:  w_p = P(match | p)
            = sigmoid(log(prior / (1 - prior)) + sum_{c: l_pc != -1} log(m_c[l_pc] / u_c[l_pc]))
    M:  prior = sum_p n_p w_p / sum_p n_p
        m_c[k] = sum_{p: l_pc = k} n_p w_p / sum_{p: l_pc != -1} n_p w_p
        u_c[k] = sum_{p: l_pc = k} n_p (1 - w_p) / sum_{p: l_pc != -1} n_p (1 - w_p)
                 (unless fix_u)

    each then floored at FLOOR and renormalised (prior clamped to [PRIOR_FLOOR, 1 - FLOOR]). A
    comparison that is null on every pattern keeps its values. Stops when no m, u or prior moved
    by more than `tolerance` in one iteration, or after `max_iterations`.
    """
    comparisons = tuple(comparisons)
    if max_iterations < 0:
        raise ValueError(f"max_iterations must be non-negative, got {max_iterations}")
    matrix, counts = _pattern_arrays(pattern_counts, comparisons, n_levels)
    start = default_m_start({c: n_levels[c] for c in comparisons})
    if m_start is not None:
        start.update({c: _floored(m_start[c]) for c in comparisons if c in m_start})
    model = FellegiSunter(
        comparisons=comparisons,
        m={c: start[c] for c in comparisons},
        u={c: u[c] for c in comparisons},
        prior=prior,
    )
    for c in comparisons:
        if model.m[c].size != n_levels[c]:
            raise ValueError(f"m_start and u of {c!r} must have {n_levels[c]} levels")
    total = counts.sum()
    if total == 0:
        return model

    for _ in range(max_iterations):
        w = _sigmoid(_log_odds(matrix, comparisons, model.m, model.u, model.prior))
        match_counts = counts * w
        non_match_counts = counts - match_counts
        new_m: dict[str, np.ndarray] = {}
        new_u: dict[str, np.ndarray] = {}
        for j, c in enumerate(comparisons):
            m_totals = _level_totals(matrix[:, j], match_counts, n_levels[c])
            new_m[c] = _floored(m_totals) if m_totals.sum() > 0 else model.m[c]
            if fix_u:
                new_u[c] = model.u[c]
            else:
                u_totals = _level_totals(matrix[:, j], non_match_counts, n_levels[c])
                new_u[c] = _floored(u_totals) if u_totals.sum() > 0 else model.u[c]
        new_model = FellegiSunter(
            comparisons=comparisons, m=new_m, u=new_u, prior=match_counts.sum() / total
        )
        change = max(
            abs(new_model.prior - model.prior),
            *(float(np.max(np.abs(new_model.m[c] - model.m[c]))) for c in comparisons),
            *(float(np.max(np.abs(new_model.u[c] - model.u[c]))) for c in comparisons),
        )
        model = new_model
        if change < tolerance:
            break
    return model
