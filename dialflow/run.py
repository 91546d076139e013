"""The run model: run_id, a temporary run folder, timings, summary.json, and the commit that
makes a run's results visible in its folder and in SQL together, or in neither.

The commit, in order (`open_run`):

1. Every file of the run is written in its hidden folder `<output>/<job>/.<run_id>.tmp/`,
   summary.json last. Any failure or stop up to here: the folder is removed, SQL never touched.
2. SQL: the run's rows and its registry row (`dialflow_runs`) go in one transaction; just before
   COMMIT a stop request (Ctrl-C, SIGTERM) still rolls everything back. The COMMIT is the commit
   point of the run.
3. From the COMMIT on, stop requests wait: the folder is renamed to `<run_id>/`. If the rename
   fails, the SQL rows are removed again (a second transaction) and the run fails.
4. Only then runs beyond `sql.retention_runs` are pruned (a failure there is a warning).

A process killed between 2 and 3 (kill -9, power loss) leaves a committed run whose folder is
still hidden: the next run of the same job renames it into place (`recover_unfinished_runs`);
a hidden folder of a run that never committed is removed then.
"""

from __future__ import annotations

import json
import logging
import os
import re
import resource
import secrets
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from . import __version__
from .errors import DialflowError

if TYPE_CHECKING:
    from distributed import Client, Worker

log = logging.getLogger(__name__)

_RUN_ID = re.compile(r"\d{4}-\d{2}-\d{2}T\d{6}Z-[0-9a-f]{6}")


def new_run_id(now: datetime) -> str:
    """Return a sortable, unique run id: UTC start time and a random suffix.

    The date keeps its dashes so that log masking (which hides 7+ digit runs) leaves it readable.
    """
    return f"{now.strftime('%Y-%m-%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def _next_run_id(job_dir: Path) -> str:
    """Return a run id that sorts after every run of the job so far: "the latest run" is the
    greatest run id, so a run starting within the second of the previous one waits a moment."""
    started = [name[:18] for name in _run_names(job_dir)]
    newest = max(started, default="")
    while True:
        run_id = new_run_id(datetime.now(timezone.utc))
        if run_id[:18] > newest:
            return run_id
        time.sleep(0.05)


def _run_names(job_dir: Path) -> list[str]:
    """Return the run ids of a job's folders, finished or hidden (`.<run_id>.tmp`)."""
    names = [path.name for path in job_dir.iterdir()] if job_dir.is_dir() else []
    return [name for name in names if is_run_id(name)] + [
        run_id for run_id in map(_hidden_run_id, names) if run_id is not None
    ]


def _hidden_run_id(name: str) -> str | None:
    """Return the run id of a running or unfinished run's folder name `.<run_id>.tmp`."""
    if name.startswith(".") and name.endswith(".tmp") and is_run_id(name[1:-4]):
        return name[1:-4]
    return None


def is_run_id(name: str) -> bool:
    """Return True when a folder name is a run id (so `backup-of-<run_id>` is not a run)."""
    return _RUN_ID.fullmatch(name) is not None


