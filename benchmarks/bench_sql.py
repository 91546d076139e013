"""Time dialflow's SQL write and a partitioned read-back against plain pandas to_sql / read_sql.

Run: .venv/bin/python benchmarks/bench_sql.py --rows 1000000 --repeat 3

In one process, on a deterministic cleanup frame shaped like `autoflush`'s output (pyarrow
strings, UTC timestamps), for PostgreSQL (psycopg), MariaDB (pyodbc) and SQLite (informative):

- write: `dialflow.sinks.sql.write_sql_table` into a fresh table, against `DataFrame.to_sql`
  with a plain `sqlalchemy.create_engine(url)`, pandas defaults (the baseline of the 3x target)
  and `chunksize=10_000, method="multi"` (a tuned baseline, timed on a `--tuned-rows` slice and
  scaled: it is much slower); each table must hold every row written.
- read: `pandas.read_sql(select, engine)` of the whole table, against a Dask dataframe read
  partitioned by LastBadCall ranges (`dd.from_map`, one parameterised SQLAlchemy Core query per
  range, default threaded scheduler); the rows read must equal COUNT(*).

Repeats are interleaved (every method once, then again); figures are medians of every run.
The tables are dropped at the end. The `## sql` section of RESULTS.md is rewritten.
"""

from __future__ import annotations

import argparse
import functools
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The harness puts the repo on sys.path, for dialflow.
from harness import OUT_DIR, RESULTS, machine, median, update_results  # noqa: E402

from dialflow.jobs.autoflush import CLEANUP_META  # noqa: E402
from dialflow.schema import STRING, TIMESTAMP  # noqa: E402
from dialflow.sinks import sql as sql_sink  # noqa: E402

SERVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    "mariadb": "mysql+pyodbc://root:@127.0.0.1:3306/test?driver=MariaDB+Unicode&charset=utf8mb4",
    "sqlite": f"sqlite:///{OUT_DIR / 'sql' / 'bench.db'}",
}
TABLES = {
    "dialflow": "bench_sql_dialflow",
    "to_sql": "bench_sql_pandas",
    "to_sql tuned": "bench_sql_pandas_tuned",
}
TUNED_CHUNK = 10_000
TARGET = 3.0
AS_OF = pd.Timestamp("2026-11-25", tz="UTC")
# Shares seen in a real autoflush cleanup (10M accounts, 20M calls benchmark run).
FIELDS = {
    "Phone": 0.45,
    "Phone_2__c": 0.11,
    "Home_Phone__c": 0.11,
    "Other_Phone__c": 0.11,
    "Mobile_Phone__c": 0.11,
    "Phone_3__c": 0.11,
}
BAD_CALLS = {2: 0.15, 3: 0.40, 4: 0.33, 5: 0.08, 6: 0.03, 7: 0.007, 8: 0.003}


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def build_cleanup(rows: int, seed: int) -> pd.DataFrame:
    """Return `rows` cleanup rows like autoflush's: unique (AccountId, Field), sorted, typed."""
    rng = np.random.default_rng(seed)
    accounts = max(1, int(rows * 0.8))
    # Draw (account, field) pairs, keep the first `rows` distinct ones.
    fields = np.array(list(FIELDS))
    pairs = pd.DataFrame(
        {
            "account": rng.integers(0, accounts * 4, int(rows * 1.6) + 10),
            "field": rng.choice(len(fields), int(rows * 1.6) + 10, p=list(FIELDS.values())),
        }
    ).drop_duplicates()
    pairs = pairs.iloc[:rows].sort_values(["account", "field"]).reset_index(drop=True)
    if len(pairs) < rows:
        raise SystemExit(f"could only draw {len(pairs)} distinct rows")
    n = len(pairs)
    # Salesforce-like 18-character ids.
    account_id = "0011" + pd.Series(pairs["account"].to_numpy()).map("{:011X}AAA".format)
    area = rng.integers(201, 990, n)
    exchange = rng.integers(200, 1000, n)
    line = rng.integers(0, 10000, n)
    digits = [
        pd.Series(area).astype(str),
        pd.Series(exchange).astype(str),
        pd.Series(line).astype(str).str.zfill(4),
    ]
    a, e, s = digits
    styles = [
        a + "-" + e + "-" + s,
        "(" + a + ") " + e + "-" + s,
        a + e + s,
        a + "." + e + "." + s,
        "'+1 (" + a + ") " + e + "-" + s,
        "+1" + a + e + s,
        "1-" + a + "-" + e + "-" + s,
    ]
    style = rng.choice(len(styles), n, p=[0.3, 0.25, 0.2, 0.08, 0.07, 0.05, 0.05])
    phone = pd.Series(np.choose(style, [x.to_numpy(dtype=object) for x in styles]))
    first = AS_OF - pd.Timedelta(days=730) + pd.to_timedelta(rng.integers(0, 640 * 86400, n), "s")
    span = pd.to_timedelta(rng.integers(90 * 86400, 590 * 86400, n), "s")
    last = pd.Series(first + span).clip(upper=AS_OF - pd.Timedelta(days=8))
    frame = pd.DataFrame(
        {
            "AccountId": account_id,
            "Field": fields[pairs["field"].to_numpy()],
            "Phone": phone,
            "PhoneE164": "+1" + a + e + s,
            "Reason": np.where(rng.random(n) < 0.575, "disconnected", "wrong_number"),
            "BadCallCount": rng.choice(list(BAD_CALLS), n, p=list(BAD_CALLS.values())),
            "FirstBadCall": pd.Series(first),
            "LastBadCall": last,
        }
    )
    frame = frame.astype(
        {
            **{c: STRING for c in ("AccountId", "Field", "Phone", "PhoneE164", "Reason")},
            "BadCallCount": "int64",
            "FirstBadCall": TIMESTAMP,
            "LastBadCall": TIMESTAMP,
        }
    )
    frame = frame[list(CLEANUP_META.columns)]
    assert frame.dtypes.equals(CLEANUP_META.dtypes), frame.dtypes
    return frame


