"""One runner for every job: a `JobSpec` says what a job reads, needs and writes; `run_job`
does the rest the same way for all of them.

The order of a run (docs/architecture.md):

1. settings (config file, a job file's overrides, the command's options) and the run's times;
2. the job's plan (`JobSpec.plan`): its parameters, the tables and columns it reads, and the
   earlier results it needs (latest dedupe or autoflush run, reference tables), all read now;
3. the job lock, unfinished runs of the job completed or removed, the source tables checked;
4. the cluster, the run folder, the job's computation (`JobPlan.compute`), its result written as
   `<name>.csv` (and its report), committed with its SQL table (run.py: all or nothing);
5. after the commit, the Salesforce write-back when `--apply` was given; then the email.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import pandas as pd

from .config import Settings, load_settings
from .errors import DialflowError, InputError, StoppedAfterCommit
from .run import Run, SqlResult

if TYPE_CHECKING:
    import dask.dataframe as dd

    from .progress import ProgressCompute
    from .schema import ColumnKind
    from .sources import Source
    from .sources.previous import PreviousResult
    from .worker_logs import WorkerLogs

log = logging.getLogger("dialflow")

Reads = dict[str, Optional[list[str]]]  # canonical table -> the columns a job reads (None: all)


@dataclass(frozen=True)
class JobOption:
    """An option of one job's `dialflow run` command beyond the common ones."""

    name: str  # the keyword, e.g. call_date (the flag is --call-date)
    help: str
    takes_value: bool = True  # False: an on/off flag
    metavar: str = "VALUE"  # the value's format in the help, e.g. YYYY-MM-DD

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class RunRequest:
    """What a person (`dialflow run`) or a job file (`dialflow submit`) asks of one run."""

    job: str
    config: Path | None = None
    input_dir: Path | None = None
    output_dir: Path | None = None
    scheduler: str | None = None
    as_of: str | None = None
    no_sql: bool = False
    no_email: bool = False
    from_snapshot: Path | None = None
    apply: bool = False
    options: dict[str, Any] = field(default_factory=dict)  # the job's own JobOptions
    overrides: dict[str, Any] = field(default_factory=dict)  # config keys, from a job file

    def command_line(self) -> list[str]:
        """Return the `dialflow` arguments a person would type for this run."""
        arguments = ["run", self.job]
        for flag, value in (
            ("--config", self.config),
            ("--input", self.input_dir),
            ("--output", self.output_dir),
            ("--scheduler", self.scheduler),
            ("--as-of", self.as_of),
            ("--from-snapshot", self.from_snapshot),
        ):
            if value is not None:
                arguments += [flag, str(value)]
        for name, value in self.options.items():
            flag = "--" + name.replace("_", "-")
            if isinstance(value, bool):
                arguments += [flag] if value else []
            elif value is not None:
                arguments += [flag, str(value)]
        for flag, on in (("--no-sql", self.no_sql), ("--no-email", self.no_email)):
            arguments += [flag] if on else []
        return arguments + (["--apply"] if self.apply else [])


@dataclass(frozen=True)
class JobContext:
    """What a job's plan is given: everything known before any work."""

    settings: Settings
    as_of: pd.Timestamp
    request: RunRequest
    sql_url: str | None  # where earlier results and reference tables are read; None: no SQL

    @property
    def output_dir(self) -> Path:
        return self.settings.run.output_dir

    def latest(
        self, job: str, csv_name: str, table: str, columns: list[str]
    ) -> PreviousResult | None:
        """Return the latest committed result of an earlier job, warning when there is none."""
        from .sources.previous import latest_result

        return latest_result(self.output_dir, job, csv_name, self.sql_url, table, columns)


@dataclass(frozen=True)
class JobOutput:
    """A job's result: written as `<name>.csv` and committed into `sql_table` with the run."""

    frame: pd.DataFrame
    name: str
    sql_table: str
    prune: bool = True  # False keeps every run (infoflow's table is its request log)
    # More files of the run folder: a frame is written as CSV, text as it is (a dialer's own
    # format), anything else as JSON.
    files: Mapping[str, pd.DataFrame | str | dict] = field(default_factory=dict)


@dataclass(frozen=True)
class JobPlan:
    """How one run of a job goes, made by its spec before any work."""

    params: Any  # a dataclass: recorded in summary.json's parameters
    reads: Reads
    compute: Callable[[Run, ProgressCompute, dict[str, dd.DataFrame]], JobOutput]
    # With --apply: (run, settings, result) -> the failure's cause, or None when all landed.
    write_back: Callable[[Run, Settings, pd.DataFrame], str | None] | None = None
    # Columns a configuration adds to a canonical table, with their kinds (listiq's EBR dates):
    # {table: {column: kind}}.
    extra_columns: Mapping[str, Mapping[str, ColumnKind]] = field(default_factory=dict)


