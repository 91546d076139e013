"""What every source of the canonical tables shares: the CreatedDate ranges."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# The column the SQL and Salesforce sources split their tables by.
PARTITION_COLUMN = "CreatedDate"


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