# ---------------------------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------------------------


def drop_tables(engine: sa.engine.Engine) -> None:
    """Drop every benchmark table (if present)."""
    with engine.begin() as connection:
        for name in TABLES.values():
            sa.Table(name, sa.MetaData()).drop(connection, checkfirst=True)


def count_rows(engine: sa.engine.Engine, table: str) -> int:
    """Return COUNT(*) of a table."""
    with engine.connect() as connection:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
        return connection.execute(sa.select(sa.func.count()).select_from(reflected)).scalar_one()


class StepTimer:
    """Time dialflow's write steps by wrapping two functions of dialflow.sinks.sql in place.

    `_csv_bytes` (arrow CSV encoding) and `_bulk_load` (encode + COPY / LOAD DATA) are wrapped
    while a dialflow write runs; the package's files are not touched.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def _wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

        return timed

    def __enter__(self) -> StepTimer:
        self._saved = {
            n: getattr(sql_sink, n) for n in ("_csv_bytes", "_bulk_load", "_insert_rows")
        }
        for name, func in self._saved.items():
            setattr(sql_sink, name, self._wrap(name, func))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, func in self._saved.items():
            setattr(sql_sink, name, func)


def write_dialflow(url: str, frame: pd.DataFrame) -> dict[str, float]:
    """Write with dialflow into a fresh table; return the step split (seconds)."""
    with StepTimer() as timer:
        start = time.perf_counter()
        sql_sink.write_sql_table(url, TABLES["dialflow"], frame, run_id="bench-run")
        total = time.perf_counter() - start
    steps = timer.seconds
    encode = steps.get("_csv_bytes", 0.0)
    load = steps.get("_bulk_load", 0.0) - encode
    inserts = steps.get("_insert_rows", 0.0)
    return {
        "encode CSV": encode,
        "bulk load": load,
        "executemany inserts": inserts,
        "rest (tag, create, INSERT…SELECT, commit, drop)": total - encode - load - inserts,
    }


def write_pandas(url: str, frame: pd.DataFrame, tuned: bool, chunk: int) -> None:
    """Append with DataFrame.to_sql through a plain engine (defaults, or chunked multi-row)."""
    engine = sa.create_engine(url)
    try:
        if tuned:
            frame.to_sql(
                TABLES["to_sql tuned"],
                engine,
                if_exists="append",
                index=False,
                chunksize=chunk,
                method="multi",
            )
        else:
            frame.to_sql(TABLES["to_sql"], engine, if_exists="append", index=False)
    finally:
        engine.dispose()


def tuned_chunk(url: str, frame: pd.DataFrame) -> tuple[int, str]:
    """Return the tuned baseline's chunk size: 10,000 if the server takes it, else what fits.

    A multi-row INSERT binds rows x columns parameters; PostgreSQL's protocol caps them at
    65,535, MariaDB through pyodbc at 32,767 (a signed 16-bit count), SQLite at 32,766, so
    10,000 rows x 8 columns can be refused: the next smaller size that works is used.
    """
    engine = sa.create_engine(url)
    refused = []
    try:
        for chunk in (TUNED_CHUNK, 8_000, 4_000, 2_000, 1_000):
            drop_tables(engine)
            try:
                write_pandas(url, frame.iloc[:chunk], tuned=True, chunk=chunk)
            except Exception as exc:  # noqa: BLE001 - reported, then a smaller chunk
                cause = exc.__cause__ or exc
                cause = getattr(cause, "orig", None) or cause
                text = str(cause).splitlines()[0][:160]
                refused.append(f"chunksize={chunk:,} refused ({type(cause).__name__}: {text})")
                continue
            return chunk, "; ".join(refused)
        raise SystemExit(f"{url}: every tuned chunk size was refused: {refused}")
    finally:
        drop_tables(engine)
        engine.dispose()


# ---------------------------------------------------------------------------------------------
# Reading back
# ---------------------------------------------------------------------------------------------

READ_COLUMNS = list(CLEANUP_META.columns)


@functools.lru_cache(maxsize=8)
def _engine(url: str) -> sa.engine.Engine:
    """One engine (pool) per URL, shared by the threads reading partitions."""
    return sa.create_engine(url)


@functools.lru_cache(maxsize=8)
def _reflected(url: str, table: str) -> sa.Table:
    return sa.Table(table, sa.MetaData(), autoload_with=_engine(url))


def read_whole(url: str, table: str) -> int:
    """pandas.read_sql of the whole table's cleanup columns; return the rows read."""
    engine = sa.create_engine(url)
    try:
        reflected = sa.Table(table, sa.MetaData(), autoload_with=engine)
        query = sa.select(*(reflected.c[c] for c in READ_COLUMNS))
        return len(pd.read_sql(query, engine))
    finally:
        engine.dispose()


