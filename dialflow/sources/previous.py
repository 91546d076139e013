"""The latest result of an earlier job (dedupe flags, autoflush cleanup) for a later job to use.

A run's result lives in two places: `<output>/<job>/<run_id>/<name>.csv` and, when SQL is on, the
job's SQL table tagged with run_id. Run ids sort by start time, so the newest run id found in
either place is the latest result; the other place may be older (SQL turned off for a run) or
missing (another machine wrote the SQL table).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..config import mask_passwords
from ..errors import DialflowError, InputError
from ..schema import STRING
from ..sinks.sql import sql_engine

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreviousResult:
    """The rows of one earlier run, and which run and place they came from."""

    rows: pd.DataFrame
    run_id: str
    origin: str


def _latest_in_folder(output_dir: Path, job: str, csv_name: str) -> tuple[str, Path] | None:
    # Finished runs only: a running or failed one is still in its hidden `.<run_id>.tmp` folder.
    runs = sorted(
        (folder.name, folder / csv_name)
        for folder in (output_dir / job).glob("*")
        if not folder.name.startswith(".") and (folder / csv_name).is_file()
    )
    return runs[-1] if runs else None


def _latest_in_sql(url: str, table: str) -> str | None:
    engine = sql_engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(table):
                return None
            run_id = sa.column("run_id")
            return connection.execute(
                sa.select(sa.func.max(run_id)).select_from(sa.table(table))
            ).scalar()
    except SQLAlchemyError as exc:
        raise _sql_error(table, exc) from None
    finally:
        engine.dispose()


def _sql_error(table: str, exc: SQLAlchemyError) -> DialflowError:
    """Return the one-line error; drivers may quote the URL or DSN, so passwords are masked."""
    cause = getattr(exc, "orig", None) or exc
    first = mask_passwords(str(cause).splitlines()[0] if str(cause) else "")
    return DialflowError(
        f"SQL table {table}: reading the latest run failed ({type(cause).__name__}: "
        f"{first}); check sql.url, or run with --no-sql"
    )


def latest_result(
    output_dir: Path,
    job: str,
    csv_name: str,
    sql_url: str | None,
    table: str,
    columns: list[str],
) -> PreviousResult | None:
    """Return the chosen columns of the newest run of `job`, or None if it never ran.

    Args:
        output_dir: the runs' output folder (`run.output_dir`).
        job: the earlier job's name (its folder under output_dir).
        csv_name: the result file in its run folder.
        sql_url: the SQL database to look in too, or None to look only in the folder.
        table: the earlier job's SQL table.
        columns: the columns to return (all strings).
    """
    in_folder = _latest_in_folder(output_dir, job, csv_name)
    in_sql = _latest_in_sql(sql_url, table) if sql_url else None
    if in_folder is None and in_sql is None:
        return None
    if in_folder is not None and (in_sql is None or in_folder[0] >= in_sql):
        run_id, path = in_folder
        try:
            # Only an empty field is missing (as NULL is in SQL); "NA" stays text.
            rows = pd.read_csv(
                path, usecols=columns, dtype=str, keep_default_na=False, na_values=[""]
            )
        except (OSError, ValueError) as exc:
            raise InputError(
                f"{path}: cannot read the {job} result ({str(exc).splitlines()[0]}); "
                f"it needs the columns {', '.join(columns)}; move the run folder away to skip it"
            ) from None
        origin = str(path)
    else:
        run_id = in_sql
        engine = sql_engine(sql_url)
        try:
            with engine.connect() as connection:
                source = sa.table(table, *(sa.column(c) for c in ["run_id", *columns]))
                query = sa.select(*(source.c[c] for c in columns)).where(source.c.run_id == run_id)
                rows = pd.DataFrame(connection.execute(query).all(), columns=columns)
        except SQLAlchemyError as exc:
            raise _sql_error(table, exc) from None
        finally:
            engine.dispose()
        origin = f"SQL table {table}"
    log.info("%s: using run %s from %s (%d rows)", job, run_id, origin, len(rows))
    return PreviousResult(rows.astype(STRING), run_id, origin)


def _run_started(run_id: str) -> pd.Timestamp | None:
    """Return the UTC start a run id encodes (`2026-11-25T204703Z-e30dc9`), or None."""
    try:
        return pd.Timestamp(pd.to_datetime(run_id[:18], format="%Y-%m-%dT%H%M%SZ", utc=True))
    except ValueError:
        return None


def requested_since(
    output_dir: Path, job: str, csv_name: str, sql_url: str | None, table: str, since: pd.Timestamp
) -> pd.Series:
    """Return the AccountIds of every run of `job` started after `since` (its request log).

    Unlike `latest_result`, every run in the window counts: a request stays a request for the
    whole window whichever later run asked for something else.
    """
    found: list[pd.Series] = []
    for folder in sorted((output_dir / job).glob("*")):
        started = _run_started(folder.name)
        path = folder / csv_name
        if folder.name.startswith(".") or started is None or started <= since:
            continue
        if path.is_file():
            try:
                rows = pd.read_csv(path, usecols=["AccountId"], dtype=str, keep_default_na=False)
            except (OSError, ValueError) as exc:
                raise InputError(
                    f"{path}: cannot read the {job} request log ({str(exc).splitlines()[0]}); "
                    f"it needs the column AccountId; move the run folder away to skip it"
                ) from None
            found.append(rows["AccountId"])
    if sql_url:
        engine = sql_engine(sql_url)
        try:
            with engine.connect() as connection:
                if sa.inspect(connection).has_table(table):
                    source = sa.table(
                        table, sa.column("AccountId"), sa.column("created_at", sa.DateTime(True))
                    )
                    query = sa.select(source.c.AccountId).where(
                        source.c.created_at > since.to_pydatetime()
                    )
                    found.append(pd.Series(connection.execute(query).scalars().all(), dtype=str))
        except SQLAlchemyError as exc:
            raise _sql_error(table, exc) from None
        finally:
            engine.dispose()
    if not found:
        return pd.Series([], dtype=STRING)
    return pd.concat(found).astype(STRING).drop_duplicates().reset_index(drop=True)
