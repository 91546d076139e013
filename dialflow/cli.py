"""The `dialflow` command line: parse options, call the runner or a module, print one line."""

from __future__ import annotations

import functools
import inspect
import logging
import os
import re
import time
from datetime import date
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import typer
import yaml
from rich.console import Console

from . import __version__
from .config import load_settings, masked_settings
from .errors import ConfigError, DialflowError

if TYPE_CHECKING:
    from .history import RunRecord
    from .runner import JobSpec

APP_HELP = (
    "Keep an outbound calling operation's data clean, on Dask: dedupe (duplicate accounts), "
    "autoflush (bad phone numbers), infoflow (numbers to research) and listiq (today's call "
    "list).\n\n"
    "A first run: `dialflow demo-data`, then `dialflow run dedupe`. `dialflow runs` lists past "
    "runs, `dialflow show RUN` explains one. Settings come from ./config.yaml (or --config); "
    "relative paths in it are relative to its folder.\n\n"
    "Exit codes: 0 done, 1 failed, 2 bad config or input, 3 the job already runs, "
    "130 interrupted."
)


def _examples(*lines: str) -> str:
    """An epilog of example command lines, one per line in the help."""
    return "Examples:\n\n" + "\n\n".join(lines)


def _flags_as_flags(params: list[Any]) -> list[Any]:
    """Show on/off options as bare flags (`--no-sql`), not with a value type (`--no-sql <bool>`,
    which typer prints for every bool option)."""
    for param in params:
        if getattr(param, "is_flag", False) and getattr(param, "metavar", None) is None:
            param.metavar = ""
    return params


class _Command(typer.core.TyperCommand):
    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_as_flags(super().get_params(ctx))


class _Group(typer.core.TyperGroup):
    def get_params(self, ctx: Any) -> list[Any]:
        return _flags_as_flags(super().get_params(ctx))


class _Typer(typer.Typer):
    """A command group whose commands show flags as flags (`_flags_as_flags`)."""

    def command(self, *args: Any, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(*args, cls=cls or _Command, **kwargs)


def _typer(**settings: Any) -> typer.Typer:
    return _Typer(cls=_Group, no_args_is_help=True, rich_markup_mode="rich", **settings)


app = _typer(
    help=APP_HELP,
    epilog=_examples(
        "dialflow demo-data --out data/demo",
        "dialflow run dedupe --as-of 2026-11-25",
        "dialflow runs dedupe",
        "dialflow --quiet --log-format json submit jobs/listiq.yaml",
    ),
)
config_app = _typer(
    help="Check the configuration.",
    epilog=_examples("dialflow config check --connect"),
)
run_app = _typer(
    help="Run a job now: dedupe, autoflush, infoflow or listiq.",
    epilog=_examples("dialflow run dedupe", "dialflow run listiq --call-date 2026-11-26"),
)
app.add_typer(config_app, name="config")
salesforce_app = _typer(
    help="Check the Salesforce org mapping; undo an autoflush write-back.",
    epilog=_examples("dialflow salesforce check"),
)
app.add_typer(run_app, name="run")
app.add_typer(salesforce_app, name="salesforce")
dnc_app = _typer(
    help="Import the National Do Not Call Registry and check its age.",
    epilog=_examples("dialflow dnc status"),
)
app.add_typer(dnc_app, name="dnc")

console = Console(stderr=True)
log = logging.getLogger("dialflow")

CONFIG_OPTION = typer.Option(
    None,
    "--config",
    "-c",
    metavar="FILE",
    help="The config file (YAML). Default: ./config.yaml if it exists, else the built-in defaults.",
)


class LogLevel(str, Enum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class LogFormat(str, Enum):
    text = "text"
    json = "json"


class _State:
    debug = False  # --debug: tracebacks instead of one line


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"dialflow {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback of an error instead of one line."
    ),
    verbose: bool = typer.Option(
        True,
        "--verbose/--quiet",
        help="--quiet: only warnings and errors on the terminal, no status lines or progress "
        "bars (run.log still gets every line; the run folder is still printed on stdout).",
    ),
    log_level: LogLevel = typer.Option(
        LogLevel.INFO,
        "--log-level",
        case_sensitive=False,
        help="The least important log lines shown on the terminal.",
    ),
    log_format: LogFormat = typer.Option(
        LogFormat.text,
        "--log-format",
        help="text, or json: one JSON object per line on stderr (time, level, logger, "
        "message), for schedulers and log collectors.",
    ),
    version: bool = typer.Option(  # handled by its callback
        False,
        "--version",
        callback=_print_version,
        is_eager=True,
        help="Print the dialflow version and exit.",
    ),
) -> None:
    from .logs import setup_logging

    _State.debug = debug
    setup_logging(verbose, log_level.value, log_format.value)


