"""State calling rules: the row checks, holiday dates and observance, a state's window on a date,
and listiq's windows built from them (hand-built tables; a few checks on the shipped copy)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialflow.calling_rules import (
    FEDERAL_MINUTES,
    HOLIDAY_COLUMNS,
    RULE_COLUMNS,
    CallingRules,
    DayRule,
    Holiday,
    check_calling_rules,
)
from dialflow.errors import ConfigError
from dialflow.jobs.listiq import calling_windows
from dialflow.sources.reference import load_reference_tables

STATES = {"AL", "KY", "PA", "TN", "FL", "NY"}
ORIGIN = "rules.csv"


def rule_row(state: str, **fields: str) -> dict[str, str]:
    row = dict.fromkeys(RULE_COLUMNS, "")
    return {**row, "state": state, "source": "test", "verified": "2026-11-29", **fields}


def every_day(start: str, end: str) -> dict[str, str]:
    return {f"{kind}_{edge}": value for kind in ("weekday", "saturday", "sunday")
            for edge, value in (("start", start), ("end", end))}  # fmt: skip


HOLIDAYS = pd.DataFrame(
    [
        ("independence_sun", "Independence Day", "fixed:07-04", "all", "sunday_to_monday"),
        ("independence", "Independence Day", "fixed:07-04", "all", "nearest_weekday"),
        ("memorial", "Memorial Day", "last:mon:05", "all", "none"),
        ("thanksgiving", "Thanksgiving Day", "nth:4:thu:11", "all", "none"),
        ("election", "Election Day", "nth:1:mon:11+1", "even", "none"),
        ("good_friday", "Good Friday", "easter-2", "all", "none"),
    ],
    columns=HOLIDAY_COLUMNS,
)
RULES = pd.DataFrame(
    [
        rule_row("AL", weekday_start="08:00", weekday_end="20:00", saturday_start="08:00",
                 saturday_end="20:00", sunday_start="closed", sunday_end="closed",
                 holidays="independence;thanksgiving"),
        rule_row("KY", **every_day("10:00", "21:00")),
        rule_row("PA", holidays="independence_sun; memorial;election;good_friday"),
        rule_row("FL", **every_day("08:00", "20:00"), attempt_cap="3", attempt_window_hours="24"),
    ]  # fmt: skip
)


def rules() -> CallingRules:
    return check_calling_rules(RULES, HOLIDAYS, STATES, ORIGIN)


def day(text: str) -> date:
    return date.fromisoformat(text)


# --- a state's window on a date -------------------------------------------------------------------


def test_a_sunday_in_alabama_is_closed_and_saturday_is_8_to_20():
    checked = rules()
    assert checked.on("AL", day("2026-11-29")) == DayRule(None, "no calls on Sundays")
    assert checked.on("AL", day("2026-11-28")) == DayRule((8 * 60, 20 * 60))
    assert checked.on("AL", day("2026-11-30")) == DayRule((8 * 60, 20 * 60))
    # A state without a row keeps the federal hours, Sunday included.
    assert checked.on("NY", day("2026-11-29")) == DayRule(FEDERAL_MINUTES)


def test_a_sunday_holiday_is_observed_on_the_monday_and_the_sunday_stays_closed():
    checked = rules()
    # 4 July 2027 is a Sunday: Pennsylvania's row closes it and Monday 5 July.
    assert checked.on("PA", day("2027-07-04")) == DayRule(None, "holiday: Independence Day")
    assert checked.on("PA", day("2027-07-05")) == DayRule(None, "holiday: Independence Day")
    assert checked.on("PA", day("2027-07-06")) == DayRule(FEDERAL_MINUTES)
    # 4 July 2026 is a Saturday: sunday_to_monday moves nothing, nearest_weekday closes Friday.
    assert checked.on("PA", day("2026-07-03")) == DayRule(FEDERAL_MINUTES)
    assert checked.on("AL", day("2026-07-03")) == DayRule(None, "holiday: Independence Day")


def test_holiday_rules_compute_the_date_for_the_call_dates_year():
    checked = rules()
    assert checked.on("PA", day("2026-05-25")).closed_because == "holiday: Memorial Day"
    assert checked.on("PA", day("2026-05-18")).closed_because is None
    assert checked.on("AL", day("2026-11-26")).closed_because == "holiday: Thanksgiving Day"
    assert checked.on("AL", day("2027-11-25")).closed_because == "holiday: Thanksgiving Day"
    assert checked.on("PA", day("2026-04-03")).closed_because == "holiday: Good Friday"
    assert checked.on("PA", day("2027-03-26")).closed_because == "holiday: Good Friday"
    # Tuesday after the first Monday of November, even years only.
    assert checked.on("PA", day("2026-11-03")).closed_because == "holiday: Election Day"
    assert checked.on("PA", day("2027-11-02")).closed_because is None


def test_an_observed_date_in_the_previous_year_closes_it():
    holidays = pd.DataFrame(
        [("new_year", "New Year's Day", "fixed:01-01", "all", "nearest_weekday")],
        columns=HOLIDAY_COLUMNS,
    )
    table = pd.DataFrame([rule_row("AL", holidays="new_year")])
    checked = check_calling_rules(table, holidays, STATES, ORIGIN)
    # 1 January 2028 is a Saturday, observed on Friday 31 December 2027.
    assert checked.on("AL", day("2027-12-31")).closed_because == "holiday: New Year's Day"
    assert checked.on("AL", day("2027-12-30")).closed_because is None


def test_attempt_caps_are_read():
    fl = rules().states["FL"]
    assert (fl.attempt_cap, fl.attempt_window_hours) == (3, 24.0)
    assert rules().states["KY"].attempt_cap is None


# --- listiq's windows from the rules --------------------------------------------------------------


def windows(places: list[tuple[str, str]], text: str, **kwargs) -> list[tuple]:
    frame = pd.DataFrame(places, columns=["TimeZone", "State"])
    result = calling_windows(frame, day(text), rules=rules(), **kwargs)
    return list(result.itertuples(index=False, name=None))


def test_kentucky_at_9_59_is_outside_and_10_00_inside():
    [(_, _, start, end, start_utc, end_utc)] = windows([("America/New_York", "KY")], "2026-11-25")
    assert (start, end) == ("2026-11-25T10:00:00-05:00", "2026-11-25T21:00:00-05:00")
    local = pd.Timestamp("2026-11-25T09:59:00").tz_localize("America/New_York")
    assert not start_utc <= local < end_utc
    assert start_utc <= local + pd.Timedelta(minutes=1) < end_utc


def test_an_area_code_spanning_two_zones_under_two_states_rules():
    zones = "America/Chicago|America/New_York"
    # Kentucky 10:00-21:00 must hold in both zones: the start binds in Chicago (10:00 CST = 11:00
    # EST), the end in New York (21:00 EST = 20:00 CST). Florida 8:00-20:00 the same way.
    assert windows([(zones, "KY"), (zones, "FL")], "2026-11-25") == [
        (zones, "KY", "2026-11-25T10:00:00-06:00", "2026-11-25T20:00:00-06:00",
         pd.Timestamp("2026-11-25T16:00Z"), pd.Timestamp("2026-11-26T02:00Z")),
        (zones, "FL", "2026-11-25T08:00:00-06:00", "2026-11-25T19:00:00-06:00",
         pd.Timestamp("2026-11-25T14:00Z"), pd.Timestamp("2026-11-26T01:00Z")),
    ]  # fmt: skip


def test_configured_state_hours_only_narrow_the_table_and_a_closed_state_has_no_window():
    # KY configured 8:00-20:00: the table's 10:00 start stays, the end comes in to 20:00.
    got = windows([("America/New_York", "KY")], "2026-11-25", state_hours={"KY": (8, 20)})
    assert got[0][2:4] == ("2026-11-25T10:00:00-05:00", "2026-11-25T20:00:00-05:00")
    [(_, _, start, end, start_utc, end_utc)] = windows([("America/Chicago", "AL")], "2026-11-29")
    assert (start, end) == (None, None) and pd.isna(start_utc) and pd.isna(end_utc)


# --- the row checks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"state": "XX"}, "row XX, column state: 'XX' is not a state of census_population"),
        ({"weekday_start": "9am", "weekday_end": "20:00"},
         "row KY, column weekday_start: '9am' is not a local time; write HH:MM"),
        ({"weekday_start": "10:00", "weekday_end": "09:00"},
         "row KY, column weekday_end: '09:00' is not after weekday_start 10:00"),
        ({"sunday_start": "closed", "sunday_end": ""},
         "row KY, column sunday_start: 'closed' is not a local time"),
        ({"holidays": "easter_monday"},
         "row KY, column holidays: 'easter_monday' is not an id of table state_holidays"),
        ({"attempt_cap": "3"}, "row KY, column attempt_window_hours: '' needs its pair"),
        ({"attempt_cap": "three", "attempt_window_hours": "24"},
         "row KY, column attempt_cap: 'three' is not a whole number above 0"),
        ({"source": ""}, "row KY, column source: '' is empty; cite the statute or source"),
        ({"verified": "last week"}, "row KY, column verified: 'last week' is not a date"),
    ],  # fmt: skip
)
def test_a_bad_rule_row_is_refused_with_one_line_naming_table_row_and_column(fields, message):
    table = pd.DataFrame([rule_row(fields.pop("state", "KY"), **fields)])
    with pytest.raises(ConfigError) as caught:
        check_calling_rules(table, HOLIDAYS, STATES, ORIGIN)
    text = str(caught.value)
    assert text.startswith(f"{ORIGIN}: table state_calling_rules, row ") and message in text
    assert "\n" not in text


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("x", "X", "fixed:13-01", "all", "none"), "row x, column rule: 'fixed:13-01' is not a"),
        (("x", "X", "monday", "all", "none"), "row x, column rule: 'monday' is not a rule"),
        (("x", "X", "fixed:01-01", "all", "fri"), "row x, column observance: 'fri' is not one"),
        (("x", "X", "fixed:01-01", "leap", "none"), "row x, column years: 'leap' is not one of"),
        (("X Day", "X", "fixed:01-01", "all", "none"), "row X Day, column holiday: 'X Day' is"),
    ],
)
def test_a_bad_holiday_row_is_refused_with_one_line(row, message):
    with pytest.raises(ConfigError, match="^rules.csv: table state_holidays, ") as caught:
        check_calling_rules(RULES, pd.DataFrame([row], columns=HOLIDAY_COLUMNS), STATES, ORIGIN)
    assert message in str(caught.value)


def test_a_missing_column_names_the_table_and_the_reload():
    with pytest.raises(ConfigError, match="table state_calling_rules has no column verified;"):
        check_calling_rules(RULES.drop(columns="verified"), HOLIDAYS, STATES, ORIGIN)


# --- the shipped tables ---------------------------------------------------------------------------

SHIPPED = load_reference_tables(None).calling_rules


def test_shipped_rules_on_a_sunday_and_on_thanksgiving():
    sunday = SHIPPED.closed_on(sorted(SHIPPED.states), day("2026-11-29"))
    assert sunday == dict.fromkeys(["AL", "LA", "MS", "RI", "UT"], "no calls on Sundays")
    thanksgiving = SHIPPED.closed_on(sorted(SHIPPED.states), day("2026-11-26"))
    closed = ["AL", "LA", "PA", "RI", "UT"]
    assert thanksgiving == dict.fromkeys(closed, "holiday: Thanksgiving Day")
    assert SHIPPED.on("KY", day("2026-11-25")).window == (600, 1260)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_a_shipped_window_is_always_inside_the_federal_hours(when):
    for state in SHIPPED.states:
        found = SHIPPED.on(state, when)
        assert (found.window is None) == (found.closed_because is not None)
        if found.window is not None:
            assert FEDERAL_MINUTES[0] <= found.window[0] < found.window[1] <= FEDERAL_MINUTES[1]


@given(st.integers(1990, 2100))
def test_a_shipped_holiday_is_observed_on_a_weekday_unless_observance_is_none(year):
    for holiday in SHIPPED.holidays.values():
        dates = holiday.dates(year)
        assert all(found.year in (year - 1, year, year + 1) for found in dates)
        if holiday.observance in ("nearest_weekday", "weekend_to_monday") and dates:
            assert any(found.weekday() < 5 for found in dates)


def test_weekday_rules_against_a_calendar_walk():
    # nth and last weekday rules against a brute-force walk of the month (an independent oracle).
    for year in range(2020, 2041):
        for month in (1, 5, 11):
            days = [date(year, month, 1) + timedelta(n) for n in range(31)]
            mondays = [d for d in days if d.month == month and d.weekday() == 0]
            assert Holiday("a", "A", f"nth:3:mon:{month:02d}").dates(year) == {mondays[2]}
            assert Holiday("b", "B", f"last:mon:{month:02d}").dates(year) == {mondays[-1]}
    assert datetime(2026, 4, 5).date() - timedelta(2) in Holiday("g", "G", "easter-2").dates(2026)
