"""Compute Dask collections on the client with a rich progress bar fed by the scheduler."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from distributed.diagnostics.progressbar import TextProgressBar
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .errors import DialflowError


class _RichProgressBar(TextProgressBar):
    """Distributed's scheduler-fed progress bar, drawn by rich instead of raw text."""

    def __init__(self, keys, progress: Progress, task_id: int, **kwargs: Any) -> None:  # noqa: ANN001
        self._rich = progress
        self._task_id = task_id
        super().__init__(keys, **kwargs)

    def _draw_bar(self, remaining: int, all: int, **kwargs: Any) -> None:  # noqa: A002
        self._rich.update(self._task_id, total=all, completed=all - remaining)

    def _draw_stop(self, **kwargs: Any) -> None:
        pass


class ProgressCompute:
    """A `compute(*collections)` for the jobs: runs them on the client while showing progress."""

    def __init__(self, client, job: str, console: Console | None = None) -> None:  # noqa: ANN001
        self.client = client
        self.job = job
        self.console = console or Console(stderr=True)

    def __call__(self, *collections: Any, stage: str) -> tuple[Any, ...]:
        futures = self.client.compute(list(collections))
        with self._cancelled_on_failure(futures):
            self._show(futures, stage)
            return tuple(self.client.gather(futures))

    def persist(self, *collections: Any, stage: str) -> tuple[Any, ...]:
        """Persist collections on the workers, showing progress until they are in memory."""
        from distributed import futures_of, wait

        persisted = self.client.persist(list(collections))
        futures = futures_of(persisted)
        with self._cancelled_on_failure(futures):
            self._show(futures, stage)
            wait(futures)
            failed = [future for future in futures if future.status == "error"]
            if failed:
                failed[0].result()  # raise the task's error here, not in an unrelated step
        return tuple(persisted)

    @contextmanager
    def _cancelled_on_failure(self, futures: list) -> Iterator[None]:
        """Cancel the stage's futures when it fails or is interrupted (Ctrl-C, SIGTERM), so a
        shared cluster does not go on computing for a run that is gone; explain dead workers."""
        from distributed.scheduler import KilledWorker

        try:
            yield
        except KilledWorker as exc:
            self.client.cancel(futures)
            raise DialflowError(killed_worker_message(exc)) from None
        except BaseException:
            self.client.cancel(futures)
            raise

    def _show(self, futures: list, stage: str) -> None:
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("tasks"),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=self.console, transient=False) as progress:
            task_id = progress.add_task(f"{self.job}: {stage}", total=None)
            _RichProgressBar(futures, progress, task_id, scheduler=self.client.scheduler.address)


def killed_worker_message(exc) -> str:  # noqa: ANN001 - distributed.scheduler.KilledWorker
    """One line for a task whose workers all died running it: which stage and partition, and
    what to change (it is nearly always memory)."""
    import re

    from dask.utils import format_bytes

    key = exc.task
    name, partition = (key[0], key[1]) if isinstance(key, tuple) and len(key) > 1 else (key, None)
    stage = re.sub(r"-[0-9a-f]{16,}$", "", str(name))  # the task name without Dask's token
    where = stage + (f" (partition {partition})" if partition is not None else "")
    limit = getattr(exc.last_worker, "memory_limit", 0)
    limit_text = f" of {format_bytes(limit)}" if limit else ""
    return (
        f"Dask workers died {exc.allowed_failures + 1} times running {where}, most likely out "
        f"of memory (a worker limit{limit_text}); raise cluster.memory_limit or split the input "
        f"into more, smaller partitions (source.parquet_blocksize, salesforce.partitions)"
    )
