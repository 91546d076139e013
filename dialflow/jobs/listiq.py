"""listiq (in progress, issue 4): today's call list, balanced by state population and record age.

This module holds the pure pieces that are done: apportioning the day's target to states,
splitting a state's quota between recent and older records, and the legal calling window of a
number's time zones. The pool, hash sampling, Dask wiring, outputs and CLI command are not built
yet.

Calling windows (decision): the window is the interval that is inside the local calling hours
of every time zone of the number's area code, computed for the call date with each zone's own
daylight-saving rules. It is written as ISO-8601 local times with their UTC offset in the first
zone the area code lists, so that the same instant reads the same in every tool.
"""

from __future__ import annotations

from datetime import date, datetime, time

import numpy as np
import pandas as pd


def largest_remainder(weights: pd.Series, total: int) -> pd.Series:
    """Split `total` seats over the index of `weights` in proportion, by the largest remainder.

    Integer arithmetic throughout, so ties are exact: equal remainders go to the smaller index
    (state code) first. A zero total weight gives zero seats everywhere.
    """
    weights = weights.sort_index().astype("int64")
    seats = pd.Series(0, index=weights.index, dtype="int64")
    whole = int(weights.sum())
    if total <= 0 or whole <= 0:
        return seats
    scaled = weights.to_numpy(dtype=object) * total  # Python ints: no overflow for any total
    base = np.array([value // whole for value in scaled], dtype="int64")
    remainder = np.array([value % whole for value in scaled], dtype=object)
    left = total - int(base.sum())
    # Larger remainder first; the stable sort keeps the index (state code) order among ties.
    order = sorted(range(len(weights)), key=lambda i: -remainder[i])
    base[order[:left]] += 1
    seats[:] = base
    return seats


def apportion(population: pd.Series, available: pd.Series, target: int) -> pd.DataFrame:
    """Apportion the target over states by population, passing shortfalls on until met or spent.

    Args:
        population: census population by state code (every state that gets a first quota).
        available: records in the pool by state code (missing states have none).
        target: records wanted in total.

    Returns:
        By state: `quota` (the first, population-only apportionment), `granted` (records to
        take) and `shortfall` (quota the state could not fill itself).
    """
    population = population.sort_index()
    available = available.reindex(population.index, fill_value=0).astype("int64")
    quota = largest_remainder(population, target)
    granted = np.minimum(quota, available)
    owed = int((quota - granted).sum())
    # Each round hands what is owed to the states that still have records, by population; a
    # round either pays it all or exhausts at least one more state, so the loop ends.
    while owed > 0:
        spare = available - granted
        open_states = spare[spare > 0].index
        if open_states.empty:
            break
        extra = largest_remainder(population[open_states], owed)
        taken = np.minimum(extra, spare[open_states])
        granted[open_states] += taken
        owed -= int(taken.sum())
    return pd.DataFrame(
        {"quota": quota, "granted": granted, "shortfall": (quota - granted).clip(lower=0)}
    )


def recent_quota(quota: int, recent_share: float) -> int:
    """Return the recent bucket's share of a state's quota: floor(share x quota + 0.5)."""
    return int(np.floor(recent_share * quota + 0.5))


def split_buckets(quota: int, recent: int, older: int, recent_share: float) -> tuple[int, int]:
    """Return how many recent and older records to take; either bucket's shortfall is filled
    from the other.

    Args:
        quota: records granted to the state.
        recent: records available created inside the recent window.
        older: records available created before it.
        recent_share: the recent bucket's share of the quota (0.7).
    """
    want_recent = recent_quota(quota, recent_share)
    take_recent = min(want_recent, recent)
    take_older = min(quota - take_recent, older)
    take_recent = min(quota - take_older, recent)
    return take_recent, take_older


def calling_windows(
    places: pd.DataFrame,
    call_date: date,
    hours: tuple[int, int] = (8, 21),
    state_hours: dict[str, tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """Return the legal calling window of each distinct (TimeZone, State) on a call date.

    Args:
        places: TimeZone (IANA names joined by "|") and State columns; few distinct pairs.
        call_date: the day of calling.
        hours: local (start, end) hours allowed by default (the federal 8:00 to 21:00).
        state_hours: stricter local hours by state code (e.g. FL and OK: 8:00 to 20:00).

    Returns:
        One row per pair: WindowStartLocal and WindowEndLocal (ISO-8601 with offset, in the first
        zone), WindowStartUTC and WindowEndUTC; all null when no instant is legal in every zone.
    """
    state_hours = state_hours or {}
    rows = []
    # A Python loop over distinct (zones, state) pairs: a few hundred at most, never per record.
    for zones_text, state in (
        places[["TimeZone", "State"]].drop_duplicates().itertuples(index=False)
    ):
        start_hour, end_hour = state_hours.get(state, hours)
        zones = zones_text.split("|")
        start = max(_local(call_date, start_hour, zone) for zone in zones)
        end = min(_local(call_date, end_hour, zone) for zone in zones)
        if start >= end:
            rows.append((zones_text, state, None, None, pd.NaT, pd.NaT))
            continue
        first = zones[0]
        rows.append(
            (
                zones_text,
                state,
                start.tz_convert(first).isoformat(),
                end.tz_convert(first).isoformat(),
                start,
                end,
            )
        )
    return pd.DataFrame(
        rows,
        columns=[
            "TimeZone",
            "State",
            "WindowStartLocal",
            "WindowEndLocal",
            "WindowStartUTC",
            "WindowEndUTC",
        ],
    )


def _local(day: date, hour: int, zone: str) -> pd.Timestamp:
    """Return `hour`:00 local time on `day` in `zone`, as a UTC timestamp."""
    wall = datetime.combine(day, time(hour % 24))
    stamp = pd.Timestamp(wall).tz_localize(zone)
    return stamp.tz_convert("UTC") + pd.Timedelta(days=hour // 24)
