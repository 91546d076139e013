"""Result tables through SQLAlchemy Core: created on first use, one transaction per run."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..errors import DialflowError


def _column_type(dtype) -> sa.types.TypeEngine:  # noqa: ANN001 - a pandas dtype
    if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
        return sa.DateTime(timezone=True)
    if pd.api.types.is_bool_dtype(dtype):
        return sa.Boolean()
    if pd.api.types.is_integer_dtype(dtype):
        return sa.BigInteger()
    if pd.api.types.is_float_dtype(dtype):
        return sa.Float()
    return sa.Unicode(255)


def result_table(name: str, frame: pd.DataFrame, metadata: sa.MetaData) -> sa.Table:
    """Describe a result table: run_id, created_at, then the frame's columns with explicit types."""
    return sa.Table(
        name,
        metadata,
        sa.Column("run_id", sa.Unicode(64), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        *(sa.Column(column, _column_type(frame[column].dtype)) for column in frame.columns),
    )


def _python_values(frame: pd.DataFrame) -> list[dict]:
    """Return rows as plain Python values, with missing values as None, for the driver."""
    plain = frame.astype(object).where(frame.notna(), None)
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.DatetimeTZDtype):
            plain[column] = [None if v is None else v.to_pydatetime() for v in plain[column]]
    return plain.to_dict("records")


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of an embedded SQLite file, which SQLite will not do itself."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def sql_engine(url: str) -> sa.engine.Engine:
    """Return an engine for a configured URL; on SQLite, DDL joins the surrounding transaction.

    pysqlite commits CREATE TABLE on its own, so a failed run could leave an empty table behind.
    Taking over BEGIN (SQLAlchemy's documented recipe) makes `engine.begin()` all or nothing.
    """
    ensure_sqlite_folder(url)
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _no_driver_transactions(dbapi_connection, connection_record) -> None:  # noqa: ANN001, ARG001
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin(connection) -> None:  # noqa: ANN001
            connection.exec_driver_sql("BEGIN")

    return engine


def write_sql_table(url: str, table: str, frame: pd.DataFrame, run_id: str) -> int:
    """Append a run's rows to a table in one transaction, tagged with run_id; return the count."""
    engine = sql_engine(url)
    metadata = sa.MetaData()
    target = result_table(table, frame, metadata)
    created_at = datetime.now(timezone.utc)
    rows = [{"run_id": run_id, "created_at": created_at, **row} for row in _python_values(frame)]
    try:
        with engine.begin() as connection:
            metadata.create_all(connection, checkfirst=True)
            if rows:
                connection.execute(target.insert(), rows)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc  # the driver's own error, when there is one
        raise DialflowError(
            f"SQL table {table}: writing {len(rows)} rows failed "
            f"({type(cause).__name__}: {str(cause).splitlines()[0]}); "
            f"nothing was written; check sql.url and the database"
        ) from None
    finally:
        engine.dispose()
    return len(rows)
