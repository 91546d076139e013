"""What DIAL-Flow puts on every Dask worker of a run (phone masking, warnings as log lines, JSON
lines) and how the workers' warnings and errors reach the run folder's run.log.

A worker's stderr is its own: on a remote cluster it is on another machine, and even a
LocalCluster's workers print to the terminal only. So each worker also publishes its WARNING
and ERROR records (masked) as scheduler events on WORKER_LOG_TOPIC; at the end of a run the
client reads the events published since the run started (`WorkerLogs`) and writes them into
run.log. The events live on the scheduler, so a worker that died mid-run is still heard.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from distributed.diagnostics.plugin import WorkerPlugin

from .logs import MaskPhones, mask_dask_logs, route_warnings

if TYPE_CHECKING:
    from distributed import Client, Worker

# Routine for a run, logged by Dask at WARNING: a size estimate it could not make (for the
# performance report's task stream) and every P2P shuffle's start and end.
NOISY_DASK_LOGGERS = ("distributed.sizeof", "distributed.shuffle._scheduler_plugin")
WORKER_LOG_TOPIC = "dialflow-worker-logs"
# Dask's own records (a failed task, memory pressure, Python warnings: `route_warnings` puts
# a worker's on distributed.warnings) and what DIAL-Flow's code logs while running on a worker.
PUBLISHED_LOGGERS = ("distributed", "dialflow")
# A run that failed because its scheduler is gone must not wait for it to read the events.
EVENTS_TIMEOUT_SECONDS = 10


def silence_noisy_dask_loggers() -> None:
    """Keep Dask's routine WARNING lines (NOISY_DASK_LOGGERS) off the logs; errors still show."""
    for name in NOISY_DASK_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def record_fields(record: logging.LogRecord, worker: str) -> dict[str, Any]:
    """Return what an event carries of a (masked) record: msgpack-serialisable values only."""
    message = record.getMessage()
    if record.exc_text:
        message += "\n" + record.exc_text
    return {
        "name": record.name,
        "levelno": record.levelno,
        "levelname": record.levelname,
        "created": record.created,
        "message": message,
        "worker": worker,
    }


def record_of_fields(fields: dict[str, Any]) -> logging.LogRecord:
    """Rebuild a worker's record for run.log, its message naming the worker, its time the
    worker's."""
    created = float(fields["created"])
    return logging.makeLogRecord(
        {
            "name": fields["name"],
            "levelno": fields["levelno"],
            "levelname": fields["levelname"],
            "msg": f"worker {fields['worker']}: {fields['message']}",
            "created": created,
            "msecs": (created - int(created)) * 1000,
        }
    )


class _PublishToScheduler(logging.Handler):
    """On a worker: publish WARNING and ERROR records, masked, as events on WORKER_LOG_TOPIC."""

    def __init__(self, worker: Worker) -> None:
        super().__init__(logging.WARNING)
        self.worker = worker
        self.addFilter(MaskPhones())
        self._publishing = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        # Publishing may log in turn (a closing comm): that record must not loop back here.
        if getattr(self._publishing, "active", False):
            return
        self._publishing.active = True
        try:
            self.worker.log_event(WORKER_LOG_TOPIC, record_fields(record, self.worker.address))
        except Exception:  # noqa: BLE001 - a worker closing down; its stderr still has the line
            pass
        finally:
            self._publishing.active = False


def _publish_worker_logs(worker: Worker) -> None:
    """Put one _PublishToScheduler on each of PUBLISHED_LOGGERS (a re-registered plugin
    replaces the earlier handler)."""
    for name in PUBLISHED_LOGGERS:
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if isinstance(h, _PublishToScheduler)]:
            logger.removeHandler(handler)
        logger.addHandler(_PublishToScheduler(worker))


@dataclass(frozen=True)
class WorkerLogs:
    """The workers' log events already on the scheduler when a run started (by their time on
    the scheduler's clock, so that the machines' clocks need not agree)."""

    after: float

    @classmethod
    def start(cls, client: Client) -> WorkerLogs:
        events = _events(client)
        return cls(events[-1][0] if events else float("-inf"))

    def records(self, client: Client) -> list[logging.LogRecord]:
        """Return the records the workers published since the start, oldest first. On a
        scheduler shared by several runs at once, theirs are among them: a worker's record
        does not say which client's task logged it."""
        return [record_of_fields(fields) for stamp, fields in _events(client) if stamp > self.after]


def _events(client: Client) -> tuple[tuple[float, Any], ...]:
    """Return the scheduler's events on WORKER_LOG_TOPIC: (its time, the record's fields)."""
    return client.sync(
        client.scheduler.events, topic=WORKER_LOG_TOPIC, callback_timeout=EVENTS_TIMEOUT_SECONDS
    )


class MaskWorkerLogs(WorkerPlugin):
    """Put DIAL-Flow's phone masking on a worker's Dask logs (the worker logs a failing task's
    exception, which may quote a value), its Python warnings on one log line each, Dask's
    routine warnings off, JSON lines when the command line asked for them, and its warnings
    and errors on the scheduler for run.log.

    Registered on the scheduler, so it also reaches workers that join or restart later.
    """

    name = "dialflow-mask-worker-logs"

    def __init__(self, json_lines: bool = False) -> None:
        self.json_lines = json_lines

    def setup(self, worker: Worker) -> None:
        mask_dask_logs(json_lines=self.json_lines)
        route_warnings(others="distributed.warnings")
        silence_noisy_dask_loggers()
        _publish_worker_logs(worker)
