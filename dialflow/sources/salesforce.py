"""Read the canonical tables from Salesforce into Dask dataframes, partitioned by CreatedDate.

The client logs in once (simple-salesforce, username + password + security token) and finds each
object's first and last CreatedDate; each partition is one SOQL query over a CreatedDate range,
built with `format_soql` (never spliced values), read by a Dask worker through the REST query
endpoint with its `nextRecordsUrl` paging. Only the mapped fields are selected. The org's object
and field API names come from `salesforce.objects` / `salesforce.fields`; canonical names are the
default.

5xx answers, REQUEST_LIMIT_EXCEEDED and timeouts are retried with backoff and jitter; the run
stops before any work when the org's daily API calls left fall below a floor.

Not yet here (issue 7): OAuth/JWT login, Bulk API 2.0 for large objects, Parquet snapshots and
`--from-snapshot`, re-login on an expired session, `dialflow salesforce check`, write-back.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime

import dask.dataframe as dd
import pandas as pd

from ..errors import DialflowError, InputError
from ..schema import PANDAS_DTYPES, ColumnKind, empty_frame, table_columns
from .files import _to_canonical

PARTITION_FIELD = "CreatedDate"


def _session(ca_bundle: str | None):  # noqa: ANN202 - requests.Session
    """Return an HTTP session that trusts `ca_bundle` when given (requests would otherwise let
    REQUESTS_CA_BUNDLE from the environment override it)."""
    import requests

    session = requests.Session()
    if ca_bundle:
        session.verify = ca_bundle
        session.trust_env = False
    return session


def with_retries(call, retries: int, base_seconds: float, what: str):  # noqa: ANN001, ANN201
    """Run a Salesforce call; retry 5xx, REQUEST_LIMIT_EXCEEDED and timeouts with exponential
    backoff and full jitter, and turn any other error into one line with Salesforce's code."""
    import requests
    from simple_salesforce.exceptions import (
        SalesforceError,
        SalesforceGeneralError,
        SalesforceRefusedRequest,
    )

    for attempt in range(retries + 1):
        try:
            return call()
        except (SalesforceGeneralError, SalesforceRefusedRequest, requests.Timeout,
                requests.ConnectionError) as exc:  # fmt: skip
            code, message = _code_and_message(exc)
            transient = not isinstance(exc, SalesforceRefusedRequest) or (
                code == "REQUEST_LIMIT_EXCEEDED"
            )
            if not transient or attempt == retries:
                raise DialflowError(
                    f"Salesforce {what} failed after {attempt + 1} attempt(s) "
                    f"({code}: {message}); see salesforce.retries"
                ) from None
            time.sleep(random.uniform(0, base_seconds * 2**attempt))
        except SalesforceError as exc:
            code, message = _code_and_message(exc)
            raise DialflowError(f"Salesforce {what} failed ({code}: {message})") from None
    raise AssertionError("unreachable")


def _code_and_message(exc: Exception) -> tuple[str, str]:
    """Return Salesforce's errorCode and message from an error response, or the error's type."""
    content = getattr(exc, "content", None)
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        return str(first.get("errorCode", type(exc).__name__)), str(first.get("message", ""))
    return type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""


@dataclass(frozen=True)
class Connection:
    """What a worker needs to query: the instance and session of the client's login."""

    instance_url: str
    session_id: str
    version: str
    ca_bundle: str | None
    retries: int = 3
    retry_base_seconds: float = 1.0

    def client(self):  # noqa: ANN201 - simple_salesforce.Salesforce
        from simple_salesforce import Salesforce

        return Salesforce(
            instance_url=self.instance_url,
            session_id=self.session_id,
            version=self.version,
            session=_session(self.ca_bundle),
        )

    def __repr__(self) -> str:  # the session id is a credential: never in logs or task reprs
        return f"Connection({self.instance_url}, version={self.version})"


