"""Write-back to Salesforce: autoflush's cleanup, its undo, and infoflow's research requests.

Nothing here runs unless a command is given `--apply` (or `salesforce restore`). Every change goes
through Bulk API 2.0 ingest jobs. A flagged field is cleared only where it still holds the value
autoflush saw: the fields are read again just before the update, and a field changed in between
is skipped and reported. Every cleared value goes to `undo.csv`, which `dialflow salesforce
restore RUN_FOLDER` writes back (again only where the field is still empty).

The frames handled here are small by construction: one row per flagged field or per request,
already on the client as the job's result.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import DialflowError
from ..salesforce import Connection

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

# Bulk API 2.0: an empty value leaves a field as it is; this one sets it to null.
BULK_NULL = "#N/A"
IDS_PER_QUERY = 300  # keeps each SOQL well under Salesforce's 100,000-character limit

APPLY_COLUMNS = ["AccountId", "Field", "Phone", "Status", "Error"]
UNDO_COLUMNS = ["AccountId", "Field", "SalesforceField", "Value"]
RESTORE_COLUMNS = ["AccountId", "Field", "Value", "Status", "Error"]
REQUEST_APPLY_COLUMNS = ["AccountId", "Status", "RequestId", "Error"]


@dataclass(frozen=True)
class AccountFields:
    """Where the Account phone fields live in the org."""

    obj: str  # the org's Account object
    fields: dict[str, str]  # canonical phone field -> the org's field name


def compare_with_current(
    wanted: pd.DataFrame, current: pd.DataFrame, value_column: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split `wanted` (AccountId, Field, value_column) by whether the field now holds the value.

    `current` holds (AccountId, Field, Current) as just read from Salesforce; a record or field
    that no longer exists counts as changed. Returns (unchanged, changed)."""
    merged = wanted.merge(current, on=["AccountId", "Field"], how="left")
    same = merged["Current"].astype("string").eq(merged[value_column].astype("string"))
    same = same.fillna(False).astype(bool)
    return wanted[same.to_numpy()], wanted[~same.to_numpy()]


def update_records(changes: pd.DataFrame, value_column: str, names: dict[str, str]) -> list[dict]:
    """Return one Bulk API 2.0 update record per account: Id and every field it changes.

    Fields an account does not change stay empty, which Bulk API 2.0 leaves untouched."""
    columns = sorted({names[field] for field in changes["Field"].unique()})
    wide = (
        changes.assign(SalesforceField=changes["Field"].map(names))
        .pivot(index="AccountId", columns="SalesforceField", values=value_column)
        .reindex(columns=columns)
        .fillna("")
    )
    wide.insert(0, "Id", wide.index)
    return wide.to_dict("records")


def field_outcomes(changes: pd.DataFrame, failed: pd.DataFrame, ok_status: str) -> pd.DataFrame:
    """Mark each changed (AccountId, Field) with ok_status, or `failed` with its account's error.

    Bulk API 2.0 reports per record (account); every field of a failed account failed with it."""
    errors = failed.set_index("sf__Id")["sf__Error"] if len(failed) else pd.Series(dtype=object)
    error = changes["AccountId"].map(errors).astype(object)
    return changes.assign(
        Status=error.isna().map({True: ok_status, False: "failed"}),
        Error=error.fillna(""),
    )


def current_values(
    connection: Connection, where: AccountFields, ids: list[str], fields: list[str]
) -> pd.DataFrame:
    """Read the named canonical fields of these accounts now: (AccountId, Field, Current)."""
    from simple_salesforce import format_soql

    names = [where.fields[field] for field in fields]
    rows = []
    for start in range(0, len(ids), IDS_PER_QUERY):
        chunk = ids[start : start + IDS_PER_QUERY]
        soql = format_soql(
            "SELECT Id, {:literal} FROM {:literal} WHERE Id IN {}",
            ", ".join(names),
            where.obj,
            chunk,
        )
        records = connection.call(
            lambda client, soql=soql: client.query_all(soql), f"re-read of {where.obj}"
        )["records"]
        rows.extend(
            (record["Id"], field, record.get(where.fields[field]))
            for record in records
            for field in fields
        )
    return pd.DataFrame(rows, columns=["AccountId", "Field", "Current"])


