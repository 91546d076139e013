"""The contact model's pure layer: calls, stats, the fitted model, model.json, the best hour."""

import json

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dialflow.config import Settings
from dialflow.jobs.autoflush import account_phones
from dialflow.jobs.contact import (
    MAX_STRENGTH,
    ContactParams,
    attempts_since_contact,
    call_stats,
    combine_stats,
    contact_calls,
    contact_frame,
    fit_contact_model,
    load_model,
    number_evidence,
    prior_strength,
    recency,
    save_model,
    shrunk_ratio,
)
from dialflow.sources.reference import shipped_table
from tests.conftest import accounts_frame, calls_frame

AS_OF = pd.Timestamp("2026-11-25T06:00:00Z")
PARAMS = ContactParams.from_settings(Settings(), AS_OF)
AREA_CODES = shipped_table("area_codes")


def _calls(rows: list[tuple]) -> pd.DataFrame:
    accounts = accounts_frame(
        [
            # The same number in Phone and Mobile_Phone__c: the first field in phones.fields.
            {"Id": "001A", "Phone": "212-736-5000", "Mobile_Phone__c": "(212) 736-5000"},
            {"Id": "001B", "Mobile_Phone__c": "415.867.5309"},
        ]
    )
    return contact_calls(calls_frame(rows), account_phones(accounts, PARAMS), AREA_CODES, PARAMS)


def test_contact_calls_gives_field_state_local_hour_weekday_and_contact():
    calls = _calls(
        [
            # 14:30 UTC is 10:30 in New York in July (EDT); 2026-07-01 is a Wednesday.
            ("001A", "+1 212 736 5000", "Contact", "2026-07-01T14:30:00Z"),
            # 17:00 UTC is 9:00 in Los Angeles in January (PST); 2026-01-05 is a Monday.
            ("001B", "4158675309", " no answer ", "2026-01-05T17:00:00Z"),
            # 03:30 UTC on Monday 1 June is 20:30 on Sunday 31 May in Los Angeles (PDT, UTC-7).
            ("001B", "(415) 867-5309", "Not Interested", "2026-06-01T03:30:00Z"),
            ("001A", "617-253-1000", "Contact", "2026-07-01T14:30:00Z"),  # no field holds it
            ("001B", "212-736-5000", "Contact", "2026-07-01T14:30:00Z"),  # another's number
            ("001A", "212-736-5000", "Contact", "2026-11-25T06:00:01Z"),  # after as-of
            ("", "212-736-5000", "Contact", "2026-07-01T14:30:00Z"),  # no account
            ("001A", "12345", "Contact", "2026-07-01T14:30:00Z"),  # not a number
        ]
    )
    expected = pd.DataFrame(
        {
            "PhoneE164": ["+14158675309", "+14158675309", "+12127365000"],
            "Field": ["Mobile_Phone__c", "Mobile_Phone__c", "Phone"],
            "State": ["CA", "CA", "NY"],
            "LocalHour": [9, 20, 10],
            "Weekday": [0, 6, 2],
            "Contact": [False, True, True],
            "CreatedDate": pd.to_datetime(
                ["2026-01-05T17:00:00Z", "2026-06-01T03:30:00Z", "2026-07-01T14:30:00Z"]
            ),
        }
    )
    expected = expected.astype(calls.dtypes.to_dict())
    assert_frame_equal(calls.sort_values("CreatedDate").reset_index(drop=True), expected)


