"""The registry in an SQL table, for consumers that query a database (`dialflow dnc load-sql`,
docs/dnc.md "Loading it into SQL"): the current version's numbers, loaded file batch by file
batch, so memory holds one batch, never the registry's 250 million numbers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import sqlalchemy as sa

from ..config import mask_passwords
from ..sinks.sql import _bulk_load, sql_engine_for
from .freshness import no_registry
from .store import area_folder, current_version, read_manifest

BATCH_NUMBERS = 1_000_000  # 8 MB of int64 per load: COPY / LOAD DATA / executemany batch


def registry_tables(table: str, metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """Return the numbers table (`area_code`, `number`) and its one-row `<table>_version`: the
    store version loaded, its registry date and count, and when."""
    numbers = sa.Table(
        table,
        metadata,
        sa.Column("area_code", sa.String(3), nullable=False),
        sa.Column("number", sa.BigInteger, nullable=False),
    )
    version = sa.Table(
        f"{table}_version",
        metadata,
        sa.Column("version", sa.String(255), nullable=False),
        sa.Column("registry_date", sa.Date, nullable=False),
        sa.Column("numbers", sa.BigInteger, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    return numbers, version


def load_registry_sql(
    store: Path,
    url: str,
    table: str,
    batch_numbers: int = BATCH_NUMBERS,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Replace the SQL table `table` with the store's current version, in one transaction.

    The numbers are read per area code file in batches of `batch_numbers` and bulk-loaded as
    the run results are (COPY on PostgreSQL, LOAD DATA LOCAL on MariaDB/MySQL, executemany
    elsewhere). `progress(done, total)` counts numbers. Returns what was loaded.
    """
    manifest = read_manifest(store)
    version = current_version(store)
    if manifest is None or version is None:
        raise no_registry(store)
    total = int(manifest["numbers"])
    numbers, loaded = registry_tables(table, sa.MetaData())
    done = 0

    # MariaDB/MySQL commit DDL on their own: the drop is done when the load fails.
    ddl_commits = sa.engine.make_url(url).get_backend_name() in ("mysql", "mariadb")
    left = (
        "the table may be empty or partial (MariaDB/MySQL commit DDL on their own): load again"
        if ddl_commits
        else "the table is as it was"
    )

    def failure(cause: str) -> str:
        return (
            f"dnc load-sql: loading the DNC registry into {mask_passwords(url)} table {table} "
            f"failed ({cause}); {left}; check sql.url and the database"
        )

    with sql_engine_for(url, failure) as engine, engine.begin() as connection:
        # Dropped and created in the transaction: a failed load leaves the previous table (on
        # PostgreSQL and SQLite; MariaDB/MySQL commit DDL on their own, docs/dnc.md).
        loaded.drop(connection, checkfirst=True)
        numbers.drop(connection, checkfirst=True)
        numbers.create(connection)
        loaded.create(connection)
        for code in sorted(manifest["area_codes"]):
            for file in sorted(area_folder(version, code).glob("*.parquet")):
                parquet = pq.ParquetFile(file)
                for batch in parquet.iter_batches(batch_size=batch_numbers, columns=["number"]):
                    values = batch.column(0).to_numpy().astype("int64", copy=False)
                    frame = pd.DataFrame({"area_code": code, "number": values})
                    _bulk_load(connection, numbers, frame)
                    done += len(frame)
                    if progress is not None:
                        progress(done, total)
        row = {
            "version": version.name,
            "registry_date": datetime.fromisoformat(manifest["registry_date"]).date(),
            "numbers": done,
            "loaded_at": datetime.now(timezone.utc),
        }
        connection.execute(loaded.insert(), [row])
    return {**row, "table": table}
