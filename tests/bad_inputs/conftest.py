"""The bad-input catalogue: every hostile-but-fair input a run must refuse or survive.

Each test asserts the exit code, the exact first `Error:` line and that nothing was left
behind (`assert_nothing_left`): no run folder (finished or temporary), no SQL rows of the job,
no held lock.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool


def lock_is_free(output_dir: Path, job: str) -> bool:
    """Return True when nobody holds the job's lock on the output folder."""
    path = output_dir / f".{job}.lock"
    if not path.exists():
        return True
    with open(path, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
    return True


def sql_rows(url: str, table: str) -> int:
    """Return the rows of a table, 0 when it does not exist."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table(table):
                return 0
            return connection.execute(
                sa.select(sa.func.count()).select_from(sa.table(table))
            ).scalar_one()
    finally:
        engine.dispose()


def assert_nothing_left(
    output_dir: Path, job: str, sql_url: str | None = None, tables: tuple[str, ...] = ()
) -> None:
    """Assert a refused or failed run left no run folder, no SQL rows and no held lock."""
    job_dir = output_dir / job
    left = sorted(path.name for path in job_dir.iterdir()) if job_dir.exists() else []
    assert left == [], f"left behind in {job_dir}: {left}"
    assert lock_is_free(output_dir, job)
    if sql_url is not None:
        for table in tables:
            assert sql_rows(sql_url, table) == 0, f"rows left in SQL table {table}"