def _read_range(bounds: tuple[Any, Any, bool], url: str, table: str) -> pd.DataFrame:
    """Read one LastBadCall range [low, high) (the last one closed) with one query."""
    low, high, last = bounds
    reflected = _reflected(url, table)
    column = reflected.c["LastBadCall"]
    upper = column <= high if last else column < high
    query = sa.select(*(reflected.c[c] for c in READ_COLUMNS)).where(column >= low, upper)
    with _engine(url).connect() as connection:
        return pd.read_sql(query, connection)


def read_partitioned(url: str, table: str, partitions: int) -> tuple[int, int]:
    """Read the table as a Dask dataframe of LastBadCall ranges; return (rows, COUNT(*))."""
    import dask
    import dask.dataframe as dd

    _reflected.cache_clear()
    reflected = _reflected(url, table)
    column = reflected.c["LastBadCall"]
    with _engine(url).connect() as connection:
        total = connection.execute(sa.select(sa.func.count()).select_from(reflected)).scalar_one()
        low, high = connection.execute(sa.select(sa.func.min(column), sa.func.max(column))).one()
        nulls = connection.execute(
            sa.select(sa.func.count()).select_from(reflected).where(column.is_(None))
        ).scalar_one()
    if nulls:
        raise SystemExit(f"{table}: {nulls} rows without LastBadCall; this reader skips them")
    # Edges in the driver's own datetime kind (aware on PostgreSQL, naive on MariaDB/SQLite).
    step = (high - low) / partitions
    edges = [low + step * i for i in range(partitions)] + [high]
    ranges = [(edges[i], edges[i + 1], i == partitions - 1) for i in range(partitions)]
    frame = dd.from_map(
        _read_range,
        ranges,
        url=url,
        table=table,
        label="read-sql-range",
        enforce_metadata=False,
    )
    with dask.config.set(scheduler="threads"):
        (pandas_frame,) = dask.compute(frame)
    return len(pandas_frame), total


