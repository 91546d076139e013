"""The `dialflow` command line: thin commands that load config, check options and call a job."""

from __future__ import annotations

import contextlib
import functools
import logging
import time
from pathlib import Path
from typing import Any, Callable, Optional

import pandas as pd
import typer
import yaml
from rich.console import Console

from .config import dedupe_params, load_settings, masked_settings
from .errors import DialflowError, InputError, StoppedAfterCommit

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
config_app = typer.Typer(no_args_is_help=True, help="Check the configuration.")
run_app = typer.Typer(no_args_is_help=True, help="Run a job.")
app.add_typer(config_app, name="config")
salesforce_app = typer.Typer(no_args_is_help=True, help="Check the org mapping; undo write-back.")
app.add_typer(run_app, name="run")
app.add_typer(salesforce_app, name="salesforce")

console = Console(stderr=True)
log = logging.getLogger("dialflow")

CONFIG_OPTION = typer.Option(None, "--config", "-c", help="Config file (default ./config.yaml).")


class _State:
    debug = False
    overrides: dict[str, Any] = {}  # config overrides of the job file `dialflow submit` runs


@app.callback()
def _main(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
    verbose: bool = typer.Option(True, "--verbose/--quiet", help="Log each stage on stderr."),
) -> None:
    """DIAL-Flow: dedupe, autoflush, infoflow and listiq on Dask."""
    from .logs import setup_logging

    _State.debug = debug
    setup_logging(verbose)


def _print_error(message: str) -> None:
    """Print one `Error:` line on stderr; driver messages may quote data or a connection URL, so
    phones and passwords are masked (the last line of defence: messages mask their own URLs)."""
    from rich.markup import escape

    from .logs import mask

    console.print(f"[red]Error:[/red] {escape(mask(message))}", highlight=False, soft_wrap=True)


def _one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Show a DialflowError as one `Error:` line and exit with its code, unless --debug."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except DialflowError as exc:
            if _State.debug:
                raise
            _print_error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _print_error("interrupted; no run folder was kept")
            raise typer.Exit(130) from None
        except typer.Exit:  # a command's own exit code, its message already printed
            raise
        except Exception as exc:  # the last line of defence: still one line unless --debug
            if _State.debug:
                raise
            first = str(exc).splitlines()[0] if str(exc) else ""
            _print_error(f"{type(exc).__name__}: {first} (rerun with --debug for details)")
            raise typer.Exit(1) from None

    return wrapper


def _parse_as_of(value: str | None) -> pd.Timestamp:
    """Return the run's reference time from --as-of (ISO-8601, naive means UTC; None: now),
    refusing empty, unreadable, out-of-range and far-future values before any work."""
    from .times import parse_as_of

    return parse_as_of(value)


@config_app.command("check")
@_one_line_errors
def config_check(config: Optional[Path] = CONFIG_OPTION) -> None:
    """Validate the config and print the effective settings, secrets masked."""
    settings = load_settings(config)
    typer.echo(yaml.safe_dump(masked_settings(settings), sort_keys=False).rstrip())
    origin = config or ("config.yaml" if Path("config.yaml").exists() else "built-in defaults")
    console.print(f"config OK ({origin})")


@salesforce_app.command("check")
@_one_line_errors
def salesforce_check(config: Optional[Path] = CONFIG_OPTION) -> None:
    """Log in, describe every mapped object and report missing fields or type mismatches."""
    from .salesforce import mapping_problems
    from .schema import TABLES, table_columns
    from .sources import SalesforceSource

    settings = load_settings(config)
    source = SalesforceSource.from_settings(settings)
    kinds = {table: table_columns(table, settings.phones.fields) for table in TABLES}
    mapping = {table: source.object_and_fields(table, list(kinds[table])) for table in TABLES}
    problems = mapping_problems(source.connection(), mapping, kinds)
    fields = sum(len(names) for _, names in mapping.values())
    if not problems:
        console.print(f"salesforce mapping OK: {len(mapping)} objects, {fields} fields")
        return
    for problem in problems:
        column = (
            f"{problem['table']}.{problem['column']}" if problem["column"] else problem["table"]
        )
        console.print(f"  {column}: {problem['problem']}", soft_wrap=True, highlight=False)
    raise DialflowError(
        f"salesforce mapping: {len(problems)} problem(s), first: {problems[0]['problem']}"
    )