def _print_error(message: str, exit_code: int = 1) -> None:
    """Print one `Error:` line on stderr (with --log-format json: one JSON error record); driver
    messages may quote data or a connection URL, so phones and passwords are masked (the last
    line of defence: messages mask their own URLs)."""
    from rich.markup import escape

    from .logs import json_logs, mask

    if json_logs():
        log.error("Error: %s", mask(message), extra={"exit_code": exit_code})
        return
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
            _print_error(str(exc), exc.exit_code)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _print_error("interrupted; no run folder was kept", 130)
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


def _stdout() -> Console:
    """A console on stdout for tables: the terminal's width, or COLUMNS when set; wide enough
    when stdout is a file or a pipe."""
    out = Console()
    return out if out.is_terminal or os.environ.get("COLUMNS") else Console(width=160)


@config_app.command(
    "check",
    epilog=_examples(
        "dialflow config check",
        "dialflow config check --config /etc/dialflow/config.yaml --connect",
    ),
)
@_one_line_errors
def config_check(
    config: Optional[Path] = CONFIG_OPTION,
    connect: bool = typer.Option(
        False,
        "--connect",
        help="Also reach what a run uses: the source folder and tables, the SQL database, the "
        "scheduler, the SMTP server and the Salesforce login; one line each (ok, failed or "
        "skipped), exit code 1 when one failed.",
    ),
) -> None:
    """Validate the config and print the effective settings, secrets masked."""
    from .config import config_file

    settings = load_settings(config)
    path = config_file(config)
    origin = str(path) if path is not None else "built-in defaults"
    if not connect:
        typer.echo(yaml.safe_dump(masked_settings(settings), sort_keys=False).rstrip())
        console.print(f"config OK ({origin})", highlight=False, soft_wrap=True)
        return
    from .checks import FAILED, connection_checks

    console.print(f"config OK ({origin}); connecting", highlight=False, soft_wrap=True)
    checks = connection_checks(settings)
    width = max(len(check.name) for check in checks)
    for check in checks:
        typer.echo(f"{check.name:<{width}}  {check.status:<7}  {check.detail}")
    failed = [check for check in checks if check.status == FAILED]
    if failed:
        raise DialflowError(
            f"config check --connect: {len(failed)} of {len(checks)} checks failed, first "
            f"{failed[0].name}: {failed[0].detail}"
        )


@salesforce_app.command("check", epilog=_examples("dialflow salesforce check"))
@_one_line_errors
def salesforce_check(config: Optional[Path] = CONFIG_OPTION) -> None:
    """Log in, describe every mapped object and report missing fields or type mismatches."""
    from .writeback import mapping_check

    problems, objects, fields = mapping_check(load_settings(config))
    if not problems:
        console.print(f"salesforce mapping OK: {objects} objects, {fields} fields")
        return
    for problem in problems:
        column = ".".join(part for part in (problem["table"], problem["column"]) if part)
        console.print(f"  {column}: {problem['problem']}", soft_wrap=True, highlight=False)
    raise DialflowError(
        f"salesforce mapping: {len(problems)} problem(s), first: {problems[0]['problem']}"
    )


