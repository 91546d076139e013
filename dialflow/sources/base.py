"""What every source of the canonical tables shares: the read flow and the CreatedDate ranges.

A source (files, SQL, Salesforce, a run's snapshot) supplies three things: how it is built from
the settings, how a table is found and its columns checked before any work, and how the
table's partitions are read as they are stored. `Source.read` does the rest the same way for
all of them: which columns and of which kinds, and the cast of every partition to the
canonical dtypes, declared as the frame's meta.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

import dask.dataframe as dd
import pandas as pd

from ..schema import PANDAS_DTYPES, ColumnKind, empty_frame, table_columns, to_canonical

if TYPE_CHECKING:
    from ..config import Settings

# The column the SQL and Salesforce sources split their tables by.
PARTITION_COLUMN = "CreatedDate"


@dataclass(frozen=True)
class CheckedTable:
    """A table found in a source, its wanted columns checked; `origin` names it in errors."""

    table: str
    origin: str


CheckedT = TypeVar("CheckedT", bound=CheckedTable)
SourceT = TypeVar("SourceT", bound="Source")


class Source(ABC, Generic[CheckedT]):
    """A place the canonical tables are read from; subclasses are frozen dataclasses."""

    phone_fields: tuple[str, ...]

    @classmethod
    @abstractmethod
    def from_settings(cls: type[SourceT], settings: Settings) -> SourceT:
        """Return the source that the settings describe."""

    @abstractmethod
    def check_table(self, table: str, kinds: dict[str, ColumnKind]) -> CheckedT:
        """Find a table and check that it holds these columns, of these kinds; raise
        InputError naming the table, the column and the fix, before any work is done."""

    @abstractmethod
    def read_partitions(self, checked: CheckedT, kinds: dict[str, ColumnKind]) -> dd.DataFrame:
        """Return the table's columns as stored, one Dask partition per piece the workers read;
        `Source.read` casts them to the canonical dtypes."""

    @abstractmethod
    def has_table(self, table: str) -> bool:
        """Return whether the source holds the table (for optional tables, e.g. Internal_DNC)."""

    def stored_bytes(self, tables: Iterable[str]) -> int | None:
        """Return the bytes the tables take where they are stored, or None when that is not
        known before reading them (SQL, Salesforce); `cluster.processes: auto` weighs it."""
        return None

    def read(
        self,
        table: str,
        columns: list[str] | None = None,
        extra: dict[str, ColumnKind] | None = None,
    ) -> dd.DataFrame:
        """Read a table's columns as a Dask dataframe of canonical dtypes, after checking them;
        `extra` adds columns a configuration names (listiq's EBR date fields) with their kinds."""
        canonical = {**table_columns(table, self.phone_fields), **(extra or {})}
        kinds = {column: canonical[column] for column in (columns or list(canonical))}
        checked = self.check_table(table, kinds)
        stored = self.read_partitions(checked, kinds)
        meta = empty_frame({column: PANDAS_DTYPES[kind] for column, kind in kinds.items()})
        return stored.map_partitions(
            to_canonical, kinds, checked.origin, meta=meta, token=f"read-{table}"
        )


@dataclass(frozen=True)
class DateRange:
    """The rows one partition reads: CreatedDate in [low, high), or in [low, high] for the
    range that ends at the last date; with no bounds, the rows without a CreatedDate (`nulls`)
    or, for a table without that column, every row."""

    low: pd.Timestamp | None = None
    high: pd.Timestamp | None = None
    includes_high: bool = False
    nulls: bool = False


NULL_DATES = DateRange(nulls=True)
WHOLE_TABLE = DateRange()


def date_ranges(
    first: pd.Timestamp | None, last: pd.Timestamp | None, count: int
) -> list[DateRange]:
    """Split [first, last] CreatedDate into `count` ranges of equal length (one when the two are
    equal, at least one), then add the range of the rows without a CreatedDate.

    Each range holds its low edge and not its high one, except the last, which holds `last`:
    a row on an edge is read once. With no `first` (no row has a date) only the null range is
    left."""
    if first is None or last is None:
        return [NULL_DATES]
    edges = pd.date_range(first, last, periods=max(1, count) + 1)
    if first == last:
        edges = pd.DatetimeIndex([first, last])
    ranges = [
        DateRange(low, high, includes_high=i == len(edges) - 2)
        for i, (low, high) in enumerate(zip(edges[:-1], edges[1:], strict=True))
    ]
    return [*ranges, NULL_DATES]