@salesforce_app.command("restore")
@_one_line_errors
def salesforce_restore(
    run_folder: Path = typer.Argument(..., help="An autoflush run folder made with --apply."),
    config: Optional[Path] = CONFIG_OPTION,
) -> None:
    """Write back every value an autoflush --apply cleared (undo.csv), where still empty."""
    from .sinks import write_csv
    from .sinks.salesforce import UNDO_COLUMNS, require_rows, restore_cleared

    settings = load_settings(config)
    undo_path = run_folder / "undo.csv"
    if not undo_path.is_file():
        raise InputError(
            f"{undo_path}: not found; give the folder of an autoflush run made with --apply"
        )
    undo = pd.read_csv(undo_path, dtype=str, keep_default_na=False)
    require_rows(undo, UNDO_COLUMNS, str(undo_path))
    results = restore_cleared(
        _salesforce_connection(settings),
        undo,
        _account_fields(settings),
        settings.salesforce.apply_batch_records,
        settings.salesforce.bulk_poll_seconds,
    )
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%SZ")
    out = run_folder / f"restore_results-{stamp}.csv"
    write_csv(results, out)
    counts = results["Status"].value_counts().to_dict()
    console.print(f"restore: {counts or 'nothing to restore'}; per field in {out}")
    if counts.get("failed"):
        raise DialflowError(f"restore: {counts['failed']} field(s) failed; see {out}")


@app.command("demo-data")
@_one_line_errors
def demo_data(
    out: Path = typer.Option(Path("data/demo"), "--out", help="Folder to write the tables into."),
    accounts: int = typer.Option(400_000, "--accounts", min=10, help="Accounts to generate."),
    calls: int = typer.Option(1_000_000, "--calls", min=0, help="Call records (Task) to generate."),
    seed: int = typer.Option(7, "--seed", help="Random seed; the same seed gives the same data."),
    as_of: Optional[str] = typer.Option(
        None, "--as-of", help="Dates lie before this (default today)."
    ),
) -> None:
    """Write the canonical tables as Parquet: realistic, dirty demo data with planted problems."""
    from .demo import generate_demo_data
    from .times import parse_timestamp

    stamp = parse_timestamp(as_of, "--as-of").normalize() if as_of is not None else None
    started = time.perf_counter()
    counts = generate_demo_data(out, accounts=accounts, calls=calls, seed=seed, as_of=stamp)
    console.print(f"demo data written to {out} in {time.perf_counter() - started:.1f}s: {counts}")


INPUT_OPTION = typer.Option(None, "--input", help="Overrides source.path.")
OUTPUT_OPTION = typer.Option(None, "--output", help="Overrides run.output_dir.")
SCHEDULER_OPTION = typer.Option(
    None, "--scheduler", help="tcp://HOST:PORT or tls://HOST:PORT of a cluster's scheduler."
)
AS_OF_OPTION = typer.Option(None, "--as-of", help="The run's reference time (UTC).")
NO_SQL_OPTION = typer.Option(False, "--no-sql", help="Skip the SQL table.")
NO_EMAIL_OPTION = typer.Option(False, "--no-email", help="Send no email for this run.")
SNAPSHOT_OPTION = typer.Option(
    None,
    "--from-snapshot",
    help="Read the tables from an earlier run folder's Salesforce snapshot instead of the source.",
)


