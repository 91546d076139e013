"""The worker plugin that masks phones in the logs of every Dask worker of a run."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from distributed.diagnostics.plugin import WorkerPlugin

from .logs import mask_dask_logs, route_warnings

if TYPE_CHECKING:
    from distributed import Worker

# Routine for a run, logged by Dask at WARNING: a size estimate it could not make (for the
# performance report's task stream) and every P2P shuffle's start and end.
NOISY_DASK_LOGGERS = ("distributed.sizeof", "distributed.shuffle._scheduler_plugin")


def silence_noisy_dask_loggers() -> None:
    """Keep Dask's routine WARNING lines (NOISY_DASK_LOGGERS) off the logs; errors still show."""
    for name in NOISY_DASK_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


class MaskWorkerLogs(WorkerPlugin):
    """Put DIAL-Flow's phone masking on a worker's Dask logs (the worker logs a failing task's
    exception, which may quote a value), its Python warnings on one log line each, Dask's
    routine warnings off, and JSON lines when the command line asked for them.

    Registered on the scheduler, so it also reaches workers that join or restart later.
    """

    name = "dialflow-mask-worker-logs"

    def __init__(self, json_lines: bool = False) -> None:
        self.json_lines = json_lines

    def setup(self, worker: Worker) -> None:
        mask_dask_logs(json_lines=self.json_lines)
        route_warnings(others="distributed.warnings")
        silence_noisy_dask_loggers()
