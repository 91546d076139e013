"""SQL server fixtures: a fresh, isolated place on SQLite, PostgreSQL and MariaDB for each test.

`sql_url` is parametrized over the three backends (narrow it with
`@pytest.mark.parametrize("sql_url", [...], indirect=True)`) and yields a SQLAlchemy URL:

- sqlite: a new file under tmp_path;
- postgresql: the local server's database `test`, in a schema of its own put first on the
  connection's search_path (`options=-csearch_path=...`), dropped after the test;
- mariadb: a database `dialflow_test_<hex>` of its own on the local server, reached through
  pyodbc and the MariaDB ODBC driver, dropped after the test.

A server that cannot be reached skips the test saying what to start, or fails it when the
environment variable CI is "true" (a CI job that was meant to run them must not go green).
`other_connection(url)` opens a second, independent connection for assertions.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB_DRIVER = "MariaDB Unicode"
# The port is for show: MariaDB ODBC ignores `Server=host,port` (see tests/sinks/test_sql.py).
MARIADB_URL = (
    "mysql+pyodbc://root:@127.0.0.1:3306/{database}?driver=MariaDB+Unicode&charset=utf8mb4"
)
BACKENDS = ["sqlite", "postgresql", "mariadb"]
SERVERS = ["postgresql", "mariadb"]


def unavailable(message: str) -> None:
    """Skip the test, or fail it on CI, where every server is meant to be running."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _first_line(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    return (str(cause).splitlines() or [type(cause).__name__])[0]


def backend(url: str) -> str:
    """Return sqlite, postgresql or mariadb for a URL of these fixtures."""
    name = sa.engine.make_url(url).get_backend_name()
    return "mariadb" if name == "mysql" else name


@contextmanager
def other_connection(url: str) -> Iterator[sa.Connection]:
    """A second connection of its own (no pool, autocommit), closed on exit."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection.execution_options(isolation_level="AUTOCOMMIT")
    finally:
        engine.dispose()


def _admin(url: str) -> sa.Engine:
    return sa.create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")


@contextmanager
def _postgresql() -> Iterator[str]:
    schema = f"dialflow_test_{uuid.uuid4().hex[:12]}"
    admin = _admin(PG_URL)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        unavailable(
            f"PostgreSQL is unreachable at {PG_URL} ({_first_line(exc)}); start it "
            "(e.g. `sudo service postgresql start`) with trust auth for postgres and a database "
            "named test"
        )
    url = sa.engine.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        try:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        finally:
            admin.dispose()


@contextmanager
def _mariadb() -> Iterator[str]:
    try:
        import pyodbc
    except ImportError:
        unavailable("pyodbc is not installed; `pip install pyodbc` (and unixodbc, odbc-mariadb)")
    if MARIADB_DRIVER not in pyodbc.drivers():
        unavailable(
            f"the ODBC driver [{MARIADB_DRIVER}] is missing (pyodbc sees {pyodbc.drivers()}); "
            "install it with `sudo apt-get install unixodbc odbc-mariadb`"
        )
    database = f"dialflow_test_{uuid.uuid4().hex[:12]}"
    admin = _admin(MARIADB_URL.format(database="test"))
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4"))
    except sa.exc.DBAPIError as exc:
        admin.dispose()
        unavailable(
            f"MariaDB is unreachable at 127.0.0.1:3306 as root ({_first_line(exc)}); start it "
            "(e.g. `sudo service mariadb start`) with an empty root password for TCP logins"
        )
    try:
        yield MARIADB_URL.format(database=database)
    finally:
        try:
            with admin.connect() as connection:
                connection.execute(sa.text(f"DROP DATABASE IF EXISTS `{database}`"))
        finally:
            admin.dispose()


@contextmanager
def sql_place(kind: str, folder) -> Iterator[str]:  # noqa: ANN001 - a pathlib.Path
    """A fresh URL on one backend (see the module docstring); for module-scoped fixtures too."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'db' / 'dialflow.sqlite'}"
    elif kind == "postgresql":
        with _postgresql() as url:
            yield url
    elif kind == "mariadb":
        with _mariadb() as url:
            yield url
    else:
        raise ValueError(f"unknown SQL backend {kind!r}")


@pytest.fixture(params=BACKENDS)
def sql_url(request, tmp_path) -> Iterator[str]:
    """A URL to a fresh, isolated place on sqlite, postgresql or mariadb."""
    with sql_place(request.param, tmp_path) as url:
        yield url
