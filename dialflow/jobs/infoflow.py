"""infoflow: which accounts need a person to research a phone number, in what priority.

An account needs research when none of its phone fields holds a valid number that the latest
autoflush run has not cleared, no research request for it was created in the last
`research_frequency_days` (Salesforce's Research_Request__c and DIAL-Flow's own request log), and
its owner is an active User.

Priority (README "The infoflow job"): the sum of configured weights times signals a research team
acts on — the account moved recently (address_changed), it was reached before its numbers went
bad (reached_before), how many of its numbers autoflush cleared (numbers_flushed, capped), and it
is a new account (new_account). Ties go to the smaller Id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..config import INFOFLOW_SIGNALS
from ..schema import STRING, TIMESTAMP, empty_frame
from . import Compute, Persist, dask_compute, dask_persist, keep_best, not_in, without_accounts
from .dispositions import categorise, category_map
from .params import JobParams
from .rows import AccountChecks, checked_frames, dropped_counts, row_count, tasks_without_account
from .usable_phone import first_usable_phone

if TYPE_CHECKING:
    import dask.dataframe as dd

    from ..config import Settings


class InfoflowParams(JobParams):
    """What the infoflow job needs, resolved from the settings."""

    phone_fields: tuple[str, ...]
    region: str
    categories: dict[str, str]  # autoflush's disposition map: which calls were contacts
    research_frequency_days: float
    max_requests: int
    address_change_days: float
    contact_lookback_days: float
    new_account_days: float
    numbers_flushed_cap: int
    weights: dict[str, float]
    as_of: pd.Timestamp

    @classmethod
    def from_settings(cls, settings: Settings, as_of: pd.Timestamp) -> InfoflowParams:
        """A signal left out of `infoflow.weights` weighs 0."""
        info = settings.infoflow
        return cls.from_section(
            info,
            phone_fields=settings.phones.fields,
            region=settings.phones.region,
            categories=category_map(settings.autoflush.dispositions),
            weights={signal: info.weights.get(signal, 0.0) for signal in INFOFLOW_SIGNALS},
            as_of=as_of,
        )


NEEDS_META = empty_frame(
    {
        "AccountId": STRING,
        "AccountName": STRING,
        "OwnerId": STRING,
        "BillingStreet": STRING,
        "BillingCity": STRING,
        "BillingState": STRING,
        "BillingPostalCode": STRING,
        "CreatedDate": TIMESTAMP,
        "LastModifiedDate": TIMESTAMP,
    }
)
OWNERS_META = empty_frame({"OwnerId": STRING, "OwnerName": STRING, "OwnerEmail": STRING})
CALL_FACTS_META = empty_frame(
    {"AccountId": STRING, "LastCallDate": TIMESTAMP, "ContactCalls": "int64"}
)
ADDRESS_META = empty_frame(
    {
        "AccountId": STRING,
        "Street": STRING,
        "City": STRING,
        "State": STRING,
        "PostalCode": STRING,
        "AddressDate": TIMESTAMP,
    }
)
REQUESTS_COLUMNS = [
    "AccountId",
    "AccountName",
    "OwnerName",
    "OwnerEmail",
    "Street",
    "City",
    "State",
    "PostalCode",
    "Priority",
    "Signals",
    "LastCallDate",
]
REQUESTS_META = empty_frame(
    {
        **{column: STRING for column in REQUESTS_COLUMNS},
        "Priority": "float64",
        "LastCallDate": TIMESTAMP,
    }
)


def account_columns(params: InfoflowParams) -> list[str]:
    """Return the Account columns the job reads."""
    return [
        "Id",
        "Name",
        "OwnerId",
        "BillingStreet",
        "BillingCity",
        "BillingState",
        "BillingPostalCode",
        "CreatedDate",
        "LastModifiedDate",
        *params.phone_fields,
    ]


def without_usable_phone(
    accounts: pd.DataFrame, cleared: pd.Index, params: InfoflowParams
) -> pd.DataFrame:
    """Return the accounts of a partition with no valid phone autoflush has left alone."""
    phone, _ = first_usable_phone(accounts, params.phone_fields, params.region, cleared)
    needs = accounts[phone.isna().to_numpy()]
    return needs.rename(columns={"Id": "AccountId", "Name": "AccountName"})[
        list(NEEDS_META.columns)
    ].astype(NEEDS_META.dtypes.to_dict())


def active_owners(users: pd.DataFrame) -> pd.DataFrame:
    """Return the active users as owners (OwnerId, OwnerName, OwnerEmail)."""
    active = users[users["IsActive"].fillna(False).to_numpy(dtype=bool)]
    return active.rename(columns={"Id": "OwnerId", "Name": "OwnerName", "Email": "OwnerEmail"})[
        list(OWNERS_META.columns)
    ].astype(OWNERS_META.dtypes.to_dict())


def recent_requests(requests: pd.DataFrame, params: InfoflowParams) -> pd.DataFrame:
    """Return the accounts of Research_Request__c rows inside the research window (may repeat)."""
    since = params.as_of - pd.Timedelta(days=params.research_frequency_days)
    recent = requests.loc[requests["CreatedDate"] > since, ["Account__c"]]
    return recent.rename(columns={"Account__c": "AccountId"}).dropna().astype(STRING)


def call_facts(calls: pd.DataFrame, params: InfoflowParams) -> pd.DataFrame:
    """Per account of a Task partition: the last call, and contact calls in the lookback window."""
    since = params.as_of - pd.Timedelta(days=params.contact_lookback_days)
    contact = (categorise(calls["CallDisposition"], params.categories) == "contact") & (
        calls["CreatedDate"] > since
    )
    facts = (
        calls.assign(ContactCalls=contact.fillna(False).astype("int64"))
        .groupby("AccountId", observed=True)
        .agg(LastCallDate=("CreatedDate", "max"), ContactCalls=("ContactCalls", "sum"))
        .reset_index()
    )
    return facts.astype(CALL_FACTS_META.dtypes.to_dict())


def combine_call_facts(facts: pd.DataFrame) -> pd.DataFrame:
    """Combine partial call facts of the same accounts."""
    combined = (
        facts.groupby("AccountId", observed=True)
        .agg(LastCallDate=("LastCallDate", "max"), ContactCalls=("ContactCalls", "sum"))
        .reset_index()
    )
    return combined.astype(CALL_FACTS_META.dtypes.to_dict())


def newest_addresses(history: pd.DataFrame) -> pd.DataFrame:
    """Return each account's newest Address_History__c row (ties: greatest Id)."""
    ordered = history.sort_values(["Account__c", "CreatedDate", "Id"], na_position="first")
    newest = ordered.drop_duplicates("Account__c", keep="last")
    return pd.DataFrame(
        {
            "AccountId": newest["Account__c"],
            "Street": newest["Street__c"],
            "City": newest["City__c"],
            "State": newest["State__c"],
            "PostalCode": newest["PostalCode__c"],
            "AddressDate": newest["CreatedDate"],
        }
    ).astype(ADDRESS_META.dtypes.to_dict())


