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
