"""The latest result of an earlier job (dedupe flags, autoflush cleanup) for a later job to use.

A run's result lives in two places: `<output>/<job>/<run_id>/<name>.csv` and, when SQL is on, the
job's SQL table tagged with run_id. Run ids sort by start time, so the newest run id found in
either place is the latest result; the other place may be older (SQL turned off for a run) or
missing (another machine wrote the SQL table).

Only committed runs count: a folder whose name is a run id (not `.<run_id>.tmp`, not a copy such
as `backup-of-<run_id>`), and SQL rows whose run is in the registry `dialflow_runs` (written in
the same transaction as the rows).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from ..errors import InputError
from ..run import is_run_id
from ..schema import STRING
from ..sinks.sql import committed_run_ids, sql_engine_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreviousResult:
    """The rows of one earlier run, and which run and place they came from."""

    rows: pd.DataFrame
    run_id: str
    origin: str


def _run_folders(output_dir: Path, job: str) -> list[Path]:
    """Return the job's finished run folders, oldest first.

    A running or failed run is still in its hidden `.<run_id>.tmp` folder; a folder whose name
    is not a run id (a copy, a backup) is not a run.
    """
    job_dir = output_dir / job
    if not job_dir.is_dir():
        return []
    return sorted(folder for folder in job_dir.iterdir() if is_run_id(folder.name))


def _latest_in_folder(output_dir: Path, job: str, csv_name: str) -> tuple[str, Path] | None:
    runs = [
        (folder.name, folder / csv_name)
        for folder in _run_folders(output_dir, job)
        if (folder / csv_name).is_file()
    ]
    return runs[-1] if runs else None


def _latest_in_sql(url: str, table: str) -> str | None:
    with sql_engine_for(url, _reading_failed(table)) as engine, engine.connect() as connection:
        committed = committed_run_ids(connection, table)
        if committed is None:
            return None
        return connection.execute(sa.select(sa.func.max(committed.subquery().c.run_id))).scalar()


def _reading_failed(table: str) -> Callable[[str], str]:
    """The one line of an SQL error while reading an earlier job's result table."""
    return lambda cause: (
        f"SQL table {table}: reading the latest run failed ({cause}); "
        f"check sql.url, or run with --no-sql"
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
        failed = _reading_failed(table)
        with sql_engine_for(sql_url, failed) as engine, engine.connect() as connection:
            source = sa.table(table, *(sa.column(c) for c in ["run_id", *columns]))
            query = sa.select(*(source.c[c] for c in columns)).where(source.c.run_id == run_id)
            rows = pd.DataFrame(connection.execute(query).all(), columns=columns)
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
    for folder in _run_folders(output_dir, job):
        started = _run_started(folder.name)
        path = folder / csv_name
        if started is None or started <= since:
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
        failed = _reading_failed(table)
        with sql_engine_for(sql_url, failed) as engine, engine.connect() as connection:
            committed = committed_run_ids(connection, table)
            if committed is not None and sa.inspect(connection).has_table(table):
                source = sa.table(
                    table,
                    sa.column("run_id"),
                    sa.column("AccountId"),
                    sa.column("created_at", sa.DateTime(True)),
                )
                query = sa.select(source.c.AccountId).where(
                    source.c.created_at > since.to_pydatetime(),
                    source.c.run_id.in_(committed),
                )
                found.append(pd.Series(connection.execute(query).scalars().all(), dtype=str))
    if not found:
        return pd.Series([], dtype=STRING)
    return pd.concat(found).astype(STRING).drop_duplicates().reset_index(drop=True)
