"""Input rows a job cannot use (README "Bad rows"): dropped and counted, or the run refused.

- An Account row without an Id (null, empty or only spaces) cannot be named in any output or
  written back to: it is dropped, counted in summary.json (`counts.dropped_rows.Account.no_id`)
  and logged as a warning.
- An Account Id held by two or more rows stops the run (InputError, exit code 2): which row is
  right cannot be guessed, and merging them would silently mix two records.
- A Task row without an AccountId belongs to no account: the jobs that key calls by account drop
  it and count it (`counts.dropped_rows.Task.no_account_id`).

The checks are pure functions on one pandas partition; `AccountChecks` wires them on Dask so that
they are computed with a job's own first stage (one read of the table) and only counts and the
repeated Ids (none, in good data) come back to the client.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from ..schema import STRING, empty_frame

log = logging.getLogger(__name__)

REPEATED_META = empty_frame({"Id": STRING, "rows": "int64"})


def lacks_id(ids: pd.Series) -> np.ndarray:
    """Return True where an id is missing: null, empty or only white space."""
    text = ids.astype(STRING)
    return (text.isna() | (text.str.strip() == "")).fillna(True).to_numpy(dtype=bool)


def rows_with_id(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Return the rows of a partition whose `column` holds an id."""
    return frame[~lacks_id(frame[column])]


def count_without_id(frame: pd.DataFrame, column: str) -> int:
    """Return how many rows of a partition have no id in `column`."""
    return int(lacks_id(frame[column]).sum())


def repeated_ids(ids: pd.DataFrame) -> pd.DataFrame:
    """Return the Ids held by more than one row, with how many rows hold each.

    Correct per partition when every row of an Id is in it (after a shuffle on Id).
    """
    counts = ids["Id"].value_counts(dropna=True)
    repeated = counts[counts > 1]
    return pd.DataFrame(
        {"Id": repeated.index.astype(STRING), "rows": repeated.to_numpy(dtype="int64")}
    )


def refuse_repeated_ids(repeated: pd.DataFrame, table: str = "Account") -> None:
    """Stop the run when any Id is held by more than one row, naming the table and an example."""
    if repeated.empty:
        return
    example = repeated.sort_values(["rows", "Id"], ascending=[False, True]).iloc[0]
    others = f" (and {len(repeated) - 1} more repeated Ids)" if len(repeated) > 1 else ""
    raise InputError(
        f"{table}: Id {example['Id']!r} is held by {int(example['rows'])} rows{others}; "
        f"keep one row per Id in the source (which one is right cannot be guessed)"
    )


def dropped_counts(no_id: int, tasks_without_account: int | None = None) -> dict[str, Any]:
    """Return summary.json's `dropped_rows` and log a warning for every kind of dropped row."""
    counts: dict[str, Any] = {"Account": {"no_id": int(no_id)}}
    if no_id:
        log.warning("Account: %d rows without an Id dropped (no output can name them)", no_id)
    if tasks_without_account is not None:
        counts["Task"] = {"no_account_id": int(tasks_without_account)}
        if tasks_without_account:
            log.warning(
                "Task: %d rows without an AccountId dropped (they belong to no account)",
                tasks_without_account,
            )
    return counts


def checked_frames(
    accounts: pd.DataFrame, calls: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The checks on whole pandas frames (the jobs' references): return the Account rows with
    an Id and summary.json's `dropped_rows`; refuse repeated Ids."""
    kept = rows_with_id(accounts, "Id")
    refuse_repeated_ids(repeated_ids(kept[["Id"]]))
    without_account = None if calls is None else count_without_id(calls, "AccountId")
    return kept, dropped_counts(count_without_id(accounts, "Id"), without_account)


@dataclass(frozen=True)
class AccountChecks:
    """An Account frame's rows with an Id, and the lazy checks to compute with the job's stage."""

    accounts: Any  # dask DataFrame: the rows with an Id
    without_id: Any  # dask Scalar: rows without an Id
    repeated: Any  # dask DataFrame: Ids held by two or more rows (REPEATED_META)

    @classmethod
    def of(cls, accounts: Any) -> AccountChecks:
        """Wire the checks on a Dask Account frame; nothing is computed yet."""
        kept = accounts.map_partitions(
            rows_with_id, "Id", meta=accounts._meta, token="check-account-ids"
        )
        # Only the Id column travels through the shuffle; only repeated Ids come back.
        repeated = (
            kept[["Id"]]
            .shuffle(on="Id")
            .map_partitions(repeated_ids, meta=REPEATED_META, token="check-repeated-ids")
        )
        without_id = accounts.map_partitions(count_without_id, "Id", meta=(None, "int64")).sum()
        return cls(kept, without_id, repeated)

    @property
    def collections(self) -> tuple[Any, Any]:
        """The lazy checks, to compute together with the job's first stage."""
        return self.without_id, self.repeated

    @staticmethod
    def settle(without_id: int, repeated: pd.DataFrame) -> int:
        """Refuse repeated Ids; return the rows dropped for having no Id."""
        refuse_repeated_ids(repeated)
        return int(without_id)


def row_count(frame: Any) -> Any:
    """Return the lazy count of a Dask frame's rows (summary.json's inputs: rows read)."""
    return frame.map_partitions(len, meta=(None, "int64")).sum()


def tasks_without_account(calls: Any) -> Any:
    """Return the lazy count of a Dask Task frame's rows without an AccountId."""
    return calls.map_partitions(count_without_id, "AccountId", meta=(None, "int64")).sum()