@salesforce_app.command(
    "restore",
    epilog=_examples("dialflow salesforce restore output/autoflush/2026-11-25T204703Z-e30dc9"),
)
@_one_line_errors
def salesforce_restore(
    run_folder: Path = typer.Argument(
        ..., metavar="RUN_FOLDER", help="An autoflush run folder made with --apply."
    ),
    config: Optional[Path] = CONFIG_OPTION,
) -> None:
    """Write back every value an autoflush --apply cleared (undo.csv), where still empty."""
    from .writeback import restore_run

    counts, out = restore_run(load_settings(config), run_folder)
    console.print(f"restore: {counts or 'nothing to restore'}; per field in {out}")
    if counts.get("failed"):
        raise DialflowError(f"restore: {counts['failed']} field(s) failed; see {out}")


def _day_option(value: Optional[str], option: str) -> Optional[date]:
    """Parse a YYYY-MM-DD option, or stop with one line (exit 2) naming it."""
    from .times import DATE_FIX

    if value is None:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            raise ValueError(value)
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{option} {value!r}: not a date; {DATE_FIX}") from None


@dnc_app.command(
    "import",
    epilog=_examples(
        "dialflow dnc import downloads/dnc-full-*.txt",
        "dialflow dnc import changes.zip --date 2026-11-20",
    ),
)
@_one_line_errors
def dnc_import(
    files: list[Path] = typer.Argument(
        ...,
        metavar="FILE...",
        help="Registry files: full lists per area code and change lists (.txt or .zip).",
    ),
    config: Optional[Path] = CONFIG_OPTION,
    registry_date: Optional[str] = typer.Option(
        None,
        "--date",
        metavar="YYYY-MM-DD",
        help="The registry date of every file. Default: the date in each file's name.",
    ),
) -> None:
    """Apply registry files to the store under dnc.path, all or nothing, in date order."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    from .dnc import import_with_settings

    settings = load_settings(config)
    when = _day_option(registry_date, "--date")
    labels = {"read": "read files", "apply": "build area codes"}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), console=console
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(labels.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        summary = import_with_settings(settings, list(files), when, progress)
    for entry in summary["files"]:
        changes = f", +{entry['added']} -{entry['deleted']}" if entry["kind"] == "change" else ""
        console.print(
            f"  {entry['file']}: {entry['kind']} list of {entry['date']}, {entry['records']} "
            f"records in {entry['area_codes']} area code(s){changes}",
            highlight=False,
            soft_wrap=True,
        )
    skipped = {k: v for k, v in summary["skipped"].items() if v}
    if skipped:
        log.warning("dnc import: skipped as older than the stored data: %s", skipped)
    console.print(
        f"DNC registry {summary['version']}: {summary['numbers']} numbers in "
        f"{summary['area_codes']} area codes, registry date {summary['registry_date']}",
        highlight=False,
        soft_wrap=True,
    )


@dnc_app.command(
    "status", epilog=_examples("dialflow dnc status", "dialflow dnc status --call-date 2026-11-26")
)
@_one_line_errors
def dnc_status(
    config: Optional[Path] = CONFIG_OPTION,
    call_date: Optional[str] = typer.Option(
        None,
        "--call-date",
        metavar="YYYY-MM-DD",
        help="Check the registry's age on this day. Default: today.",
    ),
) -> None:
    """Print the registry's dates and check that it is recent enough for the call date, as
    listiq would (dnc.allow_stale_until included)."""
    from .dnc.freshness import no_registry
    from .sources.dnc import registry_for_call_date

    settings = load_settings(config)
    day = _day_option(call_date, "--call-date") or date.today()
    until = settings.dnc.allow_stale_until
    registry = registry_for_call_date(settings.dnc.path, day, allow_stale_until=until)
    if registry.version is None:
        raise no_registry(settings.dnc.path)
    summary = registry.summary
    counts = (
        f"{int(registry.numbers.sum())} numbers in {summary['area_codes']} area codes, "
        f"registry date {summary['registry_date']}"
    )
    if "stale" in summary:
        line = (
            f"DNC registry STALE on {day.isoformat()}, allowed by dnc.allow_stale_until "
            f"{summary['stale_allowed_until']}: {summary['stale']}; {counts}"
        )
    else:
        line = f"DNC registry OK for {day.isoformat()}: {counts}"
    console.print(line, highlight=False, soft_wrap=True)


@dnc_app.command("load-sql", epilog=_examples("dialflow dnc load-sql"))
@_one_line_errors
def dnc_load_sql(config: Optional[Path] = CONFIG_OPTION) -> None:
    """Replace the SQL table dnc.sql_table of sql.url with the registry's current version."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    from .config import mask_passwords
    from .dnc.sql import load_registry_sql

    settings = load_settings(config)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), console=console
    ) as bar:
        task = bar.add_task("load numbers", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        loaded = load_registry_sql(
            settings.dnc.path, settings.sql.url, settings.dnc.sql_table, progress=progress
        )
    console.print(
        f"DNC registry {loaded['version']}: {loaded['numbers']} numbers, registry date "
        f"{loaded['registry_date'].isoformat()}, loaded into table {loaded['table']} of "
        f"{mask_passwords(settings.sql.url)}",
        highlight=False,
        soft_wrap=True,
    )


# demo-data's default size: the README's walkthrough (`dialflow demo-data`, then a run).
DEMO_ACCOUNTS = 100_000
DEMO_CALLS = 300_000


def demo_lines(out: Path, seconds: float, counts: dict[str, Any]) -> list[str]:
    """Return demo-data's short printout: rows per table and the planted problems."""
    rows = counts.get("rows", {})
    tables = ", ".join(f"{table} {count:,}" for table, count in rows.items())
    planted = (
        f"{counts.get('duplicates', {}).get('flagged', 0):,} duplicate accounts for dedupe to "
        f"flag, {counts.get('disconnected_numbers', 0):,} disconnected numbers and "
        f"{counts.get('wrong_number_pairs', 0):,} wrong numbers for autoflush"
    )
    return [
        f"demo data written to {out} in {seconds:.1f} s",
        f"  rows: {tables}",
        f"  planted: {planted}",
        f"  every count: {out / '_demo.json'}",
    ]


@app.command(
    "demo-data",
    epilog=_examples(
        "dialflow demo-data",
        "dialflow demo-data --accounts 400000 --calls 1000000 --out data/big --as-of 2026-11-25",
    ),
)
@_one_line_errors
def demo_data(
    out: Path = typer.Option(
        Path("data/demo"), "--out", metavar="DIR", help="Folder to write the tables into."
    ),
    accounts: int = typer.Option(
        DEMO_ACCOUNTS, "--accounts", min=10, metavar="N", help="Accounts to generate."
    ),
    calls: int = typer.Option(
        DEMO_CALLS, "--calls", min=0, metavar="N", help="Call records (Task) to generate."
    ),
    seed: int = typer.Option(
        7, "--seed", metavar="N", help="Random seed; the same seed gives the same data."
    ),
    as_of: Optional[str] = typer.Option(
        None,
        "--as-of",
        metavar="DATE",
        help="Dates lie before this day, ISO-8601 like 2026-11-25. Default: today.",
    ),
    dnc: int = typer.Option(
        0,
        "--dnc",
        min=0,
        metavar="N",
        help="Also write a synthetic Do Not Call Registry of N numbers (the registry's file "
        "format) into DIR/_dnc/; 0 writes none.",
    ),
) -> None:
    """Write the canonical tables as Parquet: realistic, dirty demo data with planted problems."""
    from .demo import generate_demo_data, generate_demo_registry
    from .times import parse_timestamp

    stamp = parse_timestamp(as_of, "--as-of").normalize() if as_of is not None else None
    started = time.perf_counter()
    counts = generate_demo_data(out, accounts=accounts, calls=calls, seed=seed, as_of=stamp)
    for line in demo_lines(out, time.perf_counter() - started, counts):
        console.print(line, highlight=False, soft_wrap=True)
    if dnc:
        registry = generate_demo_registry(out, dnc, seed=seed, as_of=stamp)
        console.print(
            f"demo DNC registry written to {registry['folder']}: "
            f"{registry.get('numbers', 0):,} numbers in {registry.get('full_lists', 0):,} full "
            f"lists of {registry.get('full_list_date')}, a change list of "
            f"{registry.get('change_list_date')} (+{registry.get('change_added', 0):,} "
            f"-{registry.get('change_deleted', 0):,})",
            highlight=False,
            soft_wrap=True,
        )


SCHEDULER_HELP = (
    "tcp://HOST:PORT or tls://HOST:PORT of a running Dask scheduler. Default: "
    "cluster.scheduler, or a local cluster when that is null."
)


@app.command(
    "submit",
    epilog=_examples(
        "dialflow submit jobs/autoflush.yaml",
        "dialflow --log-format json submit jobs/listiq.yaml --scheduler tls://10.0.0.5:8786",
    ),
)
@_one_line_errors
def submit(
    job_file: Path = typer.Argument(
        ..., metavar="JOB_FILE", help="A scheduled job's YAML file, e.g. jobs/autoflush.yaml."
    ),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", metavar="ADDRESS", help=SCHEDULER_HELP
    ),
) -> None:
    """Run a scheduled job described by a job file (for cron, systemd timers, orchestrators);
    works from any working directory."""
    from .runner import run_job
    from .specs import SPECS
    from .submit import load_job_file, run_request

    request = run_request(load_job_file(job_file), job_file, scheduler)
    log.info("submit %s: dialflow %s", job_file, " ".join(request.command_line()))
    run_job(SPECS[request.job], request)