@app.command("submit")
@_one_line_errors
def submit(
    job_file: Path = typer.Argument(
        ..., help="A scheduled job's YAML file, e.g. jobs/autoflush.yaml."
    ),
    scheduler: Optional[str] = SCHEDULER_OPTION,
) -> None:
    """Run a scheduled job described by a job file (for cron, systemd timers, orchestrators)."""
    from .submit import config_overrides, load_job_file, run_arguments

    spec = load_job_file(job_file)
    arguments = run_arguments(spec, job_file, scheduler)
    log.info("submit %s: dialflow %s", job_file, " ".join(arguments))
    _State.overrides = config_overrides(spec)
    try:
        # The run's command prints its own error line and returns its exit code.
        code = typer.main.get_command(app).main(
            args=arguments, prog_name="dialflow", standalone_mode=False
        )
    finally:
        _State.overrides = {}
    if code:
        raise typer.Exit(code)


def _run_settings(
    config: Path | None, input_dir: Path | None, output_dir: Path | None, scheduler: str | None
):  # noqa: ANN202
    """Load the settings with the run options that override them."""
    overrides: dict[str, Any] = dict(_State.overrides)
    if input_dir is not None:
        overrides["source.path"] = str(input_dir)
    if output_dir is not None:
        overrides["run.output_dir"] = str(output_dir)
    if scheduler is not None:
        overrides["cluster.scheduler"] = scheduler
    return load_settings(config, overrides)


def _write_result(run, settings, frame: pd.DataFrame, name: str, table: str, sql: bool) -> None:  # noqa: ANN001
    """Write a job's result as `<name>.csv` in the run folder and, if enabled, commit it to a SQL
    table with the run (the rows are written at the run's commit, with its folder)."""
    from .run import SqlResult
    from .sinks import write_csv

    with run.stage("write") as stage:
        stage["csv_rows"] = write_csv(frame, run.folder / f"{name}.csv")
        run.outputs["csv"] = f"{name}.csv"
        if settings.sql.enabled and sql:
            # infoflow's table is its request log: pruning it would undo the 90-day rule.
            keep = None if run.job == "infoflow" else settings.sql.retention_runs
            run.sql_results.append(SqlResult(settings.sql.url, table, frame, keep))
            stage["sql_rows"] = len(frame)
            run.outputs["sql_table"] = table


@run_app.command("dedupe")
@_one_line_errors
def run_dedupe_command(
    config: Optional[Path] = CONFIG_OPTION,
    input_dir: Optional[Path] = INPUT_OPTION,
    output_dir: Optional[Path] = OUTPUT_OPTION,
    scheduler: Optional[str] = SCHEDULER_OPTION,
    as_of: Optional[str] = AS_OF_OPTION,
    no_sql: bool = NO_SQL_OPTION,
    no_email: bool = NO_EMAIL_OPTION,
    from_snapshot: Optional[Path] = SNAPSHOT_OPTION,
) -> None:
    """Flag duplicate accounts; the newest record of each cluster survives."""
    from .jobs.dedupe import ACCOUNT_COLUMNS, run_dedupe

    settings = _run_settings(config, input_dir, output_dir, scheduler)
    with _emailed("dedupe", settings, no_email) as email:
        params = dedupe_params(settings)
        stamp = _parse_as_of(as_of)
        reads = {"Account": ACCOUNT_COLUMNS + [params.phone_field]}

        def job(run, compute, tables) -> None:  # noqa: ANN001
            with run.stage("dedupe") as stage:
                result = run_dedupe(tables["Account"], params, compute=compute)
                stage["flagged"] = len(result.flagged)
            run.counts.update(result.counts)
            run.inputs["Account"] = sum(result.counts["keys"][params.match_keys[0]].values())
            _write_result(
                run,
                settings,
                result.flagged,
                "dedupe_flagged",
                settings.dedupe.sql_table,
                not no_sql,
            )

        source = _source(settings, from_snapshot)
        email.run = _execute("dedupe", settings, stamp, params, job, source, reads, no_sql)


