"""listiq.selection contact_rate: the records most likely to answer, each with its best hour."""

import numpy as np
import pandas as pd
import pytest

from dialflow.config import Settings
from dialflow.errors import ConfigError, DialflowError
from dialflow.jobs.contact import ContactParams, contact_frame
from dialflow.jobs.listiq import (
    BEST_HOUR,
    CALL_LIST_COLUMNS,
    CONTACT_RATE,
    ListiqParams,
    by_best_hour,
    listiq_frame,
    window_hours,
)
from dialflow.sources.reference import load_reference_tables
from dialflow.specs.listiq import pinned_contact_model
from tests.conftest import accounts_frame, calls_frame

AS_OF = pd.Timestamp("2026-11-25T12:00:00Z")  # a Wednesday
PARAMS = ListiqParams.from_settings(Settings(), AS_OF)
CONTACT = ContactParams.from_settings(Settings(), AS_OF)
REFERENCE = load_reference_tables(None)
POPULATION = REFERENCE.census_population.set_index("state")["population"]


def _accounts(n: int) -> pd.DataFrame:
    rows = [
        {"Id": f"001{i:04d}", "Name": "x", "CreatedDate": "2024-05-01", "Phone": f"212736{i:04d}"}
        for i in range(n)
    ]
    return accounts_frame(rows)


def _listiq(accounts, calls, selection, target, pinned=None, sort="default"):
    params = PARAMS.model_copy(
        update=dict(target_total_records=target, seed=11, selection=selection, sort=sort)
    )
    return listiq_frame(
        accounts, calls, pd.Index([]), pd.Index([]), REFERENCE.area_codes, POPULATION, params,
        contact=CONTACT, pinned=pinned,
    )  # fmt: skip


def _history(answering: range, n: int) -> pd.DataFrame:
    """Three calls per account, 60 to 40 days before as-of; `answering` accounts took two."""
    return calls_frame(
        [
            (
                f"001{i:04d}",
                f"212736{i:04d}",
                "Contact" if i in answering and k < 2 else "No Answer",
                f"2026-{9 + k // 2:02d}-{26 - k:02d}T{15 + k}:00:00Z",
            )
            for i in range(n)
            for k in range(3)
        ]
    )


def test_contact_rate_takes_the_accounts_that_answer():
    accounts, calls = _accounts(40), _history(range(30, 35), 40)
    result = _listiq(accounts, calls, CONTACT_RATE, target=5)
    listed = result.call_list
    assert sorted(listed["AccountId"]) == [f"001{i:04d}" for i in range(30, 35)]
    assert list(listed.columns) == [*CALL_LIST_COLUMNS, "ContactProbability", "BestHourLocal"]
    # Same field and state, the same history each: one estimate and one hour for all five,
    # far above what the 35 silent accounts get.
    assert listed["ContactProbability"].nunique() == 1
    assert listed["BestHourLocal"].nunique() == 1
    assert result.contact_model is not None
    facts = contact_frame(calls, accounts, REFERENCE.area_codes, CONTACT).facts
    assert facts["Ratio"].max() > facts["Ratio"].min() * 3
    # Random mode, same data and seed: another sample, and the call list's columns as before.
    plain = _listiq(accounts, calls, "random", target=5).call_list
    assert list(plain.columns) == CALL_LIST_COLUMNS
    assert set(plain["AccountId"]) != set(listed["AccountId"])


def test_equal_estimates_keep_the_seeded_order():
    accounts = _accounts(400)
    pinned = contact_frame(_history(range(1), 3), accounts, REFERENCE.area_codes, CONTACT).model
    # No history in the run: every record has its cell's estimate (one field, one state), so
    # they all tie and the seeded order decides, as in random mode.
    ranked = _listiq(accounts, calls_frame([]), CONTACT_RATE, target=50, pinned=pinned)
    plain = _listiq(accounts, calls_frame([]), "random", target=50)
    assert ranked.call_list["AccountId"].tolist() == plain.call_list["AccountId"].tolist()
    assert ranked.call_list["ContactProbability"].nunique() == 1
    assert ranked.contact_model is pinned


def test_contact_rate_without_history_or_model_stops():
    with pytest.raises(DialflowError, match="needs at least one call.*pin listiq.contact_model"):
        _listiq(_accounts(5), calls_frame([]), CONTACT_RATE, target=5)


def test_window_hours_in_the_first_zones_local_time():
    hours = window_hours(REFERENCE.area_codes, PARAMS, REFERENCE.calling_rules)
    by_place = hours.set_index(["TimeZone", "State"])
    assert by_place.loc[("America/New_York", "NY")].tolist() == [8.0, 21.0]
    assert by_place.loc[("America/New_York", "FL")].tolist() == [8.0, 20.0]  # FL: 8:00-20:00
    assert np.isfinite(hours["StartHour"]).all()  # a Wednesday: no state closed


def test_a_pinned_file_that_is_not_a_contact_model_is_one_config_error(tmp_path):
    other = tmp_path / "model.json"
    other.write_text('{"model": "fellegi-sunter"}', encoding="utf-8")
    with pytest.raises(ConfigError, match="listiq.contact_model is not a contact_model.json"):
        pinned_contact_model(other)
    assert pinned_contact_model(None) is None


def test_by_best_hour_orders_by_the_instant_the_hour_begins():
    # Wednesday 2026-11-25 (standard time): 9:00 New York is 14:00 UTC, 8:00 Chicago 14:00 UTC,
    # 10:00 Denver 17:00 UTC, 9:00 Chicago 15:00 UTC. Ties keep the list's order; no hour: last.
    rows = pd.DataFrame(
        {
            "AccountId": ["a", "b", "c", "d", "e", "f"],
            "TimeZone": [
                "America/Denver",
                "America/Chicago",
                "America/New_York",
                "America/Chicago|America/New_York",
                "America/New_York",
                "America/Chicago",
            ],
            "BestHourLocal": pd.array([10, 9, 9, None, 18, 8], dtype="Int64"),
        }
    )
    ordered = by_best_hour(rows, AS_OF.date())
    assert ordered["AccountId"].tolist() == ["c", "f", "b", "a", "e", "d"]
    assert ordered.index.tolist() == list(range(6))


def test_sort_best_hour_lists_the_same_rows_in_hour_order():
    accounts = _accounts(40)
    rows = [
        {"Id": f"002{i:04d}", "Name": "x", "CreatedDate": "2024-05-01", "Phone": number}
        for i, number in enumerate(["3125550100", "3035550101", "4155550102", "6175550103"])
    ]
    accounts = pd.concat([accounts, accounts_frame(rows)], ignore_index=True)
    calls = _history(range(30, 35), 40)
    shuffled = _listiq(accounts, calls, CONTACT_RATE, target=20).call_list
    sorted_ = _listiq(accounts, calls, CONTACT_RATE, target=20, sort=BEST_HOUR).call_list
    assert sorted(sorted_["AccountId"]) == sorted(shuffled["AccountId"])
    assert sorted_.equals(by_best_hour(shuffled, AS_OF.date()))
    assert sorted_["State"].nunique() > 1  # more than one zone, so the instant matters


def test_sort_best_hour_needs_contact_rate():
    with pytest.raises(ValueError, match="sort: best_hour needs selection: contact_rate"):
        Settings.model_validate({"listiq": {"sort": "best_hour"}})
    settings = Settings.model_validate({"listiq": {"sort": "best_hour", "selection": CONTACT_RATE}})
    assert ListiqParams.from_settings(settings, AS_OF).sort == BEST_HOUR
