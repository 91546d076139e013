"""The worker plugin that masks phones in the logs of every Dask worker of a run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from distributed.diagnostics.plugin import WorkerPlugin

from .logs import mask_dask_logs, route_dask_warnings

if TYPE_CHECKING:
    from distributed import Worker


class MaskWorkerLogs(WorkerPlugin):
    """Put DIAL-Flow's phone masking on a worker's Dask logs (the worker logs a failing task's
    exception, which may quote a value), and its Python warnings on one log line each.

    Registered on the scheduler, so it also reaches workers that join or restart later.
    """

    name = "dialflow-mask-worker-logs"

    def setup(self, worker: Worker) -> None:
        mask_dask_logs()
        route_dask_warnings()