@run_app.command("autoflush")
@_one_line_errors
def run_autoflush_command(
    config: Optional[Path] = CONFIG_OPTION,
    input_dir: Optional[Path] = INPUT_OPTION,
    output_dir: Optional[Path] = OUTPUT_OPTION,
    scheduler: Optional[str] = SCHEDULER_OPTION,
    as_of: Optional[str] = AS_OF_OPTION,
    since: Optional[str] = typer.Option(
        None, "--since", help="Count only calls after this date (overrides autoflush.since)."
    ),
    no_sql: bool = NO_SQL_OPTION,
    no_email: bool = NO_EMAIL_OPTION,
    from_snapshot: Optional[Path] = SNAPSHOT_OPTION,
    apply: bool = typer.Option(
        False, "--apply", help="Clear the flagged fields in Salesforce (Bulk API 2.0)."
    ),
) -> None:
    """Find phone numbers that call outcomes show are bad; write one row per field to clear."""
    from .config import autoflush_params
    from .jobs.autoflush import CALL_COLUMNS, run_autoflush
    from .times import parse_since

    settings = _run_settings(config, input_dir, output_dir, scheduler)
    with _emailed("autoflush", settings, no_email) as email:
        stamp = _parse_as_of(as_of)
        since_stamp = parse_since(since, stamp) if since is not None else None
        params = autoflush_params(settings, stamp, since_stamp)
        source = _source(settings, from_snapshot)
        reads = {"Task": CALL_COLUMNS, "Account": ["Id", *params.phone_fields]}

        def job(run, compute, tables) -> None:  # noqa: ANN001
            with run.stage("autoflush") as stage:
                result = run_autoflush(tables["Task"], tables["Account"], params, compute=compute)
                stage["bad_numbers"] = len(result.verdicts)
                stage["cleanup_rows"] = len(result.cleanup)
            run.counts.update(result.counts)
            run.inputs["Task"] = sum(result.counts["calls_by_category"].values())
            _write_result(
                run,
                settings,
                result.cleanup,
                "autoflush_cleanup",
                settings.autoflush.sql_table,
                not no_sql,
            )
            return result.cleanup

        write_back = _apply_cleanup if apply else None
        email.run = _execute(
            "autoflush", settings, stamp, params, job, source, reads, no_sql, write_back
        )


@run_app.command("listiq")
@_one_line_errors
def run_listiq_command(
    config: Optional[Path] = CONFIG_OPTION,
    input_dir: Optional[Path] = INPUT_OPTION,
    output_dir: Optional[Path] = OUTPUT_OPTION,
    scheduler: Optional[str] = SCHEDULER_OPTION,
    as_of: Optional[str] = AS_OF_OPTION,
    call_date: Optional[str] = typer.Option(
        None, "--call-date", help="Day of calling, YYYY-MM-DD (default: the --as-of date)."
    ),
    no_sql: bool = typer.Option(
        False, "--no-sql", help="No SQL at all: shipped reference tables, results from folders."
    ),
    no_email: bool = NO_EMAIL_OPTION,
    from_snapshot: Optional[Path] = SNAPSHOT_OPTION,
) -> None:
    """Build today's call list, balanced by state population and record age, with call windows."""
    from .config import listiq_params
    from .jobs.listiq import account_columns, run_listiq
    from .jobs.usable_phone import cleared_keys
    from .reports import target_vs_delivered_html
    from .sources.previous import latest_result
    from .sources.reference import load_reference_tables

    settings = _run_settings(config, input_dir, output_dir, scheduler)
    with _emailed("listiq", settings, no_email) as email:
        stamp = _parse_as_of(as_of)
        params = listiq_params(settings, stamp, _parse_call_date(call_date, stamp))
        source = _source(settings, from_snapshot)
        reads = {"Account": account_columns(params), "Task": ["AccountId", "CreatedDate"]}
        sql_url = _sql_url(settings, no_sql)
        reference = load_reference_tables(sql_url)
        output = settings.run.output_dir
        flagged = latest_result(
            output, "dedupe", "dedupe_flagged.csv", sql_url, settings.dedupe.sql_table, ["Id"]
        )
        cleanup = _latest_cleanup(settings, sql_url)
        for job_name, found in (("dedupe", flagged), ("autoflush", cleanup)):
            if found is None:
                log.warning(
                    "no %s run found in %s or SQL; nothing is excluded by it", job_name, output
                )

        def job(run, compute, tables) -> None:  # noqa: ANN001
            with run.stage("listiq") as stage:
                result = run_listiq(
                    tables["Account"],
                    tables["Task"],
                    pd.Index(flagged.rows["Id"]) if flagged else pd.Index([], dtype=str),
                    cleared_keys(cleanup.rows) if cleanup else pd.Index([], dtype=str),
                    reference.area_codes,
                    reference.census_population.set_index("state")["population"],
                    params,
                    compute=compute,
                    persist=compute.persist,
                )
                stage["pool"] = result.counts["pool"]
                stage["delivered"] = result.counts["delivered"]
            run.counts.update(result.counts)
            run.inputs["Account"] = sum(result.counts["accounts_by_status"].values())
            run.inputs["reference_tables"] = reference.origin
            run.inputs["previous_runs"] = _previous_runs(dedupe=flagged, autoflush=cleanup)
            day = params.call_date.isoformat()
            _write_result(
                run,
                settings,
                result.call_list,
                f"call_list_{day}",
                settings.listiq.sql_table,
                not no_sql,
            )
            target_vs_delivered_html(
                result.plan,
                run.folder / "report.html",
                f"listiq {day}: target vs delivered by state",
            )
            run.outputs["report"] = "report.html"

        email.run = _execute("listiq", settings, stamp, params, job, source, reads, no_sql)