OUTPUT_OPTION = typer.Option(
    None,
    "--output",
    metavar="DIR",
    help="The folder holding the run folders. Default: run.output_dir of the config.",
)


def _short_time(stamp: Optional[str]) -> str:
    """Return an ISO-8601 time as `2026-11-25 12:00` (UTC: `Z`), or the text as it is."""
    pattern = r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:\d\d(\.\d+)?)?(\+00:00|Z)?"
    match = re.fullmatch(pattern, stamp or "")
    if match is None:
        return stamp or ""
    return f"{match[1]} {match[2]}" + ("Z" if match[5] else "")


@app.command(
    "runs",
    epilog=_examples("dialflow runs", "dialflow runs listiq --limit 5", "dialflow runs --no-sql"),
)
@_one_line_errors
def runs(
    job: Optional[str] = typer.Argument(
        None, metavar="JOB", help="Only this job's runs: dedupe, autoflush, infoflow or listiq."
    ),
    config: Optional[Path] = CONFIG_OPTION,
    output: Optional[Path] = OUTPUT_OPTION,
    no_sql: bool = typer.Option(
        False, "--no-sql", help="Only the run folders, not the SQL registry of runs."
    ),
    limit: int = typer.Option(20, "--limit", min=1, metavar="N", help="Show the newest N runs."),
) -> None:
    """List past runs, newest first: run id, job, status, rows written, seconds, as-of, and
    where each is recorded (its run folder, the SQL registry dialflow_runs, or both)."""
    from .history import list_runs

    settings = load_settings(config, {"run.output_dir": str(output)} if output else None)
    records = list_runs(settings, job, use_sql=not no_sql, limit=limit)
    if not records:
        console.print(f"no runs under {settings.run.output_dir}", highlight=False, soft_wrap=True)
        return
    rows = [run_cells(record) for record in records]
    out = _stdout()
    table = _runs_table(rows)
    # Measured as if the terminal were unbounded: rich clamps a measurement to the width.
    if out.measure(table, options=out.options.update_width(10_000)).maximum <= out.width:
        out.print(table)
        return
    for line in narrow_run_lines(rows, out.width):
        typer.echo(line)