@dataclass(frozen=True)
class JobSpec:
    """A job: its name and help, its own options, what `--apply` does, and its plan."""

    name: str
    help: str
    plan: Callable[[JobContext], JobPlan]
    options: tuple[JobOption, ...] = ()
    apply_help: str | None = None  # the job's --apply, if it writes back to Salesforce


def run_job(spec: JobSpec, request: RunRequest) -> Run:
    """Run one job end to end; return the committed run (raises DialflowError on failure)."""
    from .logs import held_warnings
    from .times import parse_as_of

    settings = _settings(request)
    as_of = parse_as_of(request.as_of)  # refused before any email or work
    sql_url = settings.sql.url if settings.sql.enabled and not request.no_sql else None
    # Warnings before run.log exists (an earlier result missing, a taken dashboard port) are held
    # and written at its start.
    with held_warnings() as early, emailed(spec.name, settings, request.no_email) as email:
        plan = spec.plan(JobContext(settings, as_of, request, sql_url))
        source = make_source(settings, request.from_snapshot)
        email.run = _execute(spec.name, settings, as_of, plan, source, request, sql_url, early)
    return email.run


def _settings(request: RunRequest) -> Settings:
    """Load the settings with the job file's overrides and the command's options over them."""
    overrides: dict[str, Any] = dict(request.overrides)
    if request.input_dir is not None:
        overrides["source.path"] = str(request.input_dir)
    if request.output_dir is not None:
        overrides["run.output_dir"] = str(request.output_dir)
    if request.scheduler is not None:
        overrides["cluster.scheduler"] = request.scheduler
    return load_settings(request.config, overrides)


def make_source(settings: Settings, from_snapshot: Path | None = None) -> Source:
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


def previous_runs(**found: PreviousResult | None) -> dict[str, dict]:
    """Return summary.json's record of which earlier runs a job used."""
    return {
        job: {"run_id": result.run_id, "from": result.origin, "rows": len(result.rows)}
        for job, result in found.items()
        if result is not None
    }


class _EmailedRun:
    run: Run | None = None  # set once the run folder is in place


@contextlib.contextmanager
def emailed(job_name: str, settings: Settings, no_email: bool) -> Iterator[_EmailedRun]:
    """Email the run's outcome when the command ends: success with its counts and CSV, or
    failure with the one-line cause. A failed email after a good run fails the command (exit 1)
    but keeps the run's outputs; a failed email about a failed run is logged beside the cause."""
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
    csv_name = run.outputs.get("csv")
    sent_to = notify_run(
        settings.email,
        job_name,
        "succeeded",
        run.written_summary,
        run.final_folder,
        run.final_folder / csv_name if csv_name else None,
    )
    if sent_to:
        _status(f"{job_name}: emailed {', '.join(sent_to)}")


def _status(message: str, log_it: bool = True) -> None:
    """Show a run's status line on the terminal (not with --quiet or JSON logs) and log it for
    run.log and JSON lines; a text terminal does not show the log record a second time."""
    from .logs import terminal_console

    terminal_console().print(message, soft_wrap=True, highlight=False)
    if log_it:
        log.info("%s", message, extra={"shown": True})


def _source_location(settings: Settings, source: Source) -> dict[str, str]:
    """Return where the run's tables come from, without secrets: kind and folder, URL or org."""
    from .config import mask_passwords
    from .sources import SnapshotSource

    if isinstance(source, SnapshotSource):
        return {"kind": "snapshot", "location": str(source.root)}
    kind = settings.source.kind
    if kind == "files":
        return {"kind": kind, "location": str(settings.source.path)}
    if kind == "sql":
        url = settings.source.sql_url or settings.sql.url
        return {"kind": kind, "location": mask_passwords(url)}
    return {"kind": kind, "location": f"{settings.salesforce.domain}.salesforce.com"}


def about_run(
    settings: Settings,
    request: RunRequest,
    source: Source,
    client: Any,
    dashboard: str,
    workers: tuple[bool, str] | None = None,
) -> dict[str, Any]:
    """Return what summary.json records of what a run ran with: its config file and a hash of
    the resolved settings (secrets masked before hashing), the source, and the cluster (with a
    LocalCluster, `workers`: whether its workers were processes, and why)."""
    from .config import config_file, config_sha256

    path = config_file(request.config)
    return {
        "config": {
            "path": str(path) if path is not None else None,
            "sha256": config_sha256(settings),
            "overrides": sorted(request.overrides),  # the keys only: a value may be a secret
        },
        "source": _source_location(settings, source),
        "cluster": {
            "scheduler": client.scheduler.address,
            "dashboard": dashboard,
            **(
                {"processes": workers[0], "processes_reason": workers[1]}
                if workers is not None
                else {}
            ),
        },
    }