def client_peak_rss_bytes() -> int:
    """Return this process's peak resident memory."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _worker_peak_memory(dask_worker: Worker, since: float) -> int:
    """Return the worker's peak process memory since a time, from its system monitor history.

    Runs on the worker (`client.run` passes it as `dask_worker`).
    """
    monitor = dask_worker.monitor
    times = list(monitor.quantities["time"])
    memory = list(monitor.quantities["memory"])
    during = [m for t, m in zip(times, memory, strict=False) if t >= since]
    return int(max(during or memory[-1:] or [0]))


def on_live_workers(client: Client, function: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
    """Run a function on every worker and return its results by address, leaving out workers
    that died meanwhile (a worker restarted for memory must not fail the run's bookkeeping)."""
    return client.run(function, on_error="ignore", **kwargs)


def worker_peak_memory(client: Client, since: float) -> dict[str, int]:
    """Return each worker's peak memory (bytes) since a time, keyed by worker address."""
    return on_live_workers(client, _worker_peak_memory, since=since)


def in_one_process(readings: dict[str, Any]) -> dict[str, Any]:
    """Return in-process workers' readings as one, keyed `in-process`: each worker read the same
    process (client, scheduler and workers), so keeping them all would count it once per worker.
    Memory: the highest peak; CPU: the largest reading."""
    if not readings:
        return {}
    return {"in-process": max(readings.values(), key=_reading_size)}


def _reading_size(reading: Any) -> float:
    return reading["cpu_seconds"] if isinstance(reading, dict) else reading


def _worker_cpu_seconds() -> float:
    """Return this worker process's CPU seconds so far (user + system), as psutil reads them."""
    import psutil

    times = psutil.Process().cpu_times()
    return times.user + times.system


@dataclass
class WorkerUsage:
    """Each worker's CPU reading at the start of a run: the process totals also count what ran
    before the run (startup, earlier runs on a shared cluster), so the run's share is a difference.
    """

    started_wall: float
    cpu_at_start: dict[str, float]

    @classmethod
    def start(cls, client: Client) -> WorkerUsage:
        """Take the start readings, on every worker through `client.run`."""
        return cls(time.time(), on_live_workers(client, _worker_cpu_seconds))

    def finish(self, client: Client) -> dict[str, dict[str, float]]:
        """Return each worker's CPU seconds used since the start and its share of the wall time
        (1.0 = one core busy throughout), keyed by worker address.

        A worker that joined during the run counts from zero: its process is younger than the run.
        """
        wall = max(time.time() - self.started_wall, 1e-9)
        usage: dict[str, dict[str, float]] = {}
        for address, total in on_live_workers(client, _worker_cpu_seconds).items():
            used = max(total - self.cpu_at_start.get(address, 0.0), 0.0)
            usage[address] = {"cpu_seconds": round(used, 3), "cpu_share": round(used / wall, 3)}
        return usage


@dataclass(frozen=True)
class SqlResult:
    """A result table the run commits: its rows are written only at the run's commit."""

    url: str
    table: str
    frame: pd.DataFrame
    retention_runs: int | None


@dataclass
class Run:
    """One run of one job: where it writes and what it records for summary.json."""

    job: str
    run_id: str
    as_of: pd.Timestamp
    folder: Path
    final_folder: Path
    parameters: dict[str, Any]
    started_wall: float = field(default_factory=time.time)
    inputs: dict[str, int] = field(default_factory=dict)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, Any] = field(default_factory=dict)
    cpu: dict[str, Any] = field(default_factory=dict)
    sql_results: list[SqlResult] = field(default_factory=list)
    written_summary: dict[str, Any] = field(default_factory=dict)  # as in summary.json
    # What the run ran with: dialflow version, config file and hash, source, cluster.
    about: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[dict[str, Any]]:
        """Time a stage; the yielded dict takes the stage's row counts."""
        record: dict[str, Any] = {}
        start = time.perf_counter()
        try:
            yield record
        finally:
            record["seconds"] = round(time.perf_counter() - start, 3)
            self.stages[name] = record
            log.info(
                "stage %s done in %.2fs %s",
                name,
                record["seconds"],
                {k: v for k, v in record.items() if k != "seconds"},
            )

    def summary(self) -> dict[str, Any]:
        """Return summary.json's content."""
        return {
            "job": self.job,
            "run_id": self.run_id,
            "dialflow_version": __version__,
            "as_of": self.as_of.isoformat(),
            "started": datetime.fromtimestamp(self.started_wall, timezone.utc).isoformat(),
            "seconds": round(time.time() - self.started_wall, 3),
            **self.about,
            "parameters": self.parameters,
            "inputs": self.inputs,
            "stages": self.stages,
            "counts": self.counts,
            "outputs": self.outputs,
            "memory": {**self.memory, "client_peak_bytes": client_peak_rss_bytes()},
            "cpu": self.cpu,
        }


def _json_value(value: Any) -> Any:
    """Write timestamps as ISO-8601 and anything else JSON lacks as text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def summary_values(run: Run) -> dict[str, Any]:
    """Return the run's summary as summary.json would hold it now: JSON values only."""
    return json.loads(json.dumps(run.summary(), default=_json_value))


def write_summary(run: Run) -> None:
    """Write (or rewrite, after a write-back) summary.json, replacing it in one step; keep what
    was written as `run.written_summary` (JSON values), for the email."""
    text = json.dumps(run.summary(), indent=2, default=_json_value) + "\n"
    partial = run.folder / ".summary.json.partial"
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, run.folder / "summary.json")
    run.written_summary = json.loads(text)


# Set by the SIGINT/SIGTERM handler. Python may swallow the KeyboardInterrupt the handler
# raises (when it lands inside a gc or weakref callback), so the commit checks this too.
stop_requested = threading.Event()
# Set from a run's SQL COMMIT until its folder is in place: a stop then waits for the rename.
_finishing = threading.Event()


def _request_stop(signum: int, frame: Any) -> None:  # noqa: ARG001 - a signal handler
    stop_requested.set()
    if not _finishing.is_set():
        raise KeyboardInterrupt


