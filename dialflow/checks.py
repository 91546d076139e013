"""`dialflow config check --connect`: reach everything a run will use, one line each.

Each check says `ok` or `failed` with the cause (passwords masked), or `skipped` with why it
does not apply to this config: the source's folder and tables, the SQL database of results,
the Dask scheduler, the SMTP server, and the Salesforce login. Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import DialflowError

if TYPE_CHECKING:
    from .config import Settings

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass(frozen=True)
class Check:
    """The outcome of one check: what was checked, ok/failed/skipped, and the detail."""

    name: str
    status: str
    detail: str


def _one_line(exc: BaseException) -> str:
    from .logs import mask

    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return mask(text if isinstance(exc, DialflowError) else f"{type(exc).__name__}: {text}")


def _attempt(name: str, check: Callable[[], str]) -> Check:
    """Run one check: its returned text is the detail of an `ok`; any exception a `failed`."""
    try:
        return Check(name, OK, check())
    except Exception as exc:  # noqa: BLE001 - every failure is one line of the report
        return Check(name, FAILED, _one_line(exc))


def source_checks(settings: Settings) -> list[Check]:
    """The source's folder (files) and every canonical table: found, and readable."""
    from .runner import make_source
    from .schema import OPTIONAL_TABLES, TABLES

    checks = []
    if settings.source.kind == "files":
        folder = settings.source.path
        found = folder.is_dir()
        checks.append(
            Check(
                "source folder",
                OK if found else FAILED,
                str(folder) if found else f"{folder}: no such folder; set source.path",
            )
        )
    try:
        source = make_source(settings)
    except Exception as exc:  # noqa: BLE001
        return [*checks, Check("source", FAILED, _one_line(exc))]
    for table in TABLES:
        if table in OPTIONAL_TABLES and not source.has_table(table):
            checks.append(Check(f"source table {table}", SKIPPED, "optional, absent"))
            continue
        checks.append(
            _attempt(f"source table {table}", lambda t=table: source.check_table(t, {}).origin)
        )
    return checks


def sql_check(settings: Settings) -> Check:
    """Connect to the results database (sql.url) and run SELECT 1."""
    if not settings.sql.enabled:
        return Check("sql", SKIPPED, "sql.enabled is false")

    def connect() -> str:
        import sqlalchemy as sa

        from .config import mask_passwords
        from .sinks.sql import sql_engine

        engine = sql_engine(settings.sql.url)
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        finally:
            engine.dispose()
        return mask_passwords(settings.sql.url)

    return _attempt("sql", connect)


def scheduler_check(settings: Settings) -> Check:
    """Exchange Dask's handshake with cluster.scheduler (as a run does before connecting)."""
    address = settings.cluster.scheduler
    if not address:
        return Check("scheduler", SKIPPED, "no cluster.scheduler: runs start a local cluster")

    def probe() -> str:
        from .cluster import _probe_scheduler

        _probe_scheduler(address, settings.cluster)
        return address

    return _attempt("scheduler", probe)


def smtp_check(settings: Settings) -> Check:
    """Connect to the SMTP server, start TLS as configured and log in; send nothing."""
    email = settings.email
    if not email.enabled:
        return Check("smtp", SKIPPED, "email.enabled is false")

    def connect() -> str:
        import smtplib

        from .sinks.email import smtp_cause, smtp_session

        try:
            with smtp_session(email) as smtp:
                smtp.noop()
        except (smtplib.SMTPException, OSError) as exc:
            raise DialflowError(f"{email.host}:{email.port}: {smtp_cause(exc, email)}") from None
        login = f", logged in as {email.username}" if email.username else ""
        return f"{email.host}:{email.port} ({email.security}{login})"

    return _attempt("smtp", connect)


def salesforce_check(settings: Settings) -> Check:
    """Log in to Salesforce when the source is Salesforce or a username is configured."""
    config = settings.salesforce
    if settings.source.kind != "salesforce" and not (config.username or config.consumer_key):
        return Check("salesforce", SKIPPED, "source.kind is not salesforce and no login is set")

    def login() -> str:
        from .salesforce import Connection

        connection = Connection.from_settings(config)
        return f"logged in to {connection.instance_url}"

    return _attempt("salesforce", login)


def connection_checks(settings: Settings) -> list[Check]:
    """Every check, in the order a run needs them."""
    return [
        *source_checks(settings),
        sql_check(settings),
        scheduler_check(settings),
        smtp_check(settings),
        salesforce_check(settings),
    ]
