"""write_sql_table, prune_runs and forget_run on SQLite, PostgreSQL and MariaDB
(tests/sql_servers.py), and the statements write_sql_table sends to SQL Server, compiled with
SQLAlchemy's mssql dialect against a recording connection.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import time

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.mssql import pyodbc as mssql_pyodbc

from dialflow.errors import DialflowError
from dialflow.sinks import sql
from dialflow.sinks.sql import RUNS_TABLE, forget_run, prune_runs, registered_runs, write_sql_table
from tests.sql_servers import SERVERS, backend, other_connection

TABLE = "results"
UTC = dt.timezone.utc
RUN_IDS = ["2026-11-23T080000Z-aaaaaa", "2026-11-24T080000Z-bbbbbb", "2026-11-25T080000Z-cccccc"]
LONG = "x" * 254 + "é"  # 255 characters, the last one two bytes in UTF-8
TEXTS = [
    "plain",
    None,
    "",
    "NULL",
    "say \"hi\", 'there'",
    "comma, separated,,",
    "line one\nline two\r\nthree",
    "back\\slash \\N \\\\",
    "Café Ünïcode 東京",
    LONG,
]
INTS = [1, None, 0, -1, 2**62, -(2**62), 2**62 + 12345, 42, 7, -7]
FLOATS = [1.5, None, 0.1, -2.5e300, 1e-300, 3.141592653589793, 0.0, -0.0, 123456789.123456789, 2.0]
BOOLS = [True, None, False, True, False, True, False, True, False, True]
STAMPS = [
    "2026-01-01T00:00:00.123456Z",
    None,
    "1999-12-31T23:59:59.999999Z",
    "2026-06-01T12:30:00.000001+02:00",
    "2026-11-25T00:00:00Z",
    "1970-01-01T00:00:00.5Z",
    "2038-01-19T03:14:08.654321Z",
    "2026-03-08T02:30:00.250000-05:00",
    "2000-02-29T12:00:00Z",
    "2026-11-25T23:59:59.999999Z",
]


def tricky_frame() -> pd.DataFrame:
    """Ten rows with a NULL in every column (row 1) and awkward values elsewhere."""
    return pd.DataFrame(
        {
            "row": pd.array(range(len(TEXTS)), dtype="Int64"),
            "text": pd.array(TEXTS, dtype="string"),
            "count": pd.array(INTS, dtype="Int64"),
            "amount": pd.array(FLOATS, dtype="float64"),
            "flag": pd.array(BOOLS, dtype="boolean"),
            "at": pd.to_datetime(STAMPS, utc=True, format="ISO8601"),
        }
    )


def small_frame(n: int, tag: str, rows: int = 3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": pd.array(range(rows), dtype="Int64"),
            "text": pd.array([f"{tag}-{i}" for i in range(rows)], dtype="string"),
            "count": pd.array([n * 100 + i for i in range(rows)], dtype="Int64"),
        }
    )


def _utc(value):  # noqa: ANN001, ANN202
    """A datetime as an aware UTC one (naive ones are read as UTC, as the sink writes them)."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite reflected without a type
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def read_rows(url: str, table: str = TABLE) -> list[dict]:
    """Every row of a table through a second connection, ordered by run_id then row."""
    with other_connection(url) as connection:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
        query = sa.select(reflected).order_by(reflected.c.run_id, reflected.c.row)
        return [dict(row._mapping) for row in connection.execute(query)]


def table_names(url: str) -> set[str]:
    with other_connection(url) as connection:
        return set(sa.inspect(connection).get_table_names())


def staging_left(url: str) -> list[str]:
    """Staging tables still visible from another session (any schema, temporary ones too)."""
    left = sorted(name for name in table_names(url) if "_stage_" in name)
    if backend(url) == "postgresql":
        with other_connection(url) as connection:
            left += connection.execute(
                sa.text("SELECT relname FROM pg_class WHERE relname LIKE :pattern"),
                {"pattern": f"{TABLE}\\_stage\\_%"},
            ).scalars().all()  # fmt: skip
    return left