def prioritise(
    needs: pd.DataFrame,
    facts: pd.DataFrame,
    addresses: pd.DataFrame,
    flushed: pd.Series,
    params: InfoflowParams,
) -> pd.DataFrame:
    """Score the accounts that need research and give each its best-known address.

    Args:
        needs: eligible accounts with their owners (NEEDS_META + OWNERS_META).
        facts: call facts of those accounts (CALL_FACTS_META), one row per account at most.
        addresses: newest address history of those accounts (ADDRESS_META), one row at most.
        flushed: fields the latest autoflush run cleared, by AccountId.
        params: resolved infoflow parameters.
    """
    rows = needs.merge(facts, on="AccountId", how="left").merge(
        addresses, on="AccountId", how="left"
    )
    as_of = params.as_of
    signals = pd.DataFrame(
        {
            "address_changed": (
                rows["AddressDate"] > as_of - pd.Timedelta(days=params.address_change_days)
            ),
            "reached_before": rows["ContactCalls"].fillna(0) > 0,
            "numbers_flushed": rows["AccountId"]
            .map(flushed)
            .fillna(0)
            .clip(upper=params.numbers_flushed_cap),
            "new_account": (
                rows["CreatedDate"] > as_of - pd.Timedelta(days=params.new_account_days)
            ),
        },
        index=rows.index,
    )
    values = signals.fillna(False).astype("float64")
    weights = pd.Series(params.weights)[list(INFOFLOW_SIGNALS)]
    priority = (values * weights).sum(axis=1).round(6)
    # The newest of the Billing address (dated by the account's last change) and the history.
    history_newer = (rows["AddressDate"] > rows["LastModifiedDate"]).fillna(False) | (
        rows["LastModifiedDate"].isna() & rows["AddressDate"].notna()
    )
    pick = history_newer.to_numpy(dtype=bool)

    def best(history_column: str, billing_column: str) -> np.ndarray:
        return np.where(pick, rows[history_column], rows[billing_column])

    return pd.DataFrame(
        {
            "AccountId": rows["AccountId"],
            "AccountName": rows["AccountName"],
            "OwnerName": rows["OwnerName"],
            "OwnerEmail": rows["OwnerEmail"],
            "Street": best("Street", "BillingStreet"),
            "City": best("City", "BillingCity"),
            "State": best("State", "BillingState"),
            "PostalCode": best("PostalCode", "BillingPostalCode"),
            "Priority": priority,
            "Signals": _describe(values),
            "LastCallDate": rows["LastCallDate"],
        }
    ).astype(REQUESTS_META.dtypes.to_dict())


