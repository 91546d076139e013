"""Result tables through SQLAlchemy Core: created on first use, one transaction per run.

A run's rows and its row in the registry `dialflow_runs` are committed in one transaction, so
rows without a registry entry (a run that died before its COMMIT cannot leave any; rows written
by an older release or another tool can exist) are never taken for a run's result: readers ask
the registry which runs exist (`committed_run_ids`).
"""

from __future__ import annotations

import contextlib
import io
import secrets
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import SQLAlchemyError

from ..errors import DialflowError

if TYPE_CHECKING:
    import sqlite3

    from pandas.api.extensions import ExtensionDtype
    from sqlalchemy.pool import ConnectionPoolEntry

# MySQL/MariaDB DATETIME keeps whole seconds unless asked for microseconds.
_TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _column_type(dtype: np.dtype | ExtensionDtype) -> sa.types.TypeEngine:
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        return _TIMESTAMP
    if pd.api.types.is_bool_dtype(dtype):
        return sa.Boolean()
    if pd.api.types.is_integer_dtype(dtype):
        return sa.BigInteger()
    if pd.api.types.is_float_dtype(dtype):
        return sa.Double()  # double precision everywhere (MySQL's FLOAT is 4 bytes)
    return sa.Unicode(255)


def result_table(
    name: str,
    frame: pd.DataFrame,
    metadata: sa.MetaData,
    indexed: bool = True,
    prefixes: tuple[str, ...] = (),
) -> sa.Table:
    """Describe a result table: run_id, created_at, then the frame's columns with explicit types
    (Unicode becomes NVARCHAR on SQL Server); the run_id index serves reads and pruning."""
    return sa.Table(
        name,
        metadata,
        sa.Column("run_id", sa.Unicode(64), nullable=False, index=indexed),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        *(sa.Column(column, _column_type(frame[column].dtype)) for column in frame.columns),
        prefixes=list(prefixes),
    )


RUNS_TABLE = "dialflow_runs"
# Text columns hold at most this many characters on every backend (SQLite would take more,
# servers refuse or cut it): checked before writing so that the error names column and row.
TEXT_LENGTH = 255


