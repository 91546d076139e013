"""State calling rules as data: which local hours each state allows on a given date.

Two tables, shipped in `dialflow/data/` and kept in SQL like the other reference tables (see
`sources/reference.py`): `state_calling_rules` (one row per state stricter than the federal
8:00-21:00: hours for weekdays, Saturday and Sunday, holidays, attempt caps, the source) and
`state_holidays` (how each holiday's date is computed and observed). This module only checks
and reads frames it is given; it knows no state by name.

A state is closed on a date when that kind of day is `closed` (e.g. Sunday in Alabama) or the
date is one of its holidays, on the holiday itself or on the day it is observed (both: the
cautious reading where a statute says "on a legal holiday"). Otherwise its window is its hours
for that kind of day (empty = federal), intersected with the federal hours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
from dateutil.easter import easter

from .errors import ConfigError

STATE_CALLING_RULES = "state_calling_rules"
STATE_HOLIDAYS = "state_holidays"
RULE_COLUMNS = [
    "state",
    "weekday_start",
    "weekday_end",
    "saturday_start",
    "saturday_end",
    "sunday_start",
    "sunday_end",
    "holidays",
    "attempt_cap",
    "attempt_window_hours",
    "source",
    "verified",
]
HOLIDAY_COLUMNS = ["holiday", "name", "rule", "years", "observance"]
CLOSED = "closed"
DAY_KINDS = ("weekday", "saturday", "sunday")
FEDERAL_MINUTES = (8 * 60, 21 * 60)  # the Telemarketing Sales Rule: 8:00 to 21:00 local
OBSERVANCES = ("none", "sunday_to_monday", "nearest_weekday", "weekend_to_monday")
YEARS = ("all", "even", "odd")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^(24):(00)$")
_FIXED = re.compile(r"^fixed:(\d\d)-(\d\d)$")
_NTH = re.compile(r"^(?:nth:([1-5])|last):(mon|tue|wed|thu|fri|sat|sun):(\d\d)([+-]\d+)?$")
_EASTER = re.compile(r"^easter([+-]\d+)?$")

Window = tuple[int, int]  # local minutes after midnight, start inclusive, end exclusive


@dataclass(frozen=True)
class Holiday:
    """One holiday: its rule (`fixed:MM-DD`, `nth:N:DAY:MM[+-D]`, `last:DAY:MM[+-D]`,
    `easterD`), the years it falls in and how a weekend date is observed."""

    id: str
    name: str
    rule: str
    years: str = "all"
    observance: str = "none"

    def dates(self, year: int) -> set[date]:
        """Return the holiday's date in `year` and the day it is observed (if another)."""
        if self.years == "even" and year % 2 or self.years == "odd" and not year % 2:
            return set()
        day = _rule_date(self.rule, year)
        return {day, _observed(day, self.observance)}


@dataclass(frozen=True)
class StateRule:
    """One state's row: hours by kind of day (None = federal; CLOSED), holidays, attempt cap."""

    state: str
    hours: dict[str, Window | str | None]
    holidays: tuple[str, ...] = ()
    attempt_cap: int | None = None
    attempt_window_hours: float | None = None


@dataclass(frozen=True)
class DayRule:
    """What a state allows on one date: its window, or None and why it is closed."""

    window: Window | None
    closed_because: str | None = None


@dataclass(frozen=True)
class CallingRules:
    """The checked state rules and holidays; `on(state, day)` answers for one state and date."""

    states: dict[str, StateRule] = field(default_factory=dict)
    holidays: dict[str, Holiday] = field(default_factory=dict)

    def on(self, state: str, day: date, federal: Window = FEDERAL_MINUTES) -> DayRule:
        """Return the state's window on `day` (federal hours where it has no rule)."""
        rule = self.states.get(state)
        if rule is None:
            return DayRule(federal)
        kind = day_kind(day)
        hours = rule.hours.get(kind)
        if hours == CLOSED:
            return DayRule(None, f"no calls on {kind.capitalize()}s")
        for holiday_id in rule.holidays:
            holiday = self.holidays[holiday_id]
            # An observed date may fall in the next or previous year (1 January on a Saturday).
            if any(day in holiday.dates(year) for year in (day.year - 1, day.year, day.year + 1)):
                return DayRule(None, f"holiday: {holiday.name}")
        window = intersect(federal, hours if isinstance(hours, tuple) else None)
        return DayRule(window, None if window else f"no legal hours on {kind.capitalize()}s")

    def closed_on(self, states: list[str] | pd.Index, day: date) -> dict[str, str]:
        """Return the states closed on `day`, with the reason, in state order."""
        reasons = {state: self.on(state, day).closed_because for state in sorted(states)}
        return {state: reason for state, reason in reasons.items() if reason}