@dataclass(frozen=True)
class SalesforceSource:
    """The canonical tables in a Salesforce org."""

    settings: object  # dialflow.config.SalesforceSettings
    phone_fields: tuple[str, ...]
    # The org's API usage from the last Sforce-Limit-Info header the client saw (summary.json).
    api_usage: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings) -> SalesforceSource:  # noqa: ANN001 - config.Settings
        """Return the Salesforce source that the `salesforce` and `phones` settings describe."""
        return cls(settings.salesforce, settings.phones.fields)

    def login(self) -> Connection:
        """Log in with username, password and security token; stop with Salesforce's reason."""
        import requests
        from simple_salesforce import Salesforce
        from simple_salesforce.exceptions import SalesforceAuthenticationFailed

        config = self.settings
        missing = [
            f"salesforce.{name}"
            for name in ("username", "password", "security_token")
            if not getattr(config, name)
        ]
        if missing:
            raise InputError(
                f"source.kind salesforce needs {', '.join(missing)}; set them in the environment "
                f"(DIALFLOW_SF_USERNAME, DIALFLOW_SF_PASSWORD, DIALFLOW_SF_TOKEN)"
            )
        session = _session(str(config.ca_bundle) if config.ca_bundle else None)
        try:
            client = Salesforce(
                username=config.username,
                password=config.password,
                security_token=config.security_token,
                domain=config.domain,
                version=config.api_version,
                session=session,
            )
        except SalesforceAuthenticationFailed as exc:
            raise DialflowError(
                f"Salesforce login as {config.username} at {config.domain} failed "
                f"({exc.code}: {exc.message}); check the credentials and salesforce.domain"
            ) from None
        except requests.RequestException as exc:
            raise DialflowError(
                f"Salesforce login at {config.domain} failed ({type(exc).__name__}); "
                f"check salesforce.domain and the network"
            ) from None
        return Connection(
            f"https://{client.sf_instance}",
            client.session_id,
            config.api_version,
            str(config.ca_bundle) if config.ca_bundle else None,
            config.retries,
            config.retry_base_seconds,
        )

    def read(self, table: str, columns: list[str] | None = None) -> dd.DataFrame:
        """Read a table's columns as a Dask dataframe of canonical dtypes."""
        kinds = table_columns(table, self.phone_fields)
        wanted = {c: kinds[c] for c in (columns or list(kinds))}
        obj = self.settings.objects.get(table, table)
        names = {c: self.settings.fields.get(table, {}).get(c, c) for c in wanted}
        connection = self.login()
        ranges = self._ranges(connection, obj, names)
        meta = empty_frame({c: PANDAS_DTYPES[k] for c, k in wanted.items()})
        return dd.from_map(
            _read_range,
            ranges,
            connection=connection,
            obj=obj,
            names=names,
            kinds=wanted,
            meta=meta,
            label=f"read-salesforce-{table}",
            enforce_metadata=False,
        )

    def _check_api_floor(self, client) -> None:  # noqa: ANN001 - simple_salesforce.Salesforce
        """Stop before any work when the org has fewer daily API calls left than the floor."""
        usage = client.api_usage.get("api-usage")
        if usage is None:
            return
        self.api_usage.update(used=usage.used, limit=usage.total)
        left = usage.total - usage.used
        if left < self.settings.min_remaining_api_calls:
            raise DialflowError(
                f"Salesforce: {left} daily API calls left ({usage.used} of {usage.total} used), "
                f"fewer than salesforce.min_remaining_api_calls "
                f"({self.settings.min_remaining_api_calls}); run later or lower the floor"
            )

    def _ranges(
        self, connection: Connection, obj: str, names: dict[str, str]
    ) -> list[tuple[datetime | None, datetime | None, bool]]:
        """Return (low, high, last) CreatedDate ranges, plus (None, None, False) for no date."""
        from simple_salesforce import format_soql

        created = names.get(PARTITION_FIELD, PARTITION_FIELD)
        client = connection.client()
        ends = []
        for order in ("ASC", "DESC"):
            soql = format_soql(
                "SELECT {:literal} FROM {:literal} WHERE {:literal} != null "
                "ORDER BY {:literal} " + order + " LIMIT 1",
                created,
                obj,
                created,
                created,
            )
            result = with_retries(
                lambda soql=soql: client.query(soql),
                connection.retries,
                connection.retry_base_seconds,
                f"query of {obj}",
            )
            records = result["records"]
            ends.append(pd.Timestamp(records[0][created]).tz_convert("UTC") if records else None)
        self._check_api_floor(client)
        low, high = ends
        if low is None:
            return [(None, None, False)]
        edges = pd.date_range(low, high, periods=self.settings.partitions + 1)
        if low == high:
            edges = pd.DatetimeIndex([low, high])
        ranges = [
            (start.to_pydatetime(), stop.to_pydatetime(), i == len(edges) - 2)
            for i, (start, stop) in enumerate(zip(edges[:-1], edges[1:], strict=True))
        ]
        return [*ranges, (None, None, False)]


def _read_range(
    bounds: tuple[datetime | None, datetime | None, bool],
    connection: Connection,
    obj: str,
    names: dict[str, str],
    kinds: dict[str, ColumnKind],
) -> pd.DataFrame:
    """Read one CreatedDate range (or the records without one) with REST query paging."""
    from simple_salesforce import format_soql

    low, high, last = bounds
    created = names.get(PARTITION_FIELD, PARTITION_FIELD)
    select = format_soql("SELECT {:literal} FROM {:literal}", ", ".join(names.values()), obj)
    if low is None:
        soql = select + format_soql(" WHERE {:literal} = null", created)
    else:
        upper = "<=" if last else "<"
        soql = select + format_soql(
            " WHERE {:literal} >= {} AND {:literal} " + upper + " {}", created, low, created, high
        )
    client = connection.client()
    records = with_retries(
        lambda: client.query_all(soql),
        connection.retries,
        connection.retry_base_seconds,
        f"query of {obj}",
    )["records"]
    frame = pd.DataFrame(
        [[record.get(name) for name in names.values()] for record in records],
        columns=list(names),
    )
    return _to_canonical(frame, kinds, f"Salesforce {obj}")