def bulk_ingest(
    connection: Connection,
    obj: str,
    operation: str,
    records: list[dict],
    batch_records: int,
    poll_seconds: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run Bulk API 2.0 ingest jobs; return (successful, failed) records as Salesforce reports
    them (sf__Id and sf__Created, or sf__Id and sf__Error, then the uploaded columns)."""
    successful, failed = [], []
    for start in range(0, len(records), batch_records):
        batch = records[start : start + batch_records]

        def ingest(client: Salesforce, batch: list[dict] = batch) -> tuple[str, str]:
            bulk = getattr(client.bulk2, obj)
            (job,) = getattr(bulk, operation)(records=batch, wait=poll_seconds)
            job_id = job["job_id"]
            return bulk.get_successful_records(job_id), bulk.get_failed_records(job_id)

        ok_csv, failed_csv = connection.call(ingest, f"Bulk API 2.0 {operation} of {obj}")
        successful.append(_results_csv(ok_csv))
        failed.append(_results_csv(failed_csv))
    return _concat(successful), _concat(failed)


def _results_csv(text: str) -> pd.DataFrame:
    if not text.strip():
        return pd.DataFrame(columns=["sf__Id"])
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["sf__Id"])


@dataclass(frozen=True)
class ApplyResult:
    results: pd.DataFrame  # one row per field or request, with its Status and Error
    counts: dict[str, int]


def plan_clear(
    connection: Connection, cleanup: pd.DataFrame, where: AccountFields
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the flagged fields again; return (to clear, changed since the run read them)."""
    wanted = cleanup[["AccountId", "Field", "Phone"]].astype(object).reset_index(drop=True)
    if wanted.empty:
        return wanted, wanted
    return compare_with_current(wanted, _current_of(connection, where, wanted), "Phone")


def _current_of(connection: Connection, where: AccountFields, wanted: pd.DataFrame) -> pd.DataFrame:
    """Read, now, the fields named by `wanted`'s (AccountId, Field) rows."""
    return current_values(
        connection, where, sorted(wanted["AccountId"].unique()), sorted(wanted["Field"].unique())
    )


def undo_rows(to_clear: pd.DataFrame, where: AccountFields) -> pd.DataFrame:
    """Return undo.csv: the value of every field about to be cleared."""
    return pd.DataFrame(
        {
            "AccountId": to_clear["AccountId"],
            "Field": to_clear["Field"],
            "SalesforceField": to_clear["Field"].map(where.fields),
            "Value": to_clear["Phone"],
        },
        columns=UNDO_COLUMNS,
    ).reset_index(drop=True)


def clear_fields(
    connection: Connection,
    to_clear: pd.DataFrame,
    changed: pd.DataFrame,
    where: AccountFields,
    batch_records: int,
    poll_seconds: float,
) -> ApplyResult:
    """Set the fields to null with Bulk API 2.0 update jobs; report every field."""
    results = _update_fields(
        connection, where, to_clear.assign(Clear=BULK_NULL), "Clear", "cleared",
        changed, "skipped_changed", APPLY_COLUMNS, batch_records, poll_seconds,
    )  # fmt: skip
    return ApplyResult(results, _counts(results["Status"]))


def _update_fields(
    connection: Connection,
    where: AccountFields,
    changes: pd.DataFrame,
    value_column: str,
    ok_status: str,
    skipped: pd.DataFrame,
    skipped_status: str,
    columns: list[str],
    batch_records: int,
    poll_seconds: float,
) -> pd.DataFrame:
    """Write `changes[value_column]` into the accounts' fields; return one row per field of
    `changes` (ok_status, or failed with Salesforce's error) and of `skipped`, sorted."""
    outcomes = [skipped.assign(Status=skipped_status, Error="")]
    if len(changes):
        records = update_records(changes, value_column, where.fields)
        _, failed = bulk_ingest(
            connection, where.obj, "update", records, batch_records, poll_seconds
        )
        outcomes.append(field_outcomes(changes, failed, ok_status))
    results = pd.concat(outcomes, ignore_index=True).reindex(columns=columns)
    return results.sort_values(["AccountId", "Field"], ignore_index=True)


def restore_cleared(
    connection: Connection,
    undo: pd.DataFrame,
    where: AccountFields,
    batch_records: int,
    poll_seconds: float,
) -> pd.DataFrame:
    """Write undo.csv's values back where the field is still empty; a field that holds a value
    again (someone entered a new number) is skipped, not overwritten."""
    wanted = undo[["AccountId", "Field", "Value"]].astype(object).reset_index(drop=True)
    if wanted.empty:
        return pd.DataFrame(columns=RESTORE_COLUMNS)
    still_empty, changed = _still_empty(wanted, _current_of(connection, where, wanted))
    return _update_fields(
        connection, where, still_empty, "Value", "restored", changed,
        "skipped_not_empty", RESTORE_COLUMNS, batch_records, poll_seconds,
    )  # fmt: skip


def _still_empty(wanted: pd.DataFrame, current: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split undo rows by whether the field is empty now: (still empty, changed or gone)."""
    merged = wanted.merge(current, on=["AccountId", "Field"], how="left", indicator=True)
    empty = (merged["_merge"] == "both") & merged["Current"].isna()
    return wanted[empty.to_numpy()], wanted[~empty.to_numpy()]


def insert_research_requests(
    connection: Connection,
    requests: pd.DataFrame,
    obj: str,
    fields: dict[str, str],
    status: str,
    batch_records: int,
    poll_seconds: float,
) -> ApplyResult:
    """Insert one Research_Request__c per requested account; report each insert."""
    if requests.empty:
        return ApplyResult(pd.DataFrame(columns=REQUEST_APPLY_COLUMNS), _counts([]))
    account_field = fields.get("Account__c", "Account__c")
    status_field = fields.get("Status__c", "Status__c")
    records = [{account_field: account, status_field: status} for account in requests["AccountId"]]
    successful, failed = bulk_ingest(
        connection, obj, "insert", records, batch_records, poll_seconds
    )
    created = successful.rename(columns={"sf__Id": "RequestId", account_field: "AccountId"})
    refused = failed.rename(columns={"sf__Error": "Error", account_field: "AccountId"})
    results = pd.concat(
        [
            created.assign(Status="inserted", Error="")[
                ["AccountId", "Status", "RequestId", "Error"]
            ],
            refused.assign(Status="failed", RequestId="")[REQUEST_APPLY_COLUMNS],
        ],
        ignore_index=True,
    ).sort_values("AccountId", ignore_index=True)
    return ApplyResult(results, _counts(results["Status"]))


def _counts(statuses: pd.Series | list[str]) -> dict[str, int]:
    return {str(k): int(v) for k, v in pd.Series(statuses, dtype=object).value_counts().items()}


def require_rows(frame: pd.DataFrame, columns: list[str], path: str) -> None:
    """Stop with one line when a file read back for write-back lacks a column."""
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DialflowError(
            f"{path}: missing column {missing[0]}; it must be the file a dialflow run wrote"
        )