def _log_about(about: dict[str, Any]) -> None:
    """Log what the run runs with, for run.log."""
    from . import __version__

    config = about["config"]
    log.info(
        "dialflow %s; config %s (sha256 %s)%s",
        __version__,
        config["path"] or "built-in defaults",
        config["sha256"][:12],
        f", overrides {', '.join(config['overrides'])}" if config["overrides"] else "",
    )
    log.info("source %s: %s", about["source"]["kind"], about["source"]["location"])
    cluster = about["cluster"]
    log.info("scheduler %s; Dask dashboard at %s", cluster["scheduler"], cluster["dashboard"],
             extra={"shown": True})  # fmt: skip
    if "processes" in cluster:
        kind = "processes" if cluster["processes"] else "threads of this process"
        log.info("LocalCluster workers: %s (%s)", kind, cluster["processes_reason"])


def _log_lineage(run: Run) -> None:
    """Log the earlier runs and reference tables the job used (summary.json's inputs)."""
    used = run.inputs.get("previous_runs")
    if isinstance(used, dict):
        for job, earlier in used.items():
            log.info(
                "used earlier %s run %s: %s rows from %s",  # "<id> (22" would be masked as a phone
                job, earlier.get("run_id"), earlier.get("rows"), earlier.get("from"),
            )  # fmt: skip
        if not used:
            log.info("used no earlier run")
    for key in ("reference_tables", "snapshot_of"):
        if key in run.inputs:
            log.info("used %s: %s", key.replace("_", " "), run.inputs[key])


def _read_tables(
    source: Source, reads: Reads, extra: Mapping[str, Mapping[str, ColumnKind]]
) -> dict[str, dd.DataFrame]:
    """Return the job's tables as lazy Dask dataframes. Reading checks every table's presence,
    columns and types, so a bad input stops the run before a cluster starts."""
    return {
        table: source.read(table, columns, dict(extra.get(table, {})))
        for table, columns in reads.items()
    }


def _snapshot(
    run: Run,
    compute: ProgressCompute,
    source: Source,
    tables: dict[str, dd.DataFrame],
    plan: JobPlan,
    settings: Settings,
) -> dict[str, dd.DataFrame]:
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
    return _read_tables(snapshot, plan.reads, plan.extra_columns)


def _write(run: Run, settings: Settings, output: JobOutput, sql_url: str | None) -> None:
    """Write the result as `<name>.csv`, the further files and the report; hand its SQL table
    to the commit."""
    from .sinks import write_csv

    with run.stage("write") as stage:
        stage["csv_rows"] = write_csv(output.frame, run.folder / f"{output.name}.csv")
        run.outputs["csv"] = f"{output.name}.csv"
        if sql_url is not None:
            keep = settings.sql.retention_runs if output.prune else None
            run.sql_results.append(SqlResult(sql_url, output.sql_table, output.frame, keep))
            stage["sql_rows"] = len(output.frame)
            run.outputs["sql_table"] = output.sql_table
        for name, content in output.files.items():
            if isinstance(content, pd.DataFrame):
                stage[name] = write_csv(content, run.folder / name)
            elif isinstance(content, str):
                (run.folder / name).write_bytes(content.encode("utf-8"))
                stage[name] = content.count("\n")
            else:
                text = json.dumps(content, indent=2, ensure_ascii=False) + "\n"
                (run.folder / name).write_text(text, encoding="utf-8")
        if output.files:
            run.outputs["files"] = list(output.files)
        _write_report(run, output)


def _write_report(run: Run, output: JobOutput) -> None:
    """Write the job's report.html (reports/), from the run's summary so far and its output
    frames: the result and the run folder's other CSV files, by file name. A report that
    fails is a warning, not a failed run: the results are what the run is for."""
    from .reports import report_html
    from .run import summary_values

    frames = {f"{output.name}.csv": output.frame}
    frames.update(
        (name, content) for name, content in output.files.items()
        if isinstance(content, pd.DataFrame)
    )  # fmt: skip
    try:
        page = report_html(run.job, summary_values(run), frames)
    except Exception as exc:  # noqa: BLE001 - the results stand without their report
        log.warning("%s: report.html not written (%s: %s)", run.job, type(exc).__name__, exc)
        return
    if page is not None:
        (run.folder / "report.html").write_text(page, encoding="utf-8")
        run.outputs["report"] = "report.html"


