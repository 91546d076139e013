"""A real Dask cluster for tests: `dask scheduler` and `dask worker` as separate processes.

    with running_cluster(tmp_path, workers=2) as cluster:
        run_cli("run", "autoflush", "--scheduler", cluster.address, ...)
        cluster.kill_worker(0)

Workers run without a nanny, so killing one is final (the scheduler moves its tasks to the
others). `tls` takes a TlsFiles to start everything with `tls://` addresses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

DASK = str(Path(sys.executable).parent / "dask")


@dataclass(frozen=True)
class TlsFiles:
    """PEM files of a test CA and of one certificate (with its key) signed by it."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def flags(self) -> list[str]:
        return [
            "--tls-ca-file", str(self.ca_file), "--tls-cert", str(self.cert_file),
            "--tls-key", str(self.key_file),
        ]  # fmt: skip


@dataclass
class RealCluster:
    address: str  # tcp://127.0.0.1:PORT or tls://...
    dashboard_port: int
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)

    @property
    def dashboard(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def kill_worker(self, index: int) -> None:
        """SIGKILL one worker process, as the OOM killer or a lost node would."""
        self.workers[index].send_signal(signal.SIGKILL)
        self.workers[index].wait(timeout=10)

    def stop(self) -> None:
        """Kill the workers (nothing of theirs is worth a graceful close), then the scheduler."""
        for process in self.workers:
            if process.poll() is None:
                process.kill()
        if self.scheduler.poll() is None:
            self.scheduler.terminate()
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for(path: Path, process: subprocess.Popen, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dask scheduler exited with {process.returncode}")
        if path.exists():
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError:
                pass  # still being written
        time.sleep(0.1)
    raise RuntimeError(f"dask scheduler wrote no {path} in {seconds}s")


@contextmanager
def running_cluster(
    folder: Path,
    workers: int = 2,
    threads: int = 1,
    memory_limit: str = "2GiB",
    tls: TlsFiles | None = None,
) -> Iterator[RealCluster]:
    """Start a scheduler and `workers` single-process workers; stop them all at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    scheduler_file = folder / "scheduler.json"
    log = open(folder / "cluster.log", "ab")  # noqa: SIM115 - closed below
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    tls_flags = tls.flags() if tls else []
    scheduler = subprocess.Popen(
        [
            DASK, "scheduler", "--host", "127.0.0.1", "--port", "0",
            "--dashboard-address", "127.0.0.1:0", "--scheduler-file", str(scheduler_file),
            *(["--protocol", "tls"] if tls else []), *tls_flags,
        ],
        stdout=log, stderr=log, env=env,
    )  # fmt: skip
    cluster = None
    try:
        info = _wait_for(scheduler_file, scheduler, 60)
        cluster = RealCluster(info["address"], info["services"]["dashboard"], scheduler)
        for index in range(workers):
            cluster.workers.append(
                subprocess.Popen(
                    [
                        DASK, "worker", "--scheduler-file", str(scheduler_file), "--no-nanny",
                        "--nthreads", str(threads), "--memory-limit", memory_limit,
                        "--local-directory", str(folder / f"worker-{index}"),
                        "--name", f"worker-{index}", *tls_flags,
                    ],
                    stdout=log, stderr=log, env=env,
                )
            )  # fmt: skip
        _wait_for_workers(cluster, workers, tls)
        yield cluster
    finally:
        if cluster is not None:
            cluster.stop()
        elif scheduler.poll() is None:
            scheduler.kill()
        log.close()


def _wait_for_workers(cluster: RealCluster, count: int, tls: TlsFiles | None) -> None:
    from distributed import Client
    from distributed.security import Security

    security = (
        Security(
            tls_ca_file=str(tls.ca_file),
            tls_client_cert=str(tls.cert_file),
            tls_client_key=str(tls.key_file),
            require_encryption=True,
        )
        if tls
        else None
    )
    with Client(cluster.address, security=security, timeout="30s") as client:
        client.wait_for_workers(count, timeout=60)
