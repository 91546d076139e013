"""Read the canonical tables from Salesforce into Dask dataframes, partitioned by CreatedDate.

The client logs in once (`dialflow.salesforce`), counts each object's records and finds its first
and last CreatedDate; each partition is one SOQL query over a CreatedDate range, built with
`format_soql` (never spliced values) and read by a Dask worker. Objects with at least
`salesforce.bulk_min_records` records are read with Bulk API 2.0 query jobs (CSV pages of
`bulk_page_records` following Sforce-Locator); smaller ones with the REST query endpoint and its
`nextRecordsUrl` paging. Only the mapped fields are selected; the org's object and field API
names come from `salesforce.objects` / `salesforce.fields` (canonical names are the default).

The run stops before any work when the org's daily API calls left fall below a floor; the calls
used are read from Sforce-Limit-Info at the start and at the end of the run (summary.json).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import dask.dataframe as dd
import pandas as pd

from ..errors import DialflowError
from ..salesforce import Connection, api_usage
from ..schema import ColumnKind, empty_frame, table_columns
from .base import PARTITION_COLUMN, WHOLE_TABLE, CheckedTable, DateRange, Source, date_ranges

if TYPE_CHECKING:
    from simple_salesforce import Salesforce

    from ..config import SalesforceSettings, Settings


@dataclass(frozen=True)
class MappedObject(CheckedTable):
    """A canonical table's org object and {canonical column: field} of the wanted columns;
    `created` is the CreatedDate field, None for a table without that column (read whole)."""

    obj: str
    names: dict[str, str]
    created: str | None


@dataclass(frozen=True)
class SalesforceSource(Source[MappedObject]):
    """The canonical tables in a Salesforce org."""

    settings: SalesforceSettings
    phone_fields: tuple[str, ...]
    # The org's daily API calls {"limit", "used_at_start", "used_at_end"} for summary.json.
    api_usage: dict[str, int] = field(default_factory=dict)
    _connection: list[Connection] = field(default_factory=list, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> SalesforceSource:
        """Return the Salesforce source that the `salesforce` and `phones` settings describe."""
        return cls(settings.salesforce, settings.phones.fields)

    def connection(self) -> Connection:
        """Log in on first use; later reads share the session."""
        if not self._connection:
            self._connection.append(Connection.from_settings(self.settings))
        return self._connection[0]

    def object_and_fields(self, table: str, columns: list[str]) -> tuple[str, dict[str, str]]:
        """Return the org's object name and {canonical column: field name} for a table."""
        obj = self.settings.objects.get(table, table)
        mapped = self.settings.fields.get(table, {})
        return obj, {column: mapped.get(column, column) for column in columns}

    def has_table(self, table: str) -> bool:
        """Return whether the table is read from the org: every canonical table is, except an
        optional one (Internal_DNC), which must be mapped to an object in salesforce.objects."""
        return table != "Internal_DNC" or table in self.settings.objects

    def check_table(self, table: str, kinds: dict[str, ColumnKind]) -> MappedObject:
        """Map the table to the org's object and fields. No API call: describing every object
        is `dialflow salesforce check`'s work; in a run, a missing object or field stops the
        planning or the range queries with Salesforce's error."""
        obj, names = self.object_and_fields(table, list(kinds))
        # A canonical table without CreatedDate (User) is small: it is read whole, so an org
        # object needs no CreatedDate mapping for it.
        created = (
            self.object_and_fields(table, [PARTITION_COLUMN])[1][PARTITION_COLUMN]
            if PARTITION_COLUMN in table_columns(table, self.phone_fields)
            else None
        )
        return MappedObject(table, f"Salesforce {obj}", obj, names, created)

    def read_partitions(self, checked: MappedObject, kinds: dict[str, ColumnKind]) -> dd.DataFrame:
        """Return the object's records as text, one SOQL query per CreatedDate range: Bulk API
        2.0 query jobs for a large object, the REST query endpoint for a small one."""
        connection = self.connection()
        records, ranges = self._plan(connection, checked.obj, checked.created)
        bulk = records >= self.settings.bulk_min_records
        return dd.from_map(
            _read_bulk_range if bulk else _read_rest_range,
            ranges,
            connection=connection,
            obj=checked.obj,
            names=checked.names,
            created=checked.created,
            **(
                {
                    "page_records": self.settings.bulk_page_records,
                    "poll_seconds": self.settings.bulk_poll_seconds,
                }
                if bulk
                else {}
            ),
            meta=empty_frame(dict.fromkeys(kinds, "object")),
            label=f"read-salesforce-{'bulk' if bulk else 'rest'}-{checked.table}",
            enforce_metadata=False,
        )

    def record_usage_at_end(self) -> dict[str, int]:
        """Read the API calls used once more (one cheap call) and return the run's usage."""
        if self._connection:
            usage = self._connection[0].call(
                lambda client: (client.describe(), api_usage(client))[1], "describe"
            )
            if usage:
                self.api_usage.update(used_at_end=usage["used"], limit=usage["limit"])
        return self.api_usage

    def _check_api_floor(self, usage: dict[str, int]) -> None:
        """Stop before any work when the org has fewer daily API calls left than the floor."""
        if not usage:
            return
        self.api_usage.setdefault("used_at_start", usage["used"])
        self.api_usage["limit"] = usage["limit"]
        left = usage["limit"] - usage["used"]
        if left < self.settings.min_remaining_api_calls:
            raise DialflowError(
                f"Salesforce: {left} daily API calls left ({usage['used']} of {usage['limit']} "
                f"used), fewer than salesforce.min_remaining_api_calls "
                f"({self.settings.min_remaining_api_calls}); run later or lower the floor"
            )

    def _plan(
        self, connection: Connection, obj: str, created: str | None
    ) -> tuple[int, list[DateRange]]:
        """Return the object's record count and its CreatedDate ranges, plus the range of
        records without a CreatedDate (or the whole object when it is not partitioned)."""
        from simple_salesforce import format_soql

        def plan(client: Salesforce) -> tuple[int, list[pd.Timestamp | None], dict[str, int]]:
            count = client.query(format_soql("SELECT COUNT() FROM {:literal}", obj))
            ends = []
            for order in ("ASC", "DESC") if created else ():
                soql = format_soql(
                    "SELECT {:literal} FROM {:literal} WHERE {:literal} != null "
                    "ORDER BY {:literal} " + order + " LIMIT 1",
                    created,
                    obj,
                    created,
                    created,
                )
                rows = client.query(soql)["records"]
                ends.append(pd.Timestamp(rows[0][created]).tz_convert("UTC") if rows else None)
            return int(count["totalSize"]), ends, api_usage(client)

        records, ends, usage = connection.call(plan, f"query of {obj}")
        self._check_api_floor(usage)
        if not created:
            return records, [WHOLE_TABLE]
        first, last = ends
        return records, date_ranges(first, last, self.settings.partitions)


