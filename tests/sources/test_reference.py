"""Reference tables: the shipped copy, the first-use load into SQL, and the row checks.

SQLite (a file under tmp_path) always runs; PostgreSQL runs against the machine's server at
PG_URL in a schema of its own (made the connection's search_path), dropped after each test.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pandas as pd
import pytest
import sqlalchemy as sa

from dialflow.errors import DialflowError, InputError
from dialflow.schema import STRING
from dialflow.sources import reference
from dialflow.sources.reference import load_reference_tables, shipped_table

SHIPPED_ORIGIN = "shipped copy (dialflow/data)"
SHIPPED_AREA_CODES = 359
SHIPPED_STATES = 51
SHIPPED_POPULATION = 331_449_281
RELOAD_HINT = "fix them or drop the table to reload the shipped copy"
EMPTY_CENSUS = "table census_population is empty; it needs one row per state"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'db' / 'dialflow.sqlite'}"


def _execute(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def _replace_table(url: str, name: str, frame: pd.DataFrame) -> None:
    """Drop a table and write `frame` in its place (no primary key, columns as in the frame)."""
    engine = sa.create_engine(url)
    try:
        frame.to_sql(name, engine, if_exists="replace", index=False)
    finally:
        engine.dispose()


def _all_rows(connection: sa.Connection, name: str) -> list:
    return connection.execute(sa.text(f"SELECT * FROM {name}")).all()


def _snapshot(url: str) -> dict[str, tuple[list[str], list[tuple]]]:
    """Return every table's column names and sorted rows."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            return {
                name: (
                    [column["name"] for column in inspector.get_columns(name)],
                    sorted(map(tuple, _all_rows(connection, name)), key=str),
                )
                for name in sorted(inspector.get_table_names())
            }
    finally:
        engine.dispose()


def _shipped_census() -> pd.DataFrame:
    return shipped_table("census_population").astype({"population": "int64"})


