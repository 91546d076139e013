"""Same-logic DuckDB baselines: one DuckDB process doing exactly each job's rules.

The other baselines either do different work (DuckDB with approximate phones) or are slow on
purpose (seed-style pandas), so neither says what dialflow's Dask design costs. Each function
here reads the same files as `dialflow run <job>`, applies the job's rules in DuckDB SQL (2
threads) and writes CSVs that must be byte-identical to dialflow's; `assert_identical` checks
that in every benchmark run and in tests/test_samelogic.py.

What is deliberately not re-implemented, so that it cannot be the difference:
- phones: dialflow's own vectorised `normalize_e164`, applied once to the distinct raw values
  and joined back (`phone_table`);
- the few other value-level functions whose exact Unicode behaviour SQL cannot promise
  (casefolding names that are not ASCII, disposition lookups), the same way: once per
  distinct value;
- the CSV formula guard: DuckDB writes the file, and only cells the guard's own RE2 test marks
  as risky go through dialflow's guard (a UDF DuckDB calls for those rows alone).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

THREADS = 2
ISO = "%Y-%m-%dT%H:%M:%SZ"


class OutputMismatch(AssertionError):
    """A same-logic baseline wrote other bytes than dialflow: the baseline has drifted."""


# ---------------------------------------------------------------------------------------------
# Shared pieces
# ---------------------------------------------------------------------------------------------


def connect():  # noqa: ANN201 - duckdb.DuckDBPyConnection
    """Return a DuckDB connection with 2 threads and UTC as its time zone (dates print in UTC)."""
    import duckdb

    con = duckdb.connect(config={"threads": THREADS})
    con.execute("SET TimeZone = 'UTC'")
    _register_guard(con)
    return con


def parquet(data: Path, table: str) -> str:
    """Return the SQL that reads one demo table's Parquet files."""
    return "read_parquet('" + str(data / table / "*.parquet").replace("'", "''") + "')"


def quote(text: str) -> str:
    """Return a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def distinct_values(con: Any, raw_sql: str) -> pa.Array:
    """Return the distinct non-null values of `raw_sql`'s one column as one Arrow array."""
    table = con.sql(
        f"SELECT DISTINCT raw FROM ({raw_sql}) AS t(raw) WHERE raw IS NOT NULL"
    ).to_arrow_table()
    return table.column(0).combine_chunks() if table.num_rows else pa.array([], pa.string())


