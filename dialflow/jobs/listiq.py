"""listiq: today's call list, balanced by state population and record age, callable now.

The pool (`account_status`, `recently_called`, `one_per_number`), the apportionment of the day's
target to states (`apportion`), each state's pick (`split_buckets`, `pick_state_lists`, in the
order `seeded_order` draws), the calling windows (`calling_windows`) and the finished list are
pure functions on pandas frames; `listiq_frame` runs them all in pandas (the reference) and
`run_listiq` wires them on Dask.

Calling windows (decision): the window is the interval that is inside the local calling hours
of every time zone of the number's area code, computed for the call date with each zone's own
daylight-saving rules. The local hours are the state's for that date (`calling_rules`: the
`state_calling_rules` table, then `listiq.state_calling_hours`, both only ever narrowing the
federal `listiq.calling_hours`). It is written as ISO-8601 local times with their UTC offset in
the first zone the area code lists, so that the same instant reads the same in every tool.

A state closed on the call date (a Sunday ban, a holiday, a `closed` day) is planned as a state
without records: it gets no rows and its quota passes to the open states like any shortfall.

Do Not Call: after the attempt caps, every candidate number is scrubbed against the internal DNC
list and the National Do Not Call Registry (jobs/scrub.py), before one account per number is
kept, so that an account exempt by an established business relationship keeps a number another
account sharing it may not call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd

from ..calling_rules import CallingRules, DayRule, Window, intersect
from ..config import EbrSettings
from ..errors import DialflowError
from ..schema import STRING, TIMESTAMP, ColumnKind, empty_frame
from . import Compute, Persist, dask_compute, dask_persist, keep_best, without_accounts
from .params import JobParams
from .rows import AccountChecks, checked_frames, dropped_counts, row_count, tasks_without_account
from .scrub import (
    DNC_REGISTRY,
    INTERNAL_DNC,
    NUMBER,
    NUMBER_META,
    PARTITION_WEIGHT,
    area_code_groups,
    dnc_reasons,
    do_not_call_numbers,
    ebr_exempt,
    group_divisions,
    internal_numbers,
    scrub_partition,
    written_values,
)
from .usable_phone import first_usable_phone

if TYPE_CHECKING:
    import dask.dataframe as dd

    from ..config import Settings
    from .contact import ContactModel, ContactParams

RANDOM, CONTACT_RATE = "random", "contact_rate"  # listiq.selection
DEFAULT_SORT, BEST_HOUR = "default", "best_hour"  # listiq.sort


class ListiqParams(JobParams):
    """What the listiq job needs, resolved from the settings."""

    phone_fields: tuple[str, ...]
    region: str
    target_total_records: int
    recent_share: float
    recent_window_hours: float
    contact_days_threshold: float
    seed: int
    call_date: date
    hours: tuple[int, int]
    state_hours: dict[str, tuple[int, int]]
    exports: tuple[str, ...]  # profiles written beside the call list (jobs/exports.py)
    ebr: EbrSettings | None  # the registry exemption's Account date fields (jobs/scrub.py)
    selection: str = RANDOM  # RANDOM or CONTACT_RATE (`_ranked_buckets`)
    contact_model: Path | None = None  # a pinned contact_model.json (the spec reads it)
    scrub_partition_numbers: int = PARTITION_WEIGHT  # registry numbers per scrub partition
    sort: str = DEFAULT_SORT  # DEFAULT_SORT (the seeded shuffle) or BEST_HOUR (`by_best_hour`)
    as_of: pd.Timestamp

    @classmethod
    def from_settings(
        cls, settings: Settings, as_of: pd.Timestamp, call_date: date | None = None
    ) -> ListiqParams:
        """The call date defaults to the as-of date (UTC); the seed to the call date as the
        number YYYYMMDD, so that a rerun for the same day draws the same list."""
        listiq = settings.listiq
        call_date = call_date or as_of.date()
        seed = listiq.seed if listiq.seed is not None else int(call_date.strftime("%Y%m%d"))
        return cls.from_section(
            listiq,
            phone_fields=settings.phones.fields,
            region=settings.phones.region,
            seed=seed,
            call_date=call_date,
            hours=(listiq.calling_hours.start, listiq.calling_hours.end),
            state_hours={
                state: (hours.start, hours.end)
                for state, hours in listiq.state_calling_hours.items()
            },
            as_of=as_of,
        )


RECENT, HISTORICAL = "recent", "historical"


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


SAMPLE, SHUFFLE = 0, 1  # independent hash streams of one seed: what is drawn, and in what order


def seeded_order(ids: pd.Series, seed: int, stream: int = SAMPLE) -> np.ndarray:
    """Return a pseudo-random uint64 rank per Id that depends only on (Id, seed, stream).

    Sorting by it samples or shuffles without any per-partition random state, so the result is
    the same however the records are partitioned. The shuffle uses its own stream: ranked by the
    sampling hash, the sampled records would all come first.
    """
    from pandas.util import hash_array

    hash_key = f"{(seed * 2 + stream) % 10**16:016d}"  # hash_array takes a 16-character key
    return hash_array(ids.astype(object).to_numpy(), hash_key=hash_key)


def _ranked_buckets(
    pool: pd.DataFrame, seed: int, selection: str = RANDOM
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the recent records newest first and the older ones in seeded order, by state;
    with CONTACT_RATE, the highest ContactProbability first in each, those orders breaking ties
    (a row without an estimate, no legal hour in its window, last).

    The one definition of pick order, shared by the per-partition candidates and the final pick.
    """
    by_rate = selection == CONTACT_RATE
    first = ["_rate"] if by_rate else []
    if by_rate:
        pool = pool.assign(_rate=pool["ContactProbability"].fillna(-1.0))
    recent = pool[pool["Bucket"] == RECENT].sort_values(
        ["State", *first, "CreatedDate", "AccountId"],
        ascending=[True, *[False] * len(first), False, False],
    )
    older = pool[pool["Bucket"] == HISTORICAL]
    older = older.assign(_order=seeded_order(older["AccountId"], seed)).sort_values(
        ["State", *first, "_order", "AccountId"],
        ascending=[True, *[False] * len(first), True, True],
    )
    return recent.drop(columns=first), older.drop(columns=["_order", *first])


def _take_first(ranked: pd.DataFrame, counts: pd.Series) -> pd.DataFrame:
    """Return the first `counts[state]` rows of each state of a ranked frame."""
    limit = ranked["State"].map(counts).fillna(0).to_numpy()
    return ranked[ranked.groupby("State").cumcount().to_numpy() < limit]


def state_candidates(
    pool: pd.DataFrame, granted: pd.Series, seed: int, selection: str = RANDOM
) -> pd.DataFrame:
    """Return the rows of a pool partition that could still be picked: per state and bucket, the
    first `granted[state]` in pick order (no state ever takes more than that from a bucket).

    Applied per partition and again to concatenations of its outputs, it reduces the pool to at
    most twice the target in rows while keeping every row the final pick can choose.
    """
    recent, older = _ranked_buckets(pool, seed, selection)
    return pd.concat([_take_first(recent, granted), _take_first(older, granted)])


