"""Training from small tables: the prior over all pairs, monotone m, sessions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dialflow.jobs.linkage.blocking import rule_bit
from dialflow.jobs.linkage.reference import LinkageParams
from dialflow.jobs.linkage.train import (
    COMPARISONS,
    deterministic_prior,
    em_prior,
    exact_values,
    monotone_m,
    n_levels,
    shared_pairs_of,
    shared_value_pairs,
    train_m,
    with_exact_u,
    without_matches,
)

PARAMS = LinkageParams(phone_fields=("Phone",))


def patterns(rows: list[tuple]) -> pd.DataFrame:
    """(name, street, place, phone, Rules, count) rows."""
    return pd.DataFrame(rows, columns=["name", "street", "place", "phone", "Rules", "count"])


def test_the_prior_is_over_all_pairs_of_the_records():
    counts = patterns(
        [(7, 5, 6, -1, 1, 30), (7, 0, 5, 0, 1, 5), (0, 0, 6, 1, 1, 5), (2, 0, 6, 0, 1, 60)]
    )
    # Sure: exact name with postal exact (35), or a shared phone (5): 40 pairs, found by a rule
    # of recall 0.5, among 1,000 records' 499,500 pairs.
    assert deterministic_prior(counts, 0.5, 1_000) == pytest.approx(80 / 499_500)
    assert deterministic_prior(counts, 0.5, 1) == 0.5  # no pairs at all


def synthetic_model(seed: int) -> tuple[dict, dict]:
    """m and u for every comparison, drawn at random (m leaning to the closest levels)."""
    rng = np.random.default_rng(seed)
    m, u = {}, {}
    for comparison, levels in n_levels().items():
        m[comparison] = rng.dirichlet(np.arange(1, levels + 1, dtype=float) ** 2)
        u[comparison] = rng.dirichlet(np.arange(levels, 0, -1, dtype=float) ** 2)
    return m, u


def test_em_prior_recovers_the_prior_the_pairs_were_drawn_with():
    m, u = synthetic_model(seed=5)
    records, prior = 2_000, 1e-3
    pairs = records * (records - 1) / 2
    grids = np.meshgrid(*[np.arange(n) for n in n_levels().values()], indexing="ij")
    levels = pd.DataFrame({c: g.ravel() for c, g in zip(COMPARISONS, grids, strict=True)})
    given_match = np.prod([m[c][levels[c]] for c in COMPARISONS], axis=0)
    given_non = np.prod([u[c][levels[c]] for c in COMPARISONS], axis=0)
    # Every pair a candidate, each pattern with its expected count.
    expected = levels.assign(Rules=1, count=pairs * (prior * given_match + (1 - prior) * given_non))
    for start in (1e-6, 1e-2):
        assert em_prior(expected, m, u, start, records) == pytest.approx(prior, rel=1e-4)


def test_u_without_matches_takes_the_matches_share_out_of_random_pairs():
    m, u = synthetic_model(seed=6)
    prior = 0.01
    for comparison in COMPARISONS:
        random_u = prior * m[comparison] + (1 - prior) * u[comparison]
        cleaned = without_matches(random_u, m[comparison], prior)
        assert cleaned == pytest.approx(u[comparison], abs=1e-6)


def test_monotone_m_raises_closer_levels_that_weigh_less_and_keeps_the_order():
    u = np.array([0.9, 0.05, 0.04, 0.01])
    m = np.array([0.1, 0.2, 1e-6, 0.7])  # level 2 weighs less than level 1
    raised = monotone_m(m, u)
    weights = np.log2(raised / u)
    assert raised.sum() == pytest.approx(1.0)
    assert np.all(np.diff(weights) >= -1e-12)
    assert weights[2] == pytest.approx(weights[1])
    # A monotone m only moves by the renormalisation: weights shift alike.
    ok = np.array([0.1, 0.2, 0.3, 0.4])
    assert np.allclose(np.log2(monotone_m(ok, u) / u) - np.log2(ok / u), 0)


def test_a_session_without_pairs_is_skipped_and_its_comparisons_keep_the_start():
    levels = n_levels()
    u = {c: np.full(n, 1.0 / n) for c, n in levels.items()}
    only_name_rule = patterns(
        [(7, 5, 6, 1, rule_bit("name_sample"), 50), (0, 0, 0, 0, rule_bit("name_sample"), 50)]
    )
    m = train_m(only_name_rule, u, PARAMS)
    # The postal session found nothing: name is trained by no session and keeps EM's start;
    # the name session trained street, place and phone toward their top levels.
    start = np.arange(1, levels["name"] + 1) ** 2
    assert np.allclose(m["name"], start / start.sum())
    assert m["street"][-1] > 0.4 and m["place"][-1] > 0.4 and m["phone"][-1] > 0.4


def test_exact_levels_take_their_share_from_every_pair_of_records():
    records = pd.DataFrame(
        {
            "name": ["acme", "acme", "acme", "bolt", "bolt", "zeta", None],
            "street": [None] * 7,
            "postal": ["10001"] * 7,
            "city": ["austin"] * 6 + [None],
        }
    )
    shared = shared_value_pairs(records)
    # name: acme x3 (3 pairs) + bolt x2 (1 pair) of 6 holders (15 pairs); place: the six
    # records with a city share (postal, city): 15 of 15; no street at all keeps the sample's.
    levels = n_levels()
    u = {c: np.full(n, 1.0 / n) for c, n in levels.items()}
    exact = with_exact_u(u, shared)
    assert exact["name"][7] == pytest.approx(4 / 15)
    assert exact["name"][:7] == pytest.approx(np.full(7, (1 - 4 / 15) / 7))
    assert exact["place"][6] == pytest.approx(1.0)
    assert np.array_equal(exact["street"], u["street"])
    # Counts from two partitions of the value counts add up to the whole.
    counts = exact_values(records).groupby(["comparison", "value"], observed=True).size()
    parts = pd.concat([shared_pairs_of(counts[:1]), shared_pairs_of(counts[1:])])
    assert with_exact_u(u, parts)["name"][7] == pytest.approx(4 / 15)