def runs_table(metadata: sa.MetaData) -> sa.Table:
    """Describe the registry of committed runs: one row per (run, result table)."""
    return sa.Table(
        RUNS_TABLE,
        metadata,
        sa.Column("run_id", sa.Unicode(64), nullable=False),
        sa.Column("result_table", sa.Unicode(128), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("committed_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "result_table"),
    )


def committed_run_ids(connection: sa.Connection, table: str) -> sa.Select | None:
    """Return a SELECT of the run ids committed into `table`, or None before the first run."""
    if not sa.inspect(connection).has_table(RUNS_TABLE):
        return None
    runs = runs_table(sa.MetaData())
    return sa.select(runs.c.run_id).where(runs.c.result_table == table)


def _python_records(frame: pd.DataFrame) -> list[dict]:
    """Return rows as dicts of plain Python values, missing values (NA, NaN, NaT) as None."""
    columns = {}
    for name in frame.columns:
        values = frame[name]
        plain = values.astype(object).to_numpy(copy=True)
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            plain = np.array([value.to_pydatetime() for value in plain], dtype=object)
        plain[values.isna().to_numpy()] = None
        columns[name] = plain.tolist()
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of an embedded SQLite file, which SQLite will not do itself."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def sql_engine(url: str) -> sa.engine.Engine:
    """Return an engine for a configured URL, tuned per driver.

    - SQL Server (mssql+pyodbc): `fast_executemany`, pyodbc's array binding (one round trip per
      batch instead of per row).
    - MariaDB/MySQL through pyodbc: the port goes in the driver's own `Port=` attribute.
    - SQLite: pysqlite commits CREATE TABLE on its own, so a failed run could leave an empty
      table behind; taking over BEGIN (SQLAlchemy's documented recipe) makes `engine.begin()`
      all or nothing.
    """
    ensure_sqlite_folder(url)
    parsed = sa.engine.make_url(url)
    if parsed.drivername == "mysql+pyodbc" and parsed.port is not None:
        # SQLAlchemy writes "Server=host,port" (SQL Server's form); MariaDB's driver wants Port=.
        parsed = parsed.set(port=None).update_query_dict({"Port": str(parsed.port)})
    options = {"fast_executemany": True} if parsed.drivername == "mssql+pyodbc" else {}
    engine = sa.create_engine(parsed, **options)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _no_driver_transactions(
            dbapi_connection: sqlite3.Connection,
            connection_record: ConnectionPoolEntry,  # noqa: ARG001 - the event's signature
        ) -> None:
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin(connection: sa.Connection) -> None:
            connection.exec_driver_sql("BEGIN")

    return engine


def _existing_columns(connection: sa.Connection, table: str) -> set[str] | None:
    """The (casefolded) column names of a table, or None when there is no such table."""
    inspector = sa.inspect(connection)
    if not inspector.has_table(table):
        return None
    return {column["name"].lower() for column in inspector.get_columns(table)}


def _add_missing_columns(connection: sa.Connection, target: sa.Table, present: set[str]) -> None:
    """Add the columns an existing result table lacks when the run keeps all of the table's
    columns and has more: nullable, earlier runs' rows have no value for them (dedupe's
    probabilistic method writes MatchProbability and Evidence into the table its exact method
    created). A run that lacks one of the table's columns is a mismatch, refused by the insert."""
    wanted = {column.name.lower() for column in target.columns}
    if not present < wanted:
        return
    preparer = connection.dialect.identifier_preparer
    for column in target.columns:
        if column.name.lower() not in present:
            definition = sa.schema.CreateColumn(column).compile(dialect=connection.dialect)
            connection.execute(
                sa.text(f"ALTER TABLE {preparer.quote(target.name)} ADD {definition}")
            )


def write_sql_table(
    url: str,
    table: str,
    frame: pd.DataFrame,
    run_id: str,
    before_commit: Callable[[], None] | None = None,
) -> int:
    """Append a run's rows to a table, tagged with run_id, and register the run in
    `dialflow_runs`, all in one transaction; return the row count.

    On a database server the rows are bulk-loaded into a temporary staging table of the session
    first (COPY on PostgreSQL, LOAD DATA LOCAL on MariaDB/MySQL, array binding on SQL Server),
    then one transaction inserts them into the target and the registry and commits: a failure
    at any point leaves both as they were, and the target is locked only for the final insert.
    SQLite (one file, one writer) takes the rows in one transaction directly. `before_commit`
    runs inside that transaction just before COMMIT; whatever it raises rolls everything back
    (the run's last chance to stop). Runs beyond a retention are removed by `prune_runs`.
    """
    _check_text_lengths(table, frame)
    engine = sql_engine(url)
    target = result_table(table, frame, sa.MetaData())
    runs = runs_table(sa.MetaData())
    # Session-private and unlogged where the server allows: never seen by other sessions.
    stage_name = f"{table}_stage_{secrets.token_hex(4)}"
    on_mssql = engine.dialect.name == "mssql"  # a #name is SQL Server's temporary table
    staging = result_table(
        f"#{stage_name}" if on_mssql else stage_name,
        frame,
        sa.MetaData(),
        indexed=False,
        prefixes=() if on_mssql else ("TEMPORARY",),
    )
    now = pd.Timestamp.now(tz="UTC").floor("us")
    tagged = pd.concat(
        [pd.DataFrame({"run_id": run_id, "created_at": now}, index=frame.index), frame], axis=1
    )
    registry_row = {
        "run_id": run_id,
        "result_table": table,
        "row_count": len(frame),
        "committed_at": now.to_pydatetime(),
    }

    def register_and_commit(connection: sa.Connection) -> None:
        _register(connection, runs, registry_row)
        if before_commit is not None:
            before_commit()
        connection.commit()

    try:
        with engine.begin() as connection:
            present = _existing_columns(connection, table)
            target.create(connection, checkfirst=True)
            if present is not None:
                _add_missing_columns(connection, target, present)
            runs.create(connection, checkfirst=True)
        if engine.dialect.name == "sqlite":
            # One file, one writer: the transaction alone is all or nothing, no staging needed.
            with engine.connect() as connection:
                try:
                    _insert_rows(connection, target, tagged)
                    register_and_commit(connection)
                except BaseException:
                    with contextlib.suppress(Exception):
                        connection.rollback()
                    raise
            return len(frame)
        with engine.connect() as connection:
            staging.create(connection)
            connection.commit()
            try:
                _bulk_load(connection, staging, tagged)
                connection.commit()
                columns = [column.name for column in target.columns]
                connection.execute(
                    target.insert().from_select(columns, sa.select(*staging.columns))
                )
                register_and_commit(connection)
            except BaseException:
                # The first error is the cause; a dead session takes its temporary table with
                # it, so cleaning up may fail too, and must not replace the cause.
                with contextlib.suppress(Exception):
                    connection.rollback()
                    staging.drop(connection)
                    connection.commit()
                raise
            # Committed: a failure to drop the staging table (which ends with the session
            # anyway) must not report the write as failed.
            with contextlib.suppress(Exception):
                staging.drop(connection)
                connection.commit()
    except (SQLAlchemyError, _LoadRefused, *_driver_errors(engine)) as exc:
        raise DialflowError(
            f"SQL table {table}: writing {len(frame)} rows failed ({sql_cause(exc)}); "
            f"nothing was written; check sql.url and the database"
        ) from None
    finally:
        engine.dispose()
    return len(frame)


@contextlib.contextmanager
def sql_engine_for(url: str, failure: Callable[[str], str]) -> Iterator[sa.engine.Engine]:
    """Yield an engine for `url`, disposed at the end; an SQLAlchemy error inside becomes one
    DialflowError line, `failure(cause)` (cause: `sql_cause`, passwords masked)."""
    engine = sql_engine(url)
    try:
        yield engine
    except SQLAlchemyError as exc:
        raise DialflowError(failure(sql_cause(exc))) from None
    finally:
        engine.dispose()


def _register(connection: sa.Connection, runs: sa.Table, row: dict) -> None:
    """Add the run's registry row (a separate step so tests can fail a write just here)."""
    connection.execute(runs.insert(), [row])


def sql_cause(exc: BaseException) -> str:
    """Return the driver's own error (when there is one) as `Type: first line`, passwords masked
    (drivers may quote the URL or the ODBC connection string)."""
    from ..config import mask_passwords

    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).splitlines()
    return f"{type(cause).__name__}: {mask_passwords(lines[0]) if lines else ''}".rstrip(": ")


def _check_text_lengths(table: str, frame: pd.DataFrame) -> None:
    """Refuse a text value longer than the column takes, naming the column and the row."""
    for column in frame.columns:
        values = frame[column]
        if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
            continue
        lengths = values.astype("string").str.len()
        too_long = lengths > TEXT_LENGTH
        if too_long.any():
            position = int(too_long.to_numpy().nonzero()[0][0])
            key = next((c for c in ("AccountId", "Id") if c in frame.columns), None)
            which = f"row {position + 1}" + (
                f" ({key} {frame[key].iloc[position]})" if key is not None else ""
            )
            raise DialflowError(
                f"SQL table {table}: column {column}, {which}, holds "
                f"{int(lengths.iloc[position])} characters, more than the {TEXT_LENGTH} the "
                f"column takes; nothing was written; shorten the value at the source, or run "
                f"with --no-sql"
            )


def prune_runs(url: str, table: str, keep: int) -> int:
    """Remove every run but the newest `keep` from a result table and the registry (run ids
    sort by start time), in one transaction; return the number of runs removed."""
    runs = runs_table(sa.MetaData())

    def failure(cause: str) -> str:
        return (
            f"SQL table {table}: removing runs beyond sql.retention_runs = {keep} failed "
            f"({cause}); the run itself is complete"
        )

    with sql_engine_for(url, failure) as engine, engine.begin() as connection:
        newest = (
            connection.execute(
                sa.select(runs.c.run_id)
                .where(runs.c.result_table == table)
                .order_by(runs.c.run_id.desc())
                .limit(keep)
            )
            .scalars()
            .all()
        )
        if len(newest) < keep:
            return 0
        target = sa.table(table, sa.column("run_id"))
        connection.execute(target.delete().where(target.c.run_id < newest[-1]))
        return connection.execute(
            runs.delete().where(runs.c.result_table == table, runs.c.run_id < newest[-1])
        ).rowcount


def forget_run(url: str, table: str, run_id: str) -> None:
    """Remove a committed run's rows and registry entry in one transaction: the undo of
    `write_sql_table` when the rest of the run's commit failed after it."""

    def failure(cause: str) -> str:
        return f"SQL table {table}: removing run {run_id} failed ({cause})"

    with sql_engine_for(url, failure) as engine, engine.begin() as connection:
        target = sa.table(table, sa.column("run_id"))
        connection.execute(target.delete().where(target.c.run_id == run_id))
        runs = runs_table(sa.MetaData())
        connection.execute(
            runs.delete().where(runs.c.run_id == run_id, runs.c.result_table == table)
        )


def registered_runs(url: str, table: str) -> set[str]:
    """Return the run ids committed into a result table (empty before the first run)."""

    def failure(cause: str) -> str:
        return (
            f"SQL table {RUNS_TABLE}: reading the committed runs failed ({cause}); "
            f"check sql.url, or run with --no-sql"
        )

    with sql_engine_for(url, failure) as engine, engine.connect() as connection:
        query = committed_run_ids(connection, table)
        return set() if query is None else set(connection.execute(query).scalars())


_BATCH_ROWS = 50_000


class _LoadRefused(Exception):
    """A bulk load that stored a value other than the one given (cut, zeroed)."""


def _driver_errors(engine: sa.engine.Engine) -> tuple[type[Exception], ...]:
    """The DB-API's own error class: COPY runs on the driver's cursor, outside SQLAlchemy."""
    error = getattr(engine.dialect.loaded_dbapi, "Error", None)
    return (error,) if isinstance(error, type) else ()


def _bulk_load(connection: sa.engine.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Load a frame into a (staging) table by the fastest plain means of the driver."""
    if frame.empty:
        return
    dialect = connection.dialect
    quote = dialect.identifier_preparer
    name = quote.format_table(table)
    columns = ", ".join(quote.quote(column) for column in frame.columns)
    if dialect.driver == "psycopg":
        connection.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")
        cursor = connection.connection.driver_connection.cursor()
        copy_sql = f"COPY {name} ({columns}) FROM STDIN (FORMAT csv, NULL 'NULL')"
        with cursor.copy(copy_sql) as copy:
            copy.write(_csv_bytes(frame, mysql=False))
        return
    if dialect.name in ("mysql", "mariadb"):
        # The file is this run's own temporary CSV; no value is ever spliced into the statement.
        with tempfile.TemporaryDirectory(prefix="dialflow-load-") as folder:
            path = Path(folder) / "rows.csv"
            path.write_bytes(_csv_bytes(frame, mysql=True))
            connection.exec_driver_sql(
                f"LOAD DATA LOCAL INFILE '{path.as_posix()}' INTO TABLE {name} "
                "CHARACTER SET utf8mb4 FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' "
                f"ESCAPED BY '' LINES TERMINATED BY '\\n' ({columns})"
            )
            # LOAD DATA LOCAL cannot stop the client's upload, so a bad value (too long, not a
            # number) only warns and is cut or zeroed: any warning fails the write instead.
            warning = connection.exec_driver_sql("SHOW WARNINGS LIMIT 1").first()
            if warning is not None:
                raise _LoadRefused(f"{warning[1]} {warning[2]}")
        return
    _insert_rows(connection, table, frame)


def _insert_rows(connection: sa.engine.Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """Insert in batches through SQLAlchemy (executemany; its types format each value)."""
    for start in range(0, len(frame), _BATCH_ROWS):
        connection.execute(table.insert(), _python_records(frame.iloc[start : start + _BATCH_ROWS]))


def _csv_bytes(frame: pd.DataFrame, mysql: bool) -> bytes:
    """Encode rows as CSV that PostgreSQL's COPY and MariaDB's LOAD DATA read back exactly:
    every value quoted (quotes doubled), NULL as an unquoted NULL, timestamps as naive UTC (the
    loading session runs in UTC; formatting with a zone is ten times slower in arrow), and for
    MariaDB/MySQL booleans as 1/0."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for field in table.schema:
        if pa.types.is_timestamp(field.type):
            field = field.with_type(pa.timestamp("us"))
        elif pa.types.is_boolean(field.type) and mysql:
            field = field.with_type(pa.int8())
        fields.append(field)
    table = table.cast(pa.schema(fields))
    buffer = io.BytesIO()
    options = pa_csv.WriteOptions(
        include_header=False, quoting_style="all_valid", null_string="NULL"
    )
    pa_csv.write_csv(table, buffer, options)
    return buffer.getvalue()