def pick_state_lists(
    candidates: pd.DataFrame,
    plan: pd.DataFrame,
    recent_share: float,
    seed: int,
    selection: str = RANDOM,
) -> pd.DataFrame:
    """Pick each state's records: recent newest first, older in seeded order, shortfalls swapped.

    Args:
        candidates: pool rows with AccountId, State, CreatedDate and Bucket; per state and
            bucket at least as many as could be taken (the output of `state_candidates`).
        plan: `granted` records by state (the output of `apportion`).
        recent_share: the recent bucket's share of each state's quota.
        seed: the sampling seed.
        selection: RANDOM, or CONTACT_RATE (candidates with ContactProbability).

    Returns:
        The chosen rows of `candidates`, ordered by state, then bucket, then pick order.
    """
    recent, older = _ranked_buckets(candidates, seed, selection)
    recent_available = recent.groupby("State").size()
    older_available = older.groupby("State").size()
    takes = pd.DataFrame(
        [
            split_buckets(
                int(granted),
                int(recent_available.get(state, 0)),
                int(older_available.get(state, 0)),
                recent_share,
            )
            for state, granted in plan["granted"].items()  # one entry per state, 51 at most
        ],
        index=plan.index,
        columns=[RECENT, HISTORICAL],
    )
    chosen = pd.concat(
        [_take_first(recent, takes[RECENT]), _take_first(older, takes[HISTORICAL])]
    ).sort_values(["State", "Bucket"], ascending=[True, False], kind="stable")
    return chosen.reset_index(drop=True)


def state_day_rules(
    states: pd.Index | list[str],
    call_date: date,
    hours: tuple[int, int] = (8, 21),
    state_hours: dict[str, tuple[int, int]] | None = None,
    rules: CallingRules | None = None,
) -> dict[str, DayRule]:
    """Return each state's local window on the call date, or why it is closed.

    The window is the intersection of the federal `hours`, the state's rule for that date (its
    hours for the kind of day; closed on a `closed` day or a holiday) and the configured
    `state_hours`; an empty intersection closes the state too.
    """
    rules = rules or CallingRules()
    state_hours = state_hours or {}
    federal: Window = (hours[0] * 60, hours[1] * 60)
    result = {}
    for state in states:
        day = rules.on(state, call_date, federal)
        configured = state_hours.get(state)
        if day.window is not None and configured is not None:
            window = intersect(day.window, (configured[0] * 60, configured[1] * 60))
            day = DayRule(window, None if window else "no legal hours (listiq.state_calling_hours)")
        result[state] = day
    return result


def closed_states(day_rules: dict[str, DayRule]) -> dict[str, str]:
    """Return the closed states and why, in state order."""
    return {
        state: str(day.closed_because)
        for state, day in sorted(day_rules.items())
        if day.window is None
    }


def calling_windows(
    places: pd.DataFrame,
    call_date: date,
    hours: tuple[int, int] = (8, 21),
    state_hours: dict[str, tuple[int, int]] | None = None,
    rules: CallingRules | None = None,
) -> pd.DataFrame:
    """Return the legal calling window of each distinct (TimeZone, State) on a call date.

    Args:
        places: TimeZone (IANA names joined by "|") and State columns; few distinct pairs.
        call_date: the day of calling.
        hours: local (start, end) hours allowed by default (the federal 8:00 to 21:00).
        state_hours: configured local hours by state code, narrowing the rest.
        rules: the state calling rules (hours by kind of day, Sunday and holiday closures).

    Returns:
        One row per pair: WindowStartLocal and WindowEndLocal (ISO-8601 with offset, in the first
        zone), WindowStartUTC and WindowEndUTC; all null when no instant is legal in every zone
        (or the state is closed on the call date).
    """
    pairs = places[["TimeZone", "State"]].drop_duplicates()
    day_rules = state_day_rules(pairs["State"].unique(), call_date, hours, state_hours, rules)
    rows = []
    # A Python loop over distinct (zones, state) pairs: a few hundred at most, never per record.
    for zones_text, state in pairs.itertuples(index=False):
        window = day_rules[state].window
        if window is None:
            rows.append((zones_text, state, None, None, pd.NaT, pd.NaT))
            continue
        zones = zones_text.split("|")
        start = max(_local(call_date, window[0], zone) for zone in zones)
        end = min(_local(call_date, window[1], zone) for zone in zones)
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


