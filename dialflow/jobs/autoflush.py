"""autoflush: which phone numbers on which accounts are bad, from call outcomes, and must go.

A number is `disconnected` when its calls (across all accounts) hold >= 3 disconnected outcomes
spanning >= 90 days with no contact call after the last of them: it is cleared from every field
holding it. An (account, number) pair is `wrong_number` when that account's calls to it hold >= 2
wrong-number outcomes spanning >= 90 days with no contact after the last: it is cleared from that
account only. A field that is both gets one row, reason `disconnected`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..phones import mask_phones, normalize_e164
from ..schema import STRING, TIMESTAMP, empty_frame
from ..times import as_utc, iso, since_problem
from . import Compute, dask_compute
from .dispositions import UNMAPPED, categorise, category_map
from .params import JobParams
from .rows import (
    AccountChecks,
    checked_frames,
    dropped_counts,
    lacks_id,
    row_count,
    tasks_without_account,
)

if TYPE_CHECKING:
    import dask.dataframe as dd

    from ..config import Settings


class AutoflushParams(JobParams):
    """What the autoflush job needs, resolved from the settings."""

    phone_fields: tuple[str, ...]
    region: str
    categories: dict[str, str]  # trimmed, casefolded raw disposition -> category
    wrong_number_threshold: int
    disconnected_threshold: int
    time_span_minimum_days: float
    reset_on_later_contact: bool
    since: pd.Timestamp | None
    as_of: pd.Timestamp

    @classmethod
    def from_settings(
        cls, settings: Settings, as_of: pd.Timestamp, since: pd.Timestamp | None = None
    ) -> AutoflushParams:
        """`since` (from --since, checked by the CLI) wins over `autoflush.since`, which must
        precede the as-of time: otherwise no call would count."""
        from ..errors import ConfigError

        flush = settings.autoflush
        if since is not None:
            since = as_utc(since)
        elif flush.since is not None:
            since = as_utc(flush.since)
            problem = since_problem(since, as_of)
            if problem:
                raise ConfigError(f"autoflush.since = {iso(since)}: {problem}")
        return cls.from_section(
            flush,
            phone_fields=settings.phones.fields,
            region=settings.phones.region,
            categories=category_map(flush.dispositions),
            since=since,
            as_of=as_of,
        )


CALL_COLUMNS = ["AccountId", "Dialed_Number__c", "CallDisposition", "CreatedDate"]
SIGNALS = ("wrong_number", "disconnected", "contact")
OUTSIDE_WINDOW = "outside_window"
EMPTY_DISPOSITION = "<empty>"

# Per call category (and raw value, for dispositions that map to nothing): how many calls.
CATEGORY_COUNTS_META = empty_frame(
    {
        "Category": STRING,
        "Disposition": STRING,
        "calls": "int64",
    }
)
CLASSIFIED_META = empty_frame(
    {
        "AccountId": STRING,
        "Dialed_Number__c": STRING,
        "CallDisposition": STRING,
        "CreatedDate": TIMESTAMP,
        "Category": STRING,
    }
)
SIGNAL_CALLS_META = empty_frame(
    {"AccountId": STRING, "PhoneE164": STRING, "Category": STRING, "CreatedDate": TIMESTAMP}
)
# Partial aggregate of the signal calls: one row per (account, number, category).
PAIR_STATS_META = empty_frame(
    {
        "AccountId": STRING,
        "PhoneE164": STRING,
        "Category": STRING,
        "Calls": "int64",
        "FirstCall": TIMESTAMP,
        "LastCall": TIMESTAMP,
    }
)
# Bad numbers (AccountId null: bad for every account) and bad (account, number) pairs.
VERDICTS_META = empty_frame(
    {
        "PhoneE164": STRING,
        "AccountId": STRING,
        "Reason": STRING,
        "BadCallCount": "int64",
        "FirstBadCall": TIMESTAMP,
        "LastBadCall": TIMESTAMP,
    }
)
CLEANUP_META = empty_frame(
    {
        "AccountId": STRING,
        "Field": STRING,
        "Phone": STRING,
        "PhoneE164": STRING,
        "Reason": STRING,
        "BadCallCount": "int64",
        "FirstBadCall": TIMESTAMP,
        "LastBadCall": TIMESTAMP,
    }
)


def _in_window(calls: pd.DataFrame, params: AutoflushParams) -> pd.Series:
    created = calls["CreatedDate"]
    keep = created.notna() & (created <= params.as_of)
    if params.since is not None:
        keep &= created > params.since
    return keep


def classify_calls(calls: pd.DataFrame, params: AutoflushParams) -> pd.DataFrame:
    """Add each call's Category: its disposition's, `unmapped`, or `outside_window` (before
    --since or after --as-of); the one place dispositions are looked up."""
    category = categorise(calls["CallDisposition"], params.categories)
    return calls[CALL_COLUMNS].assign(
        Category=category.mask(~_in_window(calls, params), OUTSIDE_WINDOW)
    )


def category_counts(classified: pd.DataFrame) -> pd.DataFrame:
    """Count calls by category; dispositions that map to nothing are counted by raw value."""
    category = classified["Category"]
    raw = classified["CallDisposition"].astype(STRING).str.strip().fillna("")
    raw = raw.mask(raw == "", EMPTY_DISPOSITION).where(category == UNMAPPED, "")
    counts = (
        pd.DataFrame({"Category": category, "Disposition": raw})
        .groupby(["Category", "Disposition"], observed=True)
        .size()
        .rename("calls")
        .reset_index()
    )
    return counts.astype(CATEGORY_COUNTS_META.dtypes.to_dict())


def signal_calls(classified: pd.DataFrame, params: AutoflushParams) -> pd.DataFrame:
    """Keep the window's wrong-number, disconnected and contact calls, with the number in E.164.

    PhoneE164 is null where the dialed value is not a valid number (counted, then skipped).
    A call without an AccountId is left out (counted by the job as a dropped row).
    """
    keep = classified["Category"].isin(SIGNALS).to_numpy() & ~lacks_id(classified["AccountId"])
    calls = classified[keep]
    return pd.DataFrame(
        {
            "AccountId": calls["AccountId"].astype(STRING),
            "PhoneE164": normalize_e164(calls["Dialed_Number__c"], params.region),
            "Category": calls["Category"],
            "CreatedDate": calls["CreatedDate"].astype(TIMESTAMP),
        }
    )


def pair_stats(signals: pd.DataFrame) -> pd.DataFrame:
    """Aggregate calls (or partial aggregates) to one row per (account, number, category)."""
    if "Calls" not in signals.columns:
        signals = signals.dropna(subset=["PhoneE164", "AccountId"]).assign(
            Calls=1, FirstCall=lambda f: f["CreatedDate"], LastCall=lambda f: f["CreatedDate"]
        )
    stats = signals.groupby(["AccountId", "PhoneE164", "Category"], observed=True, sort=False).agg(
        Calls=("Calls", "sum"), FirstCall=("FirstCall", "min"), LastCall=("LastCall", "max")
    )
    return stats.reset_index().astype(PAIR_STATS_META.dtypes.to_dict())


def _verdict(
    bad: pd.DataFrame,
    contact_last: pd.Series,
    keys: list[str],
    threshold: int,
    params: AutoflushParams,
) -> pd.DataFrame:
    """Apply count, span and later-contact rules to bad-call stats grouped by `keys`."""
    grouped = bad.groupby(keys, observed=True).agg(
        BadCallCount=("Calls", "sum"),
        FirstBadCall=("FirstCall", "min"),
        LastBadCall=("LastCall", "max"),
    )
    span = grouped["LastBadCall"] - grouped["FirstBadCall"]
    keep = (grouped["BadCallCount"] >= threshold) & (
        span >= pd.Timedelta(days=params.time_span_minimum_days)
    )
    if params.reset_on_later_contact:
        later = contact_last.reindex(grouped.index)
        keep &= ~(later > grouped["LastBadCall"]).fillna(False)
    return grouped[keep].reset_index()


def bad_numbers(stats: pd.DataFrame, params: AutoflushParams) -> pd.DataFrame:
    """Decide the disconnected numbers and wrong (account, number) pairs.

    Correct per partition when every row of a number is in it (after a shuffle on PhoneE164).
    """
    stats = pair_stats(stats)
    contacts = stats[stats["Category"] == "contact"]
    disconnected = _verdict(
        stats[stats["Category"] == "disconnected"],
        contacts.groupby("PhoneE164", observed=True)["LastCall"].max(),
        ["PhoneE164"],
        params.disconnected_threshold,
        params,
    ).assign(AccountId=pd.NA, Reason="disconnected")
    wrong = _verdict(
        stats[stats["Category"] == "wrong_number"],
        contacts.groupby(["PhoneE164", "AccountId"], observed=True)["LastCall"].max(),
        ["PhoneE164", "AccountId"],
        params.wrong_number_threshold,
        params,
    ).assign(Reason="wrong_number")
    verdicts = pd.concat([disconnected, wrong], ignore_index=True)
    return verdicts[list(VERDICTS_META.columns)].astype(VERDICTS_META.dtypes.to_dict())


def account_phones(accounts: pd.DataFrame, params: AutoflushParams) -> pd.DataFrame:
    """Return one row per account phone field holding a valid number: the stored value and E.164."""
    parts = []
    for field in params.phone_fields:
        stored = accounts[field].astype(STRING)
        present = stored.notna().to_numpy()
        parts.append(
            pd.DataFrame(
                {
                    "AccountId": accounts["Id"].astype(STRING)[present],
                    "Field": field,
                    "Phone": stored[present],
                    "PhoneE164": normalize_e164(stored[present], params.region),
                }
            )
        )
    phones = pd.concat(parts, ignore_index=True).astype({"Field": STRING})
    return phones.dropna(subset=["PhoneE164"])


def cleanup_rows(
    accounts: pd.DataFrame, verdicts: pd.DataFrame, params: AutoflushParams
) -> pd.DataFrame:
    """Match account phone fields against the verdicts: one row per (account, field) to clear.

    Args:
        accounts: Account rows (any partition).
        verdicts: the output of `bad_numbers` for all numbers (small by construction).
        params: resolved parameters (phone fields, region).
    """
    phones = account_phones(accounts, params)
    disconnected = verdicts[verdicts["Reason"] == "disconnected"].drop(columns="AccountId")
    wrong = verdicts[verdicts["Reason"] == "wrong_number"]
    matched = pd.concat(
        [
            phones.merge(disconnected, on="PhoneE164"),
            phones.merge(wrong, on=["AccountId", "PhoneE164"]),
        ],
        ignore_index=True,
    )
    rank = matched["Reason"].map({"disconnected": 0, "wrong_number": 1})
    field_order = {field: i for i, field in enumerate(params.phone_fields)}
    matched = (
        matched.assign(_rank=rank, _field=matched["Field"].map(field_order))
        .sort_values(["AccountId", "_field", "_rank"])
        .drop_duplicates(["AccountId", "Field"])
    )
    return matched[list(CLEANUP_META.columns)].astype(CLEANUP_META.dtypes.to_dict())


def dnc_numbers(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Return the disconnected numbers for a dialer's do-not-dial import: E.164, each once, sorted.

    Only `disconnected` verdicts: a number that is dead for everyone. A wrong-number pair is
    wrong for one account only (the number may well reach someone else), so it never goes here.
    """
    numbers = verdicts.loc[verdicts["Reason"] == "disconnected", "PhoneE164"].dropna()
    numbers = numbers.astype(STRING).drop_duplicates().sort_values(kind="stable")
    return pd.DataFrame({"PhoneE164": numbers.to_numpy()}, dtype=STRING)