@run_app.command("infoflow")
@_one_line_errors
def run_infoflow_command(
    config: Optional[Path] = CONFIG_OPTION,
    input_dir: Optional[Path] = INPUT_OPTION,
    output_dir: Optional[Path] = OUTPUT_OPTION,
    scheduler: Optional[str] = SCHEDULER_OPTION,
    as_of: Optional[str] = AS_OF_OPTION,
    no_sql: bool = typer.Option(
        False, "--no-sql", help="No SQL at all: results and the request log from folders only."
    ),
    no_email: bool = NO_EMAIL_OPTION,
    from_snapshot: Optional[Path] = SNAPSHOT_OPTION,
    apply: bool = typer.Option(
        False, "--apply", help="Insert the requests into Salesforce as Research_Request__c."
    ),
) -> None:
    """List the accounts whose numbers need research, highest priority first, and email them."""
    from .config import infoflow_params
    from .jobs.infoflow import account_columns, flushed_by_account, run_infoflow
    from .jobs.usable_phone import cleared_keys
    from .sources.previous import requested_since

    settings = _run_settings(config, input_dir, output_dir, scheduler)
    with _emailed("infoflow", settings, no_email) as email:
        stamp = _parse_as_of(as_of)
        params = infoflow_params(settings, stamp)
        source = _source(settings, from_snapshot)
        reads = {
            "Account": account_columns(params),
            "Task": ["AccountId", "CallDisposition", "CreatedDate"],
            "Research_Request__c": ["Account__c", "CreatedDate"],
            "Address_History__c": None,
            "User": None,
        }
        sql_url = _sql_url(settings, no_sql)
        output = settings.run.output_dir
        cleanup = _latest_cleanup(settings, sql_url)
        if cleanup is None:
            log.warning("no autoflush run found in %s or SQL; no number counts as flushed", output)
        since = stamp - pd.Timedelta(days=params.research_frequency_days)
        logged = requested_since(
            output,
            "infoflow",
            "research_requests.csv",
            sql_url,
            settings.infoflow.sql_table,
            since,
        )

        def job(run, compute, tables) -> None:  # noqa: ANN001
            with run.stage("infoflow") as stage:
                result = run_infoflow(
                    tables["Account"],
                    tables["Task"],
                    tables["Research_Request__c"],
                    tables["Address_History__c"],
                    tables["User"],
                    cleared_keys(cleanup.rows) if cleanup else pd.Index([], dtype=str),
                    flushed_by_account(cleanup.rows) if cleanup else pd.Series(dtype="int64"),
                    logged,
                    params,
                    compute=compute,
                    persist=compute.persist,
                )
                stage["eligible"] = result.counts["eligible"]
                stage["requested"] = result.counts["requested"]
            run.counts.update(result.counts)
            run.counts["logged_requests_in_window"] = len(logged)
            run.inputs["Account"] = result.counts["accounts"]
            run.inputs["previous_runs"] = _previous_runs(autoflush=cleanup)
            _write_result(
                run,
                settings,
                result.requests,
                "research_requests",
                settings.infoflow.sql_table,
                not no_sql,
            )
            return result.requests

        write_back = _apply_research_requests if apply else None
        email.run = _execute(
            "infoflow", settings, stamp, params, job, source, reads, no_sql, write_back
        )


