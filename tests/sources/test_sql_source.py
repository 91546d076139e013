"""The SQL source: CreatedDate-range partitions read by Dask equal the file source, checked."""

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from pandas.testing import assert_frame_equal

from dialflow.errors import DialflowError, InputError
from dialflow.schema import DEFAULT_PHONE_FIELDS
from dialflow.sources import FileSource, SqlSource
from tests.conftest import make_demo, run_cli, write_config

TABLES = ["Account", "Task", "Research_Request__c", "Address_History__c", "User"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demo"), 2000, 6000, 3, "2026-11-25")


def load(url: str, demo: Path, tables: list[str] = TABLES) -> None:
    """Copy demo tables into a database, as an org's export would sit there."""
    engine = sa.create_engine(url)
    files = FileSource(demo, {}, DEFAULT_PHONE_FIELDS)
    for table in tables:
        files.read(table).compute().to_sql(table, engine, index=False, if_exists="replace")
    engine.dispose()


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("Id").reset_index(drop=True)


def test_sql_partitions_equal_the_files(tmp_path, demo):
    url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    load(url, demo)
    files = FileSource(demo, {}, DEFAULT_PHONE_FIELDS)
    source = SqlSource(url, {}, DEFAULT_PHONE_FIELDS, partitions=5)
    for table in TABLES:
        from_sql = source.read(table)
        if table != "User":
            assert from_sql.npartitions >= 5  # date ranges (+ NULLs when present)
        assert_frame_equal(by_id(from_sql.compute()), by_id(files.read(table).compute()))


def test_rows_with_no_created_date_are_read_too(tmp_path, demo):
    url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    load(url, demo, ["Task"])
    with sa.create_engine(url).begin() as connection:
        connection.execute(sa.text('UPDATE "Task" SET "CreatedDate" = NULL WHERE rowid <= 7'))
    read = SqlSource(url, {}, DEFAULT_PHONE_FIELDS, partitions=3).read("Task").compute()
    assert len(read) == 6000 and read["CreatedDate"].isna().sum() == 7


def test_an_empty_table_reads_as_no_rows_of_the_canonical_columns(tmp_path, demo):
    url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    load(url, demo, ["Task"])
    with sa.create_engine(url).begin() as connection:
        connection.execute(sa.text('DELETE FROM "Task"'))
    read = SqlSource(url, {}, DEFAULT_PHONE_FIELDS, partitions=3).read("Task")
    files = FileSource(demo, {}, DEFAULT_PHONE_FIELDS).read("Task")
    assert_frame_equal(read.compute(), files.compute().iloc[:0], check_index_type=False)


def test_missing_column_and_wrong_type_stop_before_work(tmp_path):
    url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    with sa.create_engine(url).begin() as connection:
        connection.execute(sa.text('CREATE TABLE "User" (Id TEXT, Name TEXT, IsActive BOOLEAN)'))
        connection.execute(
            sa.text(
                'CREATE TABLE "Research_Request__c" (Id TEXT, Account__c TEXT, '
                "CreatedDate INTEGER, Status__c TEXT)"
            )
        )
    source = SqlSource(url, {}, DEFAULT_PHONE_FIELDS)
    with pytest.raises(InputError) as missing:
        source.read("User")
    assert str(missing.value) == (
        "SQL table User: no column Email; add it or map the table in source.tables"
    )
    with pytest.raises(InputError) as wrong:
        source.read("Research_Request__c")
    assert str(wrong.value) == (
        "SQL table Research_Request__c: column CreatedDate is INTEGER, expected datetime; "
        "change the column type or cast it in a view"
    )
    with pytest.raises(InputError, match="^SQL table Task: not found in the source database"):
        source.read("Task")


def test_a_table_changed_during_the_run_fails_instead_of_answering_wrongly(tmp_path, demo):
    url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    load(url, demo, ["Research_Request__c"])
    frame = SqlSource(url, {}, DEFAULT_PHONE_FIELDS, partitions=2).read("Research_Request__c")
    with sa.create_engine(url).begin() as connection:
        connection.execute(sa.text('DELETE FROM "Research_Request__c" WHERE rowid = 1'))
    with pytest.raises(InputError, match="the table changed during the run"):
        frame.compute()


def test_a_job_reads_the_same_from_sql_as_from_files(tmp_path, demo):
    url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    load(url, demo, ["Account", "Task"])
    outputs = []
    for kind, extra in (("files", ""), ("sql", f"  kind: sql\n  sql_url: {url}\n")):
        (tmp_path / kind).mkdir()
        config = write_config(tmp_path / kind, demo)
        text = config.read_text().replace("source:\n", "source:\n" + extra)
        config.write_text(text)
        result = run_cli(
            "run", "autoflush", "--config", str(config), "--as-of", "2026-11-25T00:00:00Z",
            "--no-sql", "--no-email",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        outputs.append((Path(result.stdout.strip().splitlines()[-1]) / "autoflush_cleanup.csv"))
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    assert len(outputs[0].read_text().splitlines()) > 1


class _DriverQuotingTheUrl:
    """An engine whose driver error quotes the URL, as some ODBC drivers quote their DSN."""

    def __init__(self, url: str) -> None:
        self.url = url

    def connect(self):  # noqa: ANN201
        cause = Exception(f"cannot open {self.url} (PWD=s3cret;)\nsecond line")
        raise sa.exc.OperationalError("connect", {}, cause)


def test_a_driver_error_never_shows_the_password(monkeypatch):
    url = "postgresql+psycopg://reader:s3cret@db.example/crm"
    monkeypatch.setattr("dialflow.sources.sql._engine", _DriverQuotingTheUrl)
    with pytest.raises(DialflowError) as caught:
        SqlSource(url, {}, DEFAULT_PHONE_FIELDS).read("User")
    assert str(caught.value) == (
        "SQL table User: reading failed (Exception: cannot open "
        "postgresql+psycopg://reader:***@db.example/crm (PWD=***;)); check source.sql_url and "
        "the database"
    )