RUN_COLUMNS = ("run id", "job", "status", "rows", "seconds", "as-of", "in")


def run_cells(record: RunRecord) -> dict[str, str]:
    """Return one run's cells of `dialflow runs`, by column (RUN_COLUMNS)."""
    status = record.status + (", write-back failed" if record.write_back_failed else "")
    return {
        "run id": record.run_id,
        "job": record.job,
        "status": status,
        "rows": f"{record.rows:,}" if record.rows is not None else "",
        "seconds": f"{record.seconds:.1f}" if record.seconds is not None else "",
        "as-of": _short_time(record.as_of),
        "in": record.where,
    }


def _runs_table(rows: list[dict[str, str]]) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), collapse_padding=True)
    for name in RUN_COLUMNS:
        justify = "right" if name in ("rows", "seconds") else "left"
        table.add_column(name, no_wrap=True, justify=justify)
    for cells in rows:
        table.add_row(*(cells[name] for name in RUN_COLUMNS))
    return table


def narrow_run_lines(rows: list[dict[str, str]], width: int) -> list[str]:
    """Return `dialflow runs` for a terminal too narrow for its table (which would cut the run
    ids short): per run, the run id and job on one line, the rest below it, fact by fact, in
    lines of at most `width`."""
    lines: list[str] = []
    for cells in rows:
        rows_word = "row" if cells["rows"] == "1" else "rows"
        known = (
            f"{cells['rows']} {rows_word}" if cells["rows"] else "",
            f"{cells['seconds']} s" if cells["seconds"] else "",
            f"as of {cells['as-of']}" if cells["as-of"] else "",
        )
        facts = [cells["status"], *(fact for fact in known if fact), f"in {cells['in']}"]
        lines.append(f"{cells['run id']}  {cells['job']}")
        lines += ["  " + line for line in _packed(facts, width - 2)]
    return lines


