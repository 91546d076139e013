"""Bad rows and unreadable input files, through the CLI: refused with one line, or survived
with the dropped rows counted (README "Input data", "Bad rows")."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dialflow.schema import table_columns
from tests.bad_inputs.conftest import assert_nothing_left
from tests.conftest import JOB_OUTPUTS, one_error_line, run_cli, run_folder, write_config

AS_OF = "2026-11-25T06:00:00Z"
NUMBER = "(415) 867-5309"
OWNER = dict(OwnerId="005A")
ACCOUNTS = [
    dict(Id="001A", Name="Alpha", Phone=NUMBER, CreatedDate="2025-01-01", **OWNER),
    dict(Id="001B", Name="Bravo", Phone="not a number", CreatedDate="2025-01-01", **OWNER),
    dict(Id="", Name="No Id", Phone="212-736-5000", CreatedDate="2025-01-01", **OWNER),
    dict(Id=None, Name="Null Id", Phone="617-253-1000", CreatedDate="2025-01-01", **OWNER),
]  # fmt: skip
CALLS = [
    dict(Id=f"00T{i}", AccountId="001A", Dialed_Number__c=NUMBER, CallDisposition="Disconnected",
         CreatedDate=day)
    for i, day in enumerate(["2026-01-01", "2026-04-01", "2026-07-01"])
] + [
    dict(Id="00T7", AccountId=None, Dialed_Number__c=NUMBER, CallDisposition="DC",
         CreatedDate="2026-07-02"),
    # A dialer that put the number in the disposition field: masked in summary.json.
    dict(Id="00T8", AccountId="001B", Dialed_Number__c=NUMBER, CallDisposition="+1 415 555 0142",
         CreatedDate="2026-07-02"),
]  # fmt: skip
USERS = [dict(Id="005A", Name="Ann Lee", Email="ann@example.com", IsActive="true")]


def write_tables(folder: Path, accounts: list[dict], calls: list[dict] = CALLS) -> Path:
    """Write the five tables as CSV (missing fields empty) and return the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = {"Account": accounts, "Task": calls, "User": USERS}
    for table in ("Account", "Task", "Research_Request__c", "Address_History__c", "User"):
        columns = list(table_columns(table))
        frame = pd.DataFrame(rows.get(table, []), columns=columns)
        frame.to_csv(folder / f"{table}.csv", index=False)
    return folder


def run_job(tmp_path: Path, job: str, data: Path, extra: str = ""):  # noqa: ANN201 - typer's Result
    config = write_config(tmp_path, data, extra)
    return run_cli("run", job, "--config", str(config), "--as-of", AS_OF, "--no-email")


def read_output(folder: Path, job: str) -> pd.DataFrame:
    return pd.read_csv(folder / JOB_OUTPUTS[job], dtype=str, keep_default_na=False)


