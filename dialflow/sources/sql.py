"""Read the canonical tables from a SQL database into Dask dataframes, partitioned by date ranges.

Each partition is one parameterised query over a CreatedDate range, read by a Dask worker
(`dd.from_map`); tables without CreatedDate (User) are one partition. Before any work the
table's columns are checked, and the rows of every range are counted: the ranges must add up to
`COUNT(*)`, and each partition must read back exactly its count, so rows added or removed while
a job runs stop it instead of silently changing its answer.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import dask.dataframe as dd
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from ..errors import DialflowError, InputError
from ..schema import ColumnKind, empty_frame
from ..sinks.sql import sql_cause, sql_engine
from ..times import as_utc
from .base import PARTITION_COLUMN, WHOLE_TABLE, CheckedTable, DateRange, Source, date_ranges

if TYPE_CHECKING:
    from ..config import Settings


@dataclass(frozen=True)
class Partition:
    """One CreatedDate range of a table and the rows counted in it before the run."""

    dates: DateRange
    rows: int


@dataclass(frozen=True)
class ReflectedTable(CheckedTable):
    """A source table as the database describes it, its columns checked."""

    reflected: sa.Table


def _type_fits(kind: ColumnKind, column_type: sa.types.TypeEngine) -> bool:
    if kind == "string":
        return isinstance(column_type, sa.String)
    if kind == "datetime":
        return isinstance(column_type, sa.DateTime | sa.Date)
    if kind == "bool":
        return isinstance(column_type, sa.Boolean | sa.Integer)  # MySQL/MariaDB BOOL is TINYINT
    return isinstance(column_type, sa.Integer)


@functools.lru_cache(maxsize=8)
def _engine(url: str) -> sa.engine.Engine:
    """One engine (and connection pool) per URL per process: workers reuse it across partitions."""
    return sql_engine(url)


@dataclass(frozen=True)
class SqlSource(Source[ReflectedTable]):
    """The canonical tables in a SQL database; `tables` maps a canonical name to a table name."""

    url: str
    tables: dict[str, str]
    phone_fields: tuple[str, ...]
    partitions: int = 16

    @classmethod
    def from_settings(cls, settings: Settings) -> SqlSource:
        """Return the SQL source that the `source` and `phones` settings describe."""
        return cls(
            url=settings.source.sql_url or settings.sql.url,
            tables={name: str(path) for name, path in settings.source.tables.items()},
            phone_fields=settings.phones.fields,
            partitions=settings.source.sql_partitions,
        )

    def has_table(self, table: str) -> bool:
        """Return whether the source database holds the table (mapped by source.tables)."""
        try:
            with _engine(self.url).connect() as connection:
                return sa.inspect(connection).has_table(self.tables.get(table, table))
        except SQLAlchemyError as exc:
            raise _read_error(f"SQL table {self.tables.get(table, table)}", exc) from None

    def check_table(self, table: str, kinds: dict[str, ColumnKind]) -> ReflectedTable:
        """Reflect the table and check that its columns exist with fitting types."""
        name = self.tables.get(table, table)
        origin = f"SQL table {name}"
        try:
            with _engine(self.url).connect() as connection:
                reflected = sa.Table(name, sa.MetaData(), autoload_with=connection)
        except sa.exc.NoSuchTableError:
            raise InputError(
                f"{origin}: not found in the source database; create it or map {table} to "
                f"another table in source.tables"
            ) from None
        except SQLAlchemyError as exc:
            raise _read_error(origin, exc) from None
        for column, kind in kinds.items():
            if column not in reflected.c:
                raise InputError(
                    f"{origin}: no column {column}; add it or map the table in source.tables"
                )
            if not _type_fits(kind, reflected.c[column].type):
                raise InputError(
                    f"{origin}: column {column} is {reflected.c[column].type}, expected {kind}; "
                    f"change the column type or cast it in a view"
                )
        return ReflectedTable(table, origin, reflected)

    def read_partitions(
        self, checked: ReflectedTable, kinds: dict[str, ColumnKind]
    ) -> dd.DataFrame:
        """Return the table's rows as the driver gives them, one query per counted range."""
        try:
            with _engine(self.url).connect() as connection:
                partitions = self._partitions(connection, checked.reflected)
        except SQLAlchemyError as exc:
            raise _read_error(checked.origin, exc) from None
        return dd.from_map(
            _read_partition,
            partitions,
            url=self.url,
            table=checked.reflected.name,
            columns=list(kinds),
            meta=empty_frame(dict.fromkeys(kinds, "object")),
            label=f"read-sql-{checked.table}",
            enforce_metadata=False,
        )

    def _partitions(self, connection: sa.engine.Connection, table: sa.Table) -> list[Partition]:
        """Split the table into CreatedDate ranges and count each; the counts must add up."""
        total = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        if PARTITION_COLUMN not in table.c:
            return [Partition(WHOLE_TABLE, rows=total)]
        created = table.c[PARTITION_COLUMN]
        first, last = connection.execute(
            sa.select(sa.func.min(created), sa.func.max(created))
        ).one()
        if first is not None:
            first, last = as_utc(first), as_utc(last)
        counted = [
            Partition(
                dates,
                connection.execute(
                    sa.select(sa.func.count()).select_from(table).where(_range(table, dates))
                ).scalar_one(),
            )
            for dates in date_ranges(first, last, self.partitions)
        ]
        if sum(p.rows for p in counted) != total:
            raise InputError(
                f"SQL table {table.name}: rows changed while it was being split "
                f"({total} rows in all, {sum(p.rows for p in counted)} in the ranges); "
                f"run again when the table is not being written"
            )
        # An empty table still needs one (empty) partition: Dask cannot map over nothing.
        return [p for p in counted if p.rows] or counted[:1]


def _range(table: sa.Table, dates: DateRange) -> sa.ColumnElement[bool]:
    """Return the WHERE clause of a range, with bound parameters only."""
    if dates == WHOLE_TABLE:
        return sa.true()
    created = table.c[PARTITION_COLUMN]
    if dates.nulls:
        return created.is_(None)
    # Aware UTC for a zoned column (timestamptz), naive UTC for the others (DATETIME).
    zoned = getattr(created.type, "timezone", False)
    low, high = (
        (edge if zoned else edge.tz_localize(None)).to_pydatetime()
        for edge in (dates.low.tz_convert("UTC"), dates.high.tz_convert("UTC"))
    )
    upper = created <= high if dates.includes_high else created < high
    return sa.and_(created >= low, upper)


def _read_partition(partition: Partition, url: str, table: str, columns: list[str]) -> pd.DataFrame:
    """Read one partition with one query, its values as the driver gives them; runs on a worker."""
    origin = f"SQL table {table}"
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
            query = sa.select(*(reflected.c[c] for c in columns)).where(
                _range(reflected, partition.dates)
            )
            rows = connection.execute(query).all()
    except SQLAlchemyError as exc:
        raise _read_error(origin, exc) from None
    if len(rows) != partition.rows:
        raise InputError(
            f"{origin}: a partition read {len(rows)} rows where {partition.rows} were counted; "
            f"the table changed during the run; run again when it is not being written"
        )
    return pd.DataFrame(rows, columns=columns)


def _read_error(origin: str, exc: SQLAlchemyError) -> DialflowError:
    return DialflowError(
        f"{origin}: reading failed ({sql_cause(exc)}); check source.sql_url and the database"
    )