def test_stats_recency_and_attempts_since_contact():
    calls = _calls(
        [
            ("001A", "212-736-5000", "No Answer", "2026-07-01T14:30:00Z"),  # Wed 10:xx
            ("001A", "212-736-5000", "Contact", "2026-07-08T14:10:00Z"),  # Wed 10:xx
            ("001A", "212-736-5000", "Voicemail", "2026-07-09T19:00:00Z"),  # Thu 15:xx
            ("001A", "212-736-5000", "Busy", "2026-07-10T19:00:00Z"),  # Fri 15:xx
            ("001B", "415-867-5309", "No Answer", "2026-07-10T19:00:00Z"),  # Fri 12:xx
        ]
    )
    stats = call_stats(calls)
    assert stats[["PhoneE164", "LocalHour", "Weekday", "Calls", "Contacts"]].values.tolist() == [
        ["+12127365000", 10, 2, 2, 1],
        ["+12127365000", 15, 3, 1, 0],
        ["+12127365000", 15, 4, 1, 0],
        ["+14158675309", 12, 4, 1, 0],
    ]
    last = recency(calls)
    assert last["LastCall"].tolist() == list(
        pd.to_datetime(["2026-07-10T19:00:00Z", "2026-07-10T19:00:00Z"]).astype(
            last["LastCall"].dtype
        )
    )
    assert last["LastContact"].iloc[0] == pd.Timestamp("2026-07-08T14:10:00Z")
    assert pd.isna(last["LastContact"].iloc[1])
    attempts = attempts_since_contact(calls, last)
    # Two attempts after the contact of 8 July; the never-reached number: all its attempts.
    assert attempts["AttemptsSinceContact"].tolist() == [2, 1]


def test_contact_frame_gives_each_numbers_facts():
    accounts = accounts_frame(
        [{"Id": "001A", "Phone": "212-736-5000"}, {"Id": "001B", "Mobile_Phone__c": "415.867.5309"}]
    )
    calls = calls_frame(
        [
            ("001A", "212-736-5000", "No Answer", "2026-07-01T14:30:00Z"),
            ("001A", "212-736-5000", "Contact", "2026-07-08T14:10:00Z"),
            ("001A", "212-736-5000", "Voicemail", "2026-11-15T06:00:00Z"),
            ("001B", "415-867-5309", "Busy", "2026-11-24T18:00:00Z"),
        ]
    )
    result = contact_frame(calls, accounts, AREA_CODES, PARAMS)
    facts = result.facts.set_index("PhoneE164")
    assert facts["Field"].tolist() == ["Phone", "Mobile_Phone__c"]
    assert facts["Calls"].tolist() == [3, 1] and facts["Contacts"].tolist() == [1, 0]
    assert facts["AttemptsSinceContact"].tolist() == [1, 1]
    assert facts["DaysSinceLastAttempt"].tolist() == [10.0, 0.5]  # as-of 2026-11-25T06:00Z
    assert facts.loc["+12127365000", "LastContact"] == pd.Timestamp("2026-07-08T14:10:00Z")
    assert result.model.field.to_dict() == {"Mobile_Phone__c": 0.0, "Phone": 1 / 3}


def test_prior_strength_by_the_method_of_moments():
    # s2 = sum[(K - E)^2 - E + Q] / sum[E^2 - Q] = (2.4 + 2.4) / (3.6 + 3.6); alpha = 1 / s2.
    assert prior_strength([0, 4], [2, 2], [0.4, 0.4]) == pytest.approx(1.5)
    # No spread beyond the binomial noise: the units' own evidence counts for nothing.
    assert prior_strength([2, 2], [2, 2], [0.4, 0.4]) == MAX_STRENGTH
    # One call per unit (E^2 = Q) cannot show spread.
    assert prior_strength([1, 0], [0.1, 0.1], [0.01, 0.01]) == MAX_STRENGTH


def test_shrunk_ratio_is_the_gamma_posterior_mean_and_one_without_calls():
    assert shrunk_ratio([3, 0, 5], [1.0, 2.0, 0.0], 2.0).tolist() == [5 / 3, 2 / 4, 1.0]


FIELDS = {"Phone": 0.06, "Mobile_Phone__c": 0.09}
STATES = {"CA": 1.0, "TX": 1.4}
HOUR_SHAPE = {"Phone": {9: 1.2, 13: 0.8, 18: 0.5}, "Mobile_Phone__c": {9: 0.6, 13: 0.9, 18: 1.5}}
NUMBER_ALPHA = 2.0  # the planted Gamma(2, 2) spread of numbers around their cells


