"""The jobs: pure functions on one pandas partition, and one Dask wiring function per job."""

from __future__ import annotations

from typing import Any, Protocol


class Compute(Protocol):
    """Computes Dask collections together; `stage` names the step for progress displays."""

    def __call__(self, *collections: Any, stage: str) -> tuple[Any, ...]: ...


def dask_compute(*collections: Any, stage: str) -> tuple[Any, ...]:
    """Compute with Dask's current scheduler and no progress display (tests, library use)."""
    import dask

    return dask.compute(*collections)


class Persist(Protocol):
    """Persists Dask collections on the workers and waits for them; `stage` names the step."""

    def __call__(self, *collections: Any, stage: str) -> tuple[Any, ...]: ...


def dask_persist(*collections: Any, stage: str) -> tuple[Any, ...]:
    """Persist with Dask's current scheduler and no progress display (tests, library use)."""
    import dask

    return dask.persist(*collections)
