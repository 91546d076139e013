"""listiq (in progress, issue 4): today's call list, balanced by state population and record age.

This module holds the pure pieces that are done: apportioning the day's target to states,
splitting a state's quota between recent and older records, the seeded order records are drawn
in, picking each state's records from candidates, and the legal calling window of a number's
time zones. The pool, the Dask wiring, outputs and CLI command are not built yet.

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


def seeded_order(ids: pd.Series, seed: int) -> np.ndarray:
    """Return a pseudo-random uint64 rank per Id that depends only on (Id, seed).

    Sorting by it samples or shuffles without any per-partition random state, so the result is
    the same however the records are partitioned.
    """
    from pandas.util import hash_array

    hash_key = f"{seed % 10**16:016d}"  # hash_array takes a 16-character key
    return hash_array(ids.astype(object).to_numpy(), hash_key=hash_key)


def pick_state_lists(
    candidates: pd.DataFrame, plan: pd.DataFrame, recent_share: float, seed: int
) -> pd.DataFrame:
    """Pick each state's records: recent newest first, older in seeded order, shortfalls swapped.

    Args:
        candidates: records with Id, State, CreatedDate and Bucket (`recent` or `historical`);
            per state and bucket at least as many as could be taken (all of them in the pure
            reference; in the wiring, each partition's best `granted` per state and bucket).
        plan: `granted` records by state (the output of `apportion`).
        recent_share: the recent bucket's share of each state's quota.
        seed: the sampling seed.

    Returns:
        The chosen rows of `candidates`, ordered by state, then bucket, then pick order.
    """
    ranked = candidates.assign(_order=seeded_order(candidates["Id"], seed))
    recent = ranked[ranked["Bucket"] == "recent"].sort_values(
        ["State", "CreatedDate", "Id"], ascending=[True, False, False]
    )
    older = ranked[ranked["Bucket"] == "historical"].sort_values(["State", "_order", "Id"])
    recent_available = recent.groupby("State").size()
    older_available = older.groupby("State").size()
    takes = {
        state: split_buckets(
            int(granted),
            int(recent_available.get(state, 0)),
            int(older_available.get(state, 0)),
            recent_share,
        )
        for state, granted in plan["granted"].items()  # one entry per state, 51 at most
    }
    take_recent = recent["State"].map({state: take[0] for state, take in takes.items()})
    take_older = older["State"].map({state: take[1] for state, take in takes.items()})
    chosen = pd.concat(
        [
            recent[recent.groupby("State").cumcount() < take_recent.fillna(0)],
            older[older.groupby("State").cumcount() < take_older.fillna(0)],
        ]
    ).sort_values(["State", "Bucket"], ascending=[True, False], kind="stable")
    return chosen.drop(columns="_order").reset_index(drop=True)


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