def _true_rate(field: str, state: str, hour: int) -> float:
    return FIELDS[field] * STATES[state] * HOUR_SHAPE[field][hour]


def _planted_stats(numbers_per_cell: int = 3_000, calls: int = 30, seed: int = 5) -> pd.DataFrame:
    """Stats of numbers called `calls` times at each of three hours on Wednesdays, answering
    with the cell's rate times a Gamma(2, 2) ratio of their own."""
    rng = np.random.default_rng(seed)
    frames = []
    for field in FIELDS:
        for state in STATES:
            ratio = rng.gamma(NUMBER_ALPHA, 1 / NUMBER_ALPHA, numbers_per_cell)
            for hour in HOUR_SHAPE[field]:
                p = np.minimum(ratio * _true_rate(field, state, hour), 1.0)
                frames.append(
                    pd.DataFrame(
                        {
                            "PhoneE164": [f"+1{state}{field}{i:06d}" for i in range(len(p))],
                            "Field": field,
                            "State": state,
                            "LocalHour": hour,
                            "Weekday": 2,
                            "Calls": calls,
                            "Contacts": rng.binomial(calls, p),
                        }
                    )
                )
    return combine_stats(pd.concat(frames, ignore_index=True))


@pytest.fixture(scope="module")
def planted():
    stats = _planted_stats()
    return stats, fit_contact_model(stats)


def test_model_recovers_planted_cell_rates_within_0_01(planted):
    stats, model = planted
    for field in FIELDS:
        for state in STATES:
            rows = pd.DataFrame({"Field": [field], "State": [state], "Ratio": [1.0]})
            hours = np.array(sorted(HOUR_SHAPE[field]))
            estimate = model.probability(rows, hours, weekday=2)[0]
            truth = [_true_rate(field, state, hour) for hour in hours]
            assert estimate == pytest.approx(truth, abs=0.01)


def test_model_recovers_the_planted_number_spread(planted):
    _, model = planted
    # Gamma(2, 2) planted: the method of moments finds alpha = 2 within 10% on 6,000 numbers.
    for field in FIELDS:
        assert model.number_strength[field] == pytest.approx(NUMBER_ALPHA, rel=0.1)


def test_a_number_without_calls_gets_its_cells_prior_mean(planted):
    _, model = planted
    rows = pd.DataFrame({"Field": ["Mobile_Phone__c"], "State": ["TX"], "Ratio": [1.0]})
    cell = pd.DataFrame(
        {"Field": ["Mobile_Phone__c"], "State": ["TX"], "LocalHour": [18], "Weekday": [2]}
    )
    prior_mean = model.cell_rate(cell) * model.day_factor(cell)
    assert model.probability(rows, np.array([18]), weekday=2)[0, 0] == prior_mean[0]


def test_a_number_with_many_calls_is_estimated_within_0_01(planted):
    stats, model = planted
    # 3,000 calls at 13:00 with 12% answered, in a cell whose rate is 0.06 x 1.4 x 0.8.
    heavy = pd.DataFrame(
        {
            "PhoneE164": ["+1heavy"],
            "Field": ["Phone"],
            "State": ["TX"],
            "LocalHour": [13],
            "Weekday": [2],
            "Calls": [3_000],
            "Contacts": [360],
        }
    )
    evidence = number_evidence(combine_stats(heavy), model)
    estimate = model.probability(evidence, np.array([13]), weekday=2)[0, 0]
    assert estimate == pytest.approx(0.12, abs=0.01)
    # The same number with 3 calls and one contact stays near its cell (shrunk by alpha ~ 2).
    light = number_evidence(combine_stats(heavy.assign(Calls=3, Contacts=1)), model)
    cell = _true_rate("Phone", "TX", 13)
    assert cell < model.probability(light, np.array([13]), weekday=2)[0, 0] < 0.5 * (1 / 3 + cell)