def _describe(values: pd.DataFrame) -> pd.Series:
    """Return `address_changed;numbers_flushed=2`-style text of the signals that fired."""
    text = pd.Series("", index=values.index, dtype=object)
    for signal in INFOFLOW_SIGNALS:  # four columns, each vectorised
        fired = values[signal] > 0
        label = (
            signal + "=" + values[signal].astype(int).astype(str)
            if signal == "numbers_flushed"
            else pd.Series(signal, index=values.index)
        )
        text = text.where(~fired, text.where(text == "", text + ";") + label)
    return text


def top_requests(requests: pd.DataFrame, limit: int) -> pd.DataFrame:
    """Return the `limit` highest-priority rows, ties by AccountId (also a tree-reduction step)."""
    ordered = requests.sort_values(["Priority", "AccountId"], ascending=[False, True])
    return ordered.head(limit)


def flushed_by_account(cleanup: pd.DataFrame) -> pd.Series:
    """Return how many fields the latest autoflush run cleared, by AccountId."""
    return cleanup.groupby("AccountId").size() if len(cleanup) else pd.Series(dtype="int64")


@dataclass(frozen=True)
class InfoflowResult:
    requests: pd.DataFrame
    counts: dict[str, Any]
    rows_read: dict[str, int] = field(default_factory=dict)  # by table (summary.json's inputs)


def infoflow_frame(
    accounts: pd.DataFrame,
    calls: pd.DataFrame,
    research: pd.DataFrame,
    history: pd.DataFrame,
    users: pd.DataFrame,
    cleared: pd.Index,
    flushed: pd.Series,
    logged: pd.Series,
    params: InfoflowParams,
) -> InfoflowResult:
    """Run the whole job on pandas frames: the reference the Dask wiring must equal.

    `logged` holds the AccountIds DIAL-Flow itself requested inside the research window.
    """
    accounts, dropped = checked_frames(accounts, calls)
    needs = without_usable_phone(accounts, cleared, params)
    owned = needs.merge(active_owners(users), on="OwnerId", how="inner")
    blocked = pd.concat([recent_requests(research, params), _as_frame(logged)])
    eligible = not_in(owned, blocked)
    ids = eligible[["AccountId"]]
    facts = combine_call_facts(call_facts(calls.merge(ids, on="AccountId"), params))
    addresses = newest_addresses(history.merge(ids, left_on="Account__c", right_on="AccountId"))
    scored = prioritise(eligible, facts, addresses, flushed, params)
    requests = top_requests(scored, params.max_requests).reset_index(drop=True)
    summary = _summary(len(accounts), len(needs), len(owned), len(eligible), requests)
    return InfoflowResult(requests, {**summary, "dropped_rows": dropped})


def _as_frame(account_ids: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"AccountId": pd.Series(account_ids, dtype=STRING)})


def _summary(
    accounts: int, needs: int, owned: int, eligible: int, requests: pd.DataFrame
) -> dict[str, Any]:
    signals = requests["Signals"].str.split(";").explode()
    fired = signals[signals != ""].str.split("=").str[0].value_counts()
    return {
        "accounts": accounts,
        "without_usable_phone": needs,
        "owner_inactive_or_unknown": needs - owned,
        "recently_requested": owned - eligible,
        "eligible": eligible,
        "requested": len(requests),
        "signals_fired": {k: int(v) for k, v in fired.sort_index().items()},
    }