def day_kind(day: date) -> str:
    """Return "weekday", "saturday" or "sunday"."""
    return DAY_KINDS[max(day.weekday() - 4, 0)]


def intersect(first: Window | None, second: Window | None) -> Window | None:
    """Return the overlap of two windows (None stands for no limit), or None if empty."""
    if first is None or second is None:
        return first or second
    start, end = max(first[0], second[0]), min(first[1], second[1])
    return (start, end) if start < end else None


def _rule_date(rule: str, year: int) -> date:
    if match := _FIXED.match(rule):
        return date(year, int(match[1]), int(match[2]))
    if match := _EASTER.match(rule):
        return easter(year) + timedelta(days=int(match[1] or 0))
    match = _NTH.match(rule)
    assert match is not None, rule  # checked by check_holidays
    nth, weekday, month, offset = match.groups()
    first = date(year, int(month), 1)
    shift = (WEEKDAYS.index(weekday) - first.weekday()) % 7
    if nth:
        day = first + timedelta(days=shift + 7 * (int(nth) - 1))
    else:
        last = date(year + (month == "12"), int(month) % 12 + 1, 1) - timedelta(days=1)
        day = last - timedelta(days=(last.weekday() - WEEKDAYS.index(weekday)) % 7)
    return day + timedelta(days=int(offset or 0))


def _observed(day: date, observance: str) -> date:
    weekday = day.weekday()
    if weekday == 6 and observance != "none":
        return day + timedelta(days=1)
    if weekday == 5 and observance == "nearest_weekday":
        return day - timedelta(days=1)
    if weekday == 5 and observance == "weekend_to_monday":
        return day + timedelta(days=2)
    return day


def _fail(origin: str, table: str, key: str, column: str, value: object, fix: str) -> None:
    raise ConfigError(f"{origin}: table {table}, row {key}, column {column}: {value!r} {fix}")