def expected_rows(frame: pd.DataFrame, run_id: str) -> list[dict]:
    rows = []
    for record in frame.astype(object).to_dict("records"):
        row = {"run_id": run_id}
        for name, value in record.items():
            if value is None or value is pd.NA or value is pd.NaT:
                row[name] = None
            elif isinstance(value, pd.Timestamp):
                row[name] = value.to_pydatetime().astimezone(UTC)
            else:
                row[name] = value
        rows.append(row)
    return rows


def normalized(rows: list[dict], columns: list[str]) -> list[dict]:
    """Rows as plain Python: UTC datetimes, booleans from MariaDB's 1/0, ints as int."""
    out = []
    for row in rows:
        clean = {"run_id": row["run_id"]}
        for name in columns:
            value = row[name]
            if value is not None and name == "at":
                value = _utc(value)
            elif value is not None and name == "flag":
                value = bool(value)
            clean[name] = value
        out.append(clean)
    return out


def one_line(caught: pytest.ExceptionInfo, table: str, rows: int) -> str:
    message = str(caught.value)
    assert "\n" not in message and "\r" not in message, message
    assert message.startswith(f"SQL table {table}: writing {rows} rows failed ("), message
    assert message.endswith("); nothing was written; check sql.url and the database"), message
    return message


# --- round trip ---------------------------------------------------------------------------------


def test_round_trip_of_text_integers_and_booleans_is_exact(sql_url):
    frame = tricky_frame()
    assert write_sql_table(sql_url, TABLE, frame, RUN_IDS[0]) == len(frame)
    columns = ["row", "text", "count", "flag"]
    got = normalized(read_rows(sql_url), columns)
    want = [{k: r[k] for k in ["run_id", *columns]} for r in expected_rows(frame, RUN_IDS[0])]
    assert got == want
    assert got[1] == {"run_id": RUN_IDS[0], "row": 1, "text": None, "count": None, "flag": None}
    assert got[2]["text"] == "" and got[3]["text"] == "NULL"  # neither is NULL
    assert len(got[9]["text"]) == 255


def test_round_trip_keeps_timestamps_to_the_microsecond(sql_url):
    frame = tricky_frame()
    before = dt.datetime.now(UTC)
    write_sql_table(sql_url, TABLE, frame, RUN_IDS[0])
    after = dt.datetime.now(UTC)
    rows = read_rows(sql_url)
    assert [_utc(row["at"]) for row in rows] == [r["at"] for r in expected_rows(frame, "")]
    created = {_utc(row["created_at"]) for row in rows}
    assert len(created) == 1
    (stamp,) = created
    assert before - dt.timedelta(microseconds=1) <= stamp <= after
    assert stamp.microsecond != 0 or before.microsecond == 0  # not rounded to the second


def test_round_trip_keeps_floats_exact(sql_url):
    frame = tricky_frame()
    write_sql_table(sql_url, TABLE, frame, RUN_IDS[0])
    # The driver's own values: SQLAlchemy's reflected MySQL DOUBLE would turn them into Decimal.
    with other_connection(sql_url) as connection:
        amounts = [
            value
            for (value,) in connection.execute(
                sa.select(sa.column("amount"))
                .select_from(sa.table(TABLE))
                .order_by(sa.column("row"))
            )
        ]
    assert amounts == [None if pd.isna(v) else v for v in FLOATS]


def test_run_id_and_created_at_tag_every_row(sql_url):
    before = dt.datetime.now(UTC).replace(microsecond=0)
    write_sql_table(sql_url, TABLE, tricky_frame(), RUN_IDS[0])
    after = dt.datetime.now(UTC)
    rows = read_rows(sql_url)
    assert {row["run_id"] for row in rows} == {RUN_IDS[0]}
    created = {_utc(row["created_at"]) for row in rows}
    assert len(created) == 1 and before <= created.pop() <= after


def test_the_target_is_created_with_explicit_types_and_a_run_id_index(sql_url):
    write_sql_table(sql_url, TABLE, tricky_frame(), RUN_IDS[0])
    assert table_names(sql_url) == {TABLE, RUNS_TABLE}
    with other_connection(sql_url) as connection:
        inspector = sa.inspect(connection)
        columns = {c["name"]: c for c in inspector.get_columns(TABLE)}
        indexes = inspector.get_indexes(TABLE)
    assert list(columns) == ["run_id", "created_at", "row", "text", "count", "amount", "flag", "at"]
    assert not columns["run_id"]["nullable"] and not columns["created_at"]["nullable"]
    assert columns["text"]["type"].length == 255
    assert columns["run_id"]["type"].length == 64
    assert isinstance(columns["count"]["type"], sa.BigInteger)
    assert isinstance(columns["created_at"]["type"], sa.DateTime)
    assert [index["column_names"] for index in indexes] == [["run_id"]]