def test_best_hour_inside_the_window(planted):
    _, model = planted
    rows = pd.DataFrame(
        {"Field": ["Phone", "Mobile_Phone__c", "Phone"], "State": ["CA", "CA", "CA"]}
    ).assign(Ratio=1.0)
    best = model.best_hour(rows, np.array([9, 9, 12]), np.array([14, 21, 12]), weekday=2)
    # Office lines answer best at 9:00 of 9-14; mobiles at 18:00 of 9-21; no hour in 12-12.
    assert best["BestHourLocal"].tolist()[:2] == [9, 18]
    assert pd.isna(best["BestHourLocal"].iloc[2]) and np.isnan(best["ContactProbability"].iloc[2])
    assert best["ContactProbability"].iloc[1] == pytest.approx(
        _true_rate("Mobile_Phone__c", "CA", 18), abs=0.01
    )


def test_model_json_round_trip(planted, tmp_path):
    _, model = planted
    path = tmp_path / "model.json"
    save_model(model, path)
    data = json.loads(path.read_text(encoding="utf-8"))  # strict JSON: no NaN or Infinity
    assert data["rates_by_field_and_hour"]["Phone"]["9"] == pytest.approx(0.06 * 1.2 * 1.2, 0.05)
    loaded = load_model(path)
    assert loaded.to_json() == model.to_json()
    rows = pd.DataFrame({"Field": ["Phone", "Home_Phone__c"], "State": ["TX", "WY"]})
    rows = rows.assign(Ratio=[1.7, 1.0])
    hours = np.arange(24)
    assert np.array_equal(loaded.probability(rows, hours, 4), model.probability(rows, hours, 4))


def test_load_refuses_another_file(tmp_path):
    path = tmp_path / "model.json"
    path.write_text('{"prior": 0.1}', encoding="utf-8")
    with pytest.raises(ValueError, match="not a contact model.json"):
        load_model(path)


def test_numbers_as_int64_and_back():
    from dialflow.jobs.contact import e164_of, national_numbers

    e164 = pd.Series(["+12127365000", "+442071234567", None, "+1415867530"], dtype="string")
    numbers = national_numbers(e164)
    assert numbers.tolist() == [2127365000, -1, -1, -1]  # +1 and ten digits only
    assert e164_of(numbers[:1]).tolist() == ["+12127365000"]


def test_local_clock_equals_the_zoned_accessors():
    from dialflow.jobs.contact import local_hour_weekday

    # Both sides of the 2026 US spring-forward and fall-back, midnight, and before 1970.
    created = pd.Series(
        pd.to_datetime(
            [
                "2026-03-08T06:59:59Z",
                "2026-03-08T07:00:00Z",
                "2026-11-01T05:30:00Z",
                "2026-11-01T06:30:00Z",
                "2026-07-01T04:00:00Z",
                "1969-12-31T23:30:00Z",
            ]
        )
    )
    for zone in ["America/New_York", "America/Los_Angeles", "Pacific/Honolulu"]:
        hour, weekday = local_hour_weekday(created, pd.Series([zone] * len(created)))
        local = created.dt.tz_convert(zone)
        assert hour.tolist() == local.dt.hour.tolist(), zone
        assert weekday.tolist() == local.dt.day_of_week.tolist(), zone


def test_a_number_two_accounts_hold_counts_for_the_caller_only():
    # One number in two accounts' fields; each account's call takes its own account's field.
    accounts = accounts_frame(
        [
            {"Id": "001A", "Phone": "212-736-5000"},
            {"Id": "001B", "Mobile_Phone__c": "212-736-5000"},
        ]
    )
    calls = contact_calls(
        calls_frame(
            [
                ("001A", "212-736-5000", "Contact", "2026-07-01T14:30:00Z"),
                ("001B", "212-736-5000", "No Answer", "2026-07-02T14:30:00Z"),
                ("001C", "212-736-5000", "Contact", "2026-07-03T14:30:00Z"),  # holds none
            ]
        ),
        account_phones(accounts, PARAMS),
        AREA_CODES,
        PARAMS,
    )
    got = calls.sort_values("CreatedDate")[["Field", "Contact"]].values.tolist()
    assert got == [["Phone", True], ["Mobile_Phone__c", False]]
