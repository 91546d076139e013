"""The dialer simulator: expected rate by hand, determinism, the history, the oracles."""

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from dialflow.config import Settings
from dialflow.demo.reachability import (
    CALL_HOURS,
    MOBILE,
    OFFICE,
    Reachability,
    World,
    bayes_oracle,
    draw_history,
    expected_contact_rate,
    plant_world,
    theta_posterior_mean,
    truth_oracle,
)
from dialflow.jobs.contact import ContactParams, contact_calls, local_hour_weekday
from dialflow.schema import STRING
from dialflow.sources.reference import shipped_table

AS_OF = pd.Timestamp("2026-11-25T06:00:00Z")
WEDNESDAY = date(2026, 11, 25)


def _hand_world() -> World:
    office = np.zeros(24)
    office[CALL_HOURS] = 1.0
    office[10] = 2.0
    mobile = np.zeros(24)
    mobile[CALL_HOURS] = 1.0
    mobile[19] = 3.0
    weekday = np.ones((2, 7))
    weekday[0, 2] = 0.5  # CA answers half as well on Wednesdays
    numbers = pd.DataFrame(
        {
            "AccountId": ["A", "A", "B"],
            "Field": [OFFICE, MOBILE, OFFICE],
            "PhoneE164": ["+14155550001", "+14155550002", "+12145550003"],
            "State": ["CA", "CA", "TX"],
            "TimeZone": ["America/Los_Angeles", "America/Los_Angeles", "America/Chicago"],
        },
        dtype=STRING,
    )
    return World(
        numbers=numbers,
        theta=pd.Series([0.1, 0.4], index=pd.Index(["A", "B"], name="AccountId")),
        states=np.array(["CA", "TX"], dtype=object),
        state_level=np.array([1.0, 2.0]),
        state_tilt=np.array([0.0, 0.6]),
        state_weekday=weekday,
        params=Reachability(
            field_multiplier={OFFICE: 1.0, MOBILE: 1.5},
            hour_profile={OFFICE: office, MOBILE: mobile},
            cap=0.95,
        ),
        as_of=AS_OF,
    )


def test_expected_rate_of_a_three_row_list_by_hand():
    call_list = pd.DataFrame(
        {
            "AccountId": ["A", "A", "B"],
            "Field": [OFFICE, MOBILE, OFFICE],
            "HourLocal": [10, 19, None],
        }
    )
    a_office = 0.1 * 1.0 * 2.0 * 1.0 * 0.5  # theta x field x hour x state x CA's Wednesday
    a_mobile = 0.1 * 1.5 * 3.0 * 1.0 * 0.5
    # B has no hour: the mean over 8..20 of TX's level 2, its tilt exp(0.6 (h - 14) / 6), capped.
    b_any = (
        sum(
            min(0.95, 0.4 * (2.0 if h == 10 else 1.0) * 2.0 * math.exp(0.1 * (h - 14)))
            for h in range(8, 21)
        )
        / 13
    )
    expected = (a_office + a_mobile + b_any) / 3
    assert expected_contact_rate(_hand_world(), call_list, WEDNESDAY) == pytest.approx(
        expected, rel=1e-12
    )


def test_expected_rate_refuses_unknown_rows_and_illegal_hours():
    world = _hand_world()
    with pytest.raises(KeyError):
        expected_contact_rate(
            world,
            pd.DataFrame({"AccountId": ["B"], "Field": [MOBILE], "HourLocal": [9]}),
            WEDNESDAY,
        )
    with pytest.raises(ValueError, match="outside the calling hours"):
        expected_contact_rate(
            world,
            pd.DataFrame({"AccountId": ["B"], "Field": [OFFICE], "HourLocal": [7]}),
            WEDNESDAY,
        )


def test_the_truth_oracle_takes_each_account_at_its_best_field_and_hour():
    oracle = truth_oracle(_hand_world(), WEDNESDAY, n=2)
    # B (theta 0.4 in TX) reaches the cap; A's best is the mobile at 19:00 (0.225).
    assert oracle[["AccountId", "Field"]].values.tolist() == [["B", OFFICE], ["A", MOBILE]]
    assert oracle["HourLocal"].tolist()[1] == 19
    assert oracle["Score"].tolist() == pytest.approx([0.95, 0.225])
    # Offered only A's office line, it takes that at its best hour.
    pool = pd.DataFrame({"AccountId": ["A"], "Field": [OFFICE]})
    only = truth_oracle(_hand_world(), WEDNESDAY, n=2, pool=pool)
    assert only[["AccountId", "Field", "HourLocal"]].values.tolist() == [["A", OFFICE, 10]]


def test_a_seed_gives_the_same_world_and_history():
    first, again, other = (plant_world(300, seed, AS_OF) for seed in (3, 3, 4))
    assert_frame_equal(first.numbers, again.numbers)
    assert_series_equal(first.theta, again.theta)
    assert_frame_equal(draw_history(first, 3), draw_history(again, 3))
    assert not first.theta.equals(other.theta)
    assert not draw_history(first, 3).equals(draw_history(first, 4))


@pytest.fixture(scope="module")
def world_and_history():
    world = plant_world(3_000, 11, AS_OF)
    return world, draw_history(world, 11)


def test_the_history_is_sparse_at_dialer_hours_and_reads_as_task(world_and_history):
    world, history = world_and_history
    per_number = len(history) / len(world.numbers)
    assert 3.0 < per_number < 4.0  # Poisson mean 3.5, a few calls at the edge after as-of
    place = history.merge(
        world.numbers,
        left_on=["AccountId", "Dialed_Number__c"],
        right_on=["AccountId", "PhoneE164"],
    )
    hour, _ = local_hour_weekday(place["CreatedDate"], place["TimeZone"])
    assert set(np.unique(hour)) <= set(CALL_HOURS)
    assert (history["CreatedDate"] >= AS_OF - pd.Timedelta(days=181)).all()
    theta = world.theta
    assert theta.median() < 0.05 < theta.mean() + 0.01 and theta.quantile(0.99) > 0.2
    # Every call reaches the model: its number is on its account's field and maps to a state.
    params = ContactParams.from_settings(Settings(), AS_OF)
    calls = contact_calls(history, world.numbers, shipped_table("area_codes"), params)
    assert len(calls) == len(history)
    assert 0.03 < calls["Contact"].mean() < 0.10


def test_oracles_order(world_and_history):
    world, history = world_and_history
    truth = expected_contact_rate(world, truth_oracle(world, WEDNESDAY, n=150), WEDNESDAY)
    bayes_list = bayes_oracle(world, history, WEDNESDAY, n=150)
    bayes = expected_contact_rate(world, bayes_list, WEDNESDAY)
    drawn = world.numbers.drop_duplicates("AccountId").sample(150, random_state=0)
    random = expected_contact_rate(world, drawn.assign(HourLocal=None), WEDNESDAY)
    assert truth >= bayes > 1.5 * random
    # Chunks of accounts change nothing but rounding; an account without calls keeps the prior mean.
    accounts = pd.Index(world.theta.index[:500].append(pd.Index(["no-calls"])))
    whole = theta_posterior_mean(world, history, accounts)
    chunked = theta_posterior_mean(world, history, accounts, chunk_accounts=37)
    np.testing.assert_allclose(whole, chunked, rtol=1e-12)  # equal up to summation order
    assert whole[-1] == pytest.approx(0.05, abs=0.002)
    quotas = pd.Series({"CA": 5, "TX": 3})
    by_state = bayes_oracle(world, history, WEDNESDAY, quotas=quotas)
    assert by_state.groupby("State").size().to_dict() == {"CA": 5, "TX": 3}