# --- appending and retention --------------------------------------------------------------------


def test_two_runs_append(sql_url):
    write_sql_table(sql_url, TABLE, small_frame(1, "a", rows=3), RUN_IDS[0])
    write_sql_table(sql_url, TABLE, small_frame(2, "b", rows=2), RUN_IDS[1])
    rows = read_rows(sql_url)
    assert [(row["run_id"], row["text"]) for row in rows] == [
        (RUN_IDS[0], "a-0"), (RUN_IDS[0], "a-1"), (RUN_IDS[0], "a-2"),
        (RUN_IDS[1], "b-0"), (RUN_IDS[1], "b-1"),
    ]  # fmt: skip


def test_a_run_with_more_columns_adds_them_to_the_table_and_earlier_rows_keep_null(sql_url):
    write_sql_table(sql_url, TABLE, small_frame(1, "a", rows=1), RUN_IDS[0])
    wider = small_frame(2, "b", rows=1).assign(
        MatchProbability=pd.array([0.75], dtype="Float64"),
        Evidence=pd.array(["name=exact(+9.00)"], dtype="string"),
    )
    write_sql_table(sql_url, TABLE, wider, RUN_IDS[1])
    rows = read_rows(sql_url)
    assert [(r["text"], r["MatchProbability"], r["Evidence"]) for r in rows] == [
        ("a-0", None, None), ("b-0", 0.75, "name=exact(+9.00)"),
    ]  # fmt: skip


def test_each_run_is_registered_with_its_rows_in_the_same_write(sql_url):
    write_sql_table(sql_url, TABLE, small_frame(1, "a", rows=3), RUN_IDS[0])
    write_sql_table(sql_url, "other", small_frame(2, "b", rows=2), RUN_IDS[1])
    assert registered_runs(sql_url, TABLE) == {RUN_IDS[0]}
    assert registered_runs(sql_url, "other") == {RUN_IDS[1]}
    with other_connection(sql_url) as connection:
        rows = connection.execute(
            sa.text(f"SELECT run_id, result_table, row_count FROM {RUNS_TABLE} ORDER BY run_id")
        ).all()
    assert [tuple(row) for row in rows] == [(RUN_IDS[0], TABLE, 3), (RUN_IDS[1], "other", 2)]


def test_retention_keeps_exactly_the_two_newest_runs(sql_url):
    for n, run_id in enumerate(RUN_IDS):
        write_sql_table(sql_url, TABLE, small_frame(n, f"r{n}", rows=n + 2), run_id)
        prune_runs(sql_url, TABLE, 2)
    rows = read_rows(sql_url)
    assert sorted({row["run_id"] for row in rows}) == RUN_IDS[1:]
    assert [row["text"] for row in rows] == ["r1-0", "r1-1", "r1-2", "r2-0", "r2-1", "r2-2", "r2-3"]
    assert registered_runs(sql_url, TABLE) == set(RUN_IDS[1:])


def test_an_empty_run_creates_the_table_and_counts_as_the_newest_run(sql_url):
    """A run that found nothing is a result ("nothing to flag"): it is registered, and retention
    counts it like any other run."""
    assert write_sql_table(sql_url, TABLE, small_frame(0, "a").iloc[:0], RUN_IDS[0]) == 0
    assert TABLE in table_names(sql_url) and read_rows(sql_url) == []
    write_sql_table(sql_url, TABLE, small_frame(1, "b"), RUN_IDS[1])
    assert write_sql_table(sql_url, TABLE, small_frame(2, "c").iloc[:0], RUN_IDS[2]) == 0
    assert prune_runs(sql_url, TABLE, 1) == 2
    assert read_rows(sql_url) == [] and registered_runs(sql_url, TABLE) == {RUN_IDS[2]}


