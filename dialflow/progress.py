"""Compute Dask collections on the client with a rich progress bar fed by the scheduler."""

from __future__ import annotations

from typing import Any

from distributed.diagnostics.progressbar import TextProgressBar
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


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
        self._show(futures, stage)
        return tuple(self.client.gather(futures))

    def persist(self, *collections: Any, stage: str) -> tuple[Any, ...]:
        """Persist collections on the workers, showing progress until they are in memory."""
        from distributed import futures_of, wait

        persisted = self.client.persist(list(collections))
        futures = futures_of(persisted)
        self._show(futures, stage)
        wait(futures)
        failed = [future for future in futures if future.status == "error"]
        if failed:
            failed[0].result()  # raise the task's error here, not later in an unrelated step
        return tuple(persisted)

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