def summary(folder: Path) -> dict:
    return json.loads((folder / "summary.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("method", ["exact", "probabilistic"])
def test_dedupe_drops_and_counts_accounts_without_id(tmp_path, method):
    duplicate = dict(Id="001C", Name="Alpha Copy", Phone=NUMBER, CreatedDate="2026-01-01")
    data = write_tables(tmp_path / "data", ACCOUNTS + [duplicate])
    result = run_job(tmp_path, "dedupe", data, f"dedupe:\n  method: {method}\n")
    folder = run_folder(result)
    assert "Account: 2 rows without an Id dropped" in result.output
    flagged = read_output(folder, "dedupe")[["Id", "SurvivorId"]].values.tolist()
    # The exact phone key links the two; the probabilistic method weighs a shared phone as one
    # piece of evidence, and the names and addresses differ: no merge.
    assert flagged == ([["001A", "001C"]] if method == "exact" else [])
    assert summary(folder)["counts"]["dropped_rows"] == {"Account": {"no_id": 2}}


def test_autoflush_drops_rows_without_id_and_masks_phone_dispositions(tmp_path):
    result = run_job(tmp_path, "autoflush", write_tables(tmp_path / "data", ACCOUNTS))
    folder = run_folder(result)
    rows = read_output(folder, "autoflush")
    assert rows[["AccountId", "Field", "Reason"]].values.tolist() == [
        ["001A", "Phone", "disconnected"]
    ]
    counts = summary(folder)["counts"]
    assert counts["dropped_rows"] == {"Account": {"no_id": 2}, "Task": {"no_account_id": 1}}
    assert counts["unmapped_dispositions"] == {"+* *** *** **42": 1}
    assert "555 0142" not in (folder / "summary.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("job", ["listiq", "infoflow"])
def test_listiq_and_infoflow_never_write_a_row_without_account_id(tmp_path, job):
    result = run_job(tmp_path, job, write_tables(tmp_path / "data", ACCOUNTS))
    folder = run_folder(result)
    rows = read_output(folder, job)
    # listiq calls 001A; infoflow asks for research on 001B (no valid number); never "".
    assert rows["AccountId"].tolist() == ["001A" if job == "listiq" else "001B"]
    assert summary(folder)["counts"]["dropped_rows"] == {
        "Account": {"no_id": 2},
        "Task": {"no_account_id": 1},
    }


def test_repeated_account_id_is_refused(tmp_path):
    data = write_tables(tmp_path / "data", ACCOUNTS + [dict(ACCOUNTS[1], Name="Bravo 2")])
    result = run_job(tmp_path, "dedupe", data)
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        "Error: Account: Id '001B' is held by 2 rows; keep one row per Id in the source "
        "(which one is right cannot be guessed)"
    )
    sql_url = f"sqlite:///{tmp_path / 'out' / 'dialflow.sqlite'}"
    assert_nothing_left(tmp_path / "out", "dedupe", sql_url, ("dedupe_flagged",))


@pytest.mark.parametrize("job", list(JOB_OUTPUTS))
def test_no_accounts_give_an_empty_result_with_its_header(tmp_path, job):
    result = run_job(tmp_path, job, write_tables(tmp_path / "data", [], calls=[]))
    rows = read_output(run_folder(result), job)
    assert rows.empty and len(rows.columns) > 0


def test_non_utf8_byte_deep_in_a_csv_names_file_and_line(tmp_path):
    accounts = [
        dict(Id=f"001{i:05d}", Name=f"Acme {i}", CreatedDate="2025-01-01") for i in range(15_001)
    ]
    data = write_tables(tmp_path / "data", accounts)
    lines = (data / "Account.csv").read_bytes().split(b"\n")
    lines[15_000] = lines[15_000].replace(b"Acme", b"Acm\xe9")  # line 15,001: row 15,000
    (data / "Account.csv").write_bytes(b"\n".join(lines))
    result = run_job(tmp_path, "dedupe", data)
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {data / 'Account.csv'}: line 15001: byte 0xe9 is not UTF-8; "
        f"re-export the file as UTF-8"
    )
    assert_nothing_left(tmp_path / "out", "dedupe")


def test_corrupt_parquet_part_is_named(tmp_path):
    data = write_tables(tmp_path / "data", ACCOUNTS)
    (data / "Account.csv").unlink()
    (data / "Account").mkdir()
    good = pd.DataFrame([dict(a) for a in ACCOUNTS[:2]], columns=list(table_columns("Account")))
    good = good.astype("string").assign(
        CreatedDate=pd.Timestamp("2025-01-01", tz="UTC"),
        LastModifiedDate=pd.Timestamp("2025-01-01", tz="UTC"),
        Do_Not_Call__c=pd.array([False, False], dtype="boolean"),
    )
    good.to_parquet(data / "Account" / "part-0.parquet")
    broken = bytearray((data / "Account" / "part-0.parquet").read_bytes())
    broken[4:60] = b"\x00" * 56  # the first column chunk's compressed data
    (data / "Account" / "part-1.parquet").write_bytes(bytes(broken))
    result = run_job(tmp_path, "dedupe", data)
    assert result.exit_code == 2
    line = one_error_line(result.output)
    part = data / "Account" / "part-1.parquet"
    assert line.startswith(f"Error: {part}: not readable as Parquet (")
    assert line.endswith("); rewrite or replace this part file")
    assert_nothing_left(tmp_path / "out", "dedupe")


def test_empty_table_folder_says_it_holds_no_data_files(tmp_path):
    data = write_tables(tmp_path / "data", ACCOUNTS)
    (data / "Account.csv").unlink()
    (data / "Account").mkdir()
    result = run_job(tmp_path, "dedupe", data)
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {data / 'Account'}: the Account table folder holds no data files (*.parquet or "
        f"*.csv); write the table's files there or point source.tables.Account at them"
    )
    assert_nothing_left(tmp_path / "out", "dedupe")