# ---------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    """Return (wall seconds, result) of one call."""
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def server_version(engine: sa.engine.Engine) -> str:
    """Return the server's product and version."""
    query = {
        "postgresql": "SELECT version()",
        "mysql": "SELECT CONCAT('MariaDB ', VERSION())",
        "mariadb": "SELECT CONCAT('MariaDB ', VERSION())",
        "sqlite": "SELECT 'SQLite ' || sqlite_version()",
    }[engine.dialect.name]
    with engine.connect() as connection:
        text = str(connection.execute(sa.text(query)).scalar_one())
    return " ".join(text.split()[:2]).rstrip(",")


def bench_server(
    name: str, url: str, frame: pd.DataFrame, repeat: int, partitions: int, tuned_rows: int
) -> dict[str, Any]:
    """Run every write and read method `repeat` times, interleaved, on one server."""
    sql_sink.ensure_sqlite_folder(url)
    engine = sa.create_engine(url)
    result: dict[str, Any] = {"name": name, "url": url, "version": server_version(engine)}
    rows = len(frame)
    tuned_slice = frame.iloc[: min(tuned_rows, rows)]
    expected = {m: len(tuned_slice) if m == "to_sql tuned" else rows for m in TABLES}
    chunk, chunk_note = tuned_chunk(url, frame)
    result["tuned_chunk"], result["tuned_note"] = chunk, chunk_note
    writes: dict[str, list[float]] = {m: [] for m in TABLES}
    counts: dict[str, list[int]] = {m: [] for m in TABLES}
    failures: dict[str, str] = {}
    splits: list[dict[str, float]] = []
    reads: dict[str, list[float]] = {"read_sql whole": [], "dask partitioned": []}
    read_counts: list[tuple[int, int, int]] = []
    for run in range(repeat):
        drop_tables(engine)
        for method in TABLES:
            if method in failures:
                continue
            if method == "dialflow":
                call = functools.partial(write_dialflow, url, frame)
            else:
                tuned = method != "to_sql"
                data = tuned_slice if tuned else frame
                call = functools.partial(write_pandas, url, data, tuned, chunk)
            try:
                seconds, split = timed(call)
            except Exception as exc:  # noqa: BLE001 - a failed method is reported, not fatal
                failures[method] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                traceback.print_exc()
                continue
            writes[method].append(seconds)
            if method == "dialflow":
                splits.append(split)
            counts[method].append(count_rows(engine, TABLES[method]))
            print(f"{name} run {run + 1} write {method}: {seconds:.2f} s", file=sys.stderr)
        source = TABLES["dialflow"] if "dialflow" not in failures else TABLES["to_sql"]
        seconds, whole = timed(functools.partial(read_whole, url, source))
        reads["read_sql whole"].append(seconds)
        seconds, (parted, total) = timed(
            functools.partial(read_partitioned, url, source, partitions)
        )
        reads["dask partitioned"].append(seconds)
        read_counts.append((whole, parted, total))
        print(
            f"{name} run {run + 1} read: whole {reads['read_sql whole'][-1]:.2f} s, "
            f"partitioned {seconds:.2f} s",
            file=sys.stderr,
        )
    drop_tables(engine)
    engine.dispose()
    _engine.cache_clear()
    _reflected.cache_clear()
    if name == "sqlite":
        Path(sa.engine.make_url(url).database).unlink(missing_ok=True)
    result.update(
        writes=writes,
        counts=counts,
        failures=failures,
        splits=splits,
        reads=reads,
        read_counts=read_counts,
        rows_ok={m: bool(c) and all(x == expected[m] for x in c) for m, c in counts.items()},
        expected=expected,
        read_ok=all(w == p == t == rows for w, p, t in read_counts),
        read_source=source,
    )
    return result


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def runs_text(values: list[float]) -> str:
    """Format every run's seconds."""
    return ", ".join(f"{v:.2f}" for v in values)