def _sql_url(settings, no_sql: bool) -> str | None:  # noqa: ANN001
    """Return the SQL database a run reads from and writes to, or None with SQL off."""
    return settings.sql.url if settings.sql.enabled and not no_sql else None


def _latest_cleanup(settings, sql_url: str | None):  # noqa: ANN001, ANN202
    """Return the latest autoflush cleanup keys (output folder or SQL), or None."""
    from .sources.previous import latest_result

    return latest_result(
        settings.run.output_dir,
        "autoflush",
        "autoflush_cleanup.csv",
        sql_url,
        settings.autoflush.sql_table,
        ["AccountId", "Field", "PhoneE164"],
    )


def _previous_runs(**found) -> dict[str, dict]:  # noqa: ANN003 - PreviousResult or None by job
    """Return summary.json's record of which earlier runs a job used."""
    return {
        job: {"run_id": result.run_id, "from": result.origin, "rows": len(result.rows)}
        for job, result in found.items()
        if result is not None
    }


def _parse_call_date(value: str | None, as_of: pd.Timestamp):  # noqa: ANN202
    """Return listiq's calling day from --call-date (YYYY-MM-DD near the as-of day), or None."""
    from .times import parse_call_date

    return None if value is None else parse_call_date(value, as_of)


def _source(settings, from_snapshot: Path | None = None):  # noqa: ANN001, ANN202
    """Return the source of the canonical tables: files, SQL, Salesforce, or the Parquet snapshot
    an earlier Salesforce run saved (so a rerun spends no API calls)."""
    from .sources import FileSource, SalesforceSource, SnapshotSource, SqlSource

    if from_snapshot is not None:
        folder = from_snapshot / "snapshot"
        if not folder.is_dir():
            raise InputError(
                f"--from-snapshot {from_snapshot}: no snapshot folder there; give the run folder "
                f"of a run with source.kind salesforce and salesforce.snapshot true"
            )
        return SnapshotSource(folder, {}, settings.phones.fields)
    kinds = {"files": FileSource, "sql": SqlSource, "salesforce": SalesforceSource}
    return kinds[settings.source.kind].from_settings(settings)


Reads = dict[str, Optional[list[str]]]  # canonical table -> the columns a job reads (None: all)


def _read_tables(source, reads: Reads) -> dict:  # noqa: ANN001
    """Return the job's tables as lazy Dask dataframes. Reading checks every table's presence,
    columns and types, so a bad input stops the run before a cluster starts."""
    return {table: source.read(table, columns) for table, columns in reads.items()}


def _snapshot(run, compute, source, tables: dict, reads: Reads, settings):  # noqa: ANN001, ANN202
    """From Salesforce, save the extraction as a Parquet snapshot in the run folder and return
    the tables read from it, so the API is read once; from any other source, the tables."""
    import pyarrow.dataset as pads

    from .sources import SalesforceSource, SnapshotSource

    if isinstance(source, SnapshotSource):
        run.inputs["snapshot_of"] = str(source.root.parent)
    if not (isinstance(source, SalesforceSource) and settings.salesforce.snapshot):
        return tables
    folder = run.folder / "snapshot"
    with run.stage("extract") as stage:
        writes = [
            frame.to_parquet(folder / table, write_index=False, compute=False)
            for table, frame in tables.items()
        ]
        compute(*writes, stage="extract from Salesforce")
        for table in tables:
            stage[table] = run.inputs[table] = pads.dataset(folder / table).count_rows()
    run.outputs["snapshot"] = "snapshot/"
    snapshot = SnapshotSource(folder, {}, settings.phones.fields)
    return {table: snapshot.read(table, columns) for table, columns in reads.items()}