def _packed(facts: list[str], width: int) -> list[str]:
    """Join facts with "; " into lines of at most `width`, never splitting a fact."""
    lines = [facts[0]]
    for fact in facts[1:]:
        joined = f"{lines[-1]}; {fact}"
        if len(joined) <= width:
            lines[-1] = joined
        else:
            lines.append(fact)
    return lines


@app.command(
    "show",
    epilog=_examples(
        "dialflow show 2026-11-25T204703Z-e30dc9",
        "dialflow show output/listiq/2026-11-25T204703Z-e30dc9",
    ),
)
@_one_line_errors
def show(
    run: str = typer.Argument(
        ..., metavar="RUN", help="A run id (as `dialflow runs` lists it) or a run folder."
    ),
    config: Optional[Path] = CONFIG_OPTION,
    output: Optional[Path] = OUTPUT_OPTION,
) -> None:
    """Explain one run: what it read and wrote, with which config and cluster, its counts, its
    output files and the earlier runs it used (from its summary.json; a run with no folder here
    from the SQL registry)."""
    from .history import show_run

    settings = load_settings(config, {"run.output_dir": str(output)} if output else None)
    for line in show_run(settings, run):
        typer.echo(line)


# The options every `dialflow run <job>` takes: (RunRequest field, type, typer.Option).
COMMON_RUN_OPTIONS = (
    ("config", Optional[Path], CONFIG_OPTION),
    (
        "input_dir",
        Optional[Path],
        typer.Option(
            None,
            "--input",
            metavar="DIR",
            help="The folder of the source tables. Default: source.path of the config.",
        ),
    ),
    ("output_dir", Optional[Path], OUTPUT_OPTION),
    (
        "scheduler",
        Optional[str],
        typer.Option(None, "--scheduler", metavar="ADDRESS", help=SCHEDULER_HELP),
    ),
    (
        "as_of",
        Optional[str],
        typer.Option(
            None,
            "--as-of",
            metavar="TIMESTAMP",
            help="The run's reference time, ISO-8601: 2026-11-25T06:00:00Z, "
            "2026-11-25T06:00:00+01:00 or 2026-11-25 (no offset: UTC). Default: now.",
        ),
    ),
    (
        "sets",
        Optional[list[str]],
        typer.Option(
            None,
            "--set",
            metavar="KEY=VALUE",
            help="Override one setting for this run, checked like the config file; repeat for "
            "more. KEY is dotted as in config.yaml, VALUE is YAML: --set "
            "listiq.target_total_records=5000. Default: none, the config's values.",
        ),
    ),
    (
        "no_sql",
        bool,
        typer.Option(
            False,
            "--no-sql",
            help="Leave the results database (sql.url) out of this run: write no SQL table, and "
            "read earlier runs' results and the reference tables only from the run folders and "
            "the shipped copies. The source tables are still read as source.kind says.",
        ),
    ),
    ("no_email", bool, typer.Option(False, "--no-email", help="Send no email for this run.")),
    (
        "from_snapshot",
        Optional[Path],
        typer.Option(
            None,
            "--from-snapshot",
            metavar="RUN_FOLDER",
            help="Read the tables from an earlier run folder's Salesforce snapshot instead of "
            "the source. Default: none, read the source.",
        ),
    ),
)