def report(results: list[dict[str, Any]], args: argparse.Namespace, command: str) -> str:
    """Return the `###` subsection: command, machine, write and read tables, targets."""
    import psycopg
    import pyodbc

    lines = [
        f"### {args.rows:,} cleanup rows, {args.repeat} runs, {args.partitions} read partitions",
        "",
        "```",
        command,
        "```",
        "",
        f"Machine: {machine()}; SQLAlchemy {sa.__version__}, psycopg {psycopg.__version__}, "
        f"pyodbc {pyodbc.version}, {platform.system()} {platform.release()}.  ",
        "Servers: "
        + "; ".join(f"{r['name']} = {r['version']} (`{r['url']}`)" for r in results)
        + ".  ",
        f"Taken {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC, in one process, repeats "
        "interleaved (every method once per round); medians of every run, none dropped.",
        "",
        "Writes (each into a fresh table; rows checked with COUNT(*) after every run):",
        "",
        "| server | method | median s | every run (s) | rows/s | dialflow speed-up "
        "| rows in table |",
        "|---|---|---:|---|---:|---:|---|",
    ]
    labels = {
        "dialflow": "dialflow `write_sql_table`",
        "to_sql": "`to_sql` pandas defaults (target baseline)",
        "to_sql tuned": '`to_sql` tuned, method="multi"',
    }
    for r in results:
        base = median(r["writes"]["dialflow"]) if r["writes"]["dialflow"] else None
        for method in TABLES:
            label = labels[method]
            if method == "to_sql tuned":
                label += f", chunksize={r['tuned_chunk']:,}"
            secs = r["writes"][method]
            scale = args.rows / r["expected"][method]
            if scale != 1:
                label += f", timed on the first {r['expected'][method]:,} rows, x{scale:g}"
            if not secs:
                failure = r["failures"].get(method, "not run")
                lines.append(f"| {r['name']} | {label} | failed | {failure} | | | |")
                continue
            speed = f"{median(secs) * scale / base:.2f}x" if method != "dialflow" else "1.00x"
            if not base:
                speed = "n/a"
            counted = r["counts"][method]
            want = r["expected"][method]
            rows_ok = f"all {want:,}" if r["rows_ok"][method] else f"NO: {counted}"
            every = runs_text(secs) + (" (slice)" if scale != 1 else "")
            lines.append(
                f"| {r['name']} | {label} | {median(secs) * scale:.2f} | {every} | "
                f"{want / median(secs):,.0f} | {speed} | {rows_ok} |"
            )
    lines += [
        "",
        "Speed-up = baseline median / dialflow median (higher is better for dialflow). The "
        "tuned baseline (multi-row INSERTs compiled by SQLAlchemy) is far slower than the "
        "default here, so it is timed on a slice and its median scaled linearly to "
        f"{args.rows:,} rows (its rows/s is measured on the slice).",
        "",
        "dialflow's write split (medians; `_csv_bytes` and `_bulk_load` timed by wrapping them "
        "in the benchmark's process):",
        "",
    ]
    for r in results:
        if not r["splits"]:
            continue
        parts = [f"{step} {median(s[step] for s in r['splits']):.2f} s" for step in r["splits"][0]]
        lines.append(f"- {r['name']}: " + "; ".join(p for p in parts if not p.endswith(" 0.00 s")))
    notes = [f"- {r['name']}: {r['tuned_note']}" for r in results if r["tuned_note"]]
    if notes:
        lines += ["", "Tuned baseline chunk size:", "", *notes]
    lines += [
        "",
        "Reads of the dialflow-written table's 8 cleanup columns (`pandas.read_sql(select, "
        "engine)` of the whole table, against a Dask dataframe of "
        f"{args.partitions} LastBadCall ranges built with `dd.from_map` in this script, one "
        "parameterised SQLAlchemy Core `pd.read_sql` per range, computed with the threaded "
        "scheduler; the time includes COUNT(*), MIN/MAX and reflection; no index on "
        "LastBadCall, so each range scans the table):",
        "",
        "| server | method | median s | every run (s) | rows/s | vs read_sql "
        "| rows read = COUNT(*) |",
        "|---|---|---:|---|---:|---:|---|",
    ]
    for r in results:
        base = median(r["reads"]["read_sql whole"])
        for method, secs in r["reads"].items():
            ok = "yes" if r["read_ok"] else f"NO: {r['read_counts']}"
            lines.append(
                f"| {r['name']} | {method} | {median(secs):.2f} | {runs_text(secs)} | "
                f"{args.rows / median(secs):,.0f} | {median(secs) / base:.2f}x time | {ok} |"
            )
    lines += ["", "Target (write at least 3x faster than `to_sql` with pandas defaults):", ""]
    for r in results:
        dialflow, plain = r["writes"]["dialflow"], r["writes"]["to_sql"]
        informative = " (informative, not a target server)" if r["name"] == "sqlite" else ""
        if not dialflow or not plain:
            lines.append(f"- {r['name']}{informative}: **not measured** ({r['failures']})")
            continue
        ratio = median(plain) / median(dialflow)
        met = ratio >= TARGET and r["rows_ok"]["dialflow"]
        lines.append(
            f"- {r['name']}{informative}: {median(plain):.2f} s / {median(dialflow):.2f} s = "
            f"{ratio:.1f}x: **{'met' if met else 'not met'}**"
        )
    return "\n".join(lines) + "\n"