def _check_first_use(url: str, schema: str | None = None) -> None:
    """Every reference table exists with the shipped rows, the declared columns and an integer
    population."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            assert set(inspector.get_table_names(schema=schema)) == {
                "area_codes",
                "census_population",
                "state_calling_rules",
                "state_holidays",
            }
            columns = {
                name: {c["name"]: c["type"] for c in inspector.get_columns(name, schema=schema)}
                for name in ("area_codes", "census_population")
            }
            assert list(columns["area_codes"]) == ["area_code", "state", "time_zone"]
            assert list(columns["census_population"]) == ["state", "population"]
            assert isinstance(columns["census_population"]["population"], sa.Integer)
            assert (
                columns["census_population"]["population"].compile(dialect=engine.dialect)
                == "BIGINT"
            )
            counts = {
                name: connection.execute(sa.text(f"SELECT COUNT(*) FROM {name}")).scalar()
                for name in ("area_codes", "census_population")
            }
            assert counts == {"area_codes": SHIPPED_AREA_CODES, "census_population": SHIPPED_STATES}
            al = connection.execute(
                sa.text("SELECT sunday_start, sunday_end FROM state_calling_rules WHERE state='AL'")
            ).one()
            assert tuple(al) == ("closed", "closed")
            total = connection.execute(sa.text("SELECT SUM(population) FROM census_population"))
            assert total.scalar() == SHIPPED_POPULATION
            ny = connection.execute(
                sa.text("SELECT state, time_zone FROM area_codes WHERE area_code = '212'")
            ).one()
            assert tuple(ny) == ("NY", "America/New_York")
    finally:
        engine.dispose()


# --- the shipped copy ---------------------------------------------------------------------------


def test_shipped_copy_has_359_area_codes_and_51_states():
    tables = load_reference_tables(None)
    assert tables.origin == SHIPPED_ORIGIN
    assert len(tables.area_codes) == SHIPPED_AREA_CODES
    assert len(tables.census_population) == SHIPPED_STATES
    assert int(tables.census_population["population"].sum()) == SHIPPED_POPULATION
    assert list(tables.area_codes.columns) == ["area_code", "state", "time_zone"]
    assert {str(t) for t in tables.area_codes.dtypes} == {str(pd.Series(dtype=STRING).dtype)}
    assert list(tables.census_population.columns) == ["state", "population"]
    assert str(tables.census_population["population"].dtype) == "int64"
    assert tables.census_population["state"].tolist() == sorted(
        tables.census_population["state"].tolist()
    )
    assert set(tables.area_codes["state"]) <= set(tables.census_population["state"])
    row = tables.area_codes.set_index("area_code").loc["208"]
    assert row["time_zone"] == "America/Boise|America/Denver|America/Los_Angeles"


# --- SQLite ---------------------------------------------------------------------------------------


def test_first_use_creates_both_tables_from_the_shipped_copy(tmp_path):
    url = _sqlite_url(tmp_path)  # its folder does not exist yet
    tables = load_reference_tables(url)
    assert tables.origin == url
    _check_first_use(url)
    shipped = load_reference_tables(None)
    pd.testing.assert_frame_equal(tables.area_codes, shipped.area_codes)
    pd.testing.assert_frame_equal(tables.census_population, shipped.census_population)


def test_later_use_reads_the_operators_edits_and_does_not_reload(tmp_path):
    url = _sqlite_url(tmp_path)
    load_reference_tables(url)
    _execute(
        url,
        "UPDATE census_population SET population = 600000 WHERE state = 'WY'",
        "UPDATE area_codes SET time_zone = 'America/Chicago' WHERE area_code = '212'",
        "DELETE FROM area_codes WHERE area_code = '646'",
    )
    tables = load_reference_tables(url)
    census = tables.census_population.set_index("state")["population"]
    assert census["WY"] == 600_000
    assert len(census) == SHIPPED_STATES
    codes = tables.area_codes.set_index("area_code")
    assert codes.loc["212", "time_zone"] == "America/Chicago"
    assert "646" not in codes.index
    assert len(codes) == SHIPPED_AREA_CODES - 1
    snapshot = _snapshot(url)
    assert len(snapshot["area_codes"][1]) == SHIPPED_AREA_CODES - 1
    assert ("WY", 600_000) in snapshot["census_population"][1]


def test_a_dropped_table_is_reloaded_and_the_other_kept(tmp_path):
    url = _sqlite_url(tmp_path)
    load_reference_tables(url)
    _execute(
        url,
        "UPDATE area_codes SET time_zone = 'America/Chicago' WHERE area_code = '212'",
        "DROP TABLE census_population",
    )
    tables = load_reference_tables(url)
    assert int(tables.census_population["population"].sum()) == SHIPPED_POPULATION
    assert tables.area_codes.set_index("area_code").loc["212", "time_zone"] == "America/Chicago"


def _update(*statements: str) -> Callable[[str], None]:
    return lambda url: _execute(url, *statements)


def _duplicate_state(url: str) -> None:
    census = _shipped_census()
    _replace_table(url, "census_population", pd.concat([census, census[census.state == "NY"]]))


def _duplicate_code(url: str) -> None:
    codes = shipped_table("area_codes")
    _replace_table(url, "area_codes", pd.concat([codes, codes[codes.area_code == "212"]]))


def _no_time_zone(url: str) -> None:
    _replace_table(url, "area_codes", shipped_table("area_codes")[["area_code", "state"]])


# (setup, message after "<origin>: " up to the example, message end)
BAD_TABLES = {
    "negative population": (
        _update("UPDATE census_population SET population = -5 WHERE state = 'WY'"),
        "table census_population, column population: 1 row(s) like ",
        f" are not positive whole numbers; {RELOAD_HINT}",
    ),
    "non-numeric population": (
        _update("UPDATE census_population SET population = 'many' WHERE state = 'WY'"),
        "table census_population, column population: 1 row(s) like 'many'",
        f" are not positive whole numbers; {RELOAD_HINT}",
    ),
    "fractional population": (
        _update("UPDATE census_population SET population = 1.5 WHERE state = 'WY'"),
        "table census_population, column population: 1 row(s) like ",
        f" are not positive whole numbers; {RELOAD_HINT}",
    ),
    "lower-case state": (
        _update("UPDATE census_population SET state = 'ny' WHERE state = 'NY'"),
        "table census_population, column state: 1 row(s) like 'ny'",
        f" are not state codes; {RELOAD_HINT}",
    ),
    "duplicate state": (
        _duplicate_state,
        "table census_population, column state: 1 row(s) like 'NY'",
        f" are not unique; {RELOAD_HINT}",
    ),
    "2-digit area code": (
        _update("UPDATE area_codes SET area_code = '21' WHERE area_code = '212'"),
        "table area_codes, column area_code: 1 row(s) like '21'",
        f" are not 3-digit area codes; {RELOAD_HINT}",
    ),
    "duplicate area code": (
        _duplicate_code,
        "table area_codes, column area_code: 1 row(s) like '212'",
        f" are not unique; {RELOAD_HINT}",
    ),
    "area code duplicate once stripped": (
        _update("UPDATE area_codes SET area_code = ' 212' WHERE area_code = '646'"),
        "table area_codes, column area_code: 1 row(s) like ",
        f" are not unique; {RELOAD_HINT}",
    ),
    "state not in census": (
        _update("UPDATE area_codes SET state = 'ZZ' WHERE area_code = '212'"),
        "table area_codes, column state: 1 row(s) like 'ZZ'",
        f" are not states of the census_population table; {RELOAD_HINT}",
    ),
    "state removed from census": (
        _update("DELETE FROM census_population WHERE state = 'WY'"),
        "table area_codes, column state: 1 row(s) like 'WY'",
        f" are not states of the census_population table; {RELOAD_HINT}",
    ),
    "unknown time zone": (
        _update("UPDATE area_codes SET time_zone = 'America/Atlantis' WHERE area_code = '212'"),
        "table area_codes, column time_zone: 1 row(s) like 'America/Atlantis'",
        f" are not IANA time zones joined by |; {RELOAD_HINT}",
    ),
    "empty zone after |": (
        _update("UPDATE area_codes SET time_zone = 'America/New_York|' WHERE area_code = '212'"),
        "table area_codes, column time_zone: 1 row(s) like 'America/New_York|'",
        f" are not IANA time zones joined by |; {RELOAD_HINT}",
    ),
    "missing column": (
        _no_time_zone,
        "table area_codes has no column time_zone; it needs area_code, state, time_zone",
        " (drop the table to reload the shipped copy)",
    ),
}


@pytest.mark.parametrize("case", list(BAD_TABLES))
def test_a_bad_row_stops_naming_origin_table_and_column(tmp_path, case):
    setup, head, tail = BAD_TABLES[case]
    url = _sqlite_url(tmp_path)
    load_reference_tables(url)
    setup(url)
    before = _snapshot(url)
    with pytest.raises(InputError) as caught:
        load_reference_tables(url)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{url}: {head}"), message
    assert message.endswith(tail), message
    assert _snapshot(url) == before  # nothing reloaded, repaired or dropped


def test_an_empty_census_table_is_reported_as_empty(tmp_path):
    url = _sqlite_url(tmp_path)
    load_reference_tables(url)
    _execute(url, "DELETE FROM census_population")
    before = _snapshot(url)
    with pytest.raises(InputError) as caught:
        load_reference_tables(url)
    assert _snapshot(url) == before
    assert str(caught.value) == f"{url}: {EMPTY_CENSUS}"


def test_an_empty_census_frame_is_reported_as_empty():
    """The check itself, given the columns, says `is empty` (the SQL path loses the columns)."""
    empty = pd.DataFrame({"state": pd.Series(dtype=str), "population": pd.Series(dtype="int64")})
    with pytest.raises(InputError) as caught:
        reference.check_census_population(empty, "origin")
    assert str(caught.value) == f"origin: {EMPTY_CENSUS}"


def test_a_numeric_example_is_shown_as_the_number(tmp_path):
    url = _sqlite_url(tmp_path)
    load_reference_tables(url)
    _execute(url, "UPDATE census_population SET population = -5 WHERE state = 'WY'")
    with pytest.raises(InputError) as caught:
        load_reference_tables(url)
    assert " 1 row(s) like -5 are not positive whole numbers" in str(caught.value)


def test_an_unusable_database_is_one_dialflow_error(tmp_path):
    url = f"sqlite:///{tmp_path}"  # a folder, not a database file
    with pytest.raises(DialflowError) as caught:
        load_reference_tables(url)
    message = str(caught.value)
    assert not isinstance(caught.value, InputError)
    assert message.startswith("reference tables in SQL: OperationalError: ")
    assert message.endswith("; check sql.url or run with --no-sql to use the shipped copy")
    assert "\n" not in message


def _fail_census_insert(monkeypatch) -> None:
    """Make the first-use census rows break the primary key, after area_codes is loaded."""

    def shipped(name: str) -> pd.DataFrame:
        rows = shipped_table(name)
        return pd.concat([rows, rows.head(1)]) if name == "census_population" else rows

    monkeypatch.setattr(reference, "shipped_table", shipped)


def test_a_failed_first_use_load_leaves_no_table_sqlite(tmp_path, monkeypatch):
    url = _sqlite_url(tmp_path)
    _fail_census_insert(monkeypatch)
    with pytest.raises(DialflowError, match="^reference tables in SQL: IntegrityError: "):
        load_reference_tables(url)
    assert _snapshot(url) == {}


# --- PostgreSQL -----------------------------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[tuple[str, str]]:
    """Yield (url, schema): a fresh schema on the local server, first on the search_path."""
    schema = f"dialflow_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        message = (
            f"PostgreSQL is unreachable at {PG_URL} ({str(exc.orig).splitlines()[0]}); start the "
            "local server (e.g. `sudo service postgresql start`) with trust auth for postgres and "
            "a database named test"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    url = sa.engine.make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False), schema
    finally:
        try:
            with admin.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        finally:
            admin.dispose()


def test_postgresql_first_use_then_edits_win(pg_url):
    url, schema = pg_url
    tables = load_reference_tables(url)
    assert tables.origin == url  # no password to hide
    _check_first_use(url, schema)
    _execute(url, "UPDATE census_population SET population = 600000 WHERE state = 'WY'")
    again = load_reference_tables(url)
    assert again.census_population.set_index("state").loc["WY", "population"] == 600_000
    assert len(again.area_codes) == SHIPPED_AREA_CODES


def test_postgresql_bad_row_stops_and_leaves_the_tables(pg_url):
    url, _ = pg_url
    load_reference_tables(url)
    _execute(url, "UPDATE area_codes SET time_zone = 'America/Atlantis' WHERE area_code = '212'")
    before = _snapshot(url)
    with pytest.raises(InputError) as caught:
        load_reference_tables(url)
    assert str(caught.value) == (
        f"{url}: table area_codes, column time_zone: 1 row(s) like 'America/Atlantis' are not "
        f"IANA time zones joined by |; {RELOAD_HINT}"
    )
    assert _snapshot(url) == before


def test_postgresql_failed_first_use_load_leaves_no_table(pg_url, monkeypatch):
    url, _ = pg_url
    _fail_census_insert(monkeypatch)
    with pytest.raises(DialflowError, match="^reference tables in SQL: UniqueViolation: "):
        load_reference_tables(url)
    assert _snapshot(url) == {}


def test_an_operators_edit_of_the_state_rules_wins_and_a_bad_one_is_refused(tmp_path):
    from datetime import date

    from dialflow.errors import ConfigError

    url = _sqlite_url(tmp_path)
    sunday = date(2026, 11, 29)
    assert load_reference_tables(url).calling_rules.on("AL", sunday).window is None
    _execute(
        url,
        "UPDATE state_calling_rules SET sunday_start = '12:30', sunday_end = '17:00' "
        "WHERE state = 'AL'",
    )
    assert load_reference_tables(url).calling_rules.on("AL", sunday).window == (750, 1020)
    _execute(url, "UPDATE state_calling_rules SET holidays = 'boxing_day' WHERE state = 'AL'")
    with pytest.raises(ConfigError) as caught:
        load_reference_tables(url)
    assert str(caught.value) == (
        f"{url}: table state_calling_rules, row AL, column holidays: 'boxing_day' is not an id "
        "of table state_holidays; add it there or fix the id"
    )