def _salesforce_connection(settings):  # noqa: ANN001, ANN202
    from .salesforce import Connection

    return Connection.from_settings(settings.salesforce)


def _account_fields(settings):  # noqa: ANN001, ANN202
    """Return where the Account phone fields live in the org."""
    from .sinks.salesforce import AccountFields

    mapped = settings.salesforce.fields.get("Account", {})
    return AccountFields(
        settings.salesforce.objects.get("Account", "Account"),
        {field: mapped.get(field, field) for field in settings.phones.fields},
    )


def _apply_cleanup(run, settings, cleanup: pd.DataFrame) -> str | None:  # noqa: ANN001
    """Clear the flagged fields in Salesforce; write undo.csv before the first change and
    apply_results.csv after. Returns the cause when the write-back failed, so the run folder,
    and with it undo.csv, is kept and the command still fails."""
    from .sinks import write_csv
    from .sinks.salesforce import clear_fields, plan_clear, undo_rows

    config, where = settings.salesforce, _account_fields(settings)
    with run.stage("apply") as stage:
        connection = _salesforce_connection(settings)
        to_clear, changed = plan_clear(connection, cleanup, where)
        # Verbatim, not spreadsheet-safe: restore writes these values back as they were.
        write_csv(undo_rows(to_clear, where), run.folder / "undo.csv", neutralise=False)
        run.outputs["undo"] = "undo.csv"
        try:
            applied = clear_fields(
                connection, to_clear, changed, where, config.apply_batch_records,
                config.bulk_poll_seconds,
            )  # fmt: skip
        except DialflowError as exc:
            run.counts["apply"] = {"error": str(exc)}
            return f"{exc}; undo.csv in the run folder lists every field it may have cleared"
        return _applied(run, stage, applied, "field update(s)")


def _applied(run, stage: dict, applied, what: str) -> str | None:  # noqa: ANN001
    """Record a write-back's per-record results; return the cause when Salesforce refused any."""
    from .sinks import write_csv

    write_csv(applied.results, run.folder / "apply_results.csv")
    run.outputs["apply_results"] = "apply_results.csv"
    run.counts["apply"] = applied.counts
    stage.update(applied.counts)
    log.info("applied to Salesforce: %s", applied.counts)
    failed = applied.counts.get("failed", 0)
    return f"Salesforce refused {failed} {what}; see apply_results.csv" if failed else None


def _apply_research_requests(run, settings, requests: pd.DataFrame) -> str | None:  # noqa: ANN001
    """Insert the requests as Research_Request__c records; write apply_results.csv."""
    from .sinks.salesforce import insert_research_requests

    with run.stage("apply") as stage:
        config = settings.salesforce
        try:
            applied = insert_research_requests(
                _salesforce_connection(settings),
                requests,
                config.objects.get("Research_Request__c", "Research_Request__c"),
                config.fields.get("Research_Request__c", {}),
                settings.infoflow.request_status,
                config.apply_batch_records,
                config.bulk_poll_seconds,
            )
        except DialflowError as exc:
            run.counts["apply"] = {"error": str(exc)}
            return str(exc)
        return _applied(run, stage, applied, "insert(s)")


class _EmailedRun:
    run = None  # set by the command once the run folder is in place