INTRO = (
    "`benchmarks/bench_sql.py`: a deterministic cleanup frame shaped like autoflush's output "
    "written with dialflow's `write_sql_table` (session temp staging, COPY on PostgreSQL, LOAD "
    "DATA LOCAL on MariaDB, then INSERT…SELECT in one transaction) and with pandas `to_sql` in "
    "the same process, then read back whole with `read_sql` and partitioned into Dask. The "
    "machine is small and shared: compare medians and ratios of one session, not absolute "
    "seconds across sessions.\n"
)


def main() -> None:
    """Build the frame, measure every server, print the report and update RESULTS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--partitions", type=int, default=8, help="Dask partitions of the read")
    parser.add_argument(
        "--tuned-rows",
        type=int,
        default=100_000,
        help="rows the tuned to_sql baseline writes (slow: timed on a slice, extrapolated)",
    )
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help="comma-separated: " + ", ".join(SERVERS)
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown file to update")
    parser.add_argument("--no-results", action="store_true", help="print, do not update it")
    args = parser.parse_args()
    command = ".venv/bin/python benchmarks/bench_sql.py " + " ".join(sys.argv[1:])

    seconds, frame = timed(lambda: build_cleanup(args.rows, args.seed))
    print(f"built {len(frame):,} rows in {seconds:.1f} s", file=sys.stderr)
    results = []
    for name in args.servers.split(","):
        results.append(
            bench_server(name, SERVERS[name], frame, args.repeat, args.partitions, args.tuned_rows)
        )
    text = report(results, args, command)
    print(text)
    if not args.no_results:
        update_results(args.results, "## sql", INTRO, text)


if __name__ == "__main__":
    main()