def test_forget_run_removes_its_rows_and_registry_entry_only(sql_url):
    write_sql_table(sql_url, TABLE, small_frame(1, "a"), RUN_IDS[0])
    write_sql_table(sql_url, TABLE, small_frame(2, "b"), RUN_IDS[1])
    forget_run(sql_url, TABLE, RUN_IDS[1])
    forget_run(sql_url, TABLE, RUN_IDS[2])  # never written: nothing to do
    assert {row["run_id"] for row in read_rows(sql_url)} == {RUN_IDS[0]}
    assert registered_runs(sql_url, TABLE) == {RUN_IDS[0]}


# --- failures leave the target as it was --------------------------------------------------------


@pytest.fixture
def statements(monkeypatch) -> list[str]:
    """Every SQL statement any engine sends while the test runs."""
    sent: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # noqa: ANN001, ARG001
        sent.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    yield sent
    sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


def _staging_created_and_dropped(url: str, sent: list[str]) -> None:
    if backend(url) == "sqlite":
        assert not any("_stage_" in statement for statement in sent)
        return
    created = [s for s in sent if s.lstrip().startswith("CREATE TEMPORARY TABLE")]
    dropped = [s for s in sent if s.lstrip().startswith("DROP TABLE") and "_stage_" in s]
    assert len(created) == 1 and "_stage_" in created[0], sent
    assert len(dropped) == 1, sent


def test_a_frame_that_does_not_match_the_table_fails_and_changes_nothing(sql_url, statements):
    write_sql_table(sql_url, TABLE, small_frame(1, "a"), RUN_IDS[0])
    before = read_rows(sql_url)
    frame = small_frame(2, "b").rename(columns={"count": "renamed"})
    statements.clear()
    with pytest.raises(DialflowError) as caught:
        write_sql_table(sql_url, TABLE, frame, RUN_IDS[1])
    one_line(caught, TABLE, 3)
    assert "renamed" in str(caught.value)
    assert read_rows(sql_url) == before
    assert table_names(sql_url) == {TABLE, RUNS_TABLE}
    assert registered_runs(sql_url, TABLE) == {RUN_IDS[0]}
    assert staging_left(sql_url) == []
    _staging_created_and_dropped(sql_url, statements)


def test_an_overlong_value_is_refused_naming_column_and_row_and_changes_nothing(
    sql_url, statements
):
    """Servers would refuse (PostgreSQL) or cut (MariaDB) it and SQLite would keep it: every
    backend refuses it before writing, with the column and the row in the message."""
    write_sql_table(sql_url, TABLE, small_frame(1, "a"), RUN_IDS[0])
    before = read_rows(sql_url)
    frame = small_frame(2, "b")
    frame.loc[1, "text"] = "y" * 256
    statements.clear()
    with pytest.raises(DialflowError) as caught:
        write_sql_table(sql_url, TABLE, frame, RUN_IDS[1])
    assert str(caught.value) == (
        "SQL table results: column text, row 2, holds 256 characters, more than the 255 the "
        "column takes; nothing was written; shorten the value at the source, or run with --no-sql"
    )
    assert statements == []
    assert read_rows(sql_url) == before


def test_an_unreachable_database_is_one_line(tmp_path):
    url = f"sqlite:///{tmp_path}"  # a folder, not a database file
    with pytest.raises(DialflowError) as caught:
        write_sql_table(url, TABLE, small_frame(1, "a"), RUN_IDS[0])
    assert "OperationalError" in one_line(caught, TABLE, 3)


@pytest.mark.parametrize("sql_url", ["mariadb"], indirect=True)
def test_a_mariadb_port_with_no_server_fails_instead_of_using_3306(sql_url):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = sa.engine.make_url(sql_url).set(port=port).render_as_string(hide_password=False)
    with pytest.raises(DialflowError):
        write_sql_table(url, TABLE, small_frame(1, "a"), RUN_IDS[0])


# --- a connection dropped in the middle of a write ----------------------------------------------


def _session_id(connection: sa.Connection) -> int:
    query = "SELECT pg_backend_pid()" if backend(str(connection.engine.url)) == "postgresql" else (
        "SELECT CONNECTION_ID()"
    )  # fmt: skip
    return int(connection.exec_driver_sql(query).scalar())


