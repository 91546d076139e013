"""The Fellegi-Sunter model: Bayes arithmetic, pattern counts, u estimation and EM recovery of known
parameters from synthetic pairs."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from dialflow.jobs.linkage.model import (
    FellegiSunter,
    estimate_u,
    fit_em,
    pattern_counts,
)

COMPARISONS = ("name", "street", "city", "postal")
TRUE_M = {
    "name": np.array([0.05, 0.10, 0.25, 0.60]),
    "street": np.array([0.10, 0.20, 0.70]),
    "city": np.array([0.10, 0.90]),
    "postal": np.array([0.05, 0.15, 0.80]),
}
TRUE_U = {
    "name": np.array([0.80, 0.12, 0.06, 0.02]),
    "street": np.array([0.85, 0.10, 0.05]),
    "city": np.array([0.70, 0.30]),
    "postal": np.array([0.90, 0.07, 0.03]),
}
N_LEVELS = {c: len(TRUE_M[c]) for c in COMPARISONS}
TRUE_PRIOR = 0.05
NULL_SHARE = {"postal": 0.10}
START_PRIOR = 0.2


def synthetic_levels(rng, n, prior):
    """n pairs, a match with probability `prior`, levels drawn from TRUE_M / TRUE_U independently
    per comparison; a NULL_SHARE of each such comparison set to -1."""
    is_match = rng.random(n) < prior
    columns = {}
    for c in COMPARISONS:
        from_m = rng.choice(N_LEVELS[c], size=n, p=TRUE_M[c])
        from_u = rng.choice(N_LEVELS[c], size=n, p=TRUE_U[c])
        levels = np.where(is_match, from_m, from_u)
        if c in NULL_SHARE:
            levels = np.where(rng.random(n) < NULL_SHARE[c], -1, levels)
        columns[c] = levels
    return pd.DataFrame(columns), is_match


@pytest.fixture(scope="module")
def candidates():
    levels, is_match = synthetic_levels(np.random.default_rng(20240614), 200_000, TRUE_PRIOR)
    return pattern_counts(levels, COMPARISONS), is_match


@pytest.fixture(scope="module")
def random_pairs():
    """A separate sample of non-matches, as random record pairs would be."""
    levels, _ = synthetic_levels(np.random.default_rng(7), 200_000, 0.0)
    return pattern_counts(levels, COMPARISONS)


def assert_recovers(model, m_tol=0.02, prior_tol=0.01):
    assert model.prior == pytest.approx(TRUE_PRIOR, abs=prior_tol)
    for c in COMPARISONS:
        np.testing.assert_allclose(model.m[c], TRUE_M[c], atol=m_tol, rtol=0, err_msg=c)


def recovery_report(model):
    return {
        "prior": round(model.prior, 4),
        **{c: np.round(model.m[c], 4).tolist() for c in COMPARISONS},
    }


def test_em_recovers_m_and_prior_with_true_u(candidates):
    counts, is_match = candidates
    assert counts["count"].sum() == 200_000
    assert len(counts) <= 4 * 3 * 2 * 4  # a small table, not pairs
    model = fit_em(counts, COMPARISONS, N_LEVELS, u=TRUE_U, prior=START_PRIOR)
    print("true u:", recovery_report(model), "sample prior:", is_match.mean())
    assert_recovers(model)
    for c in COMPARISONS:  # u stays fixed (up to the floor's renormalisation)
        np.testing.assert_allclose(model.u[c], TRUE_U[c], rtol=1e-9)


def test_em_recovers_m_and_prior_with_estimated_u(candidates, random_pairs):
    counts, _ = candidates
    u = estimate_u(random_pairs, COMPARISONS, N_LEVELS)
    for c in COMPARISONS:
        np.testing.assert_allclose(u[c], TRUE_U[c], atol=0.005, err_msg=c)
    model = fit_em(counts, COMPARISONS, N_LEVELS, u=u, prior=START_PRIOR)
    print("estimated u:", recovery_report(model))
    assert_recovers(model)


def test_em_with_free_u_recovers_from_estimated_u(candidates, random_pairs):
    counts, _ = candidates
    u = estimate_u(random_pairs, COMPARISONS, N_LEVELS)
    model = fit_em(counts, COMPARISONS, N_LEVELS, u=u, prior=START_PRIOR, fix_u=False)
    print("free u:", recovery_report(model))
    assert_recovers(model)
    for c in COMPARISONS:
        np.testing.assert_allclose(model.u[c], TRUE_U[c], atol=0.01, err_msg=c)


def test_em_is_deterministic_and_stops_at_tolerance(candidates):
    counts, _ = candidates
    first = fit_em(counts, COMPARISONS, N_LEVELS, u=TRUE_U, prior=START_PRIOR)
    second = fit_em(counts, COMPARISONS, N_LEVELS, u=TRUE_U, prior=START_PRIOR)
    assert first == second
    assert first.to_json() == second.to_json()
    # converged: one more iteration from the fit moves nothing by more than the tolerance
    again = fit_em(
        counts,
        COMPARISONS,
        N_LEVELS,
        u=first.u,
        prior=first.prior,
        m_start=first.m,
        max_iterations=1,
    )
    assert abs(again.prior - first.prior) < 1e-6
    for c in COMPARISONS:
        assert np.max(np.abs(again.m[c] - first.m[c])) < 1e-6
    # a looser tolerance stops earlier, so lands elsewhere
    loose = fit_em(counts, COMPARISONS, N_LEVELS, u=TRUE_U, prior=START_PRIOR, tolerance=1e-2)
    assert loose != first


def test_one_em_iteration_by_hand():
    """Two comparisons, three patterns, one of them null on `b`: the E and M steps as formulas."""
    counts = pd.DataFrame({"a": [0, 1, 1], "b": [0, 1, -1], "count": [6, 3, 1]})
    n_levels = {"a": 2, "b": 2}
    u = {"a": np.array([0.8, 0.2]), "b": np.array([0.6, 0.4])}
    m0 = {"a": np.array([0.3, 0.7]), "b": np.array([0.25, 0.75])}
    prior = 0.25
    model = fit_em(counts, ("a", "b"), n_levels, u=u, prior=prior, m_start=m0, max_iterations=1)

    def posterior(ratio):
        odds = prior / (1 - prior) * ratio
        return odds / (1 + odds)

    w = [
        posterior(0.3 / 0.8 * 0.25 / 0.6),
        posterior(0.7 / 0.2 * 0.75 / 0.4),
        posterior(0.7 / 0.2),  # b null: no evidence from b
    ]
    n = [6, 3, 1]
    assert model.prior == pytest.approx(
        sum(ni * wi for ni, wi in zip(n, w, strict=True)) / 10, rel=1e-12
    )
    a_match = [n[0] * w[0], n[1] * w[1] + n[2] * w[2]]
    np.testing.assert_allclose(model.m["a"], np.array(a_match) / sum(a_match), rtol=1e-12)
    b_match = [n[0] * w[0], n[1] * w[1]]  # the null pattern counts for neither level of b
    np.testing.assert_allclose(model.m["b"], np.array(b_match) / sum(b_match), rtol=1e-12)
    np.testing.assert_allclose(model.u["a"], u["a"], rtol=1e-12)

    free = fit_em(
        counts, ("a", "b"), n_levels, u=u, prior=prior, m_start=m0, max_iterations=1, fix_u=False
    )
    b_non = [n[0] * (1 - w[0]), n[1] * (1 - w[1])]
    np.testing.assert_allclose(free.u["b"], np.array(b_non) / sum(b_non), rtol=1e-12)
    a_non = [n[0] * (1 - w[0]), n[1] * (1 - w[1]) + n[2] * (1 - w[2])]
    np.testing.assert_allclose(free.u["a"], np.array(a_non) / sum(a_non), rtol=1e-12)


def test_default_m_start_rises_with_level():
    counts = pd.DataFrame({"a": [0, 2], "count": [1, 1]})
    model = fit_em(counts, ("a",), {"a": 3}, u={"a": np.ones(3) / 3}, prior=0.5, max_iterations=0)
    np.testing.assert_allclose(model.m["a"], np.array([1, 4, 9]) / 14)
    assert model.prior == 0.5


TINY = FellegiSunter(
    comparisons=("name", "phone"),
    m={"name": np.array([0.1, 0.3, 0.6]), "phone": np.array([0.2, 0.8])},
    u={"name": np.array([0.7, 0.2, 0.1]), "phone": np.array([0.95, 0.05])},
    prior=0.01,
)


def test_match_probability_is_the_bayes_formula():
    levels = pd.DataFrame({"name": [2, 0, 1], "phone": [1, 0, 1]}, index=[10, 20, 30])
    probability = TINY.match_probability(levels)
    weight = TINY.match_weight(levels)
    assert list(probability.index) == [10, 20, 30]

    def bayes(m_product, u_product):
        return 0.01 * m_product / (0.01 * m_product + 0.99 * u_product)

    expected = [
        bayes(0.6 * 0.8, 0.1 * 0.05),
        bayes(0.1 * 0.2, 0.7 * 0.95),
        bayes(0.3 * 0.8, 0.2 * 0.05),
    ]
    np.testing.assert_allclose(probability.to_numpy(), expected, rtol=1e-12)
    # pattern (2, 1): 0.01 * 0.48 / (0.01 * 0.48 + 0.99 * 0.005)
    assert probability[10] == pytest.approx(0.0048 / 0.00975, rel=1e-12)
    assert weight[10] == pytest.approx(
        math.log2(0.01 / 0.99) + math.log2(0.6 / 0.1) + math.log2(0.8 / 0.05), rel=1e-12
    )
    np.testing.assert_allclose(probability, 1 / (1 + 2.0**-weight), rtol=1e-12)


def test_null_levels_are_neutral():
    levels = pd.DataFrame({"name": [2, 2, -1, -1], "phone": [1, -1, 1, -1]})
    weight = TINY.match_weight(levels)
    prior_weight = math.log2(0.01 / 0.99)
    name_weight = math.log2(0.6 / 0.1)
    phone_weight = math.log2(0.8 / 0.05)
    np.testing.assert_allclose(
        weight,
        [
            prior_weight + name_weight + phone_weight,
            prior_weight + name_weight,
            prior_weight + phone_weight,
            prior_weight,
        ],
        rtol=1e-12,
    )
    # all null: the posterior is the prior; missing values (pandas NA) read as null too
    assert TINY.match_probability(levels).iloc[3] == pytest.approx(0.01, rel=1e-12)
    nullable = pd.DataFrame({"name": pd.array([2, None], dtype="Int64"), "phone": [1, 1]})
    np.testing.assert_allclose(TINY.match_weight(nullable), [weight[0], weight[2]], rtol=1e-12)


def test_levels_out_of_range_are_refused():
    with pytest.raises(ValueError, match="name"):
        TINY.match_weight(pd.DataFrame({"name": [3], "phone": [0]}))
    with pytest.raises(ValueError, match="phone"):
        TINY.match_weight(pd.DataFrame({"name": [0], "phone": [-2]}))
    with pytest.raises(KeyError):
        TINY.match_weight(pd.DataFrame({"name": [0]}))


def test_zero_probabilities_are_floored_so_weights_stay_finite():
    model = FellegiSunter(
        comparisons=("a",), m={"a": np.array([0.0, 1.0])}, u={"a": np.array([1.0, 0.0])}, prior=0.0
    )
    assert model.m["a"][0] == pytest.approx(1e-6, rel=1e-3)
    assert model.m["a"].sum() == pytest.approx(1.0, rel=1e-15)
    assert model.prior > 0
    weights = model.match_weight(pd.DataFrame({"a": [0, 1, -1]}))
    assert np.all(np.isfinite(weights))
    assert weights[0] < weights[2] < weights[1]  # a null level adds nothing to the prior's
    assert weights[2] == pytest.approx(np.log2(1e-12), abs=1e-6)  # the prior's floor
    with pytest.raises(ValueError):
        model.m["a"][0] = 0.5  # read-only


def test_pattern_counts_of_a_hand_built_frame():
    levels = pd.DataFrame(
        {
            "name": [2, 0, 2, 2, 0, 1],
            "city": [1, 1, 1, 0, 1, -1],
            "other": ["x", "y", "z", "x", "y", "z"],
        }
    )
    counts = pattern_counts(levels, ("name", "city"))
    expected = pd.DataFrame(
        {"name": [0, 1, 2, 2], "city": [1, -1, 0, 1], "count": [2, 1, 1, 2]}
    ).astype("int64")
    pd.testing.assert_frame_equal(counts, expected)
    with_na = pd.DataFrame({"name": pd.array([1, None, None], dtype="Int64"), "city": [0, 0, 0]})
    pd.testing.assert_frame_equal(
        pattern_counts(with_na, ("name", "city")),
        pd.DataFrame({"name": [-1, 1], "city": [0, 0], "count": [2, 1]}).astype("int64"),
    )
    empty = pattern_counts(levels.iloc[:0], ("name", "city"))
    assert list(empty.columns) == ["name", "city", "count"] and len(empty) == 0


def test_estimate_u_is_laplace_smoothed_and_ignores_nulls():
    counts = pd.DataFrame({"a": [0, 1, -1], "b": [0, 0, 2], "count": [7, 1, 50]})
    u = estimate_u(counts, ("a", "b"), {"a": 3, "b": 3})
    np.testing.assert_allclose(u["a"], np.array([8, 2, 1]) / 11, rtol=1e-12)
    np.testing.assert_allclose(u["b"], np.array([9, 1, 51]) / 61, rtol=1e-12)
    raw = estimate_u(counts, ("a", "b"), {"a": 3, "b": 3}, smoothing=0.0)
    assert raw["a"][2] > 0  # an unseen level is floored, not zero
    np.testing.assert_allclose(raw["a"][:2], np.array([7, 1]) / 8, rtol=1e-5)


def test_to_json_round_trip():
    labels = {"name": {0: "else", 1: "jaro-winkler >= 0.88", 2: "exact"}, "phone": {1: "exact"}}
    data = TINY.to_json(labels)
    text = json.dumps(data)
    back = FellegiSunter.from_json(json.loads(text))
    assert back == TINY
    assert back.comparisons == ("name", "phone")
    assert data["prior"] == pytest.approx(0.01)
    name = data["comparisons"][0]
    assert name["name"] == "name"
    assert [level["label"] for level in name["levels"]] == ["else", "jaro-winkler >= 0.88", "exact"]
    assert name["levels"][2]["weight"] == pytest.approx(math.log2(0.6 / 0.1))
    phone = data["comparisons"][1]
    assert "label" not in phone["levels"][0] and phone["levels"][1]["label"] == "exact"
    assert FellegiSunter.from_json(TINY.to_json()) == TINY
    levels = pd.DataFrame({"name": [0, 1, 2, -1], "phone": [1, 0, -1, 1]})
    pd.testing.assert_series_equal(back.match_weight(levels), TINY.match_weight(levels))


def test_fitted_model_round_trips(candidates):
    counts, _ = candidates
    model = fit_em(counts, COMPARISONS, N_LEVELS, u=TRUE_U, prior=START_PRIOR, max_iterations=20)
    assert FellegiSunter.from_json(json.loads(json.dumps(model.to_json()))) == model
