"""The `dialflow` command line: parse options, call the runner or a module, print one line."""

from __future__ import annotations

import functools
import inspect
import logging
import re
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional

import typer
import yaml
from rich.console import Console

from .config import load_settings, masked_settings
from .errors import ConfigError, DialflowError

if TYPE_CHECKING:
    from .runner import JobSpec

app = typer.Typer(no_args_is_help=True, add_completion=False)
config_app = typer.Typer(no_args_is_help=True, help="Check the configuration.")
run_app = typer.Typer(no_args_is_help=True, help="Run a job.")
app.add_typer(config_app, name="config")
salesforce_app = typer.Typer(no_args_is_help=True, help="Check the org mapping; undo write-back.")
app.add_typer(run_app, name="run")
app.add_typer(salesforce_app, name="salesforce")
dnc_app = typer.Typer(no_args_is_help=True, help="Import the National Do Not Call Registry.")
app.add_typer(dnc_app, name="dnc")

console = Console(stderr=True)
log = logging.getLogger("dialflow")

CONFIG_OPTION = typer.Option(None, "--config", "-c", help="Config file (default ./config.yaml).")


class _State:
    debug = False  # --debug: tracebacks instead of one line


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


@salesforce_app.command("restore")
@_one_line_errors
def salesforce_restore(
    run_folder: Path = typer.Argument(..., help="An autoflush run folder made with --apply."),
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


@dnc_app.command("import")
@_one_line_errors
def dnc_import(
    files: list[Path] = typer.Argument(
        ..., help="Registry files: full lists per area code and change lists (.txt or .zip)."
    ),
    config: Optional[Path] = CONFIG_OPTION,
    registry_date: Optional[str] = typer.Option(
        None,
        "--date",
        help="The registry date of every file (YYYY-MM-DD), instead of their names'.",
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


@dnc_app.command("status")
@_one_line_errors
def dnc_status(
    config: Optional[Path] = CONFIG_OPTION,
    call_date: Optional[str] = typer.Option(
        None, "--call-date", help="Check the registry's age on this day (default today)."
    ),
) -> None:
    """Print the registry's dates and check that it is recent enough for the call date."""
    from .dnc import check_registry

    settings = load_settings(config)
    day = _day_option(call_date, "--call-date") or date.today()
    manifest = check_registry(settings.dnc.path, day)
    console.print(
        f"DNC registry OK for {day.isoformat()}: {manifest['numbers']} numbers in "
        f"{len(manifest['area_codes'])} area codes, registry date {manifest['registry_date']}",
        highlight=False,
    )


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
    dnc: int = typer.Option(
        0,
        "--dnc",
        min=0,
        help="Also write a synthetic Do Not Call Registry of this many numbers (registry file "
        "format) into OUT/_dnc/.",
    ),
) -> None:
    """Write the canonical tables as Parquet: realistic, dirty demo data with planted problems."""
    from .demo import generate_demo_data, generate_demo_registry
    from .times import parse_timestamp

    stamp = parse_timestamp(as_of, "--as-of").normalize() if as_of is not None else None
    started = time.perf_counter()
    counts = generate_demo_data(out, accounts=accounts, calls=calls, seed=seed, as_of=stamp)
    console.print(f"demo data written to {out} in {time.perf_counter() - started:.1f}s: {counts}")
    if dnc:
        registry = generate_demo_registry(out, dnc, seed=seed, as_of=stamp)
        console.print(f"demo DNC registry files written to {registry['folder']}: {registry}")


@app.command("submit")
@_one_line_errors
def submit(
    job_file: Path = typer.Argument(
        ..., help="A scheduled job's YAML file, e.g. jobs/autoflush.yaml."
    ),
    scheduler: Optional[str] = typer.Option(
        None, "--scheduler", help="tcp://HOST:PORT or tls://HOST:PORT of a cluster's scheduler."
    ),
) -> None:
    """Run a scheduled job described by a job file (for cron, systemd timers, orchestrators)."""
    from .runner import run_job
    from .specs import SPECS
    from .submit import load_job_file, run_request

    request = run_request(load_job_file(job_file), job_file, scheduler)
    log.info("submit %s: dialflow %s", job_file, " ".join(request.command_line()))
    run_job(SPECS[request.job], request)


# The options every `dialflow run <job>` takes: (RunRequest field, type, typer.Option).
COMMON_RUN_OPTIONS = (
    ("config", Optional[Path], CONFIG_OPTION),
    ("input_dir", Optional[Path], typer.Option(None, "--input", help="Overrides source.path.")),
    (
        "output_dir",
        Optional[Path],
        typer.Option(None, "--output", help="Overrides run.output_dir."),
    ),
    (
        "scheduler",
        Optional[str],
        typer.Option(
            None, "--scheduler", help="tcp://HOST:PORT or tls://HOST:PORT of a cluster's scheduler."
        ),
    ),
    ("as_of", Optional[str], typer.Option(None, "--as-of", help="The run's reference time (UTC).")),
    (
        "no_sql",
        bool,
        typer.Option(
            False,
            "--no-sql",
            help="No SQL at all: write no table; reference tables and earlier results from the "
            "shipped copies and run folders.",
        ),
    ),
    ("no_email", bool, typer.Option(False, "--no-email", help="Send no email for this run.")),
    (
        "from_snapshot",
        Optional[Path],
        typer.Option(
            None,
            "--from-snapshot",
            help="Read the tables from an earlier run folder's Salesforce snapshot instead of "
            "the source.",
        ),
    ),
)


def _run_command(spec: JobSpec) -> Callable[..., None]:
    """Make `dialflow run <job>`: the common options, the job's own, and --apply if it has one."""
    from .runner import RunRequest, run_job

    def command(**values: Any) -> None:
        own = {option.name: values.pop(option.name) for option in spec.options}
        run_job(spec, RunRequest(job=spec.name, options=own, **values))

    options = [(name, kind, default) for name, kind, default in COMMON_RUN_OPTIONS]
    options += [
        (option.name, Optional[str], typer.Option(None, option.flag, help=option.help))
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
        run_app.command(name)(_run_command(spec))


_register_run_commands()


def main() -> None:
    """Entry point of the `dialflow` console script."""
    app()
