"""Compute Dask collections on the client with a rich progress bar fed by the scheduler."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dask
from distributed.diagnostics.progressbar import TextProgressBar
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .errors import DialflowError
from .jobs import from_futures, optimised_together

if TYPE_CHECKING:
    from distributed import Client, Future
    from distributed.scheduler import KilledWorker

    from .config import ClusterSettings

log = logging.getLogger(__name__)

# The fix shared by every message about workers running out of memory.
MEMORY_FIX = (
    "raise cluster.memory_limit or split the input into more, smaller partitions "
    "(source.parquet_blocksize, salesforce.partitions)"
)


@dataclass(frozen=True)
class StageLimits:
    """How far a stage may go on without progress before it fails (cluster.max_* settings)."""

    max_worker_restarts: int = 10
    max_paused_seconds: float = 120.0
    poll_seconds: float = 1.0
    # A LocalCluster's worker limit, for the message when no worker stays up to report its own.
    worker_memory_limit: int | None = None

    @classmethod
    def of(cls, settings: ClusterSettings, client: Client) -> StageLimits:
        """The limits of the cluster settings, with the worker limit of a LocalCluster the
        client started (a remote cluster's workers report their own)."""
        from dask.utils import parse_bytes

        local = client.cluster is not None and settings.memory_limit != "auto"
        return cls(
            max_worker_restarts=settings.max_worker_restarts,
            max_paused_seconds=settings.max_paused_seconds,
            worker_memory_limit=parse_bytes(settings.memory_limit) if local else None,
        )


class _RichProgressBar(TextProgressBar):
    """Distributed's scheduler-fed progress bar, drawn by rich instead of raw text."""

    def __init__(
        self,
        keys: list[Future],
        progress: Progress,
        task_id: int,
        watch: StageWatch,
        **kwargs: Any,
    ) -> None:
        self._rich = progress
        self._task_id = task_id
        self._watch = watch
        self._done = -1
        super().__init__(keys, **kwargs)

    def _draw_bar(self, remaining: int, all: int, **kwargs: Any) -> None:  # noqa: A002
        self._rich.update(self._task_id, total=all, completed=all - remaining)
        if all - remaining != self._done:
            self._done = all - remaining
            self._watch.progressed()

    def _draw_stop(self, **kwargs: Any) -> None:
        pass


class ProgressCompute:
    """A `compute(*collections)` for the jobs: runs them on the client while showing progress."""

    def __init__(
        self,
        client: Client,
        job: str,
        console: Console | None = None,
        limits: StageLimits | None = None,
    ) -> None:
        self.client = client
        self.job = job
        self.console = console or Console(stderr=True)
        self.limits = limits or StageLimits()

    def __call__(self, *collections: Any, stage: str) -> tuple[Any, ...]:
        started = time.perf_counter()
        futures = self.client.compute(list(collections))
        with self._cancelled_on_failure(futures, stage) as watch:
            self._show(futures, stage, watch)
            results = tuple(self.client.gather(futures))
        log.info("%s: %s computed in %.2fs", self.job, stage, time.perf_counter() - started)
        return results

    def persist(self, *collections: Any, stage: str) -> tuple[Any, ...]:
        """Persist collections on the workers, showing progress until they are in memory."""
        from distributed import futures_of, wait

        started = time.perf_counter()
        persisted = self.client.persist(list(optimised_together(collections)))
        futures = futures_of(persisted)
        with self._cancelled_on_failure(futures, stage) as watch:
            self._show(futures, stage, watch)
            wait(futures)
            failed = [future for future in futures if future.status == "error"]
            if failed:
                failed[0].result()  # raise the task's error here, not in an unrelated step
        log.info("%s: %s persisted in %.2fs", self.job, stage, time.perf_counter() - started)
        return tuple(from_futures(frame) for frame in persisted)

    @contextmanager
    def _cancelled_on_failure(self, futures: list, stage: str) -> Iterator[StageWatch]:
        """Cancel the stage's futures when it fails or is interrupted (Ctrl-C, SIGTERM), so a
        shared cluster does not go on computing for a run that is gone; explain dead workers,
        and stop a stage whose workers restart or stay paused without end (StageWatch)."""
        from distributed.scheduler import KilledWorker

        watch = StageWatch(self.client, futures, f"{self.job}: {stage}", self.limits)
        try:
            yield watch
        except KilledWorker as exc:
            self.client.cancel(futures)
            raise DialflowError(killed_worker_message(exc)) from None
        except BaseException:
            self.client.cancel(futures)
            if watch.verdict is not None:  # the watch cancelled the futures: say why
                raise DialflowError(watch.verdict) from None
            raise
        finally:
            watch.stop()
        if watch.verdict is not None:  # persist's wait() returns quietly on cancelled futures
            raise DialflowError(watch.verdict)

    def _show(self, futures: list, stage: str, watch: StageWatch) -> None:
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("tasks"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self.console, transient=False) as progress:
            task_id = progress.add_task(f"{self.job}: {stage}", total=None)
            _RichProgressBar(
                futures, progress, task_id, watch, scheduler=self.client.scheduler.address
            )


def _task_place(key: Any) -> str:
    """The stage and partition of a task key: `autoflush-classify (partition 0)`."""
    name, partition = (key[0], key[1]) if isinstance(key, tuple) and len(key) > 1 else (key, None)
    stage = re.sub(r"-[0-9a-f]{16,}$", "", str(name))  # the task name without Dask's token
    return stage + (f" (partition {partition})" if partition is not None else "")


def _limit_text(memory_limit: int | None) -> str:
    from dask.utils import format_bytes

    return f" of {format_bytes(memory_limit)}" if memory_limit else ""


def worker_deaths_message(deaths: int, where: str, memory_limit: int | None) -> str:
    """One line for workers that kept dying: how often, where (`running <task place>` or
    `during <job>: <stage>`), and what to change (it is nearly always memory)."""
    return (
        f"Dask workers died {deaths} times {where}, most likely out of memory (a worker "
        f"limit{_limit_text(memory_limit)}); {MEMORY_FIX}"
    )


def killed_worker_message(exc: KilledWorker) -> str:
    """One line for a task whose workers all died running it: which stage and partition, and
    what to change (it is nearly always memory)."""
    limit = getattr(exc.last_worker, "memory_limit", 0)
    return worker_deaths_message(
        exc.allowed_failures + 1, f"running {_task_place(exc.task)}", limit
    )


class StageWatch:
    """Watch the cluster while a stage computes, and stop the stage when it cannot finish.

    Dask's `distributed.scheduler.allowed-failures` fails a task only when workers die while
    it is *processing* on them (the scheduler blames the tasks of a removed worker). It never
    fires when:

    - a worker's own memory is over the limit before it runs anything (a limit below what an
      idle worker process takes, ~160 MiB here): its nanny kills it at 95% and starts a new one,
      which dies the same way before it even registers; no task is ever blamed and the nanny
      restarts it for good;
    - workers *pause* (memory over distributed.worker.memory.pause, 80%) but stay under the 95%
      that gets them restarted: nothing dies, paused workers get no tasks, and memory that is
      not Dask's own data (unmanaged, not spillable) never goes back under the threshold.

    So every `poll_seconds` the watch reads, from the scheduler, the nannies' memory-restart
    events ("worker-restart-memory") and the workers' status. More restarts during the stage
    than `max_worker_restarts`, or a worker paused for `max_paused_seconds` while the stage made
    no progress for as long, sets `verdict` (the one-line error) and cancels the stage's futures,
    which ends the progress bar and the gather.
    """

    RESTART_TOPIC = "worker-restart-memory"

    def __init__(
        self, client: Client, futures: list[Future], stage: str, limits: StageLimits
    ) -> None:
        self.client = client
        self.futures = futures
        self.stage = stage
        self.limits = limits
        self.verdict: str | None = None
        self._last_progress = time.monotonic()
        self._paused_since: dict[str, float] = {}
        self._last_task: dict[str, Any] = {}  # worker address -> a task it was processing
        self._memory_limit = limits.worker_memory_limit
        self._stopped = threading.Event()
        # Scheduler timestamps: compared only with each other, so clocks need not agree.
        self._restarts_before = max(
            (stamp for stamp, _ in client.get_events(self.RESTART_TOPIC)), default=float("-inf")
        )
        self._thread = threading.Thread(target=self._run, name="dialflow-stage-watch", daemon=True)
        self._thread.start()

    def progressed(self) -> None:
        """Note that a task of the stage finished (the progress bar calls this)."""
        self._last_progress = time.monotonic()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopped.wait(self.limits.poll_seconds):
            try:
                verdict = self._check()
            except Exception as exc:  # noqa: BLE001 - the client closing under us, a lost poll
                log.debug("stage watch: %s", exc)
                continue
            if verdict is not None and not self._stopped.is_set():
                self.verdict = verdict
                self.client.cancel(self.futures)
                return

    def _where(self, address: str | None) -> str:
        key = self._last_task.get(address) if address else None
        return f"running {_task_place(key)}" if key is not None else f"during {self.stage}"

    def _check(self) -> str | None:
        now = time.monotonic()
        for address, keys in self.client.processing().items():
            if keys:
                self._last_task[address] = next(iter(keys))
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        limits = [worker.get("memory_limit") or 0 for worker in workers.values()]
        self._memory_limit = max(limits, default=0) or self._memory_limit

        restarts = [
            event
            for stamp, event in self.client.get_events(self.RESTART_TOPIC)
            if stamp > self._restarts_before
        ]
        if len(restarts) > self.limits.max_worker_restarts:
            where = self._where(restarts[-1].get("worker"))
            return worker_deaths_message(len(restarts), where, self._memory_limit)

        paused = {address for address, worker in workers.items() if worker["status"] == "paused"}
        self._paused_since = {a: self._paused_since.get(a, now) for a in paused}
        if not paused:
            return None
        address, since = min(self._paused_since.items(), key=lambda item: item[1])
        waited = min(now - since, now - self._last_progress)
        if waited <= self.limits.max_paused_seconds:
            return None
        # The client's setting: the workers' own is the same unless their cluster configures it.
        pause = dask.config.get("distributed.worker.memory.pause")
        return (
            f"Dask workers stayed paused for {waited:.0f} s {self._where(address)} with no "
            f"progress, out of memory (over distributed.worker.memory.pause, {pause:.0%} of a "
            f"worker limit{_limit_text(self._memory_limit)}); {MEMORY_FIX}"
        )
