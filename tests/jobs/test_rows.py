"""Bad input rows: the pure checks, and each job's Dask wiring with them (no cluster)."""

from __future__ import annotations

import dask.dataframe as dd
import pandas as pd
import pytest

from dialflow.config import Settings
from dialflow.errors import InputError
from dialflow.jobs.autoflush import AutoflushParams, autoflush_frame, run_autoflush, summarise
from dialflow.jobs.dedupe import dedupe_frame, run_dedupe
from dialflow.jobs.rows import (
    checked_frames,
    count_without_id,
    lacks_id,
    refuse_repeated_ids,
    repeated_ids,
    rows_with_id,
)
from tests.conftest import CHAIN_ACCOUNTS, accounts_frame, calls_frame

AS_OF = pd.Timestamp("2026-11-25", tz="UTC")
NO_ID = [dict(Id=None, Name="Nobody", Phone="(415) 867-5309"), dict(Id="  ", Name="Blank")]


def test_missing_ids_are_null_empty_or_blank():
    ids = pd.Series(["001A", None, "", "  ", "\t", "0"], dtype="string[pyarrow]")
    assert lacks_id(ids).tolist() == [False, True, True, True, True, False]
    frame = pd.DataFrame({"Id": ids, "n": range(6)})
    assert rows_with_id(frame, "Id")["n"].tolist() == [0, 5]
    assert count_without_id(frame, "Id") == 4


def test_repeated_ids_name_the_table_and_the_most_repeated_example():
    ids = pd.DataFrame({"Id": pd.Series(["b", "a", "b", "c", "c", "c", "d"], dtype="string")})
    repeated = repeated_ids(ids)
    assert sorted(repeated.itertuples(index=False, name=None)) == [("b", 2), ("c", 3)]
    with pytest.raises(InputError) as caught:
        refuse_repeated_ids(repeated)
    assert str(caught.value) == (
        "Account: Id 'c' is held by 3 rows (and 1 more repeated Ids); keep one row per Id in "
        "the source (which one is right cannot be guessed)"
    )
    refuse_repeated_ids(repeated_ids(ids.drop_duplicates()))  # no error


def test_checked_frames_drop_and_count():
    accounts = accounts_frame(CHAIN_ACCOUNTS + NO_ID)
    calls = calls_frame([("001A", "1", "DC", "2026-01-01"), (None, "1", "DC", "2026-01-01")])
    kept, dropped = checked_frames(accounts, calls)
    assert kept["Id"].tolist() == ["001A", "001B", "001C", "001D"]
    assert dropped == {"Account": {"no_id": 2}, "Task": {"no_account_id": 1}}


def test_dedupe_drops_accounts_without_id_on_dask_as_in_pandas(dedupe_defaults):
    accounts = accounts_frame(CHAIN_ACCOUNTS + NO_ID)
    flagged, counts = dedupe_frame(accounts, dedupe_defaults)
    on_dask = run_dedupe(dd.from_pandas(accounts, npartitions=3), dedupe_defaults)
    pd.testing.assert_frame_equal(on_dask.flagged, flagged)
    assert on_dask.counts == counts
    assert flagged["Id"].tolist() == ["001A", "001C"]
    assert counts["dropped_rows"] == {"Account": {"no_id": 2}}


def test_dedupe_refuses_a_repeated_id_across_partitions(dedupe_defaults):
    accounts = accounts_frame(CHAIN_ACCOUNTS + [dict(CHAIN_ACCOUNTS[3], Name="Other")])
    with pytest.raises(InputError, match="^Account: Id '001D' is held by 2 rows; keep one"):
        run_dedupe(dd.from_pandas(accounts, npartitions=4, sort=False), dedupe_defaults)


def test_dedupe_on_no_accounts_lists_every_key_kind(dedupe_defaults):
    result = run_dedupe(dd.from_pandas(accounts_frame([]), npartitions=1), dedupe_defaults)
    assert result.flagged.empty
    assert result.counts["keys"] == {"phone": {}, "name_postal": {}}


def test_autoflush_never_writes_a_row_without_account():
    params = AutoflushParams.from_settings(Settings(), AS_OF)
    number = "(415) 867-5309"
    accounts = accounts_frame([dict(Id="001A", Phone=number)] + NO_ID)
    days = ["2026-01-01", "2026-03-01", "2026-06-01"]
    calls = calls_frame(
        [("001A", number, "Disconnected", day) for day in days]
        + [(None, number, "Disconnected", "2026-06-02"), ("", number, "Wrong Number", "2026-06-02")]
    )
    rows, counts = autoflush_frame(calls, accounts, params)
    on_dask = run_autoflush(dd.from_pandas(calls, 2), dd.from_pandas(accounts, 2), params)
    pd.testing.assert_frame_equal(on_dask.cleanup, rows)
    assert on_dask.counts == counts
    assert rows[["AccountId", "Field"]].values.tolist() == [["001A", "Phone"]]
    assert counts["dropped_rows"] == {"Account": {"no_id": 2}, "Task": {"no_account_id": 2}}


def test_phone_numbers_used_as_dispositions_are_masked_in_the_summary():
    counts = pd.DataFrame(
        {
            "Category": ["unmapped"] * 4,
            "Disposition": ["+1 (415) 867-5309", "+1 (212) 555-0109", "415.555.0100", "Left Msg"],
            "calls": [2, 1, 1, 1],
        }
    )
    empty = pd.DataFrame(columns=["Reason", "Field", "AccountId"])
    summary = summarise(counts, 0, empty, empty)
    assert summary["unmapped_dispositions"] == {
        "+* (***) ***-**09": 3,  # both numbers end in 09: masked alike, added up
        "***.***.**00": 1,
        "Left Msg": 1,
    }