def _local(day: date, minutes: int, zone: str) -> pd.Timestamp:
    """Return the local time `minutes` after midnight on `day` in `zone`, as a UTC timestamp."""
    hour, minute = divmod(minutes % (24 * 60), 60)
    wall = datetime.combine(day, time(hour, minute))
    stamp = pd.Timestamp(wall).tz_localize(zone)
    return stamp.tz_convert("UTC") + pd.Timedelta(days=minutes // (24 * 60))


# Why an account is not in the pool; `callable` ones are.
CALLABLE = "callable"
DO_NOT_CALL = "do_not_call"
DEDUPE_FLAGGED = "dedupe_flagged"
NO_VALID_PHONE = "no_valid_phone"
UNMAPPED_AREA_CODE = "unmapped_area_code"
RECENTLY_CALLED = "recently_called"
ATTEMPT_CAP = "attempt_cap"
SHARED_NUMBER = "shared_number"
STATUSES = (
    CALLABLE,
    DO_NOT_CALL,
    DEDUPE_FLAGGED,
    NO_VALID_PHONE,
    UNMAPPED_AREA_CODE,
    RECENTLY_CALLED,
    ATTEMPT_CAP,
    INTERNAL_DNC,
    DNC_REGISTRY,
    SHARED_NUMBER,
)

STATUS_META = empty_frame(
    {
        "AccountId": STRING,
        "AccountName": STRING,
        "Phone": STRING,
        "PhoneField": STRING,
        "State": STRING,
        "TimeZone": STRING,
        "CreatedDate": TIMESTAMP,
        "Bucket": STRING,
        "Ebr": "bool",
        "Status": STRING,
    }
)
POOL_META = STATUS_META.drop(columns="Status")
SCRUBBED_META = POOL_META.assign(
    Status=pd.Series(dtype=STRING), EbrExempted=pd.Series(dtype="bool")
)
INTERNAL_META = NUMBER_META.assign(Source=pd.Series(dtype=STRING))
CALL_LIST_COLUMNS = [
    "AccountId",
    "AccountName",
    "Phone",
    "PhoneField",
    "State",
    "TimeZone",
    "WindowStartLocal",
    "WindowEndLocal",
    "Bucket",
]
CALL_LIST_META = empty_frame({column: STRING for column in CALL_LIST_COLUMNS})
CONTACT_COLUMNS = ["ContactProbability", "BestHourLocal"]  # CONTACT_RATE only
SCORED_POOL_META = POOL_META.assign(
    ContactProbability=pd.Series(dtype="float64"), BestHourLocal=pd.Series(dtype="Int64")
)
WINDOW_HOURS_META = empty_frame(
    {"TimeZone": STRING, "State": STRING, "StartHour": "float64", "EndHour": "float64"}
)
EVIDENCE_META = empty_frame({"PhoneE164": STRING, "Field": STRING, "Ratio": "float64"})


def account_columns(params: ListiqParams) -> list[str]:
    """Return the Account columns the job reads."""
    base = ["Id", "Name", "CreatedDate", "Do_Not_Call__c", *params.phone_fields]
    return base + list(ebr_columns(params))


def ebr_columns(params: ListiqParams) -> dict[str, ColumnKind]:
    """Return the Account date fields the EBR exemption reads (none when it is off)."""
    ebr = params.ebr
    fields = (ebr.purchase_field, ebr.inquiry_field) if ebr is not None else ()
    return {field: "datetime" for field in fields if field is not None}


def account_status(
    accounts: pd.DataFrame,
    excluded_ids: pd.Index,
    cleared: pd.Index,
    area_codes: pd.DataFrame,
    params: ListiqParams,
) -> pd.DataFrame:
    """Give every account of a partition its callable phone, place, bucket and pool status.

    Args:
        accounts: Account rows with `account_columns(params)`.
        excluded_ids: Ids flagged by the latest dedupe run.
        cleared: (account, field, number) keys cleared by the latest autoflush run.
        area_codes: the reference table (area_code, state, time_zone).
        params: resolved listiq parameters.

    Returns:
        One row per account (STATUS_META). The phone is the first field, in the configured order,
        whose value is a valid number autoflush has not cleared from that field; State and
        TimeZone come from its area code; Status says why an account is not `callable`.
    """
    index = accounts.index
    phone, phone_field = first_usable_phone(accounts, params.phone_fields, params.region, cleared)
    area_code = phone.where(phone.str.startswith("+1").fillna(False)).str.slice(2, 5)
    by_code = area_codes.set_index("area_code")
    state = area_code.map(by_code["state"]).astype(STRING)
    recent_since = params.as_of - pd.Timedelta(hours=params.recent_window_hours)
    status = np.select(
        [
            accounts["Do_Not_Call__c"].fillna(False).to_numpy(dtype=bool),
            accounts["Id"].isin(excluded_ids).to_numpy(dtype=bool),
            phone.isna().to_numpy(),
            state.isna().to_numpy(),
        ],
        [DO_NOT_CALL, DEDUPE_FLAGGED, NO_VALID_PHONE, UNMAPPED_AREA_CODE],
        CALLABLE,
    )
    return pd.DataFrame(
        {
            "AccountId": accounts["Id"],
            "AccountName": accounts["Name"],
            "Phone": phone,
            "PhoneField": phone_field,
            "State": state,
            "TimeZone": area_code.map(by_code["time_zone"]).astype(STRING),
            "CreatedDate": accounts["CreatedDate"],
            "Bucket": np.where(accounts["CreatedDate"] > recent_since, RECENT, HISTORICAL),
            "Ebr": ebr_exempt(accounts, params.ebr, params.call_date),
            "Status": status,
        },
        index=index,
    ).astype(STATUS_META.dtypes.to_dict())


def recently_called(calls: pd.DataFrame, params: ListiqParams) -> pd.DataFrame:
    """Return the AccountIds of a Task partition called inside the contact window (may repeat)."""
    since = params.as_of - pd.Timedelta(days=params.contact_days_threshold)
    called = calls.loc[calls["CreatedDate"] > since, ["AccountId"]]
    return called.dropna().astype({"AccountId": STRING})


CAP_WINDOW_META = empty_frame(
    {"TimeZone": STRING, "State": STRING, "Cap": "int64", "Since": TIMESTAMP, "Until": TIMESTAMP}
)
CAPPED_META = empty_frame({"AccountId": STRING})
CAP_CALLS_META = empty_frame({"AccountId": STRING, "CreatedDate": TIMESTAMP})


def cap_windows(
    area_codes: pd.DataFrame, params: ListiqParams, rules: CallingRules | None
) -> pd.DataFrame:
    """Return, per (TimeZone, State) of a state with an attempt cap that is open on the call
    date, the cap and the span whose calls count against it (UTC).

    The span runs from `attempt_window_hours` before the day's calling window opens to the
    window's end: a number called `cap` times in it could reach cap + 1 inside some rolling
    window if called that day (the cautious reading: any call in the span counts).
    """
    capped = {
        state: rule for state, rule in (rules or CallingRules()).states.items() if rule.attempt_cap
    }
    places = area_codes.loc[area_codes["state"].isin(list(capped)), ["time_zone", "state"]]
    if places.empty:
        return CAP_WINDOW_META.copy()
    places = places.drop_duplicates().set_axis(["TimeZone", "State"], axis=1)
    windows = calling_windows(places, params.call_date, params.hours, params.state_hours, rules)
    windows = windows.dropna(subset=["WindowStartUTC"]).reset_index(drop=True)
    hours = windows["State"].map(lambda state: capped[state].attempt_window_hours)
    return pd.DataFrame(
        {
            "TimeZone": windows["TimeZone"],
            "State": windows["State"],
            "Cap": windows["State"].map(lambda state: capped[state].attempt_cap),
            "Since": windows["WindowStartUTC"] - pd.to_timedelta(hours, unit="h"),
            "Until": windows["WindowEndUTC"],
        }
    ).astype(CAP_WINDOW_META.dtypes.to_dict())


def calls_in_cap_windows(calls: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """Return the Task rows (AccountId, CreatedDate) inside the widest cap span."""
    if windows.empty:
        return calls.loc[[], ["AccountId", "CreatedDate"]].astype({"AccountId": STRING})
    inside = (calls["CreatedDate"] >= windows["Since"].min()) & (
        calls["CreatedDate"] < windows["Until"].max()
    )
    return calls.loc[inside, ["AccountId", "CreatedDate"]].dropna().astype({"AccountId": STRING})


def capped_accounts(pool: pd.DataFrame, calls: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """Return the AccountIds whose Task rows inside their place's cap span reach the cap.

    Args:
        pool: callable rows with AccountId, TimeZone and State.
        calls: Task rows with AccountId and CreatedDate (the same accounts' partition).
        windows: the output of `cap_windows`.
    """
    places = pool[["AccountId", "TimeZone", "State"]].merge(windows, on=["TimeZone", "State"])
    hits = calls[["AccountId", "CreatedDate"]].merge(places, on="AccountId")
    hits = hits[(hits["CreatedDate"] >= hits["Since"]) & (hits["CreatedDate"] < hits["Until"])]
    counts = hits.groupby("AccountId")["Cap"].agg(["size", "max"])
    return pd.DataFrame({"AccountId": counts.index[counts["size"] >= counts["max"]]}).astype(
        {"AccountId": STRING}
    )


def without_capped(pool: pd.DataFrame, calls: pd.DataFrame, windows: pd.DataFrame) -> pd.DataFrame:
    """Return the pool rows whose account is not at its attempt cap (`capped_accounts`)."""
    capped = capped_accounts(pool, calls, windows)["AccountId"]
    return pool[~pool["AccountId"].isin(capped).to_numpy()]


def one_per_number(pool: pd.DataFrame) -> pd.DataFrame:
    """Keep one account per phone number: the newest record (CreatedDate, then greatest Id).

    Two accounts sharing a number would ring the same line twice; the newest record is the one
    a dedupe survivor would be, and the one most likely to be current.
    """
    phone = pool["Phone"]
    if phone.isna().any():  # not in a pool (its phones are mapped +1 numbers): the plain way
        return _newest_per_phone(pool)
    # Most numbers have one account: only the shared ones need the three-key sort of strings,
    # which took most of the scrub stage's worker time at 10M accounts (3.8 s a partition).
    shared = phone.duplicated(keep=False).to_numpy()
    kept = pd.concat([pool[~shared], _newest_per_phone(pool[shared])]) if shared.any() else pool
    # In phone order, as the sort gave it: `+1` and ten digits sort as their numbers do.
    numbers = pd.to_numeric(kept["Phone"].str.slice(2), errors="coerce")
    if numbers.isna().any() or not kept["Phone"].str.len().eq(12).all():
        return kept.sort_values("Phone")  # another shape of phone: order by the text itself
    return kept.iloc[np.argsort(numbers.to_numpy(dtype="int64"), kind="stable")]


def _newest_per_phone(pool: pd.DataFrame) -> pd.DataFrame:
    """`one_per_number` by one sort: phone, then newest CreatedDate, then greatest Id."""
    ordered = pool.sort_values(
        ["Phone", "CreatedDate", "AccountId"], ascending=[True, False, False], na_position="last"
    )
    return ordered.drop_duplicates("Phone", keep="first")


def finish_call_list(
    chosen: pd.DataFrame, params: ListiqParams, rules: CallingRules | None = None
) -> pd.DataFrame:
    """Shuffle the chosen records with the seed and add each number's calling window."""
    windows = calling_windows(chosen, params.call_date, params.hours, params.state_hours, rules)
    shuffled = chosen.assign(_order=seeded_order(chosen["AccountId"], params.seed, SHUFFLE))
    shuffled = shuffled.sort_values(["_order", "AccountId"])
    listed = shuffled.merge(windows, on=["TimeZone", "State"], how="left", validate="m:1")
    call_list = listed[CALL_LIST_COLUMNS].astype(STRING).reset_index(drop=True)
    if params.selection != CONTACT_RATE:
        return call_list
    # Four decimals: an estimate from a handful of calls means nothing beyond them.
    call_list = call_list.assign(
        ContactProbability=listed["ContactProbability"].round(4).to_numpy(),
        BestHourLocal=listed["BestHourLocal"].astype("Int64").array,
    )
    if params.sort == BEST_HOUR:
        return by_best_hour(call_list, params.call_date)
    return call_list


def by_best_hour(call_list: pd.DataFrame, call_date: date) -> pd.DataFrame:
    """Order a contact_rate call list by the instant each row's BestHourLocal begins on the call
    date (in the first zone of its TimeZone), earliest first; rows without a best hour last.

    The instant, not the local hour: a dialer working down the list reaches an Eastern row's
    9:00 an hour before a Central row's. The stable sort keeps the seeded shuffle among rows of
    the same instant, so the order stays the same however the run is partitioned.
    """
    zones = call_list["TimeZone"].str.split("|").str[0].to_numpy(dtype=object, na_value=None)
    hours = call_list["BestHourLocal"].astype("Int64")
    given = hours.notna().to_numpy()
    start = np.full(len(call_list), np.iinfo(np.int64).max)  # no best hour: last
    midnight = pd.Timestamp(call_date)
    for zone in pd.unique(zones[given]):  # a few zones, each vectorised
        mask = given & (zones == zone)
        wall = midnight + pd.to_timedelta(hours[mask].astype("int64").to_numpy(), unit="h")
        # A wall hour skipped by a daylight-saving change takes the instant after the gap.
        local = pd.DatetimeIndex(wall).tz_localize(
            zone, nonexistent="shift_forward", ambiguous=False
        )
        start[mask] = local.tz_convert("UTC").asi8
    order = np.argsort(start, kind="stable")
    return call_list.iloc[order].reset_index(drop=True)


def window_hours(
    area_codes: pd.DataFrame, params: ListiqParams, rules: CallingRules | None
) -> pd.DataFrame:
    """Return each (TimeZone, State) of the area codes' calling window on the call date in local
    hours of its first zone (StartHour, EndHour: 8.5 is 8:30; missing when no instant is
    legal): the hours a suggested best hour may take (WINDOW_HOURS_META)."""
    places = area_codes[["time_zone", "state"]].drop_duplicates()
    places = places.set_axis(["TimeZone", "State"], axis=1)
    windows = calling_windows(places, params.call_date, params.hours, params.state_hours, rules)
    zones = windows["TimeZone"].str.split("|").str[0]

    def local_hours(column: str) -> list[float]:
        # A loop over distinct (zones, state) pairs, a few hundred at most, never per record.
        return [
            np.nan if pd.isna(stamp) else _hour_of_day(stamp.tz_convert(zone))
            for stamp, zone in zip(windows[column], zones, strict=True)
        ]

    return pd.DataFrame(
        {
            "TimeZone": windows["TimeZone"],
            "State": windows["State"],
            "StartHour": local_hours("WindowStartUTC"),
            "EndHour": local_hours("WindowEndUTC"),
        }
    ).astype(WINDOW_HOURS_META.dtypes.to_dict())


def _hour_of_day(stamp: pd.Timestamp) -> float:
    """Local wall-clock hours since midnight (21:00 is 21.0; midnight ending a window is 24)."""
    hours = stamp.hour + stamp.minute / 60
    return 24.0 if hours == 0 else hours


def contact_scores(
    pool: pd.DataFrame,
    evidence: pd.DataFrame,
    model: ContactModel,
    hours: pd.DataFrame,
    weekday: int,
) -> pd.DataFrame:
    """Return pool rows with ContactProbability and BestHourLocal: the contact model's estimate
    at the row's best local hour inside its calling window (SCORED_POOL_META).

    Args:
        pool: pool rows (Phone, PhoneField, State, TimeZone, ...).
        evidence: PhoneE164, Field and Ratio (the number's own shrunk ratio) of numbers with
            history, at least those of the pool's rows; a number without any has ratio 1.
        model: the fitted or pinned contact model.
        hours: `window_hours`.
        weekday: the call date's weekday (Monday 0).
    """
    keys = ["Phone", "PhoneField"]
    own = evidence[["PhoneE164", "Field", "Ratio"]].set_axis([*keys, "Ratio"], axis=1)
    ratio = pool[keys].merge(own, on=keys, how="left", validate="m:1")["Ratio"]
    window = pool[["TimeZone", "State"]].merge(hours, on=["TimeZone", "State"], how="left")
    rows = pd.DataFrame(
        {
            "Field": pool["PhoneField"].to_numpy(dtype=object),
            "State": pool["State"].to_numpy(dtype=object),
            "Ratio": ratio.fillna(1.0).to_numpy(dtype=np.float64),
        }
    )
    best = model.best_hour(
        rows, window["StartHour"].to_numpy(), window["EndHour"].to_numpy(), weekday
    )
    return pool.assign(
        ContactProbability=best["ContactProbability"].to_numpy(),
        BestHourLocal=best["BestHourLocal"].array,
    )


def _evidence_by_number(evidence: pd.DataFrame) -> pd.DataFrame:
    """Add each +1 number's ten-digit Number to `evidence` rows (others dropped)."""
    plus_one = evidence["PhoneE164"].str.match(r"^\+1\d{10}$").fillna(False).to_numpy(dtype=bool)
    kept = evidence.loc[plus_one, list(EVIDENCE_META.columns)]
    return kept.assign(**{NUMBER: kept["PhoneE164"].str.slice(2).astype("int64")})


def _contact_params(contact: ContactParams | None) -> ContactParams:
    if contact is None:
        raise ValueError("listiq.selection contact_rate needs the contact model's parameters")
    return contact


def _no_history(exc: ValueError) -> DialflowError:
    return DialflowError(
        f"listiq.selection: contact_rate: {exc} in the Task history (a call to a number an "
        "account's phone field holds, mapped to a state); pin listiq.contact_model or use "
        "listiq.selection: random"
    )


def summarise(
    statuses: pd.Series, unmapped: pd.Series, plan: pd.DataFrame, available: pd.DataFrame,
    call_list: pd.DataFrame, params: ListiqParams, closed: dict[str, str] | None = None,
    dnc: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Return the run summary's counts: the pool, target vs delivered per state and bucket, the
    states closed on the call date (with why) and the Do Not Call scrub's counts."""
    delivered = call_list.groupby(["State", "Bucket"]).size().unstack(fill_value=0)
    delivered = delivered.reindex(index=plan.index, columns=[RECENT, HISTORICAL], fill_value=0)
    per_state = {
        state: {
            "quota": int(plan.at[state, "quota"]),
            "delivered": int(plan.at[state, "granted"]),
            "shortfall": int(plan.at[state, "shortfall"]),
            "recent_target": recent_quota(int(plan.at[state, "granted"]), params.recent_share),
            "recent_delivered": int(delivered.at[state, RECENT]),
            "historical_delivered": int(delivered.at[state, HISTORICAL]),
            "recent_available": int(available.at[state, RECENT]),
            "historical_available": int(available.at[state, HISTORICAL]),
        }
        for state in plan.index
    }
    return {
        "target": params.target_total_records,
        "delivered": len(call_list),
        "shortfall": params.target_total_records - len(call_list),
        "pool": int(available.to_numpy().sum()),
        "accounts_by_status": {status: int(statuses.get(status, 0)) for status in STATUSES},
        "unmapped_area_codes": {k: int(v) for k, v in unmapped.sort_index().items()},
        "delivered_by_bucket": {
            RECENT: int(delivered[RECENT].sum()),
            HISTORICAL: int(delivered[HISTORICAL].sum()),
        },
        "states": per_state,
        "closed_states": dict(closed or {}),
        "dnc": dict(dnc or {}),
        "seed": params.seed,
        "call_date": params.call_date.isoformat(),
    }


@dataclass(frozen=True)
class DncLists:
    """What the scrub of the pool used, kept on the workers for the exports' alternate
    phones (`scrub_numbers`)."""

    registry_numbers: pd.Series  # numbers per area code (the manifest's; empty: none)
    read_registry: Any  # read(area_codes) -> frame of Number, on a worker; None: no registry
    internal: Any  # the internal DNC list (Dask frame of Number, Source), persisted
    exempt: pd.Index  # AccountIds of picked candidates with an established business relationship
    partition_numbers: int = PARTITION_WEIGHT  # listiq.scrub_partition_numbers


@dataclass(frozen=True)
class ListiqResult:
    call_list: pd.DataFrame
    plan: pd.DataFrame  # by state: population, quota, granted, shortfall
    counts: dict[str, Any]
    closed: dict[str, str] = field(default_factory=dict)  # states closed on the call date: why
    dnc: DncLists | None = None  # the Dask wiring's lists, for `scrub_numbers`
    rows_read: dict[str, int] = field(default_factory=dict)  # by table (summary.json's inputs)
    contact_model: ContactModel | None = None  # CONTACT_RATE: the model that ranked the pool


def _status_counts(
    status: pd.DataFrame | dd.DataFrame,
) -> tuple[pd.Series | dd.Series, pd.Series | dd.Series]:
    """Return accounts by status and unmapped numbers by +1 area-code prefix.

    `status` is the pandas reference's frame or the Dask wiring's; the counts are of the same
    kind (pandas Series, or lazy Dask Series). groupby-size, not value_counts: on distributed, a
    persisted value_counts fails to gather.
    """
    unmapped = status[status["Status"] == UNMAPPED_AREA_CODE]
    unmapped = unmapped.assign(Prefix=unmapped["Phone"].str.slice(0, 5))
    return status.groupby("Status").size(), unmapped.groupby("Prefix").size()


def _available(pool: pd.DataFrame) -> pd.Series:
    return pool.groupby(["State", "Bucket"]).size()


def _plan_and_pick(
    available: pd.Series,
    population: pd.Series,
    candidates: Callable[[pd.Series], pd.DataFrame],
    params: ListiqParams,
    rules: CallingRules | None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Apportion the target, fetch the candidates the plan needs, pick and finish the list.

    A state closed on the call date is planned as one without records, so its quota passes to
    the open states as any shortfall does.
    """
    by_bucket = (
        available.unstack(fill_value=0)
        .reindex(index=population.index, columns=[RECENT, HISTORICAL], fill_value=0)
        .astype("int64")
    )
    closed = closed_states(
        state_day_rules(population.index, params.call_date, params.hours, params.state_hours, rules)
    )
    open_available = by_bucket.sum(axis=1).where(~by_bucket.index.isin(list(closed)), 0)
    plan = apportion(population, open_available, params.target_total_records)
    chosen = pick_state_lists(
        candidates(plan["granted"]), plan, params.recent_share, params.seed, params.selection
    )
    plan.insert(0, "population", population)
    return finish_call_list(chosen, params, rules), plan, by_bucket, closed


def dnc_counts(statuses: pd.Series, exempted: int, internal: int, invalid: int) -> dict[str, Any]:
    """Return summary.json's scrub counts: accounts left out per list, accounts an established
    business relationship kept, the internal list's distinct numbers, and the Internal_DNC
    table's written values that are not valid +1 numbers (left out of the list)."""
    return {
        "excluded": {
            "internal_dnc": int(statuses.get(INTERNAL_DNC, 0)),
            "registry": int(statuses.get(DNC_REGISTRY, 0)),
        },
        "ebr_exempted": int(exempted),
        "internal_numbers": int(internal),
        "internal_invalid": int(invalid),
    }


def check_scrub_total(reasons: pd.Series, candidates: int, pool: int) -> None:
    """Fail closed: stop the run unless the scrub's statuses count every candidate once and the
    pool (one account per number) holds no more accounts than the scrub left callable.

    Anything else means rows or counts were lost on the way (as persisted counts once were,
    docs/dnc.md), and neither the list nor summary.json could be trusted.
    """
    fix = "no call list was written (a defect: report it with the run's run.log)"
    if int(reasons.sum()) != candidates:
        raise DialflowError(
            f"listiq: the Do Not Call scrub returned {int(reasons.sum()):,} of "
            f"{candidates:,} candidates; {fix}"
        )
    if pool > int(reasons.get(CALLABLE, 0)):
        raise DialflowError(
            f"listiq: the pool holds {pool:,} accounts but the Do Not Call scrub left "
            f"{int(reasons.get(CALLABLE, 0)):,} callable; {fix}"
        )


def _candidate_numbers(candidates: pd.DataFrame) -> pd.DataFrame:
    """Add each candidate's ten-digit Number (its Phone is +1 E.164, mapped to a state)."""
    return candidates.assign(**{NUMBER: candidates["Phone"].str.slice(2).astype("int64")})


def _table_numbers(table: pd.DataFrame, params: ListiqParams) -> pd.DataFrame:
    """Return the numbers of an Internal_DNC partition (INTERNAL_META)."""
    return (
        internal_numbers(table, params.region)
        .assign(Source="Internal_DNC")
        .astype(INTERNAL_META.dtypes.to_dict())
    )


def _account_numbers(accounts: pd.DataFrame, params: ListiqParams) -> pd.DataFrame:
    """Return the numbers of an Account partition's Do_Not_Call__c accounts (INTERNAL_META)."""
    return (
        do_not_call_numbers(accounts, params.phone_fields, params.region)
        .assign(Source="Do_Not_Call__c")
        .astype(INTERNAL_META.dtypes.to_dict())
    )


def _internal_list(
    accounts: pd.DataFrame, table: pd.DataFrame | None, params: ListiqParams
) -> pd.DataFrame:
    """Return the internal DNC list: the Do_Not_Call__c accounts' numbers and, if given, the
    Internal_DNC table's."""
    parts = [_account_numbers(accounts, params)]
    if table is not None:
        parts.append(_table_numbers(table, params))
    return pd.concat(parts, ignore_index=True)


def listiq_frame(
    accounts: pd.DataFrame,
    calls: pd.DataFrame,
    excluded_ids: pd.Index,
    cleared: pd.Index,
    area_codes: pd.DataFrame,
    population: pd.Series,
    params: ListiqParams,
    rules: CallingRules | None = None,
    registry: pd.DataFrame | None = None,
    internal: pd.DataFrame | None = None,
    contact: ContactParams | None = None,
    pinned: ContactModel | None = None,
) -> ListiqResult:
    """Run the whole job on pandas frames: the reference the Dask wiring must equal.

    `registry` holds the registry's numbers (column Number; None: no registry), `internal` the
    Internal_DNC table (column Phone; None: no table). With CONTACT_RATE, `calls` hold
    Dialed_Number__c and CallDisposition too, `contact` the contact model's parameters and
    `pinned` a model to use instead of fitting one.
    """
    accounts, dropped = checked_frames(accounts, calls)
    status = account_status(accounts, excluded_ids, cleared, area_codes, params)
    called = recently_called(calls, params)["AccountId"]
    status.loc[(status["Status"] == CALLABLE) & status["AccountId"].isin(called), "Status"] = (
        RECENTLY_CALLED
    )
    windows = cap_windows(area_codes, params, rules)
    capped = capped_accounts(
        status[status["Status"] == CALLABLE], calls_in_cap_windows(calls, windows), windows
    )["AccountId"]
    status.loc[(status["Status"] == CALLABLE) & status["AccountId"].isin(capped), "Status"] = (
        ATTEMPT_CAP
    )
    listed = _internal_list(accounts, internal, params)[NUMBER].to_numpy()
    candidates = _candidate_numbers(status[status["Status"] == CALLABLE])
    reasons, exempted = dnc_reasons(
        candidates[NUMBER].to_numpy(),
        candidates["Ebr"].to_numpy(dtype=bool),
        registry[NUMBER].to_numpy() if registry is not None else np.array([], dtype="int64"),
        listed,
    )
    status.loc[candidates.index, "Status"] = reasons
    contacted = status[status["Status"] == CALLABLE]
    pool = one_per_number(contacted)
    status.loc[contacted.index.difference(pool.index), "Status"] = SHARED_NUMBER
    statuses, unmapped = _status_counts(status)
    ranked, model = pool.drop(columns="Status"), None
    if params.selection == CONTACT_RATE:
        from .contact import contact_frame

        try:
            learned = contact_frame(calls, accounts, area_codes, _contact_params(contact), pinned)
        except ValueError as exc:
            raise _no_history(exc) from None
        model = learned.model
        hours = window_hours(area_codes, params, rules)
        ranked = contact_scores(ranked, learned.facts, model, hours, params.call_date.weekday())
    call_list, plan, by_bucket, closed = _plan_and_pick(
        _available(pool),
        population,
        lambda granted: state_candidates(ranked, granted, params.seed, params.selection),
        params,
        rules,
    )
    invalid = 0
    if internal is not None:
        invalid = written_values(internal) - len(_table_numbers(internal, params))
    dnc = dnc_counts(statuses, int(exempted.sum()), len(np.unique(listed)), invalid)
    summary = summarise(statuses, unmapped, plan, by_bucket, call_list, params, closed, dnc)
    return ListiqResult(
        call_list, plan, {**summary, "dropped_rows": dropped}, closed, contact_model=model
    )


def _without_capped(
    not_called: dd.DataFrame, partitions: int, calls: dd.DataFrame, windows: pd.DataFrame
) -> dd.DataFrame:
    """Drop the accounts at their state's attempt cap.

    `not_called` comes out of `without_accounts`, hashed by AccountId into `partitions`
    partitions; the Task rows of the cap spans (few) are hashed the same way, so each account
    meets its calls without moving the pool again.
    """
    import dask.dataframe as dd

    if windows.empty:
        return not_called
    recent = calls.map_partitions(
        calls_in_cap_windows, windows, meta=CAP_CALLS_META, token="listiq-cap-calls"
    )
    return dd.map_partitions(
        without_capped,
        not_called,
        recent.shuffle(on="AccountId", npartitions=partitions),
        windows,
        meta=not_called._meta,
        align_dataframes=False,
        token="listiq-not-capped",
    )


def _registry_ranges(
    registry_numbers: pd.Series, by_code: pd.Series, weight: int
) -> tuple[list[tuple[str, ...]], tuple[int, ...]]:
    """The candidates' area codes in runs of about `weight` (one scrub partition each) and the
    number ranges' divisions."""
    groups = area_code_groups(registry_numbers, by_code, weight)
    return groups, group_divisions(groups)


def _scrub_reading(
    candidates: pd.DataFrame,
    internal: pd.DataFrame,
    groups: list[tuple[str, ...]],
    read_registry: Callable[[tuple[str, ...]], pd.DataFrame] | None,
    partition_info: dict | None = None,
) -> pd.DataFrame:
    """`scrub_partition` of one number range, with the registry numbers of its area codes read
    here, in the task: a registry partition of its own (up to 64 MB of numbers) was held by
    the worker that read it until the scrub took it, often from the other worker."""
    assert partition_info is not None  # Dask gives it: the range's place among `groups`
    codes = groups[partition_info["number"]]
    registry = read_registry(codes) if read_registry is not None else NUMBER_META
    return scrub_partition(candidates, registry, internal)


def _distinct_numbers(internal: pd.DataFrame) -> int:
    """Return the distinct numbers of a partition indexed by Number."""
    return int(internal.index.nunique())


def _scored_pool(
    pool: dd.DataFrame,
    calls: dd.DataFrame,
    accounts: dd.DataFrame,
    area_codes: pd.DataFrame,
    params: ListiqParams,
    divisions: tuple[int, ...],
    compute: Compute,
    persist: Persist,
    rules: CallingRules | None,
    contact: ContactParams,
    pinned: ContactModel | None,
) -> tuple[dd.DataFrame, ContactModel]:
    """Fit the contact model (or take `pinned`) and give the pool, partitioned by number
    ranges, each row's estimate and best hour: the numbers' own ratios are sorted into the
    same ranges, so each range meets its evidence without moving the pool."""
    import dask
    import dask.dataframe as dd

    from .contact import run_contact_model

    try:
        learned = run_contact_model(calls, accounts, area_codes, contact, compute, persist, pinned)
    except ValueError as exc:
        raise _no_history(exc) from None
    evidence = learned.evidence.map_partitions(
        _evidence_by_number,
        meta=EVIDENCE_META.assign(**{NUMBER: pd.Series(dtype="int64")}),
        token="listiq-contact-evidence",
    )
    evidence = evidence[evidence[NUMBER].between(divisions[0], divisions[-1])]
    scored = dd.map_partitions(
        contact_scores,
        pool,
        evidence.set_index(NUMBER, divisions=divisions),
        dask.delayed(learned.model, pure=True),
        window_hours(area_codes, params, rules),
        params.call_date.weekday(),
        meta=SCORED_POOL_META,
        align_dataframes=False,
        token="listiq-contact-scores",
    )
    return scored, learned.model


def run_listiq(
    accounts: dd.DataFrame,  # Account
    calls: dd.DataFrame,  # Task: AccountId, CreatedDate (+ number, disposition)
    excluded_ids: pd.Index,
    cleared: pd.Index,
    area_codes: pd.DataFrame,
    population: pd.Series,
    params: ListiqParams,
    compute: Compute = dask_compute,
    persist: Persist = dask_persist,
    rules: CallingRules | None = None,
    registry_numbers: pd.Series | None = None,
    read_registry: Callable[[tuple[str, ...]], pd.DataFrame] | None = None,
    internal: dd.DataFrame | None = None,
    contact: ContactParams | None = None,
    pinned: ContactModel | None = None,
) -> ListiqResult:
    """Wire the pure functions on Dask: build the candidates, scrub them, build and count the
    pool, plan, fetch candidates, pick.

    The candidates (callable, not recently called, not capped) are persisted with their counts
    by area code; the area codes they use are grouped into number ranges (`area_code_groups`),
    and the candidates and the internal DNC list, sorted into those ranges, meet the registry
    range by range (each scrub task reads its own area codes, `read_registry(area_codes)`; None:
    no registry), so no number comes to the client. `registry_numbers` is the registry's
    numbers per area code (its manifest), `internal` the Internal_DNC table (None: no table).
    The pool is persisted on the workers between the count and the candidate fetch, so it is
    built once (and released when this returns); only counts (by status, area code, state and
    bucket) and at most twice the target in candidate rows come back to the client.

    With CONTACT_RATE (`calls` hold Dialed_Number__c and CallDisposition too): the contact model
    is fitted on the workers (`run_contact_model`; `pinned` skips the fit), the numbers' own
    ratios are sorted into the pool's number ranges, and each range's pool rows get their
    estimate and best hour (`contact_scores`) before the pool is persisted.
    """
    import dask
    import dask.dataframe as dd

    checks = AccountChecks.of(accounts)
    status = checks.accounts.map_partitions(
        account_status,
        dask.delayed(excluded_ids, pure=True),
        dask.delayed(cleared, pure=True),
        area_codes,
        params,
        meta=STATUS_META,
        token="listiq-status",
    )
    statuses, unmapped = _status_counts(status)
    callable_ = status[status["Status"] == CALLABLE].drop(columns="Status")
    called = calls.map_partitions(
        recently_called, params, meta=empty_frame({"AccountId": STRING}), token="listiq-called"
    )
    # Repeated call rows need no dedupe first: the anti-join takes them as they are.
    not_called = without_accounts(callable_, called, token="listiq-not-called")
    partitions = max(callable_.npartitions, called.npartitions)  # as without_accounts hashes
    not_capped = _without_capped(
        not_called, partitions, calls, cap_windows(area_codes, params, rules)
    )
    listed = [
        checks.accounts.map_partitions(
            _account_numbers, params, meta=INTERNAL_META, token="listiq-dnc-accounts"
        )
    ]
    internal_counts = []  # the table's written values and its valid numbers (invalid: the rest)
    if internal is not None:
        table = internal.map_partitions(
            _table_numbers, params, meta=INTERNAL_META, token="listiq-dnc-internal"
        )
        listed.append(table)
        internal_counts = [
            internal.map_partitions(written_values, meta=(None, "int64")).sum(),
            table.map_partitions(len).sum(),  # in the persist with `listed`: parsed once
        ]
    listed = dd.concat(listed) if len(listed) > 1 else listed[0]
    codes = not_capped.assign(AreaCode=not_capped["Phone"].str.slice(2, 5)).groupby("AreaCode")
    # The Task and Internal_DNC rows are counted where those tables are read anyway.
    read = {"Task": calls, **({"Internal_DNC": internal} if internal is not None else {})}
    not_capped, listed, statuses, unmapped, n_callable, n_not_called, by_code, *checked = persist(
        not_capped,
        listed,
        statuses,
        unmapped,
        callable_.map_partitions(len).sum(),
        not_called.map_partitions(len).sum(),
        codes.size(),
        *internal_counts,
        *checks.collections,
        tasks_without_account(calls),
        *(row_count(frame) for frame in read.values()),
        stage="build the candidates",
    )
    # All small by construction: counts by status and area code, and the checks.
    statuses, unmapped, n_callable, n_not_called, by_code, *checked = compute(
        statuses, unmapped, n_callable, n_not_called, by_code, *checked,
        stage="count the candidates",
    )  # fmt: skip
    written, valid = checked[: len(internal_counts)] or (0, 0)
    counted = checked[-len(read) :]
    *account_checks, no_account = checked[len(internal_counts) : -len(read)]
    rows_read = {table: int(count) for table, count in zip(read, counted, strict=True)}
    dropped = dropped_counts(AccountChecks.settle(*account_checks), no_account)
    registry_numbers = registry_numbers if registry_numbers is not None else pd.Series()
    groups, divisions = _registry_ranges(registry_numbers, by_code, params.scrub_partition_numbers)
    numbered = not_capped.map_partitions(
        _candidate_numbers, meta=POOL_META.assign(**{NUMBER: pd.Series(dtype="int64")}),
        token="listiq-numbers",
    )  # fmt: skip
    candidates = numbered.set_index(NUMBER, divisions=divisions)
    internal_ranges = listed.set_index(NUMBER, divisions=divisions)
    scrubbed = dd.map_partitions(
        _scrub_reading,
        candidates,
        internal_ranges,
        groups,
        read_registry,
        meta=SCRUBBED_META,
        align_dataframes=False,
        token="listiq-dnc-scrub",
    )
    reasons = scrubbed.groupby("Status").size()
    clean = scrubbed[scrubbed["Status"] == CALLABLE].drop(columns=["Status", "EbrExempted"])
    # Each number range is whole in one partition: one account per number needs no shuffle.
    pool = clean.map_partitions(one_per_number, meta=POOL_META, token="listiq-one-per-number")
    model = None
    if params.selection == CONTACT_RATE:
        pool, model = _scored_pool(
            pool, calls, checks.accounts, area_codes, params, divisions, compute, persist,
            rules, _contact_params(contact), pinned,
        )  # fmt: skip
    pool, reasons, exempted, n_internal, available = persist(
        pool,
        reasons,
        scrubbed["EbrExempted"].sum(),
        internal_ranges.map_partitions(_distinct_numbers, meta=(None, "int64")).sum(),
        _available(pool),
        stage="scrub and build the pool",
    )
    reasons, exempted, n_internal, available = compute(
        reasons, exempted, n_internal, available, stage="count the pool"
    )
    del not_capped  # the persisted candidates are released once the pool holds
    n_pool = int(available.sum())
    check_scrub_total(reasons, int(by_code.sum()), n_pool)
    exempt: list[str] = []
    statuses = statuses.drop(CALLABLE, errors="ignore")
    statuses[CALLABLE] = n_pool
    statuses[RECENTLY_CALLED] = int(n_callable) - int(n_not_called)
    statuses[ATTEMPT_CAP] = int(n_not_called) - int(by_code.sum())
    statuses[INTERNAL_DNC] = int(reasons.get(INTERNAL_DNC, 0))
    statuses[DNC_REGISTRY] = int(reasons.get(DNC_REGISTRY, 0))
    statuses[SHARED_NUMBER] = int(reasons.get(CALLABLE, 0)) - n_pool

    def candidates_for(granted: pd.Series) -> pd.DataFrame:
        reduced = keep_best(
            pool, state_candidates, pool._meta, granted=granted, seed=params.seed,
            selection=params.selection,
        )  # fmt: skip
        # At most twice the target in rows: each state's first `granted` per bucket.
        (frame,) = compute(reduced, stage="pick records")
        exempt.extend(frame.loc[frame["Ebr"].to_numpy(dtype=bool), "AccountId"])
        return frame

    call_list, plan, by_bucket, closed = _plan_and_pick(
        available, population, candidates_for, params, rules
    )
    dnc = dnc_counts(statuses, int(exempted), int(n_internal), int(written) - int(valid))
    summary = summarise(statuses, unmapped, plan, by_bucket, call_list, params, closed, dnc)
    lists = DncLists(
        registry_numbers, read_registry, listed, pd.Index(exempt, dtype=STRING),
        params.scrub_partition_numbers,
    )  # fmt: skip
    return ListiqResult(
        call_list, plan, {**summary, "dropped_rows": dropped}, closed, lists, rows_read, model
    )


def scrub_numbers(numbers: pd.DataFrame, lists: DncLists, compute: Compute) -> pd.DataFrame:
    """Scrub a few numbers of listed accounts (the exports' alternate phones) as the pool was:
    the internal list always, the registry unless the account has an established business
    relationship; on the workers, by the same area code ranges.

    Args:
        numbers: AccountId and Phone (+1 E.164, mapped to a state), at most the list's length.
        lists: the run's `ListiqResult.dnc`.

    Returns:
        `numbers` with Status (`callable`, `internal_dnc` or `dnc_registry`), in their order.
    """
    import dask.dataframe as dd

    frame = numbers[["AccountId", "Phone"]].reset_index(drop=True)
    if frame.empty:
        return frame.assign(Status=pd.Series(dtype=STRING))
    frame = frame.assign(
        Ebr=frame["AccountId"].isin(lists.exempt).to_numpy(dtype=bool), Order=range(len(frame))
    )
    by_code = frame.groupby(frame["Phone"].str.slice(2, 5).astype(str)).size()
    groups, divisions = _registry_ranges(lists.registry_numbers, by_code, lists.partition_numbers)
    candidates = dd.from_pandas(_candidate_numbers(frame), npartitions=1)
    scrubbed = dd.map_partitions(
        _scrub_reading,
        candidates.set_index(NUMBER, divisions=divisions),
        lists.internal.set_index(NUMBER, divisions=divisions),
        groups,
        lists.read_registry,
        meta=scrub_partition(
            _candidate_numbers(frame.iloc[:0]).set_index(NUMBER),
            NUMBER_META,
            INTERNAL_META.set_index(NUMBER),
        ),
        align_dataframes=False,
        token="listiq-dnc-scrub-numbers",
    )
    (result,) = compute(scrubbed, stage="scrub alternate phones")
    result = result.sort_values("Order")
    return frame.drop(columns=["Ebr", "Order"]).assign(Status=result["Status"].to_numpy())


def without_listed_alt_phones(
    details: pd.DataFrame, lists: DncLists | None, compute: Compute
) -> tuple[pd.DataFrame, int]:
    """Empty the exports' alternate phones (`AltPhone`) that the scrub would drop; return the
    details and how many were emptied. An emptied one is not replaced by the account's next
    phone: the lead keeps its listed number, which the scrub passed."""
    alternates = details.loc[details["AltPhone"].notna(), ["AccountId", "AltPhone"]]
    if lists is None or alternates.empty:
        return details, 0
    scrubbed = scrub_numbers(alternates.rename(columns={"AltPhone": "Phone"}), lists, compute)
    listed = alternates.index[(scrubbed["Status"] != CALLABLE).to_numpy()]
    emptied = details["AltPhone"].mask(details.index.isin(listed))
    return details.assign(AltPhone=emptied), len(listed)