def summarise(
    counts: pd.DataFrame, unparseable: int, verdicts: pd.DataFrame, cleanup: pd.DataFrame
) -> dict[str, Any]:
    """Return the run summary's counts."""
    totals = counts.groupby(["Category", "Disposition"], observed=True)["calls"].sum()
    by_category = totals.groupby(level="Category").sum()
    unmapped = totals.loc[UNMAPPED] if UNMAPPED in by_category.index else pd.Series(dtype=int)
    return {
        "calls_by_category": {k: int(v) for k, v in by_category.sort_index().items()},
        "unmapped_dispositions": _masked_counts(unmapped),
        "signal_calls_unparseable_number": int(unparseable),
        "bad_numbers": {
            k: int(v) for k, v in verdicts["Reason"].value_counts().sort_index().items()
        },
        "cleanup_by_reason": {
            k: int(v) for k, v in cleanup["Reason"].value_counts().sort_index().items()
        },
        "cleanup_by_field": {
            k: int(v) for k, v in cleanup["Field"].value_counts().sort_index().items()
        },
        "accounts_touched": int(cleanup["AccountId"].nunique()),
    }


def _masked_counts(by_value: pd.Series) -> dict[str, int]:
    """Return counts by raw value with phone numbers masked, most frequent first: dialers put
    numbers in the disposition field, and summary.json is read and mailed beyond the dialer
    team. Values that mask alike are added up."""
    masked = by_value.groupby(by_value.index.map(mask_phones), sort=True).sum()
    return {k: int(v) for k, v in masked.sort_values(ascending=False, kind="stable").items()}