def _kill(url: str, session: int) -> None:
    """End another session from a second connection and wait until the server let it go."""
    with other_connection(url) as admin:
        if backend(url) == "postgresql":
            assert admin.execute(
                sa.text("SELECT pg_terminate_backend(:p)"), {"p": session}
            ).scalar()
            alive = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :p")
        else:
            admin.exec_driver_sql(f"KILL CONNECTION {session:d}")
            alive = sa.text("SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = :p")
        deadline = time.monotonic() + 10
        while admin.execute(alive, {"p": session}).scalar():
            assert time.monotonic() < deadline, f"session {session} still alive"
            time.sleep(0.05)


@pytest.mark.parametrize("sql_url", SERVERS, indirect=True)
@pytest.mark.parametrize("after", ["_bulk_load", "_register"])
def test_a_connection_killed_mid_write_raises_and_keeps_the_target(sql_url, monkeypatch, after):
    """Killed after the staging load (before the final transaction), or inside the final
    transaction after the insert and the registry row, before COMMIT: nothing changes."""
    write_sql_table(sql_url, TABLE, small_frame(1, "a"), RUN_IDS[0])
    before = read_rows(sql_url)
    real = getattr(sql, after)
    killed: list[int] = []

    def then_kill(connection, *args, **kwargs):  # noqa: ANN001, ANN202
        result = real(connection, *args, **kwargs)
        killed.append(_session_id(connection))
        _kill(sql_url, killed[-1])
        return result

    monkeypatch.setattr(sql, after, then_kill)
    with pytest.raises(DialflowError) as caught:
        write_sql_table(sql_url, TABLE, small_frame(2, "b", rows=4), RUN_IDS[1])
    assert len(killed) == 1
    one_line(caught, TABLE, 4)
    monkeypatch.undo()
    assert read_rows(sql_url) == before
    assert staging_left(sql_url) == []
    # The table is still usable: the next run writes and prunes as usual.
    assert registered_runs(sql_url, TABLE) == {RUN_IDS[0]}
    write_sql_table(sql_url, TABLE, small_frame(3, "c"), RUN_IDS[2])
    prune_runs(sql_url, TABLE, 1)
    assert {row["run_id"] for row in read_rows(sql_url)} == {RUN_IDS[2]}


@pytest.mark.parametrize("sql_url", SERVERS, indirect=True)
def test_a_killed_connection_is_reported_as_a_lost_connection(sql_url, monkeypatch):
    write_sql_table(sql_url, TABLE, small_frame(1, "a"), RUN_IDS[0])
    real = sql._bulk_load

    def then_kill(connection, *args, **kwargs):  # noqa: ANN001, ANN202
        real(connection, *args, **kwargs)
        _kill(sql_url, _session_id(connection))

    monkeypatch.setattr(sql, "_bulk_load", then_kill)
    with pytest.raises(DialflowError) as caught:
        write_sql_table(sql_url, TABLE, small_frame(2, "b"), RUN_IDS[1])
    message = one_line(caught, TABLE, 3)
    assert re.search(r"(?i)terminat|closed the connection|gone away|lost connection", message)
    assert "_stage_" not in message


# --- SQL Server: the statements, compiled without a server --------------------------------------


class _Result:
    def __init__(self, newest: list[str]) -> None:
        self.newest = newest

    def scalars(self) -> _Result:
        return self

    def all(self) -> list[str]:
        return self.newest


class _RecordingConnection:
    """Stands in for an engine and its connection: records statements, runs nothing."""

    def __init__(self, newest: list[str]) -> None:
        self.dialect = mssql_pyodbc.dialect(paramstyle="qmark")  # as with pyodbc
        self.newest = newest
        self.sent: list = []

    # engine
    def begin(self) -> _RecordingConnection:
        return self

    connect = begin

    def dispose(self) -> None:
        pass

    # connection
    def __enter__(self) -> _RecordingConnection:
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.sent.append("END")

    def schema_for_object(self, obj):  # noqa: ANN001, ANN201
        return obj.schema

    def _run_ddl_visitor(self, visitorcallable, element, **kwargs) -> None:  # noqa: ANN001, ANN003
        kwargs["checkfirst"] = False  # as SQLAlchemy's mock engine does
        visitorcallable(dialect=self.dialect, connection=self, **kwargs).traverse_single(element)

    def execute(self, statement, parameters=None) -> _Result:  # noqa: ANN001
        self.sent.append((statement, parameters))
        return _Result(self.newest)

    def exec_driver_sql(self, statement, parameters=None) -> _Result:  # noqa: ANN001
        raise AssertionError(f"raw SQL on SQL Server: {statement}")

    def commit(self) -> None:
        self.sent.append("COMMIT")

    def rollback(self) -> None:
        self.sent.append("ROLLBACK")


