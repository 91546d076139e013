"""The one way DIAL-Flow gets a Dask client: a remote scheduler, or a LocalCluster from config."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from .config import ClusterSettings
from .errors import DialflowError


@contextmanager
def open_client(settings: ClusterSettings, scheduler: str | None = None) -> Iterator["Client"]:  # noqa: F821
    """Yield a connected client; `scheduler` (from --scheduler) wins over `cluster.scheduler`."""
    from distributed import Client, LocalCluster

    address = scheduler or settings.scheduler
    if address:
        try:
            client = Client(address, timeout=f"{settings.connect_timeout_seconds}s")
        except (OSError, TimeoutError) as exc:
            raise DialflowError(
                f"cannot reach the Dask scheduler at {address} ({type(exc).__name__}: {exc}); "
                f"check that it runs, or drop --scheduler to use a local cluster"
            ) from None
        try:
            yield client
        finally:
            client.close()
        return

    # The in-process scheduler logs at WARNING what is routine for us: every P2P shuffle's start
    # and end, and a size estimate it could not make for the performance report's task stream.
    for noisy in ("distributed.shuffle._scheduler_plugin", "distributed.sizeof"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    cluster = LocalCluster(
        n_workers=settings.n_workers,
        threads_per_worker=settings.threads_per_worker,
        memory_limit=settings.memory_limit,
        dashboard_address=settings.dashboard_address,
        processes=True,
    )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


def dashboard_link(client) -> str:  # noqa: ANN001 - distributed.Client
    """Return the dashboard address to print, or a note when the scheduler serves none."""
    return client.dashboard_link or "(no dashboard: install bokeh on the scheduler)"