@contextmanager
def file_mode(umask: int) -> Iterator[None]:
    """Create the run's folders and files (and, on a LocalCluster started inside, the workers'
    files) under `umask`: 0o027 gives 0750 folders and 0640 files, readable by the group only,
    since they hold names and phone numbers."""
    previous = os.umask(umask)
    try:
        yield
    finally:
        os.umask(previous)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Treat SIGTERM (a scheduler stopping the job) like Ctrl-C for the `with` block: the run's
    temporary folder is removed, unless the run has already committed (then it completes)."""
    stop_requested.clear()
    previous = {sig: signal.signal(sig, _request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class UnfinishedCommit(DialflowError):
    """A run committed to SQL whose folder could not be moved into place nor its rows removed:
    its hidden folder is kept for `recover_unfinished_runs`."""


def commit_step(name: str) -> None:
    """A named step of the commit; does nothing. Tests replace it to inject a fault (an
    exception, a signal, a killed SQL session, a killed process) at exactly that step."""


def _stop_unless_requested() -> None:
    if stop_requested.is_set():
        raise KeyboardInterrupt


def _commit(run: Run, temporary: Path, final: Path) -> None:
    """Steps 2-4 of the module docstring: SQL, then the rename, then pruning."""
    from .sinks.sql import forget_run, prune_runs, write_sql_table

    # Results whose COMMIT was attempted: the undo below removes them (a no-op when the
    # COMMIT did not happen), since a failed COMMIT may still have landed on the server.
    attempted: list[SqlResult] = []

    def last_chance(result: SqlResult) -> None:
        commit_step("before-sql-commit")
        _stop_unless_requested()
        _finishing.set()  # from here a stop waits until the folder is in place
        attempted.append(result)

    try:
        for result in run.sql_results:
            write_sql_table(
                result.url, result.table, result.frame, run.run_id, lambda r=result: last_chance(r)
            )
        commit_step("after-sql-commit")
        _finishing.set()  # without SQL, the rename itself is the commit point
        os.replace(temporary, final)
    except BaseException as exc:
        _finishing.clear()
        if attempted and not _forget(attempted, run.run_id, forget_run):
            # The rows may stay committed; the hidden folder is kept for the next run.
            raise UnfinishedCommit(
                f"run {run.run_id}: its commit failed after the SQL COMMIT was sent "
                f"({type(exc).__name__}: {exc}), and removing its SQL rows again failed too; "
                f"the next {run.job} run on {final.parent.parent} completes or removes it"
            ) from None
        raise
    run.folder = final
    try:
        # The run is complete: nothing from here on may undo it or report it as failed.
        commit_step("after-rename")
        for result in attempted:
            if result.retention_runs is not None:
                prune_runs(result.url, result.table, result.retention_runs)
    except Exception as exc:  # noqa: BLE001 - logged; the run stands
        log.warning("run %s is complete, but tidying up after it failed: %s", run.run_id, exc)
    finally:
        _finishing.clear()


def _forget(results: list[SqlResult], run_id: str, forget_run: Callable[..., None]) -> bool:
    """Remove a run's SQL results again; return False when that failed (logged)."""
    for result in results:
        try:
            forget_run(result.url, result.table, run_id)
        except DialflowError as exc:
            log.error("%s", exc)
            return False
    return True


@contextmanager
def open_run(
    output_dir: Path, job: str, as_of: pd.Timestamp, parameters: dict[str, Any]
) -> Iterator[Run]:
    """Yield a Run writing into a hidden temporary folder; commit it when the block ends
    (module docstring). A failure before the commit point leaves no run folder and no SQL rows.
    """
    job_dir = Path(output_dir) / job
    run_id = _next_run_id(job_dir)
    final = job_dir / run_id
    temporary = job_dir / f".{run_id}.tmp"
    temporary.mkdir(parents=True)
    run: Run | None = None
    try:
        # Inside the try: a SIGTERM just after the folder appeared must remove it too (seen once
        # under load in the interrupt test).
        run = Run(job, run_id, as_of, temporary, final, parameters)
        yield run
        _stop_unless_requested()
        write_summary(run)
        commit_step("files-written")
        _commit(run, temporary, final)
    except BaseException as exc:
        if (run is None or run.folder == temporary) and not isinstance(exc, UnfinishedCommit):
            shutil.rmtree(temporary, ignore_errors=True)
        raise


def recover_unfinished_runs(output_dir: Path, job: str, sql_url: str | None) -> None:
    """Complete or remove the hidden folders that killed runs of `job` left (call it holding
    the job's lock, so none of them belongs to a live run).

    A run whose SQL rows were committed is renamed into place: its results are already visible
    in SQL. Any other hidden run folder is removed. Without SQL, a hidden folder whose run
    wrote SQL cannot be judged and is left alone (with a warning).
    """
    from .sinks.sql import registered_runs

    job_dir = Path(output_dir) / job
    names = [path.name for path in job_dir.iterdir()] if job_dir.is_dir() else []
    registered: dict[str, set[str]] = {}  # result table -> its committed runs, read once
    for name in names:
        run_id = _hidden_run_id(name)
        if run_id is None:
            continue
        folder = job_dir / name
        tables = _sql_tables_of(folder)
        if tables and sql_url is None:
            log.warning("%s: left by a killed run that wrote SQL; with SQL off it stays", folder)
            continue
        for table in tables:
            if table not in registered:
                registered[table] = registered_runs(sql_url, table)
        if any(run_id in registered[table] for table in tables):
            os.replace(folder, job_dir / run_id)
            log.warning("run %s was committed to SQL but killed before its folder was moved "
                        "into place; moved now", run_id)  # fmt: skip
        else:
            shutil.rmtree(folder, ignore_errors=True)
            log.info("removed %s, left by a run that did not finish", folder)


def _sql_tables_of(folder: Path) -> list[str]:
    """Return the SQL tables a (hidden) run folder's summary.json says the run commits."""
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []  # summary.json is written before the commit: without it, nothing committed
    table = summary.get("outputs", {}).get("sql_table")
    return [table] if isinstance(table, str) else []