def _sorted_cleanup(cleanup: pd.DataFrame, params: AutoflushParams) -> pd.DataFrame:
    field_order = {field: i for i, field in enumerate(params.phone_fields)}
    order = np.lexsort((cleanup["Field"].map(field_order).to_numpy(), cleanup["AccountId"]))
    return cleanup.iloc[order].reset_index(drop=True)


def autoflush_frame(
    calls: pd.DataFrame, accounts: pd.DataFrame, params: AutoflushParams
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run the whole job on pandas frames: the reference the Dask wiring must equal."""
    accounts, dropped = checked_frames(accounts, calls)
    classified = classify_calls(calls, params)
    signals = signal_calls(classified, params)
    verdicts = bad_numbers(pair_stats(signals), params)
    cleanup = _sorted_cleanup(cleanup_rows(accounts, verdicts, params), params)
    counts = category_counts(classified)
    summary = summarise(counts, signals["PhoneE164"].isna().sum(), verdicts, cleanup)
    return cleanup, {**summary, "dropped_rows": dropped}


@dataclass(frozen=True)
class AutoflushResult:
    cleanup: pd.DataFrame
    verdicts: pd.DataFrame
    counts: dict[str, Any]
    accounts_read: int = 0  # Account rows read (summary.json's inputs)


def run_autoflush(
    calls: dd.DataFrame,
    accounts: dd.DataFrame,
    params: AutoflushParams,
    compute: Compute = dask_compute,
) -> AutoflushResult:
    """Wire the pure functions on Dask: normalize and count, decide per number, match fields.

    Args:
        calls: Task with CALL_COLUMNS.
        accounts: Account with Id and the phone fields.
        params: resolved autoflush parameters.
        compute: computes collections (the CLI's shows progress and takes `stage=`).
    """
    import dask

    classified = calls.map_partitions(
        classify_calls, params, meta=CLASSIFIED_META, token="autoflush-classify"
    )
    signals = classified.map_partitions(
        signal_calls, params, meta=SIGNAL_CALLS_META, token="autoflush-normalize"
    )
    counts = classified.map_partitions(
        category_counts, meta=CATEGORY_COUNTS_META, token="autoflush-count"
    )
    counts_total = counts.groupby(["Category", "Disposition"])["calls"].sum()
    unparseable = signals["PhoneE164"].isnull().sum()
    verdicts = (
        signals.map_partitions(pair_stats, meta=PAIR_STATS_META, token="autoflush-aggregate")
        .shuffle(on="PhoneE164")
        .map_partitions(bad_numbers, params, meta=VERDICTS_META, token="autoflush-rules")
    )
    # The verdicts are small by construction: only numbers that broke a rule come back.
    verdicts_frame, counts_frame, unparseable_count, no_account = compute(
        verdicts, counts_total, unparseable, tasks_without_account(calls), stage="count calls"
    )
    # One graph key holds the verdicts, so each partition's task depends on it instead of
    # carrying its own copy.
    checks = AccountChecks.of(accounts)
    cleanup = checks.accounts.map_partitions(
        cleanup_rows,
        dask.delayed(verdicts_frame, pure=True),
        params,
        meta=CLEANUP_META,
        token="autoflush-match",
    )
    # One row per field to clear: small by construction, like the verdicts.
    cleanup_frame, accounts_count, *checked = compute(
        cleanup, row_count(accounts), *checks.collections, stage="match accounts"
    )
    dropped = dropped_counts(AccountChecks.settle(*checked), no_account)
    cleanup_frame = _sorted_cleanup(cleanup_frame, params)
    verdicts_frame = verdicts_frame.sort_values(["Reason", "PhoneE164", "AccountId"]).reset_index(
        drop=True
    )
    summary = summarise(
        counts_frame.reset_index(), unparseable_count, verdicts_frame, cleanup_frame
    )
    return AutoflushResult(
        cleanup_frame, verdicts_frame, {**summary, "dropped_rows": dropped}, int(accounts_count)
    )