def test_sql_server_statements_use_nvarchar_bigint_datetimeoffset_and_bound_values(monkeypatch):
    frame = tricky_frame()
    fake = _RecordingConnection(newest=[RUN_IDS[2], RUN_IDS[1]])
    monkeypatch.setattr(sql, "sql_engine", lambda url: fake)
    monkeypatch.setattr(sql, "_existing_columns", lambda connection, table: None)  # no table yet
    monkeypatch.setattr(sql.secrets, "token_hex", lambda n: "0badcafe")
    assert write_sql_table("mssql+pyodbc://db", TABLE, frame, RUN_IDS[2]) == len(frame)
    dialect = fake.dialect
    compiled = [
        (item if isinstance(item, str) else item[0].compile(dialect=dialect), item)
        for item in fake.sent
    ]
    texts = [" ".join(str(c).split()) if not isinstance(c, str) else c for c, _ in compiled]
    columns = (
        "run_id NVARCHAR(64) NOT NULL, created_at DATETIMEOFFSET NOT NULL, row BIGINT NULL, "
        "text NVARCHAR(255) NULL, count BIGINT NULL, amount DOUBLE PRECISION NULL, flag BIT NULL, "
        "at DATETIMEOFFSET NULL"
    )
    stage = "[#results_stage_0badcafe]"
    names = "run_id, created_at, row, text, count, amount, flag, at"
    staged = ", ".join(f"{stage}.{name}" for name in names.split(", "))
    assert texts == [
        f"CREATE TABLE results ( {columns} )",
        "CREATE INDEX ix_results_run_id ON results (run_id)",
        "CREATE TABLE dialflow_runs ( run_id NVARCHAR(64) NOT NULL, result_table NVARCHAR(128) "
        "NOT NULL, row_count BIGINT NOT NULL, committed_at DATETIMEOFFSET NOT NULL, "
        "PRIMARY KEY (run_id, result_table) )",
        "END",
        f"CREATE TABLE {stage} ( {columns} )",
        "COMMIT",
        f"INSERT INTO {stage} ({names}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        "COMMIT",
        f"INSERT INTO results ({names}) SELECT {staged} FROM {stage}",
        "INSERT INTO dialflow_runs (run_id, result_table, row_count, committed_at) "
        "VALUES (?, ?, ?, ?)",
        "COMMIT",
        f"DROP TABLE {stage}",
        "COMMIT",
        "END",
    ]
    by_text = dict(zip(texts, compiled, strict=True))
    # Values travel as parameters: the rows and the registry row as executemany lists.
    (_, (_, rows)) = by_text[f"INSERT INTO {stage} ({names}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"]
    assert len(rows) == len(frame) and rows[9]["text"] == LONG and rows[1]["count"] is None
    assert {row["run_id"] for row in rows} == {RUN_IDS[2]}
    registered = "INSERT INTO dialflow_runs (run_id, result_table, row_count, committed_at) "
    (_, (_, registry)) = by_text[registered + "VALUES (?, ?, ?, ?)"]
    assert [(r["run_id"], r["result_table"], r["row_count"]) for r in registry] == [
        (RUN_IDS[2], TABLE, len(frame))
    ]
    every_text = " ".join(texts)
    assert RUN_IDS[1] not in every_text and RUN_IDS[2] not in every_text
    for value in ("Café", "plain", "comma,", "xxxxxxxx", "4611686018427387904", "1e-300"):
        assert value not in every_text
    assert all(" TEMPORARY " not in text for text in texts)  # a #name is SQL Server's temp table