def run_infoflow(
    accounts: dd.DataFrame,  # Account
    calls: dd.DataFrame,  # Task: AccountId, CallDisposition, CreatedDate
    research: dd.DataFrame,  # Research_Request__c: Account__c, CreatedDate
    history: dd.DataFrame,  # Address_History__c
    users: dd.DataFrame,  # User
    cleared: pd.Index,
    flushed: pd.Series,
    logged: pd.Series,
    params: InfoflowParams,
    compute: Compute = dask_compute,
    persist: Persist = dask_persist,
) -> InfoflowResult:
    """Wire the pure functions on Dask.

    Accounts without a usable phone are few; they are joined with the active owners and the
    recent requests, persisted, and the Task and Address_History__c partitions are reduced to
    facts about those accounts only. Nothing but counts and the top `max_requests` rows comes
    back to the client.
    """
    import dask
    import dask.dataframe as dd

    checks = AccountChecks.of(accounts)
    accounts = checks.accounts
    needs = accounts.map_partitions(
        without_usable_phone,
        dask.delayed(cleared, pure=True),
        params,
        meta=NEEDS_META,
        token="infoflow-needs",
    )
    owners = users.map_partitions(active_owners, meta=OWNERS_META, token="infoflow-owners")
    owned = needs.merge(owners, on="OwnerId", how="inner")
    blocked = research.map_partitions(
        recent_requests, params, meta=empty_frame({"AccountId": STRING}), token="infoflow-asked"
    )
    if len(logged):
        # sort=False: unknown divisions like the other side (known ones hang repartition later).
        logged_frame = dd.from_pandas(_as_frame(logged), npartitions=1, sort=False)
        blocked = dd.concat([blocked, logged_frame])
    eligible = without_accounts(owned, blocked, token="infoflow-eligible")
    counts = [frame.map_partitions(len).sum() for frame in (needs, owned, eligible)]
    eligible, n_needs, n_owned, n_eligible, n_accounts, n_research, n_users, *checked = persist(
        eligible,
        *counts,
        accounts.map_partitions(len).sum(),
        row_count(research),
        row_count(users),
        *checks.collections,
        stage="find accounts",
    )
    # Few accounts by construction (no usable phone): one partition, joined to every Task one.
    # Repartitioned once persisted: on the lazy expression, working out the divisions means
    # optimising the whole graph, which can take minutes.
    eligible = eligible.repartition(npartitions=1)
    ids = eligible[["AccountId"]]
    facts = (
        calls.merge(ids, on="AccountId", how="inner", broadcast=True)
        .map_partitions(call_facts, params, meta=CALL_FACTS_META, token="infoflow-calls")
        .shuffle(on="AccountId")
        .map_partitions(combine_call_facts, meta=CALL_FACTS_META, token="infoflow-call-facts")
    )
    addresses = (
        history.merge(ids, left_on="Account__c", right_on="AccountId", how="inner", broadcast=True)
        .shuffle(on="Account__c")
        .map_partitions(newest_addresses, meta=ADDRESS_META, token="infoflow-addresses")
    )
    # Facts and addresses of the eligible accounts only: each joined into one piece on a worker.
    scored = eligible.map_partitions(
        prioritise,
        dask.delayed(pd.concat)(facts.to_delayed()),
        dask.delayed(pd.concat)(addresses.to_delayed()),
        dask.delayed(flushed, pure=True),
        params,
        meta=REQUESTS_META,
        token="infoflow-priority",
    )
    top = keep_best(scored, top_requests, REQUESTS_META, limit=params.max_requests)
    # At most max_requests rows and a few numbers. The Task rows without an account, and the
    # rows of Task and Address_History__c, are counted here, where those tables are read anyway.
    read = {"Research_Request__c": n_research, "User": n_users}
    read.update(Task=row_count(calls), Address_History__c=row_count(history))
    requests, *sizes, without_id, repeated, no_account = compute(
        top, n_accounts, n_needs, n_owned, n_eligible, *read.values(), *checked,
        tasks_without_account(calls), stage="prioritise",
    )  # fmt: skip
    dropped = dropped_counts(AccountChecks.settle(without_id, repeated), no_account)
    requests = requests.reset_index(drop=True)
    summary = _summary(*(int(size) for size in sizes[:4]), requests)
    rows_read = {table: int(count) for table, count in zip(read, sizes[4:], strict=True)}
    return InfoflowResult(requests, {**summary, "dropped_rows": dropped}, rows_read)
