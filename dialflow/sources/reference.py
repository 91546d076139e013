"""Reference tables: area codes, census population and the state calling rules (with their
holidays), shipped with the package and kept in SQL.

With SQL enabled, the tables are read from `sql.url`; on first use (the table does not exist yet)
the shipped copy is created and loaded there in one transaction, so the embedded SQLite database
and a fresh production database start from the same data, and an operator can then maintain the
SQL copy. With SQL off (`--no-sql`), the shipped copy is read directly. Either way the rows are
checked before any job work starts, and a bad row stops the run naming the table and column.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.resources import files
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import sqlalchemy as sa

from ..calling_rules import (
    HOLIDAY_COLUMNS,
    RULE_COLUMNS,
    STATE_CALLING_RULES,
    STATE_HOLIDAYS,
    CallingRules,
    check_calling_rules,
    require_columns,
)
from ..config import mask_passwords
from ..errors import InputError
from ..schema import STRING
from ..sinks.sql import sql_engine_for

log = logging.getLogger(__name__)

AREA_CODES = "area_codes"
CENSUS_POPULATION = "census_population"


def _reference_tables(metadata: sa.MetaData) -> dict[str, sa.Table]:
    return {
        AREA_CODES: sa.Table(
            AREA_CODES,
            metadata,
            sa.Column("area_code", sa.Unicode(3), primary_key=True),
            sa.Column("state", sa.Unicode(2), nullable=False),
            sa.Column("time_zone", sa.Unicode(255), nullable=False),
        ),
        CENSUS_POPULATION: sa.Table(
            CENSUS_POPULATION,
            metadata,
            sa.Column("state", sa.Unicode(2), primary_key=True),
            sa.Column("population", sa.BigInteger(), nullable=False),
        ),
        # Text throughout, empty meaning "not set": dialflow/calling_rules.py checks every row.
        STATE_CALLING_RULES: sa.Table(
            STATE_CALLING_RULES,
            metadata,
            sa.Column("state", sa.Unicode(2), primary_key=True),
            *(
                sa.Column(name, sa.UnicodeText() if name in _LONG_TEXT else sa.Unicode(32))
                for name in RULE_COLUMNS[1:]
            ),
        ),
        STATE_HOLIDAYS: sa.Table(
            STATE_HOLIDAYS,
            metadata,
            sa.Column("holiday", sa.Unicode(64), primary_key=True),
            *(sa.Column(name, sa.Unicode(255)) for name in HOLIDAY_COLUMNS[1:]),
        ),
    }


_LONG_TEXT = ("holidays", "source")


@dataclass(frozen=True)
class ReferenceTables:
    """The checked reference tables and where they were read from."""

    area_codes: pd.DataFrame  # area_code, state, time_zone (IANA names joined by "|")
    census_population: pd.DataFrame  # state, population
    origin: str
    calling_rules: CallingRules = CallingRules()  # state_calling_rules with state_holidays


def shipped_table(name: str) -> pd.DataFrame:
    """Return the copy of a reference table shipped in `dialflow/data/` (see SOURCES.md there)."""
    with files("dialflow.data").joinpath(f"{name}.csv").open("rb") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


def load_reference_tables(sql_url: str | None) -> ReferenceTables:
    """Read and check every reference table from SQL (loading the shipped copy on first use),
    or from the shipped copy when `sql_url` is None."""
    if sql_url is None:
        raw = {name: shipped_table(name) for name in _reference_tables(sa.MetaData())}
        origin = "shipped copy (dialflow/data)"
    else:
        raw = _read_from_sql(sql_url)
        origin = mask_passwords(sql_url)
    census = check_census_population(raw[CENSUS_POPULATION], origin)
    area_codes = check_area_codes(raw[AREA_CODES], set(census["state"]), origin)
    rules = check_calling_rules(
        raw[STATE_CALLING_RULES], raw[STATE_HOLIDAYS], set(census["state"]), origin
    )
    return ReferenceTables(area_codes, census, origin, rules)


def _read_from_sql(url: str) -> dict[str, pd.DataFrame]:
    tables = _reference_tables(sa.MetaData())

    def failure(cause: str) -> str:
        return (
            f"reference tables in SQL: {cause}; "
            f"check sql.url or run with --no-sql to use the shipped copy"
        )

    with sql_engine_for(url, failure) as engine:
        with engine.begin() as connection:
            existing = set(sa.inspect(connection).get_table_names())
            for name, table in tables.items():
                if name not in existing:
                    table.create(connection)
                    rows = shipped_table(name)
                    if name == CENSUS_POPULATION:
                        rows = rows.astype({"population": "int64"})
                    connection.execute(table.insert(), rows.to_dict("records"))
                    log.info("reference table %s created from the shipped copy", name)
        with engine.connect() as connection:
            # Reflected, not declared: a table an operator changed is reported by require_columns.
            reflected = {
                name: sa.Table(name, sa.MetaData(), autoload_with=connection) for name in tables
            }
            return {
                name: pd.DataFrame(
                    connection.execute(sa.select(table)).all(), columns=list(table.columns.keys())
                )
                for name, table in reflected.items()
            }


def _bad_rows(
    table: str, column: str, bad: pd.Series, frame: pd.DataFrame, rule: str, origin: str
) -> None:
    if bad.any():
        example = frame.loc[bad, column].iloc[0]
        example = example.item() if hasattr(example, "item") else example  # 5, not np.int64(5)
        raise InputError(
            f"{origin}: table {table}, column {column}: {int(bad.sum())} row(s) like "
            f"{example!r} are not {rule}; fix them or drop the table to reload the shipped copy"
        )


def check_census_population(frame: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Return (state, population int64) after checking codes are unique and populations positive."""
    table = CENSUS_POPULATION
    require_columns(frame, table, ["state", "population"], origin, InputError)
    if frame.empty:
        raise InputError(f"{origin}: table {table} is empty; it needs one row per state")
    states = frame["state"].astype(object)
    _bad_rows(
        table, "state", ~states.astype(str).str.fullmatch(r"[A-Z]{2}"), frame, "state codes", origin
    )
    _bad_rows(table, "state", states.duplicated(), frame, "unique", origin)
    population = pd.to_numeric(frame["population"], errors="coerce")
    _bad_rows(
        table, "population", ~(population > 0) | (population % 1 != 0), frame,
        "positive whole numbers", origin,
    )  # fmt: skip
    return (
        pd.DataFrame({"state": states.astype(STRING), "population": population.astype("int64")})
        .sort_values("state")
        .reset_index(drop=True)
    )


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_area_codes(frame: pd.DataFrame, states: set[str], origin: str) -> pd.DataFrame:
    """Return (area_code, state, time_zone) as strings after checking every row is usable."""
    table = AREA_CODES
    require_columns(frame, table, ["area_code", "state", "time_zone"], origin, InputError)
    codes = frame["area_code"].astype(str).str.strip()
    _bad_rows(
        table, "area_code", ~codes.str.fullmatch(r"[2-9]\d\d"), frame, "3-digit area codes", origin
    )
    _bad_rows(table, "area_code", codes.duplicated(), frame, "unique", origin)
    _bad_rows(
        table, "state", ~frame["state"].isin(states), frame,
        "states of the census_population table", origin,
    )  # fmt: skip
    zones = frame["time_zone"].astype(str)
    known = {zone: _known_zone(zone) for zone in set(zones.str.split("|").explode())}
    _bad_rows(
        table, "time_zone", ~zones.map(lambda text: all(known[z] for z in text.split("|"))),
        frame, "IANA time zones joined by |", origin,
    )  # fmt: skip
    return pd.DataFrame(
        {"area_code": codes, "state": frame["state"], "time_zone": zones}, dtype=STRING
    ).reset_index(drop=True)