def phone_table(con: Any, name: str, raw_sql: str, region: str) -> int:
    """Create table `name` (raw, e164): each distinct raw value of `raw_sql`'s one column with
    dialflow's E.164 form (null where not valid); return how many distinct values there were.

    Phones are where dialflow spends much of its time, and SQL has no phonenumbers: normalising
    each distinct value once with the same function makes phones equal on both sides by
    construction, and leaves the joins, grouping and rules to be compared.
    """
    from dialflow.phones import normalize_e164

    raw = distinct_values(con, raw_sql)
    e164 = normalize_e164(pd.Series(raw, dtype="string[pyarrow]"), region)
    con.register(f"{name}_arrow", pa.table({"raw": raw, "e164": pa.array(e164, pa.string())}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")
    return len(raw)


def value_table(con: Any, name: str, raw_sql: str, function: Any, out_type: Any) -> None:
    """Create table `name` (raw, value): `function` (a pandas Series -> Series) applied once to
    the distinct non-null values of `raw_sql`'s one column."""
    raw = distinct_values(con, raw_sql)
    value = function(pd.Series(raw, dtype="string[pyarrow]"))
    con.register(f"{name}_arrow", pa.table({"raw": raw, "value": pa.array(value, out_type)}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")


def lacks_id_sql(column: str) -> str:
    """Return SQL true where an id is missing: null, empty or only white space (str.strip's:
    RE2's `\\s` lacks the vertical tab and the separators Python also strips)."""
    return rf"({column} IS NULL OR regexp_matches({column}, '^[\s\x0b\p{{Z}}\x1c-\x1f\x85]*$'))"


def refuse_repeated_ids(con: Any, relation: str, table: str = "Account") -> None:
    """Stop, as dialflow does, when an Id is held by more than one row."""
    repeated = con.execute(
        f"SELECT Id, count(*) AS n FROM {relation} GROUP BY Id HAVING n > 1 "
        "ORDER BY n DESC, Id LIMIT 1"
    ).fetchone()
    if repeated:
        raise SystemExit(f"{table}: Id {repeated[0]!r} is held by {repeated[1]} rows")


def _register_guard(con: Any) -> None:
    from dialflow.sinks.csv import _guard_cell

    con.create_function("dialflow_guard", _guard_cell, ["VARCHAR"], "VARCHAR")


def guarded(column: str) -> str:
    """Return SQL for a text column as dialflow's CSV writer writes it.

    Control characters become a space (SQL); a cell the guard's RE2 test marks as risky goes
    through dialflow's own guard function (few rows: a stored phone like `+1 415-...`, junk).
    """
    from dialflow.sinks.csv import _CONTROL, _RISKY

    # nullif: DuckDB quotes an empty string (`""`) where pandas writes nothing.
    clean = f"nullif(regexp_replace({column}, {quote(_CONTROL)}, ' ', 'g'), '')"
    return (
        f"CASE WHEN regexp_matches({clean}, {quote(_RISKY)}) THEN dialflow_guard({clean}) "
        f"ELSE {clean} END"
    )


def iso(column: str) -> str:
    """Return SQL for a timestamp as dialflow writes it: ISO-8601 in UTC, seconds, `Z`."""
    return f"strftime({column}::TIMESTAMP, '{ISO}')"


def copy_csv(con: Any, select: str, path: Path) -> int:
    """Write a query's rows as CSV (header, `\\n`, minimal quoting); return the rows written."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE csv_out AS {select}")
    con.execute(f"COPY csv_out TO {quote(str(path))} (HEADER, DELIMITER ',')")
    return int(con.execute("SELECT count(*) FROM csv_out").fetchone()[0])


def assert_identical(mine: Path, theirs: Path, who: str = "same-logic DuckDB") -> str:
    """Return a one-line "identical" note, or raise OutputMismatch naming the first difference."""
    a, b = mine.read_bytes(), theirs.read_bytes()
    if a == b:
        rows = a.count(b"\n") - 1
        return f"yes, byte-identical ({rows:,} rows, {theirs.name})"
    left, right = a.splitlines(), b.splitlines()
    line = next(
        (i for i, (x, y) in enumerate(zip(left, right, strict=False)) if x != y),
        min(len(left), len(right)),
    )

    def show(rows: list[bytes]) -> bytes:
        return rows[line][:200] if line < len(rows) else b"<end of file>"

    raise OutputMismatch(
        f"{who} differs from dialflow's {theirs.name} ({len(left) - 1:,} vs {len(right) - 1:,} "
        f"rows) first at line {line + 1}: {show(left)!r} vs {show(right)!r} ({mine} vs {theirs})"
    )


def load_settings(config: Path):  # noqa: ANN201 - dialflow.config.Settings
    """Return the settings dialflow resolves from the same config file."""
    from dialflow.config import load_settings as load

    return load(config)


# ---------------------------------------------------------------------------------------------
# dedupe, exact method
# ---------------------------------------------------------------------------------------------


def dedupe(data: Path, config: Path, out_file: Path) -> dict[str, Any]:
    """Write `dedupe_flagged.csv`'s bytes to out_file (exact method); return its counts."""
    from dialflow.jobs.dedupe import DedupeParams, normalize_names

    params = DedupeParams.from_settings(load_settings(config))
    if params.method != "exact":
        raise SystemExit("the same-logic dedupe is the exact method: set dedupe.method: exact")
    start = time.perf_counter()
    con = connect()
    kinds = {kind: rank for rank, kind in enumerate(params.match_keys)}
    phone = f'"{params.phone_field}"' if "phone" in kinds else "NULL::VARCHAR"
    named = "name_postal" in kinds
    con.execute(
        f"""CREATE TEMP TABLE acc AS
        SELECT Id, CreatedDate, LastModifiedDate, {phone} AS raw_phone,
               {"Name, BillingPostalCode" if named else "NULL AS Name, NULL AS BillingPostalCode"}
        FROM {parquet(data, "Account")} WHERE NOT {lacks_id_sql("Id")}"""
    )
    refuse_repeated_ids(con, "acc")
    keys = []
    if "phone" in kinds:
        phone_table(con, "phones", "SELECT raw_phone FROM acc", params.region)
        keys.append(
            "SELECT a.Id, 'phone' AS MatchKey, 'phone:' || p.e164 AS KeyValue "
            "FROM acc a JOIN phones p ON a.raw_phone = p.raw WHERE p.e164 IS NOT NULL"
        )
    if named:
        # ASCII names in SQL (lower() is casefold there, and RE2's classes are pyarrow's);
        # the rest, few, through dialflow's own function once per distinct name.
        value_table(
            con,
            "unicode_names",
            "SELECT Name FROM acc WHERE NOT regexp_matches(Name, '^[\\x00-\\x7f]*$')",
            lambda names: normalize_names(names, params.legal_suffixes),
            pa.string(),
        )
        alternatives = "|".join(
            sorted({s for s in params.legal_suffixes if s}, key=len, reverse=True)
        )
        ascii_name = (
            r"regexp_replace(trim(regexp_replace(regexp_replace(lower(a.Name), "
            r"'[\p{P}\p{S}]+', '', 'g'), '[\s\p{Z}]+', ' ', 'g')), "
            + quote(f"(?: (?:{alternatives}))+$" if alternatives else "$^")
            + ", '')"
        )
        postal = (
            f"left(regexp_replace(a.BillingPostalCode, '[^0-9]', '', 'g'), {params.postal_digits})"
        )
        con.execute(
            f"""CREATE TEMP TABLE names AS
            SELECT a.Id, nullif(coalesce(u.value, {ascii_name}), '') AS name, {postal} AS postal
            FROM acc a LEFT JOIN unicode_names u ON a.Name = u.raw"""
        )
        keys.append(
            "SELECT Id, 'name_postal', 'name_postal:' || name || '|' || postal FROM names "
            f"WHERE name IS NOT NULL AND length(postal) = {params.postal_digits}"
        )
    # Only values held by two or more records link anything: the member rows.
    con.execute(
        f"""CREATE TEMP TABLE members AS
        WITH k AS ({" UNION ALL ".join(keys)})
        SELECT Id, MatchKey, KeyValue FROM k
        WHERE KeyValue IN (SELECT KeyValue FROM k GROUP BY KeyValue HAVING count(*) > 1)"""
    )
    clusters_by_min_label(con)
    rank = "CASE MatchKey " + " ".join(f"WHEN '{k}' THEN {r}" for k, r in kinds.items()) + " END"
    select = f"""
        WITH rec AS (
            SELECT l.Id, l.label, a.LastModifiedDate, a.CreatedDate,
                   count(*) OVER (PARTITION BY l.label) AS ClusterSize
            FROM labels l JOIN acc a USING (Id)
        ), ranked AS (
            SELECT *, row_number() OVER (
                PARTITION BY label ORDER BY LastModifiedDate DESC NULLS LAST,
                CreatedDate DESC NULLS LAST, Id DESC) AS pos
            FROM rec
        ), keysets AS (
            SELECT Id, string_agg(MatchKey, ';' ORDER BY r) AS MatchKeys
            FROM (SELECT DISTINCT Id, MatchKey, {rank} AS r FROM members) GROUP BY Id
        )
        SELECT {guarded("m.Id")} AS Id, {guarded("s.Id")} AS SurvivorId, m.ClusterSize,
               {guarded("k.MatchKeys")} AS MatchKeys, {iso("m.LastModifiedDate")} AS
               LastModifiedDate, {iso("s.LastModifiedDate")} AS SurvivorLastModifiedDate
        FROM ranked m JOIN ranked s ON s.label = m.label AND s.pos = 1
        JOIN keysets k ON k.Id = m.Id
        WHERE m.pos > 1
        ORDER BY m.Id"""
    rows = copy_csv(con, select, out_file)
    return {"rows": rows, "seconds_sql": round(time.perf_counter() - start, 3)}


def clusters_by_min_label(con: Any) -> int:
    """Create table labels (Id, label): each member's connected component, as its smallest Id.

    Label propagation over the member rows: each key value takes the smallest label of its
    holders and passes it back, until no label changes; the rounds grow with the longest
    chain of keys (a handful), each round a pair of grouped joins.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE labels AS SELECT DISTINCT Id, Id AS label FROM members"
    )
    rounds = 0
    while True:
        rounds += 1
        con.execute(
            """CREATE OR REPLACE TEMP TABLE next_labels AS
            WITH by_value AS (
                SELECT m.KeyValue, min(l.label) AS label
                FROM members m JOIN labels l USING (Id) GROUP BY m.KeyValue
            )
            SELECT m.Id, min(v.label) AS label
            FROM members m JOIN by_value v USING (KeyValue) GROUP BY m.Id"""
        )
        changed = con.execute(
            "SELECT count(*) FROM next_labels n JOIN labels l USING (Id) WHERE n.label < l.label"
        ).fetchone()[0]
        con.execute("CREATE OR REPLACE TEMP TABLE labels AS SELECT * FROM next_labels")
        if not changed:
            return rounds


# ---------------------------------------------------------------------------------------------
# autoflush
# ---------------------------------------------------------------------------------------------


def autoflush(
    data: Path, config: Path, out_file: Path, as_of: pd.Timestamp, since: pd.Timestamp | None
) -> dict[str, Any]:
    """Write `autoflush_cleanup.csv`'s bytes to out_file and `dnc_numbers.csv`'s beside it
    (`dnc_file(out_file)`); return their counts."""
    from dialflow.jobs.autoflush import SIGNALS, AutoflushParams
    from dialflow.jobs.dispositions import categorise

    params = AutoflushParams.from_settings(load_settings(config), as_of, since)
    start = time.perf_counter()
    con = connect()
    con.execute(
        f"""CREATE TEMP TABLE calls AS
        SELECT AccountId, Dialed_Number__c, CallDisposition, CreatedDate
        FROM {parquet(data, "Task")}"""
    )
    # Dispositions are few: looked up once each with dialflow's own trimming and casefolding.
    value_table(
        con,
        "categories",
        "SELECT CallDisposition FROM calls",
        lambda raw: categorise(raw, params.categories),
        pa.string(),
    )
    window = f"c.CreatedDate <= {quote(as_of.isoformat())}::TIMESTAMPTZ"
    if params.since is not None:
        window += f" AND c.CreatedDate > {quote(params.since.isoformat())}::TIMESTAMPTZ"
    signals = ", ".join(quote(s) for s in SIGNALS)
    con.execute(
        f"""CREATE TEMP TABLE signal_calls AS
        SELECT c.AccountId, c.Dialed_Number__c AS raw, k.value AS Category, c.CreatedDate
        FROM calls c JOIN categories k ON c.CallDisposition = k.raw
        WHERE {window} AND k.value IN ({signals}) AND NOT {lacks_id_sql("c.AccountId")}"""
    )
    phone_table(con, "dialed", "SELECT raw FROM signal_calls", params.region)
    con.execute(
        """CREATE TEMP TABLE stats AS
        SELECT s.AccountId, p.e164 AS PhoneE164, s.Category, count(*) AS Calls,
               min(s.CreatedDate) AS FirstCall, max(s.CreatedDate) AS LastCall
        FROM signal_calls s JOIN dialed p ON s.raw = p.raw
        WHERE p.e164 IS NOT NULL GROUP BY ALL"""
    )
    span_us = round(params.time_span_minimum_days * 86_400 * 1_000_000)

    def verdict(category: str, keys: list[str], threshold: int) -> str:
        by = ", ".join(keys)
        join = " AND ".join(f"c.{k} = b.{k}" for k in keys)
        later = (
            f"AND NOT coalesce((SELECT max(c.LastCall) FROM stats c WHERE c.Category = "
            f"'contact' AND {join}) > b.LastBadCall, false)"
            if params.reset_on_later_contact
            else ""
        )
        return f"""
            SELECT * FROM (
                SELECT {by}, sum(Calls)::BIGINT AS BadCallCount, min(FirstCall) AS FirstBadCall,
                       max(LastCall) AS LastBadCall
                FROM stats WHERE Category = '{category}' GROUP BY {by}
            ) b
            WHERE BadCallCount >= {threshold}
              AND epoch_us(LastBadCall) - epoch_us(FirstBadCall) >= {span_us} {later}"""

    con.execute(
        "CREATE TEMP TABLE disconnected AS "
        + verdict("disconnected", ["PhoneE164"], params.disconnected_threshold)
    )
    con.execute(
        "CREATE TEMP TABLE wrong AS "
        + verdict("wrong_number", ["PhoneE164", "AccountId"], params.wrong_number_threshold)
    )
    fields = params.phone_fields
    stored = " UNION ALL ".join(
        f"SELECT Id AS AccountId, {rank} AS field_rank, '{field}' AS Field, \"{field}\" AS Phone "
        f'FROM acc WHERE "{field}" IS NOT NULL'
        for rank, field in enumerate(fields)
    )
    columns = ", ".join(f'"{field}"' for field in fields)
    con.execute(
        f"""CREATE TEMP TABLE acc AS SELECT Id, {columns} FROM {parquet(data, "Account")}
        WHERE NOT {lacks_id_sql("Id")}"""
    )
    refuse_repeated_ids(con, "acc")
    con.execute(f"CREATE TEMP TABLE stored AS {stored}")
    phone_table(con, "account_phones", "SELECT Phone FROM stored", params.region)
    select = f"""
        WITH phones AS (
            SELECT s.*, p.e164 AS PhoneE164 FROM stored s JOIN account_phones p ON s.Phone = p.raw
            WHERE p.e164 IS NOT NULL
        ), matched AS (
            SELECT p.*, 'disconnected' AS Reason, 0 AS reason_rank, d.BadCallCount,
                   d.FirstBadCall, d.LastBadCall
            FROM phones p JOIN disconnected d USING (PhoneE164)
            UNION ALL
            SELECT p.*, 'wrong_number', 1, w.BadCallCount, w.FirstBadCall, w.LastBadCall
            FROM phones p JOIN wrong w USING (PhoneE164, AccountId)
        )
        SELECT {guarded("AccountId")} AS AccountId, {guarded("Field")} AS Field,
               {guarded("Phone")} AS Phone, {guarded("PhoneE164")} AS PhoneE164,
               {guarded("Reason")} AS Reason, BadCallCount,
               {iso("FirstBadCall")} AS FirstBadCall, {iso("LastBadCall")} AS LastBadCall
        FROM matched
        QUALIFY row_number() OVER (PARTITION BY AccountId, field_rank ORDER BY reason_rank) = 1
        ORDER BY matched.AccountId, field_rank"""
    rows = copy_csv(con, select, out_file)
    numbers = copy_csv(
        con,
        f"SELECT {guarded('PhoneE164')} AS PhoneE164 FROM "
        "(SELECT DISTINCT PhoneE164 FROM disconnected) ORDER BY 1",
        dnc_file(out_file),
    )
    return {
        "rows": rows,
        "dnc_numbers": numbers,
        "seconds_sql": round(time.perf_counter() - start, 3),
    }


def dnc_file(out_file: Path) -> Path:
    """Return where the same-logic autoflush writes its `dnc_numbers.csv`."""
    return out_file.with_name(f"{out_file.stem}-dnc_numbers.csv")


# ---------------------------------------------------------------------------------------------
# infoflow
# ---------------------------------------------------------------------------------------------


def previous_cleanup(con: Any, cleanup_csv: Path | None) -> None:
    """Create table cleanup (AccountId, Field, PhoneE164): the latest autoflush run's rows, as
    dialflow reads them back (text, empty as null); empty when there is no such run."""
    if cleanup_csv is None:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE cleanup (AccountId VARCHAR, Field VARCHAR, "
            "PhoneE164 VARCHAR)"
        )
        return
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE cleanup AS SELECT AccountId, Field, PhoneE164
        FROM read_csv({quote(str(cleanup_csv))}, header = true, all_varchar = true)"""
    )


def usable_phones(con: Any, fields: tuple[str, ...], region: str) -> None:
    """Create table usable (AccountId, field_rank, Field, PhoneE164): every field of table acc
    holding a valid number the previous autoflush run (table cleanup) has not cleared there."""
    stored = " UNION ALL ".join(
        f"SELECT Id AS AccountId, {rank} AS field_rank, '{field}' AS Field, \"{field}\" AS raw "
        f'FROM acc WHERE "{field}" IS NOT NULL'
        for rank, field in enumerate(fields)
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE stored AS {stored}")
    phone_table(con, "stored_phones", "SELECT raw FROM stored", region)
    con.execute(
        """CREATE OR REPLACE TEMP TABLE usable AS
        SELECT s.AccountId, s.field_rank, s.Field, p.e164 AS PhoneE164
        FROM stored s JOIN stored_phones p ON s.raw = p.raw
        WHERE p.e164 IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM cleanup c WHERE c.AccountId = s.AccountId
                          AND c.Field = s.Field AND c.PhoneE164 = p.e164)"""
    )


def infoflow(
    data: Path, config: Path, out_file: Path, as_of: pd.Timestamp, cleanup_csv: Path | None
) -> dict[str, Any]:
    """Write `research_requests.csv`'s bytes to out_file; return its counts.

    `cleanup_csv` is the latest autoflush run's `autoflush_cleanup.csv` (None: no run). The
    request log is taken to be empty: the benchmark's and the test's output folders hold no
    earlier infoflow run.
    """
    from dialflow.config import INFOFLOW_SIGNALS
    from dialflow.jobs.dispositions import categorise
    from dialflow.jobs.infoflow import InfoflowParams, account_columns

    params = InfoflowParams.from_settings(load_settings(config), as_of)
    start = time.perf_counter()
    con = connect()
    columns = ", ".join(f'"{c}"' for c in account_columns(params))
    con.execute(
        f"""CREATE TEMP TABLE acc AS SELECT {columns} FROM {parquet(data, "Account")}
        WHERE NOT {lacks_id_sql("Id")}"""
    )
    refuse_repeated_ids(con, "acc")
    previous_cleanup(con, cleanup_csv)
    usable_phones(con, params.phone_fields, params.region)

    def before(days: float) -> str:
        """The instant `days` x 24 h before --as-of, as a SQL literal."""
        return quote((as_of - pd.Timedelta(days=days)).isoformat()) + "::TIMESTAMPTZ"

    con.execute(
        f"""CREATE TEMP TABLE eligible AS
        SELECT a.Id AS AccountId, a.Name AS AccountName, a.BillingStreet, a.BillingCity,
               a.BillingState, a.BillingPostalCode, a.CreatedDate, a.LastModifiedDate,
               u.Name AS OwnerName, u.Email AS OwnerEmail
        FROM acc a JOIN {parquet(data, "User")} u
            ON u.Id = a.OwnerId AND coalesce(u.IsActive, false)
        WHERE a.Id NOT IN (SELECT AccountId FROM usable)
          AND a.Id NOT IN (
              SELECT Account__c FROM {parquet(data, "Research_Request__c")}
              WHERE CreatedDate > {before(params.research_frequency_days)}
                AND Account__c IS NOT NULL)"""
    )
    con.execute(
        f"""CREATE TEMP TABLE calls AS SELECT AccountId, CallDisposition, CreatedDate
        FROM {parquet(data, "Task")} WHERE AccountId IN (SELECT AccountId FROM eligible)"""
    )
    value_table(
        con,
        "categories",
        "SELECT CallDisposition FROM calls",
        lambda raw: categorise(raw, params.categories),
        pa.string(),
    )
    weights = params.weights
    fired = {
        "address_changed": f"coalesce(h.CreatedDate > {before(params.address_change_days)}, "
        "false)::INT",
        "reached_before": "(coalesce(f.ContactCalls, 0) > 0)::INT",
        "numbers_flushed": f"least(coalesce(n.flushed, 0), {params.numbers_flushed_cap})",
        "new_account": f"coalesce(e.CreatedDate > {before(params.new_account_days)}, false)::INT",
    }
    # Added in the signals' order, as pandas sums a row: the same float result.
    priority = " + ".join(
        f"s.{signal}::DOUBLE * {float(weights[signal])!r}" for signal in INFOFLOW_SIGNALS
    )
    labels = ", ".join(
        f"CASE WHEN s.{signal} > 0 THEN '{signal}'"
        + (f" || '=' || s.{signal}" if signal == "numbers_flushed" else "")
        + " END"
        for signal in INFOFLOW_SIGNALS
    )
    newer = (
        "(coalesce(s.AddressDate > s.LastModifiedDate, false) OR "
        "(s.LastModifiedDate IS NULL AND s.AddressDate IS NOT NULL))"
    )

    def best(history: str, billing: str) -> str:
        return guarded(f"CASE WHEN {newer} THEN s.{history} ELSE s.{billing} END")

    select = f"""
        WITH facts AS (
            SELECT c.AccountId, max(c.CreatedDate) AS LastCallDate,
                   count(*) FILTER (WHERE k.value = 'contact'
                       AND c.CreatedDate > {before(params.contact_lookback_days)}) AS ContactCalls
            FROM calls c LEFT JOIN categories k ON c.CallDisposition = k.raw
            GROUP BY c.AccountId
        ), history AS (
            SELECT * FROM {parquet(data, "Address_History__c")}
            WHERE Account__c IN (SELECT AccountId FROM eligible)
            QUALIFY row_number() OVER (PARTITION BY Account__c
                ORDER BY CreatedDate DESC NULLS LAST, Id DESC NULLS LAST) = 1
        ), flushed AS (
            SELECT AccountId, count(*) AS flushed FROM cleanup GROUP BY AccountId
        ), signals AS (
            SELECT e.*, f.LastCallDate, h.Street__c AS Street, h.City__c AS City,
                   h.State__c AS State, h.PostalCode__c AS PostalCode,
                   h.CreatedDate AS AddressDate,
                   {", ".join(f"{sql} AS {signal}" for signal, sql in fired.items())}
            FROM eligible e LEFT JOIN facts f USING (AccountId)
            LEFT JOIN history h ON h.Account__c = e.AccountId
            LEFT JOIN flushed n USING (AccountId)
        )
        SELECT {guarded("s.AccountId")} AS AccountId, {guarded("s.AccountName")} AS AccountName,
               {guarded("s.OwnerName")} AS OwnerName, {guarded("s.OwnerEmail")} AS OwnerEmail,
               {best("Street", "BillingStreet")} AS Street, {best("City", "BillingCity")} AS City,
               {best("State", "BillingState")} AS State,
               {best("PostalCode", "BillingPostalCode")} AS PostalCode,
               round({priority}, 6) AS Priority,
               {guarded(f"concat_ws(';', {labels})")} AS Signals,
               {iso("s.LastCallDate")} AS LastCallDate
        FROM signals s
        ORDER BY round({priority}, 6) DESC, s.AccountId
        LIMIT {params.max_requests}"""
    rows = copy_csv(con, select, out_file)
    return {"rows": rows, "seconds_sql": round(time.perf_counter() - start, 3)}


# ---------------------------------------------------------------------------------------------
# listiq
# ---------------------------------------------------------------------------------------------


def register_frame(con: Any, name: str, frame: pd.DataFrame) -> None:
    """Create temp table `name` from a small pandas frame (reference tables, plans, windows)."""
    con.register(f"{name}_frame", frame)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_frame")
    con.unregister(f"{name}_frame")


def seeded_table(con: Any, name: str, ids_sql: str, seed: int, stream: int) -> None:
    """Create table `name` (AccountId, ord): dialflow's `seeded_order` of each Id.

    listiq samples and shuffles by a SipHash of (Id, seed) (pandas' hash_array), which SQL
    does not have; like the phones, the same vectorised function is applied once per Id and
    joined back, so the draw is reproduced exactly rather than approximated.
    """
    from dialflow.jobs.listiq import seeded_order

    ids = con.sql(ids_sql).to_arrow_table().column(0).to_pandas()
    order = seeded_order(ids, seed, stream) if len(ids) else []
    register_frame(
        con, name, pd.DataFrame({"AccountId": ids.astype(object), "ord": pd.array(order, "uint64")})
    )


def listiq(
    data: Path,
    config: Path,
    out_file: Path,
    as_of: pd.Timestamp,
    call_date: Any,
    flagged_csv: Path | None = None,
    cleanup_csv: Path | None = None,
) -> dict[str, Any]:
    """Write `call_list_<date>.csv`'s bytes to out_file; return its counts.

    `flagged_csv` and `cleanup_csv` are the latest dedupe and autoflush runs' outputs (None: no
    run). Covered: the pool's statuses, the attempt caps, the internal DNC list
    (Do_Not_Call__c accounts' numbers and an Internal_DNC table), one account per number, the
    apportionment, the pick and the shuffle. Not covered, refused: an imported DNC registry
    (bench_dnc.py times the scrub against DuckDB), the EBR exemption and dialer exports.
    """
    from dialflow.jobs.listiq import (
        HISTORICAL,
        RECENT,
        SAMPLE,
        SHUFFLE,
        ListiqParams,
        apportion,
        calling_windows,
        cap_windows,
        closed_states,
        split_buckets,
        state_day_rules,
    )
    from dialflow.sources.dnc import registry_for_call_date
    from dialflow.sources.reference import load_reference_tables

    settings = load_settings(config)
    params = ListiqParams.from_settings(settings, as_of, call_date)
    registry = registry_for_call_date(
        settings.dnc.path,
        params.call_date,
        required=settings.dnc.required,
        allow_stale_until=settings.dnc.allow_stale_until,
    )
    if len(registry.numbers) or params.ebr is not None or set(params.exports) != {"csv"}:
        raise SystemExit(
            "the same-logic listiq covers no DNC registry, no EBR exemption and no dialer "
            f"exports (registry: {registry.summary}, ebr: {params.ebr}, exports: "
            f"{params.exports})"
        )
    start = time.perf_counter()
    reference = load_reference_tables(None)  # --no-sql: the shipped copies
    rules = reference.calling_rules
    population = reference.census_population.set_index("state")["population"]
    con = connect()
    register_frame(con, "area_codes", reference.area_codes)
    fields = params.phone_fields
    columns = ", ".join(f'"{c}"' for c in ["Id", "Name", "CreatedDate", "Do_Not_Call__c", *fields])
    con.execute(
        f"""CREATE TEMP TABLE acc AS SELECT {columns} FROM {parquet(data, "Account")}
        WHERE NOT {lacks_id_sql("Id")}"""
    )
    refuse_repeated_ids(con, "acc")
    con.execute(
        f"""CREATE TEMP TABLE calls AS SELECT AccountId, CreatedDate
        FROM {parquet(data, "Task")} WHERE AccountId IS NOT NULL AND CreatedDate IS NOT NULL"""
    )
    previous_cleanup(con, cleanup_csv)
    usable_phones(con, fields, params.region)
    flagged = (
        f"SELECT Id FROM read_csv({quote(str(flagged_csv))}, header = true, all_varchar = true)"
        if flagged_csv is not None
        else "SELECT NULL::VARCHAR AS Id WHERE false"
    )

    def instant(stamp: pd.Timestamp) -> str:
        return quote(stamp.isoformat()) + "::TIMESTAMPTZ"

    recent_since = instant(as_of - pd.Timedelta(hours=params.recent_window_hours))
    contact_since = instant(as_of - pd.Timedelta(days=params.contact_days_threshold))
    con.execute(
        f"""CREATE TEMP TABLE status AS
        WITH first_phone AS (
            SELECT AccountId, arg_min(PhoneE164, field_rank) AS Phone,
                   arg_min(Field, field_rank) AS PhoneField
            FROM usable GROUP BY AccountId
        )
        SELECT a.Id AS AccountId, a.Name AS AccountName, f.Phone, f.PhoneField,
               c.state AS State, c.time_zone AS TimeZone, a.CreatedDate,
               CASE WHEN a.CreatedDate > {recent_since} THEN '{RECENT}' ELSE '{HISTORICAL}' END
                   AS Bucket,
               CASE WHEN coalesce(a.Do_Not_Call__c, false) THEN 'do_not_call'
                    WHEN a.Id IN ({flagged}) THEN 'dedupe_flagged'
                    WHEN f.Phone IS NULL THEN 'no_valid_phone'
                    WHEN c.state IS NULL THEN 'unmapped_area_code'
                    WHEN a.Id IN (SELECT AccountId FROM calls WHERE CreatedDate > {contact_since})
                        THEN 'recently_called'
                    ELSE 'callable' END AS Status
        FROM acc a LEFT JOIN first_phone f ON f.AccountId = a.Id
        LEFT JOIN area_codes c
            ON starts_with(f.Phone, '+1') AND c.area_code = substr(f.Phone, 3, 3)"""
    )
    windows = cap_windows(reference.area_codes, params, rules)
    if len(windows):
        register_frame(con, "cap_windows", windows)
        con.execute(
            """UPDATE status SET Status = 'attempt_cap' WHERE AccountId IN (
                SELECT s.AccountId FROM status s
                JOIN cap_windows w ON w.TimeZone = s.TimeZone AND w.State = s.State
                JOIN calls c ON c.AccountId = s.AccountId
                    AND c.CreatedDate >= w.Since AND c.CreatedDate < w.Until
                WHERE s.Status = 'callable'
                GROUP BY s.AccountId HAVING count(*) >= max(w.Cap))"""
        )
    # The internal DNC list: every valid +1 number of a Do_Not_Call__c account, and the
    # Internal_DNC table's when the source has one.
    internal = [
        f'SELECT "{field}" AS raw FROM acc WHERE coalesce(Do_Not_Call__c, false)'
        for field in fields
    ]
    if (data / "Internal_DNC").is_dir():
        internal.append(f"SELECT Phone FROM {parquet(data, 'Internal_DNC')}")
    con.execute(f"CREATE TEMP TABLE internal_raw AS {' UNION ALL '.join(internal)}")
    phone_table(con, "internal_phones", "SELECT raw FROM internal_raw", params.region)
    con.execute(
        r"""UPDATE status SET Status = 'internal_dnc'
        WHERE Status = 'callable' AND Phone IN (
            SELECT p.e164 FROM internal_raw r JOIN internal_phones p ON r.raw = p.raw
            WHERE regexp_full_match(p.e164, '\+1[2-9][0-9]{9}'))"""
    )
    con.execute(
        """UPDATE status SET Status = 'shared_number' WHERE AccountId IN (
            SELECT AccountId FROM status WHERE Status = 'callable'
            QUALIFY row_number() OVER (PARTITION BY Phone
                ORDER BY CreatedDate DESC NULLS LAST, AccountId DESC) > 1)"""
    )
    con.execute("CREATE TEMP TABLE pool AS SELECT * FROM status WHERE Status = 'callable'")
    # The plan is per state (51 rows): dialflow's own apportionment and bucket split on the
    # pool's counts, so that only the per-record work is compared.
    available = (
        con.sql("SELECT State, Bucket, count(*) AS n FROM pool GROUP BY ALL")
        .df()
        .pivot(index="State", columns="Bucket", values="n")
        .reindex(index=population.index, columns=[RECENT, HISTORICAL], fill_value=0)
        .fillna(0)
        .astype("int64")
    )
    closed = closed_states(
        state_day_rules(population.index, params.call_date, params.hours, params.state_hours, rules)
    )
    open_available = available.sum(axis=1).where(~available.index.isin(list(closed)), 0)
    plan = apportion(population, open_available, params.target_total_records)
    takes = pd.DataFrame(
        [
            (state, *split_buckets(int(granted), int(available.at[state, RECENT]),
                                   int(available.at[state, HISTORICAL]), params.recent_share))
            for state, granted in plan["granted"].items()  # one per state
        ],
        columns=["State", "take_recent", "take_older"],
    )  # fmt: skip
    register_frame(con, "takes", takes)
    seeded_table(
        con, "sample_order", f"SELECT AccountId FROM pool WHERE Bucket = '{HISTORICAL}'",
        params.seed, SAMPLE,
    )  # fmt: skip
    con.execute(
        f"""CREATE TEMP TABLE chosen AS
        SELECT p.* FROM pool p JOIN takes t USING (State)
        WHERE p.Bucket = '{RECENT}'
        QUALIFY row_number() OVER (PARTITION BY p.State
            ORDER BY p.CreatedDate DESC, p.AccountId DESC) <= t.take_recent
        UNION ALL
        SELECT p.* FROM pool p JOIN takes t USING (State) JOIN sample_order o USING (AccountId)
        WHERE p.Bucket = '{HISTORICAL}'
        QUALIFY row_number() OVER (PARTITION BY p.State ORDER BY o.ord, p.AccountId)
            <= t.take_older"""
    )
    seeded_table(con, "shuffle_order", "SELECT AccountId FROM chosen", params.seed, SHUFFLE)
    places = con.sql("SELECT DISTINCT TimeZone, State FROM chosen").df()
    windows = calling_windows(places, params.call_date, params.hours, params.state_hours, rules)
    register_frame(con, "windows", windows[["TimeZone", "State", "WindowStartLocal",
                                            "WindowEndLocal"]].astype("string"))  # fmt: skip
    text = ["AccountId", "AccountName", "Phone", "PhoneField", "State", "TimeZone"]
    select = f"""
        SELECT {", ".join(f"{guarded(f'c.{column}')} AS {column}" for column in text)},
               {guarded("w.WindowStartLocal")} AS WindowStartLocal,
               {guarded("w.WindowEndLocal")} AS WindowEndLocal, {guarded("c.Bucket")} AS Bucket
        FROM chosen c JOIN shuffle_order o USING (AccountId)
        LEFT JOIN windows w ON w.TimeZone = c.TimeZone AND w.State = c.State
        ORDER BY o.ord, c.AccountId"""
    rows = copy_csv(con, select, out_file)
    return {"rows": rows, "seconds_sql": round(time.perf_counter() - start, 3)}