def require_columns(
    frame: pd.DataFrame, table: str, columns: list[str], origin: str, error: type = ConfigError
) -> None:
    """Refuse a reference table without one of its columns, in one line (every reference table
    uses this: `sources/reference.py` with InputError)."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise error(
            f"{origin}: table {table} has no column {missing[0]}; it needs "
            f"{', '.join(columns)} (drop the table to reload the shipped copy)"
        )


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def check_holidays(frame: pd.DataFrame, origin: str) -> dict[str, Holiday]:
    """Check the holiday table row by row; return the holidays by id."""
    table = STATE_HOLIDAYS
    require_columns(frame, table, HOLIDAY_COLUMNS, origin)
    holidays: dict[str, Holiday] = {}
    for row in frame[HOLIDAY_COLUMNS].map(_text).itertuples(index=False):
        key = row.holiday.strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            _fail(origin, table, key or "(empty)", "holiday", row.holiday,
                  "is not an id; use lower-case letters, digits and _")  # fmt: skip
        if key in holidays:
            _fail(origin, table, key, "holiday", key, "appears twice; keep one row per id")
        rule = row.rule.strip()
        if not (_FIXED.match(rule) or _NTH.match(rule) or _EASTER.match(rule)):
            _fail(origin, table, key, "rule", rule,
                  "is not a rule; write fixed:MM-DD, nth:N:mon:MM, last:mon:MM "
                  "(optionally +D or -D days) or easter-2")  # fmt: skip
        try:
            _rule_date(rule, 2024)  # a leap year: fixed:02-29 passes here, fails in 2025
            _rule_date(rule, 2025)
        except ValueError:
            _fail(origin, table, key, "rule", rule, "is not a date every year; fix month-day")
        years = row.years.strip() or "all"
        if years not in YEARS:
            _fail(origin, table, key, "years", years, f"is not one of {', '.join(YEARS)}")
        observance = row.observance.strip() or "none"
        if observance not in OBSERVANCES:
            _fail(origin, table, key, "observance", observance,
                  f"is not one of {', '.join(OBSERVANCES)}")  # fmt: skip
        holidays[key] = Holiday(key, row.name.strip() or key, rule, years, observance)
    return holidays


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def check_state_calling_rules(
    frame: pd.DataFrame, holidays: dict[str, Holiday], states: set[str], origin: str
) -> dict[str, StateRule]:
    """Check the state rules row by row against the holidays and the known states.

    Args:
        frame: the state_calling_rules rows (text; empty = not set).
        holidays: the checked holiday table.
        states: the state codes of census_population.
        origin: where the rows were read (file or database), named in any error.

    Returns:
        The rules by state code.
    """
    table = STATE_CALLING_RULES
    require_columns(frame, table, RULE_COLUMNS, origin)
    rules: dict[str, StateRule] = {}
    for row in frame[RULE_COLUMNS].map(_text).map(str.strip).to_dict("records"):
        state = row["state"]
        if state not in states:
            _fail(origin, table, state or "(empty)", "state", state,
                  "is not a state of census_population; use a code like AL")  # fmt: skip
        if state in rules:
            _fail(origin, table, state, "state", state, "appears twice; keep one row per state")
        hours: dict[str, Window | str | None] = {}
        for kind in DAY_KINDS:
            start, end = row[f"{kind}_start"], row[f"{kind}_end"]
            if start == end == CLOSED or start == end == "":
                hours[kind] = start or None
                continue
            for column, value in ((f"{kind}_start", start), (f"{kind}_end", end)):
                if not _CLOCK.match(value):
                    _fail(origin, table, state, column, value,
                          "is not a local time; write HH:MM (e.g. 09:00), leave start and end "
                          "empty for federal hours, or write closed in both")  # fmt: skip
            if _minutes(start) >= _minutes(end):
                _fail(origin, table, state, f"{kind}_end", end,
                      f"is not after {kind}_start {start}; fix the hours")  # fmt: skip
            hours[kind] = (_minutes(start), _minutes(end))
        named = tuple(part.strip() for part in row["holidays"].split(";") if part.strip())
        for holiday in named:
            if holiday not in holidays:
                fix = f"is not an id of table {STATE_HOLIDAYS}; add it there or fix the id"
                _fail(origin, table, state, "holidays", holiday, fix)
        cap, window = row["attempt_cap"], row["attempt_window_hours"]
        if bool(cap) != bool(window):
            _fail(origin, table, state, "attempt_window_hours" if cap else "attempt_cap",
                  window if cap else cap, "needs its pair: set both attempt_cap and "
                  "attempt_window_hours, or neither")  # fmt: skip
        if cap and not re.fullmatch(r"[1-9]\d*", cap):
            _fail(origin, table, state, "attempt_cap", cap, "is not a whole number above 0")
        if window and not (re.fullmatch(r"\d+(\.\d+)?", window) and float(window) > 0):
            _fail(origin, table, state, "attempt_window_hours", window,
                  "is not a number of hours above 0")  # fmt: skip
        if not row["source"]:
            _fail(origin, table, state, "source", "", "is empty; cite the statute or source")
        try:
            date.fromisoformat(row["verified"])
        except ValueError:
            _fail(origin, table, state, "verified", row["verified"],
                  "is not a date; write the day the rule was checked as YYYY-MM-DD")  # fmt: skip
        rules[state] = StateRule(
            state,
            hours,
            named,
            int(cap) if cap else None,
            float(window) if window else None,
        )
    return rules


def check_calling_rules(
    rules: pd.DataFrame, holidays: pd.DataFrame, states: set[str], origin: str
) -> CallingRules:
    """Check both tables and return them as one CallingRules."""
    checked = check_holidays(holidays, origin)
    return CallingRules(check_state_calling_rules(rules, checked, states, origin), checked)
