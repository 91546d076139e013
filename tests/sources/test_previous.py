"""The latest result of an earlier job: newest run id among finished run folders and SQL."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from dialflow.errors import DialflowError, InputError
from dialflow.schema import STRING
from dialflow.sinks import write_csv, write_sql_table
from dialflow.sources.previous import latest_result

JOB = "autoflush"
CSV_NAME = "autoflush_cleanup.csv"
TABLE = "autoflush_cleanup"
COLUMNS = ["AccountId", "Field", "PhoneE164"]
OLD = "2026-11-24T101500Z-0a1b2c"
NEW = "2026-11-25T204703Z-e30dc9"
NEWEST = "2026-11-26T000000Z-ffffff"


def _cleanup(account: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "AccountId": [account, f"{account}X"],
            "Field": ["Phone", "Mobile_Phone__c"],
            "PhoneE164": ["+14155550100", "+12127365000"],
            "Reason": ["disconnected", "wrong number"],
        }
    )


def _expected(account: str) -> pd.DataFrame:
    return _cleanup(account)[COLUMNS].astype(STRING)


def _url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'dialflow.sqlite'}"


def _run_folder(tmp_path, run_id: str, frame: pd.DataFrame, *, hidden: bool = False):
    folder = tmp_path / "out" / JOB / (f".{run_id}.tmp" if hidden else run_id)
    folder.mkdir(parents=True)
    write_csv(frame, folder / CSV_NAME)
    return folder / CSV_NAME


def _latest(tmp_path, sql_url: str | None = "default", columns: list[str] = COLUMNS):
    url = _url(tmp_path) if sql_url == "default" else sql_url
    return latest_result(tmp_path / "out", JOB, CSV_NAME, url, TABLE, columns)


def _same_rows(found: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(found.reset_index(drop=True), expected.reset_index(drop=True))


def test_none_when_the_job_never_ran(tmp_path):
    assert _latest(tmp_path) is None
    assert _latest(tmp_path, sql_url=None) is None
    write_sql_table(_url(tmp_path), "another_table", _cleanup("001A"), NEW)
    (tmp_path / "out" / JOB / "empty-folder").mkdir(parents=True)
    assert _latest(tmp_path) is None


def test_folder_only_gives_the_newest_finished_run(tmp_path):
    _run_folder(tmp_path, OLD, _cleanup("001OLD"))
    newest = _run_folder(tmp_path, NEW, _cleanup("001NEW"))
    found = _latest(tmp_path)
    assert found.run_id == NEW
    assert found.origin == str(newest)
    _same_rows(found.rows, _expected("001NEW"))


def test_sql_only_gives_the_rows_of_the_newest_run_id(tmp_path):
    url = _url(tmp_path)
    write_sql_table(url, TABLE, _cleanup("001NEW"), NEW)
    write_sql_table(url, TABLE, _cleanup("001OLD"), OLD)  # written later, but an older run id
    found = _latest(tmp_path)
    assert found.run_id == NEW
    assert found.origin == f"SQL table {TABLE}"
    _same_rows(found.rows, _expected("001NEW"))


@pytest.mark.parametrize("newest_place", ["folder", "sql"])
def test_the_newest_run_id_wins_across_folder_and_sql(tmp_path, newest_place):
    folder_run, sql_run = (NEW, OLD) if newest_place == "folder" else (OLD, NEW)
    path = _run_folder(tmp_path, folder_run, _cleanup("001FOLDER"))
    write_sql_table(_url(tmp_path), TABLE, _cleanup("001SQL"), sql_run)
    found = _latest(tmp_path)
    assert found.run_id == NEW
    if newest_place == "folder":
        assert found.origin == str(path)
        _same_rows(found.rows, _expected("001FOLDER"))
    else:
        assert found.origin == f"SQL table {TABLE}"
        _same_rows(found.rows, _expected("001SQL"))


def test_the_same_run_in_both_places_is_read_from_the_folder(tmp_path):
    path = _run_folder(tmp_path, NEW, _cleanup("001FOLDER"))
    write_sql_table(_url(tmp_path), TABLE, _cleanup("001SQL"), NEW)
    found = _latest(tmp_path)
    assert (found.run_id, found.origin) == (NEW, str(path))


def test_hidden_tmp_folders_of_unfinished_runs_are_ignored(tmp_path):
    _run_folder(tmp_path, NEWEST, _cleanup("001RUNNING"), hidden=True)
    assert _latest(tmp_path) is None
    path = _run_folder(tmp_path, OLD, _cleanup("001DONE"))
    found = _latest(tmp_path)
    assert (found.run_id, found.origin) == (OLD, str(path))
    _same_rows(found.rows, _expected("001DONE"))


def test_a_run_folder_without_the_result_file_is_skipped(tmp_path):
    path = _run_folder(tmp_path, OLD, _cleanup("001OLD"))
    (tmp_path / "out" / JOB / NEW).mkdir()
    (tmp_path / "out" / JOB / NEW / "summary.json").write_text("{}", encoding="utf-8")
    found = _latest(tmp_path)
    assert (found.run_id, found.origin) == (OLD, str(path))


def test_only_the_asked_columns_are_returned_as_strings_from_a_folder(tmp_path):
    folder = tmp_path / "out" / JOB / NEW
    folder.mkdir(parents=True)
    (folder / CSV_NAME).write_text(
        "AccountId,Extra,Field,PhoneE164,Count\n"
        "00123,x,Phone,+14155550100,7\n"
        "NA,y,Home_Phone__c,,8\n",
        encoding="utf-8",
    )
    found = _latest(tmp_path, sql_url=None)
    assert list(found.rows.columns) == COLUMNS
    assert {str(t) for t in found.rows.dtypes} == {str(pd.Series(dtype=STRING).dtype)}
    assert found.rows.to_dict("list") == {
        "AccountId": ["00123", "NA"],  # leading zero kept, "NA" is text
        "Field": ["Phone", "Home_Phone__c"],
        "PhoneE164": ["+14155550100", None],  # an empty field is missing, as NULL in SQL
    }


def test_only_the_asked_columns_are_returned_as_strings_from_sql(tmp_path):
    frame = _cleanup("00123").assign(Count=pd.array([7, 8], dtype="int64"))
    write_sql_table(_url(tmp_path), TABLE, frame, NEW)
    found = _latest(tmp_path, columns=["AccountId", "Count"])
    assert list(found.rows.columns) == ["AccountId", "Count"]
    assert {str(t) for t in found.rows.dtypes} == {str(pd.Series(dtype=STRING).dtype)}
    assert found.rows.to_dict("list") == {"AccountId": ["00123", "00123X"], "Count": ["7", "8"]}


def test_a_missing_value_reads_the_same_from_folder_and_sql(tmp_path):
    frame = _cleanup("001A")
    frame.loc[1, "PhoneE164"] = None
    _run_folder(tmp_path / "a", NEW, frame)
    from_folder = _latest(tmp_path / "a", sql_url=None)
    write_sql_table(_url(tmp_path / "b"), TABLE, frame, NEW)
    from_sql = _latest(tmp_path / "b")
    assert from_sql.origin == f"SQL table {TABLE}"
    _same_rows(from_sql.rows, from_folder.rows)


def test_a_result_file_missing_a_column_names_the_file(tmp_path):
    path = _run_folder(tmp_path, NEW, _cleanup("001A").drop(columns="PhoneE164"))
    write_sql_table(_url(tmp_path), TABLE, _cleanup("001SQL"), OLD)
    with pytest.raises(InputError) as caught:
        _latest(tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: cannot read the {JOB} result (")
    assert "PhoneE164" in message
    assert message.endswith(
        "; it needs the columns AccountId, Field, PhoneE164; move the run folder away to skip it"
    )


def test_no_sql_url_ignores_the_sql_table(tmp_path):
    url = _url(tmp_path)
    write_sql_table(url, TABLE, _cleanup("001SQL"), NEWEST)
    assert _latest(tmp_path, sql_url=None) is None
    path = _run_folder(tmp_path, OLD, _cleanup("001OLD"))
    found = _latest(tmp_path, sql_url=None)
    assert (found.run_id, found.origin) == (OLD, str(path))
    _same_rows(found.rows, _expected("001OLD"))
    assert _latest(tmp_path).run_id == NEWEST  # the SQL table is there and newer


def test_the_sql_table_is_only_read(tmp_path):
    url = _url(tmp_path)
    write_sql_table(url, TABLE, _cleanup("001SQL"), NEW)
    _latest(tmp_path)
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            runs = connection.execute(sa.text(f"SELECT run_id, COUNT(*) FROM {TABLE} GROUP BY 1"))
            assert [tuple(row) for row in runs] == [(NEW, 2)]
    finally:
        engine.dispose()


def test_a_driver_error_never_shows_the_password(tmp_path, monkeypatch):
    url = "postgresql+psycopg://app:s3cret@db.example/dial"

    class DriverQuotingTheUrl:  # as some ODBC drivers quote their DSN
        def connect(self):  # noqa: ANN202
            raise sa.exc.OperationalError("connect", {}, Exception(f"cannot open {url}"))

        def dispose(self) -> None:
            pass

    monkeypatch.setattr("dialflow.sinks.sql.sql_engine", lambda _: DriverQuotingTheUrl())
    with pytest.raises(DialflowError) as caught:
        _latest(tmp_path, url)
    assert str(caught.value) == (
        "SQL table autoflush_cleanup: reading the latest run failed (Exception: cannot open "
        "postgresql+psycopg://app:***@db.example/dial); check sql.url, or run with --no-sql"
    )