def range_soql(dates: DateRange, obj: str, names: dict[str, str], created: str | None) -> str:
    """Return the SOQL of one CreatedDate range (or of the records without a CreatedDate)."""
    from simple_salesforce import format_soql

    select = format_soql("SELECT {:literal} FROM {:literal}", ", ".join(names.values()), obj)
    if dates == WHOLE_TABLE:
        return select
    if dates.nulls:
        return select + format_soql(" WHERE {:literal} = null", created)
    upper = "<=" if dates.includes_high else "<"
    # format_soql writes a datetime as Salesforce's literal (UTC, whole seconds).
    low, high = dates.low.to_pydatetime(), dates.high.to_pydatetime()
    return select + format_soql(
        " WHERE {:literal} >= {} AND {:literal} " + upper + " {}", created, low, created, high
    )


def _read_rest_range(
    dates: DateRange,
    connection: Connection,
    obj: str,
    names: dict[str, str],
    created: str | None,
) -> pd.DataFrame:
    """Read one range with the REST query endpoint, following nextRecordsUrl."""
    soql = range_soql(dates, obj, names, created)
    records = connection.call(lambda client: client.query_all(soql), f"query of {obj}")["records"]
    return pd.DataFrame(
        [[record.get(name) for name in names.values()] for record in records],
        columns=list(names),
    )


def _read_bulk_range(
    dates: DateRange,
    connection: Connection,
    obj: str,
    names: dict[str, str],
    created: str | None,
    page_records: int,
    poll_seconds: float,
) -> pd.DataFrame:
    """Read one range with a Bulk API 2.0 query job, page by page of CSV (Sforce-Locator).

    A fault retries the whole job: a query job's pages cannot be re-read after a new login."""
    soql = range_soql(dates, obj, names, created)

    def extract(client: Salesforce) -> list[pd.DataFrame]:
        pages = getattr(client.bulk2, obj).query(soql, max_records=page_records, wait=poll_seconds)
        return [_csv_page(page, list(names)) for page in pages]

    frames = connection.call(extract, f"Bulk API 2.0 query of {obj}")
    return pd.concat(frames, ignore_index=True) if frames else _csv_page("", list(names))


def _csv_page(page: str, columns: list[str]) -> pd.DataFrame:
    """Parse one Bulk API 2.0 CSV page as text columns: an unquoted empty field is null, a
    quoted one ("") an empty string, as Salesforce writes them."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if not page.strip():
        return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
    table = pacsv.read_csv(
        io.BytesIO(page.encode("utf-8")),
        # The header holds the org's field names in SELECT order: use the canonical ones.
        read_options=pacsv.ReadOptions(column_names=columns, skip_rows=1),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(columns, pa.string()),
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow")}.get)