def _write_worker_logs(
    handler: logging.Handler, worker_logs: WorkerLogs | None, client: Any
) -> None:
    """Write the workers' warnings and errors of the run into run.log, and only there: a
    LocalCluster's workers printed them on the terminal already, a remote worker's stderr is
    on its own machine."""
    if worker_logs is None:  # the run failed before it took the start reading
        return
    try:
        records = worker_logs.records(client)
    except Exception as exc:  # noqa: BLE001 - the scheduler is gone; the run's own error stands
        log.warning(
            "the Dask workers' warnings could not be read (%s: %s)", type(exc).__name__, exc
        )
        return
    for record in records:
        handler.handle(record)


def _execute(
    job_name: str,
    settings: Settings,
    as_of: pd.Timestamp,
    plan: JobPlan,
    source: Source,
    request: RunRequest,
    sql_url: str | None,
    early: list[logging.LogRecord] | None = None,
) -> Run:
    """Lock, check, compute on the cluster inside a run folder, commit, then write back."""
    from distributed import performance_report

    from .cluster import dashboard_link, local_processes, open_client
    from .lock import job_lock
    from .logs import log_to_file, stop_logging_to_file, terminal_console
    from .progress import ProgressCompute, StageLimits
    from .run import (
        WorkerUsage,
        file_mode,
        in_one_process,
        open_run,
        recover_unfinished_runs,
        stop_on_signals,
        stop_requested,
        worker_peak_memory,
        write_summary,
    )
    from .sources import SalesforceSource
    from .worker_logs import WorkerLogs

    output = settings.run.output_dir
    write_back = plan.write_back if request.apply else None
    with stop_on_signals(), file_mode(int(settings.run.umask, 8)), job_lock(output, job_name):
        recover_unfinished_runs(output, job_name, sql_url)
        tables = _read_tables(source, plan.reads, plan.extra_columns)
        local = None  # a remote scheduler's workers are what they are
        if not settings.cluster.scheduler:
            local = local_processes(settings.cluster, source.stored_bytes(plan.reads))
        processes = local is None or local[0]
        with open_client(settings.cluster, processes=processes) as client:
            dashboard = dashboard_link(client)
            _status(f"{job_name}: Dask dashboard at {dashboard}", log_it=False)  # run.log: below
            # as_of is summary.json's own key; a job's parameters do not repeat it.
            parameters = {k: v for k, v in dict(plan.params).items() if k != "as_of"}
            with open_run(output, job_name, as_of, parameters) as run:
                handler = log_to_file(run.folder / "run.log", early)
                worker_logs = None
                try:
                    started = time.time()
                    usage = WorkerUsage.start(client)
                    worker_logs = WorkerLogs.start(client)
                    run.about = about_run(settings, request, source, client, dashboard, local)
                    log.info("%s run %s started; folder %s", job_name, run.run_id, run.final_folder)
                    _log_about(run.about)
                    # BokehJS inlined: the report opens offline, where scheduled jobs run.
                    report = str(run.folder / "dask-report.html")
                    with performance_report(filename=report, mode="inline"):
                        limits = StageLimits.of(settings.cluster, client)
                        compute = ProgressCompute(client, job_name, terminal_console(), limits)
                        tables = _snapshot(run, compute, source, tables, plan, settings)
                        result = plan.compute(run, compute, tables)
                        _log_lineage(run)
                        _write(run, settings, result, sql_url)
                    if isinstance(source, SalesforceSource):
                        run.inputs["salesforce_api_usage"] = source.record_usage_at_end()
                    peaks, cpu = worker_peak_memory(client, since=started), usage.finish(client)
                    if not processes:  # every worker read the one process
                        peaks, cpu = in_one_process(peaks), in_one_process(cpu)
                    run.memory["workers_peak_bytes"], run.cpu["workers"] = peaks, cpu
                    run.outputs["performance_report"] = "dask-report.html"
                    log.info("%s run %s: %.1f s, committing", job_name, run.run_id,
                             time.time() - run.started_wall)  # fmt: skip
                finally:
                    _write_worker_logs(handler, worker_logs, client)
                    stop_logging_to_file(handler)
        try:
            if stop_requested.is_set():
                raise KeyboardInterrupt
            failure = write_back(run, settings, result.frame) if write_back else None
        except KeyboardInterrupt:
            raise StoppedAfterCommit(
                f"interrupted after run {run.run_id} committed; its run folder {run.folder} is "
                f"complete" + ("; the Salesforce write-back may be partial" if write_back else "")
            ) from None
        finally:
            if write_back:
                write_summary(run)  # with the write-back's counts
    _status(f"{job_name}: done, run folder {run.final_folder}")
    print(run.final_folder, flush=True)  # the one line on stdout: scripts read the run folder
    if failure:  # after the run folder is in place, which keeps undo.csv
        raise DialflowError(failure)
    return run
