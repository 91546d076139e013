"""The run model: run_id, a temporary run folder renamed at the end, timings and summary.json."""

from __future__ import annotations

import json
import logging
import os
import resource
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)


def new_run_id(now: datetime) -> str:
    """Return a sortable, unique run id: UTC start time and a random suffix.

    The date keeps its dashes so that log masking (which hides 7+ digit runs) leaves it readable.
    """
    return f"{now.strftime('%Y-%m-%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def client_peak_rss_bytes() -> int:
    """Return this process's peak resident memory."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _worker_peak_memory(dask_worker, since: float) -> int:  # noqa: ANN001 - runs on a worker
    """Return the worker's peak process memory since a time, from its system monitor history."""
    monitor = dask_worker.monitor
    times = list(monitor.quantities["time"])
    memory = list(monitor.quantities["memory"])
    during = [m for t, m in zip(times, memory, strict=False) if t >= since]
    return int(max(during or memory[-1:] or [0]))


def worker_peak_memory(client, since: float) -> dict[str, int]:  # noqa: ANN001
    """Return each worker's peak memory (bytes) since a time, keyed by worker address."""
    return client.run(_worker_peak_memory, since=since)


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
    def start(cls, client) -> WorkerUsage:  # noqa: ANN001 - distributed.Client
        """Take the start readings, on every worker through `client.run`."""
        return cls(time.time(), client.run(_worker_cpu_seconds))

    def finish(self, client) -> dict[str, dict[str, float]]:  # noqa: ANN001
        """Return each worker's CPU seconds used since the start and its share of the wall time
        (1.0 = one core busy throughout), keyed by worker address.

        A worker that joined during the run counts from zero: its process is younger than the run.
        """
        wall = max(time.time() - self.started_wall, 1e-9)
        usage: dict[str, dict[str, float]] = {}
        for address, total in client.run(_worker_cpu_seconds).items():
            used = max(total - self.cpu_at_start.get(address, 0.0), 0.0)
            usage[address] = {"cpu_seconds": round(used, 3), "cpu_share": round(used / wall, 3)}
        return usage


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
            "as_of": self.as_of.isoformat(),
            "started": datetime.fromtimestamp(self.started_wall, timezone.utc).isoformat(),
            "seconds": round(time.time() - self.started_wall, 3),
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


# Set by the CLI's SIGINT/SIGTERM handler. Python may swallow the KeyboardInterrupt the handler
# raises (when it lands inside a gc or weakref callback), so the commit below checks this too.
stop_requested = threading.Event()


@contextmanager
def open_run(
    output_dir: Path, job: str, as_of: pd.Timestamp, parameters: dict[str, Any]
) -> Iterator[Run]:
    """Yield a Run writing into a hidden temporary folder, renamed into place only on success.

    A failure removes the temporary folder, so no partial run folder is ever left behind.
    """
    now = datetime.now(timezone.utc)
    run_id = new_run_id(now)
    job_dir = Path(output_dir) / job
    final = job_dir / run_id
    temporary = job_dir / f".{run_id}.tmp"
    temporary.mkdir(parents=True)
    run = Run(job, run_id, as_of, temporary, final, parameters)
    try:
        yield run
        if stop_requested.is_set():
            raise KeyboardInterrupt
        (temporary / "summary.json").write_text(
            json.dumps(run.summary(), indent=2, default=_json_value) + "\n", encoding="utf-8"
        )
        os.replace(temporary, final)
        run.folder = final
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