@contextlib.contextmanager
def _emailed(job_name: str, settings, no_email: bool):  # noqa: ANN001, ANN202
    """Email the run's outcome when the command ends: success with its counts and CSV, or
    failure with the one-line cause. A failed email after a good run fails the command (exit 1)
    but keeps the run's outputs; a failed email about a failed run is logged beside the cause."""
    import json

    from .sinks import notify_run

    outcome = _EmailedRun()
    if no_email or not settings.email.enabled:
        yield outcome
        return
    try:
        yield outcome
    except (Exception, KeyboardInterrupt) as exc:
        cause = str(exc).splitlines()[0] if str(exc) else "interrupted"
        try:
            notify_run(settings.email, job_name, "failed", None, None, None, cause=cause)
        except DialflowError as email_error:
            log.warning("%s", email_error)
        raise
    run = outcome.run
    summary = json.loads((run.final_folder / "summary.json").read_text(encoding="utf-8"))
    csv_name = run.outputs.get("csv")
    sent_to = notify_run(
        settings.email,
        job_name,
        "succeeded",
        summary,
        run.final_folder,
        run.final_folder / csv_name if csv_name else None,
    )
    if sent_to:
        console.print(f"{job_name}: emailed {', '.join(sent_to)}", soft_wrap=True)


def _execute(
    job_name: str,
    settings,  # noqa: ANN001
    as_of: pd.Timestamp,
    params,  # noqa: ANN001
    job,  # noqa: ANN001
    source,  # noqa: ANN001
    reads: Reads,
    no_sql: bool,
    write_back=None,  # noqa: ANN001 - (run, settings, result) -> failure cause or None
):  # noqa: ANN202
    """Run a job on the cluster inside a run folder, with its performance report and summary:
    read the tables it needs from the source, run it on them, commit the run (folder and SQL
    together), then write back to Salesforce when asked."""
    from dataclasses import asdict

    from distributed import performance_report

    from .cluster import dashboard_link, open_client
    from .lock import job_lock
    from .logs import log_to_file
    from .progress import ProgressCompute
    from .run import (
        WorkerUsage,
        file_mode,
        open_run,
        recover_unfinished_runs,
        stop_on_signals,
        stop_requested,
        worker_peak_memory,
        write_summary,
    )
    from .sources import SalesforceSource

    output = settings.run.output_dir
    with stop_on_signals(), file_mode(int(settings.run.umask, 8)), job_lock(output, job_name):
        recover_unfinished_runs(output, job_name, _sql_url(settings, no_sql))
        tables = _read_tables(source, reads)
        with open_client(settings.cluster) as client:
            console.print(f"{job_name}: Dask dashboard at {dashboard_link(client)}", soft_wrap=True)
            parameters = {**asdict(params), "as_of": as_of}
            with open_run(output, job_name, as_of, parameters) as run:
                handler = log_to_file(run.folder / "run.log")
                try:
                    started = time.time()
                    usage = WorkerUsage.start(client)
                    log.info("%s run %s started; folder %s", job_name, run.run_id, run.final_folder)
                    with performance_report(filename=str(run.folder / "dask-report.html")):
                        compute = ProgressCompute(client, job_name, console)
                        tables = _snapshot(run, compute, source, tables, reads, settings)
                        result = job(run, compute, tables)
                    if isinstance(source, SalesforceSource):
                        run.inputs["salesforce_api_usage"] = source.record_usage_at_end()
                    run.memory["workers_peak_bytes"] = worker_peak_memory(client, since=started)
                    run.cpu["workers"] = usage.finish(client)
                    run.outputs["performance_report"] = "dask-report.html"
                finally:
                    logging.getLogger("dialflow").removeHandler(handler)
                    handler.close()
        try:
            if stop_requested.is_set():
                raise KeyboardInterrupt
            failure = write_back(run, settings, result) if write_back else None
        except KeyboardInterrupt:
            raise StoppedAfterCommit(
                f"interrupted after run {run.run_id} committed; its run folder {run.folder} is "
                f"complete" + ("; the Salesforce write-back may be partial" if write_back else "")
            ) from None
        finally:
            if write_back:
                write_summary(run)  # with the write-back's counts
    console.print(f"{job_name}: done, run folder {run.final_folder}", soft_wrap=True)
    typer.echo(str(run.final_folder))
    if failure:  # after the run folder is in place, which keeps undo.csv
        raise DialflowError(failure)
    return run


def main() -> None:
    """Entry point of the `dialflow` console script."""
    app()
