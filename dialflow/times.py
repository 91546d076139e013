"""Times given on the command line and in config: ISO-8601, naive means UTC, inside a sane range.

Every time option (`--as-of`, `--since`, `--call-date`, `demo-data --as-of`) and
`autoflush.since` is checked here before any work starts, so a mistyped or empty value (an unset
`$ASOF` in a crontab gives `--as-of ''`) stops the command with one line instead of running on a
time that means nothing.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pandas as pd

from .errors import InputError

# The accepted years. pandas holds nanosecond timestamps from 1677 to 2262 only, and the jobs
# subtract windows of days to years from the as-of time (and demo data five years); 1900..2199
# leaves decades of room on both sides while covering every real call record.
EARLIEST = pd.Timestamp("1900-01-01", tz="UTC")
END = pd.Timestamp("2200-01-01", tz="UTC")  # exclusive
# A run's reference time may lie a little ahead (tonight's run building tomorrow morning's call
# list); further ahead it is a typo (2062 for 2026) that would count calls that never happened.
AS_OF_MAX_AHEAD = pd.Timedelta(days=1)
# A call list is for the as-of day, the day before (as-of is UTC, the US is behind it) or a few
# days ahead (a Friday run for Monday); further away the pool's "last 30 days" means nothing.
CALL_DATE_DAYS_BEFORE = 1
CALL_DATE_DAYS_AFTER = 7

TIMESTAMP_FIX = "give ISO-8601 like 2026-11-25T06:00:00Z"
DATE_FIX = "give YYYY-MM-DD like 2026-11-25"
# pandas also reads "now", "today", "NaT", "1/2/2026" (which day?) and "": ISO-8601 only.
_ISO_8601 = re.compile(
    r"^\d{4}-\d{2}-\d{2}"  # the date
    r"([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"  # the time and its offset
)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def as_utc(value: pd.Timestamp | datetime | str) -> pd.Timestamp:
    """Return an aware UTC timestamp; a naive time is taken as UTC (the project's one rule)."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def iso(stamp: pd.Timestamp) -> str:
    """Return a UTC timestamp as it is written in messages: 2026-11-25T06:00:00Z."""
    return as_utc(stamp).strftime("%Y-%m-%dT%H:%M:%SZ")


def range_problem(stamp: pd.Timestamp) -> str | None:
    """Return why a UTC time lies outside the accepted years, or None when it is inside."""
    if EARLIEST <= stamp < END:
        return None
    last = (END - pd.Timedelta(days=1)).date()
    return f"outside the accepted range; give a time from {EARLIEST.date()} to {last} (UTC)"


def parse_timestamp(value: str, option: str) -> pd.Timestamp:
    """Return the UTC time of ISO-8601 text given for `option`, or refuse it with one line."""
    text = value.strip()
    if not _ISO_8601.match(text):
        raise InputError(f"{option} {value!r}: not a timestamp; {TIMESTAMP_FIX}")
    try:
        stamp = as_utc(text)
    except (ValueError, OverflowError):  # e.g. month 13, or beyond what pandas can hold
        raise InputError(f"{option} {value!r}: not a timestamp; {TIMESTAMP_FIX}") from None
    problem = range_problem(stamp)
    if problem:
        raise InputError(f"{option} {value!r}: {problem}")
    return stamp


def parse_as_of(value: str | None, now: pd.Timestamp | None = None) -> pd.Timestamp:
    """Return a run's reference time from `--as-of` text; None means now (to the second)."""
    now = pd.Timestamp.now(tz="UTC").floor("s") if now is None else now
    if value is None:
        return now
    stamp = parse_timestamp(value, "--as-of")
    if stamp > now + AS_OF_MAX_AHEAD:
        raise InputError(
            f"--as-of {value!r}: more than a day after the current time {iso(now)}; give the "
            f"run's reference time, at most one day ahead"
        )
    return stamp


def parse_since(value: str, as_of: pd.Timestamp) -> pd.Timestamp:
    """Return the start of autoflush's call window from `--since` text; it must precede as-of."""
    stamp = parse_timestamp(value, "--since")
    problem = since_problem(stamp, as_of)
    if problem:
        raise InputError(f"--since {value!r}: {problem}")
    return stamp


def since_problem(since: pd.Timestamp, as_of: pd.Timestamp) -> str | None:
    """Return why a window start cannot go with the as-of time, or None when it can."""
    if since < as_of:
        return None
    # Calls count when since < CreatedDate <= as-of: this window is empty.
    return f"not before --as-of {iso(as_of)}; give an earlier time, or a later --as-of"


def parse_call_date(value: str, as_of: pd.Timestamp) -> date:
    """Return listiq's calling day from `--call-date` text, near the as-of day."""
    text = value.strip()
    try:
        if not _ISO_DATE.match(text):
            raise ValueError(text)
        day = date.fromisoformat(text)
    except ValueError:
        raise InputError(f"--call-date {value!r}: not a date; {DATE_FIX}") from None
    first = as_of.date() - timedelta(days=CALL_DATE_DAYS_BEFORE)
    last = as_of.date() + timedelta(days=CALL_DATE_DAYS_AFTER)
    if not first <= day <= last:
        raise InputError(
            f"--call-date {value!r}: too far from the --as-of day {as_of.date()}; give a day "
            f"from {first} to {last}, or move --as-of"
        )
    return day
