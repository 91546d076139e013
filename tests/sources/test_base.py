"""The shared source flow and the CreatedDate range planner, without a cluster or a server."""

from __future__ import annotations

from dataclasses import dataclass, field

import dask.dataframe as dd
import pandas as pd
import pytest

from dialflow.errors import InputError
from dialflow.schema import DEFAULT_PHONE_FIELDS, PANDAS_DTYPES, ColumnKind
from dialflow.sources.base import NULL_DATES, CheckedTable, DateRange, Source, date_ranges


def holds(dates: DateRange, created: pd.Timestamp | None) -> bool:
    """Whether a range reads a row: what the SQL WHERE clause and the SOQL of a range say."""
    if created is None:
        return dates.nulls
    if dates.nulls:
        return False
    below_high = created <= dates.high if dates.includes_high else created < dates.high
    return dates.low <= created and below_high


def assert_each_row_read_once(ranges: list[DateRange], rows: list[pd.Timestamp | None]) -> None:
    for created in rows:
        readers = [dates for dates in ranges if holds(dates, created)]
        assert len(readers) == 1, (created, readers)


T0 = pd.Timestamp("2026-01-01T00:00:00Z")
T1 = pd.Timestamp("2026-01-08T00:00:00Z")


@pytest.mark.parametrize("count", [1, 2, 3, 7, 16])
def test_ranges_cover_first_to_last_and_a_row_on_an_edge_is_read_once(count):
    ranges = date_ranges(T0, T1, count)
    dated, nulls = ranges[:-1], ranges[-1]
    assert nulls == NULL_DATES
    assert len(dated) == count
    assert dated[0].low == T0 and dated[-1].high == T1
    assert all(a.high == b.low for a, b in zip(dated, dated[1:], strict=False))  # no gap
    assert [dates.includes_high for dates in dated] == [False] * (count - 1) + [True]
    edges = [dates.low for dates in dated] + [T1]
    between = [edge + pd.Timedelta(microseconds=1) for edge in edges[:-1]]
    just_below = [edge - pd.Timedelta(microseconds=1) for edge in edges[1:]]
    assert_each_row_read_once(ranges, [*edges, *between, *just_below, None, None])


def test_one_row_or_all_rows_at_one_instant_make_one_closed_range():
    assert date_ranges(T0, T0, 16) == [DateRange(T0, T0, includes_high=True), NULL_DATES]
    assert_each_row_read_once(date_ranges(T0, T0, 16), [T0, T0, T0, None])


def test_without_any_date_only_the_null_range_is_left():
    assert date_ranges(None, None, 8) == [NULL_DATES]
    assert_each_row_read_once(date_ranges(None, None, 8), [None, None])


def test_rows_outside_first_and_last_are_read_by_no_range():
    """A row added before the first or after the last date was not there when the ranges were
    planned: the SQL source's counts catch it."""
    ranges = date_ranges(T0, T1, 4)
    for created in (T0 - pd.Timedelta(microseconds=1), T1 + pd.Timedelta(microseconds=1)):
        assert not any(holds(dates, created) for dates in ranges)


def test_a_span_shorter_than_the_ranges_still_reads_every_row_once():
    last = T0 + pd.Timedelta(microseconds=3)
    ranges = date_ranges(T0, last, 16)
    assert_each_row_read_once(ranges, [T0 + pd.Timedelta(microseconds=i) for i in range(4)])


def test_fewer_than_one_range_is_one():
    assert date_ranges(T0, T1, 0) == [DateRange(T0, T1, includes_high=True), NULL_DATES]


@dataclass(frozen=True)
class StoredTable(CheckedTable):
    pieces: tuple[pd.DataFrame, ...]


@dataclass(frozen=True)
class InMemorySource(Source[StoredTable]):
    """A source of pandas frames, its values as text: what Source.read adds to every source."""

    stored: dict[str, list[pd.DataFrame]]
    phone_fields: tuple[str, ...] = DEFAULT_PHONE_FIELDS
    calls: list[str] = field(default_factory=list)

    @classmethod
    def from_settings(cls, settings: object) -> InMemorySource:
        raise NotImplementedError

    def has_table(self, table: str) -> bool:
        return table in self.stored

    def check_table(self, table: str, kinds: dict[str, ColumnKind]) -> StoredTable:
        self.calls.append(f"check {table} {list(kinds)}")
        missing = set(kinds) - set(self.stored[table][0].columns)
        if missing:
            raise InputError(f"memory {table}: missing {sorted(missing)}")
        return StoredTable(table, f"memory {table}", tuple(self.stored[table]))

    def read_partitions(self, checked: StoredTable, kinds: dict[str, ColumnKind]) -> dd.DataFrame:
        self.calls.append(f"partitions {checked.table}")
        return dd.from_map(lambda piece: piece[list(kinds)], checked.pieces, enforce_metadata=False)


USERS = [
    pd.DataFrame({"Id": ["005A"], "Name": ["Ann"], "Email": ["a@x"], "IsActive": ["true"]}),
    pd.DataFrame({"Id": ["005B"], "Name": ["Bo"], "Email": [None], "IsActive": ["0"]}),
]


def test_read_checks_then_reads_and_casts_every_partition_to_the_declared_meta():
    source = InMemorySource({"User": USERS})
    frame = source.read("User", ["IsActive", "Id"])
    assert source.calls == ["check User ['IsActive', 'Id']", "partitions User"]
    assert frame.npartitions == 2
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        "IsActive": PANDAS_DTYPES["bool"],
        "Id": "string",
    }
    computed = frame.compute(scheduler="sync")
    assert computed["IsActive"].tolist() == [True, False]
    assert computed["Id"].tolist() == ["005A", "005B"]
    assert computed.dtypes.equals(frame.dtypes)


def test_read_without_columns_reads_every_canonical_column():
    source = InMemorySource({"User": USERS})
    assert list(source.read("User").columns) == ["Id", "Name", "Email", "IsActive"]


def test_a_bad_value_is_named_with_the_origin_the_check_returned():
    bad = [USERS[0].assign(IsActive=["maybe"])]
    frame = InMemorySource({"User": bad}).read("User")
    with pytest.raises(InputError, match="^memory User: column IsActive holds a value that"):
        frame.compute(scheduler="sync")


def test_a_failed_check_stops_before_any_partition():
    source = InMemorySource({"User": [USERS[0].drop(columns="Email")]})
    with pytest.raises(InputError, match=r"missing \['Email'\]"):
        source.read("User")
    assert source.calls == ["check User ['Id', 'Name', 'Email', 'IsActive']"]


def test_extra_columns_are_read_with_their_kinds_and_has_table_says_what_is_there():
    stored = [USERS[0].assign(Last_Purchase__c=["2026-01-02T00:00:00Z"])]
    source = InMemorySource({"User": stored})
    frame = source.read("User", ["Id", "Last_Purchase__c"], {"Last_Purchase__c": "datetime"})
    computed = frame.compute(scheduler="sync")
    assert computed["Last_Purchase__c"].tolist() == [pd.Timestamp("2026-01-02", tz="UTC")]
    assert source.has_table("User") and not source.has_table("Internal_DNC")


def test_a_source_must_supply_the_check_and_the_partitions():
    class Incomplete(Source[StoredTable]):
        @classmethod
        def from_settings(cls, settings: object) -> Incomplete:
            return cls()

    with pytest.raises(TypeError, match="abstract"):
        Incomplete.from_settings(None)
