"""`dialflow dnc load-sql`'s load on SQLite, PostgreSQL and MariaDB: the store's current version,
read in batches, replaces the table and its version row in one transaction (MariaDB commits DDL
on its own: there a failed load leaves the table empty, and says so)."""

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from dialflow.dnc import current_version, import_registry
from dialflow.dnc.sql import load_registry_sql
from dialflow.errors import DialflowError, InputError
from tests.sql_servers import backend, other_connection

TODAY = date(2026, 11, 29)
BACKENDS = pytest.mark.parametrize("sql_url", ["sqlite", "postgresql", "mariadb"], indirect=True)
TRANSACTIONAL_DDL = pytest.mark.parametrize("sql_url", ["sqlite", "postgresql"], indirect=True)


def write(folder: Path, name: str, *lines: str) -> Path:
    path = folder / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="ascii")
    return path


def rows(url: str, table: str) -> list[tuple]:
    with other_connection(url) as connection:
        query = f"SELECT area_code, number FROM {table} ORDER BY number"
        return [tuple(row) for row in connection.execute(sa.text(query))]


def version_row(url: str, table: str) -> tuple:
    with other_connection(url) as connection:
        query = f"SELECT version, registry_date, numbers FROM {table}_version"
        found = [tuple(row) for row in connection.execute(sa.text(query))]
    assert len(found) == 1
    version, day, numbers = found[0]
    return version, str(day)[:10], numbers


@BACKENDS
def test_the_current_version_replaces_the_table_in_batches(tmp_path, sql_url):
    store = tmp_path / "dnc"
    import_registry(
        [
            write(tmp_path, "dnc-full-212-2026-11-20.txt", "212,7365001", "212,7365000",
                  "212,7365002"),
            write(tmp_path, "dnc-full-305-2026-11-21.txt", "305,5550999"),
        ],
        store,
        today=TODAY,
    )  # fmt: skip
    seen = []
    loaded = load_registry_sql(
        store, sql_url, "dnc_registry", batch_numbers=2, progress=lambda d, t: seen.append((d, t))
    )
    assert rows(sql_url, "dnc_registry") == [
        ("212", 2127365000), ("212", 2127365001), ("212", 2127365002), ("305", 3055550999),
    ]  # fmt: skip
    first = current_version(store).name
    assert version_row(sql_url, "dnc_registry") == (first, "2026-11-20", 4)
    assert loaded["numbers"] == 4 and loaded["registry_date"] == date(2026, 11, 20)
    assert seen == [(2, 4), (3, 4), (4, 4)]  # 212 in batches of two, then 305

    # A change list: the next load holds exactly the new version, no row twice.
    import_registry(
        [write(tmp_path, "dnc-change-2026-11-25.txt", "212,7365003,A", "212,7365000,D")],
        store,
        today=TODAY,
    )
    load_registry_sql(store, sql_url, "dnc_registry")
    assert rows(sql_url, "dnc_registry") == [
        ("212", 2127365001), ("212", 2127365002), ("212", 2127365003), ("305", 3055550999),
    ]  # fmt: skip
    second = current_version(store).name
    assert second != first
    assert version_row(sql_url, "dnc_registry") == (second, "2026-11-25", 4)


@TRANSACTIONAL_DDL
def test_a_failed_load_leaves_the_previous_table(tmp_path, sql_url, monkeypatch):
    import dialflow.dnc.sql as dnc_sql

    store = tmp_path / "dnc"
    import_registry([write(tmp_path, "dnc-full-212-2026-11-20.txt", "212,7365001")], store,
                    today=TODAY)  # fmt: skip
    load_registry_sql(store, sql_url, "dnc_registry")
    import_registry([write(tmp_path, "dnc-full-212-2026-11-22.txt", "212,7365009")], store,
                    today=TODAY)  # fmt: skip

    def broken(connection, table, frame):
        connection.execute(sa.text("SELECT no_such_column FROM dnc_registry"))

    monkeypatch.setattr(dnc_sql, "_bulk_load", broken)
    with pytest.raises(DialflowError) as caught:
        load_registry_sql(store, sql_url, "dnc_registry")
    assert str(caught.value).startswith("dnc load-sql: loading the DNC registry into ") and str(
        caught.value
    ).endswith("; the table is as it was; check sql.url and the database")
    assert rows(sql_url, "dnc_registry") == [("212", 2127365001)]


@pytest.mark.parametrize("sql_url", ["mariadb"], indirect=True)
def test_a_failed_load_on_mariadb_leaves_the_table_empty_and_says_so(
    tmp_path, sql_url, monkeypatch
):
    # docs/dnc.md: MariaDB/MySQL commit DDL on their own, so the drop and create of the load
    # stay done when it fails: the table is empty (or partial), and the error line says so.
    import dialflow.dnc.sql as dnc_sql

    assert backend(sql_url) == "mariadb"
    store = tmp_path / "dnc"
    import_registry([write(tmp_path, "dnc-full-212-2026-11-20.txt", "212,7365001")], store,
                    today=TODAY)  # fmt: skip
    load_registry_sql(store, sql_url, "dnc_registry")
    assert rows(sql_url, "dnc_registry") == [("212", 2127365001)]

    def broken(connection, table, frame):
        connection.execute(sa.text("SELECT no_such_column FROM dnc_registry"))

    monkeypatch.setattr(dnc_sql, "_bulk_load", broken)
    with pytest.raises(DialflowError) as caught:
        load_registry_sql(store, sql_url, "dnc_registry")
    assert str(caught.value).endswith(
        "; the table may be empty or partial (MariaDB/MySQL commit DDL on their own): load "
        "again; check sql.url and the database"
    )
    assert rows(sql_url, "dnc_registry") == []
    monkeypatch.undo()
    load_registry_sql(store, sql_url, "dnc_registry")  # loading again mends it
    assert rows(sql_url, "dnc_registry") == [("212", 2127365001)]


def test_no_registry_is_one_input_error(tmp_path):
    with pytest.raises(InputError, match="no DNC registry has been imported"):
        load_registry_sql(tmp_path / "dnc", f"sqlite:///{tmp_path / 'x.sqlite'}", "dnc_registry")