# One example command line per job, in its help.
RUN_EXAMPLES = {
    "dedupe": ("dialflow run dedupe", "dialflow run dedupe --as-of 2026-11-25 --no-email"),
    "autoflush": ("dialflow run autoflush --since 2026-06-01", "dialflow run autoflush --apply"),
    "infoflow": ("dialflow run infoflow", "dialflow run infoflow --set infoflow.max_requests=200"),
    "listiq": (
        "dialflow run listiq --call-date 2026-11-26",
        "dialflow run listiq --set listiq.target_total_records=5000",
    ),
}


def parse_sets(items: Optional[list[str]]) -> dict[str, Any]:
    """Return `--set KEY=VALUE` options as config overrides: the key must name a setting, the
    value is read as YAML (5000 a number, true a boolean, [a, b] a list, the rest text)."""
    from .config import setting_key_problem

    overrides: dict[str, Any] = {}
    for item in items or []:
        key, equals, text = item.partition("=")
        key = key.strip()
        if not equals or not key:
            raise ConfigError(
                f"--set {item!r}: give KEY=VALUE, e.g. --set listiq.target_total_records=5000"
            )
        problem = setting_key_problem(key)
        if problem:
            raise ConfigError(f"--set {key}: {problem}")
        try:
            overrides[key] = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            overrides[key] = text
    return overrides


def _run_command(spec: JobSpec) -> Callable[..., None]:
    """Make `dialflow run <job>`: the common options, the job's own, and --apply if it has one."""
    from .runner import RunRequest, run_job

    def command(**values: Any) -> None:
        own = {option.name: values.pop(option.name) for option in spec.options}
        overrides = parse_sets(values.pop("sets"))
        run_job(spec, RunRequest(job=spec.name, options=own, overrides=overrides, **values))

    options = [(name, kind, default) for name, kind, default in COMMON_RUN_OPTIONS]
    options += [
        (
            option.name,
            Optional[str],
            typer.Option(None, option.flag, metavar=option.metavar, help=option.help),
        )
        if option.takes_value
        else (option.name, bool, typer.Option(False, option.flag, help=option.help))
        for option in spec.options
    ]
    if spec.apply_help:
        options.append(("apply", bool, typer.Option(False, "--apply", help=spec.apply_help)))
    command.__signature__ = inspect.Signature(
        [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
         for name, kind, default in options]
    )  # fmt: skip
    command.__annotations__ = {name: kind for name, kind, _ in options}
    command.__doc__ = spec.help
    command.__name__ = command.__qualname__ = f"run_{spec.name}"
    return _one_line_errors(command)


def _register_run_commands() -> None:
    from .specs import SPECS

    for name, spec in SPECS.items():
        examples = RUN_EXAMPLES.get(name, (f"dialflow run {name}",))
        run_app.command(name, epilog=_examples(*examples))(_run_command(spec))


_register_run_commands()


def main() -> None:
    """Entry point of the `dialflow` console script."""
    try:
        app()
    except SystemExit as done:
        exit_now(done.code)
    exit_now(0)


def exit_now(code: int | str | None) -> None:
    """End the process as `sys.exit(code)` would, without the interpreter's teardown.

    Freeing pandas', pyarrow's and Dask's modules one by one took about 1.2 s after every run
    (benchmarks/RESULTS.md, `### fixed cost`). Everything a normal exit does that matters runs
    first: the atexit handlers (Dask's, thread pools'), logging's flush and close, stdio's flush.
    """
    import atexit
    import sys

    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)  # as sys.exit prints a message
        code = 1
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing left to write to
            pass
    os._exit(code or 0)
