"""Nothing hangs, and personal data stays out of Dask's logs (issue 12).

- a --scheduler port that accepts TCP but is no Dask scheduler (silent, a web server, random
  bytes) fails within cluster.connect_timeout_seconds, naming the address and the fix;
- workers restarted in a loop or paused for good fail the stage with the memory fix;
- a worker's log of a failing task masks the phone number in it, --quiet keeps INFO lines off
  stderr, and Dask's warnings are one log line.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from dialflow.cluster import open_client
from dialflow.config import ClusterSettings
from dialflow.errors import DialflowError
from dialflow.progress import ProgressCompute, StageLimits
from tests.bad_inputs.conftest import assert_nothing_left
from tests.conftest import CHAIN_ACCOUNTS, accounts_frame, one_error_line, run_cli, write_config

pytestmark = pytest.mark.slow

DIALFLOW = str(Path(sys.executable).parent / "dialflow")
AS_OF = "2026-11-25T00:00:00Z"
CONNECT_TIMEOUT = 2
MEMORY_FIX = (
    "raise cluster.memory_limit or split the input into more, smaller partitions "
    "(source.parquet_blocksize, salesforce.partitions)"
)


def write_accounts(folder: Path, last_row: dict[str, str] | None = None) -> Path:
    """Write 1,200 accounts (the chain accounts over and over) as Account.csv; `last_row`
    overrides columns of the last one, past the 1,000 rows the source checks on the client,
    so that a bad value fails a task on a worker."""
    folder.mkdir(parents=True, exist_ok=True)
    frame = accounts_frame(CHAIN_ACCOUNTS * 300).astype(object)
    frame["Id"] = [f"001{index:05d}" for index in range(len(frame))]
    for column, value in (last_row or {}).items():
        frame.loc[len(frame) - 1, column] = value
    frame.to_csv(folder / "Account.csv", index=False)
    return folder


@contextmanager
def tcp_server(answer: Callable[[socket.socket], None]) -> Iterator[str]:
    """Accept connections on a loopback port and `answer` each; yield its tcp:// address."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # closed at the end of the test
                return
            held.append(connection)
            answer(connection)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()
        for connection in held:
            connection.close()


@contextmanager
def web_server() -> Iterator[str]:
    """A plain HTTP server (as a Dask dashboard's port would be): it waits for a request line."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _say_nothing(connection: socket.socket) -> None:
    pass


def _send_random_bytes(connection: socket.socket) -> None:
    connection.sendall(os.urandom(4096))


def _not_a_scheduler(address: str, what: str) -> str:
    return (
        f"Error: cannot reach the Dask scheduler at {address}: it answered, but not as a Dask "
        f"scheduler ({what}); check the address and port (a scheduler listens on 8786 by "
        f"default, 8787 is its dashboard)"
    )


@pytest.mark.parametrize(
    ("server", "what"),
    [
        (lambda: tcp_server(_say_nothing), f"no Dask handshake within {CONNECT_TIMEOUT} s"),
        (web_server, f"no Dask handshake within {CONNECT_TIMEOUT} s"),
        (
            lambda: tcp_server(_send_random_bytes),
            "it sent something other than a Dask handshake",
        ),
    ],
    ids=["silent", "web-server", "random-bytes"],
)
def test_a_port_that_is_no_dask_scheduler_fails_within_the_connect_timeout(tmp_path, server, what):
    data = write_accounts(tmp_path / "data")
    config = write_config(
        tmp_path, data, cluster_extra=f"  connect_timeout_seconds: {CONNECT_TIMEOUT}\n"
    )
    with server() as address:
        started = time.monotonic()
        result = run_cli(
            "run", "dedupe", "--config", str(config), "--as-of", AS_OF, "--no-sql",
            "--no-email", "--scheduler", address,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert one_error_line(result.output) == _not_a_scheduler(address, what)
    assert elapsed < CONNECT_TIMEOUT + 3, elapsed
    assert_nothing_left(tmp_path / "out", "dedupe")


def _big_partition(partition: int) -> pd.DataFrame:
    """200 MB of numbers: more than a worker of a 120 MiB limit could ever hold."""
    return pd.DataFrame({"n": np.arange(25_000_000, dtype="int64") + partition})


def _classify(settings: ClusterSettings) -> None:
    """Compute one hand-built partition as autoflush's classify stage, on a LocalCluster."""
    meta = pd.DataFrame({"n": pd.Series(dtype="int64")})
    with open_client(settings) as client:
        frame = dd.from_map(_big_partition, [0], meta=meta, label="autoflush-classify")
        limits = StageLimits.of(settings, client)
        ProgressCompute(client, "autoflush", limits=limits)(frame.n.sum(), stage="classify")


def test_workers_restarted_in_a_loop_fail_the_stage_with_the_memory_fix():
    # 120 MiB is below what an idle worker process takes: its nanny restarts it before it runs
    # anything, so Dask's allowed-failures never blames a task and the loop would never end.
    settings = ClusterSettings(
        n_workers=1, memory_limit="120MiB", dashboard_address=":0", max_worker_restarts=2
    )
    started = time.monotonic()
    with pytest.raises(DialflowError) as caught:
        _classify(settings)
    assert time.monotonic() - started < 40
    assert re.fullmatch(
        r"Dask workers died \d+ times (during autoflush: classify|running autoflush-classify "
        r"\(partition 0\)), most likely out of memory \(a worker limit of 120\.00 MiB\); "
        + re.escape(MEMORY_FIX),
        str(caught.value),
    ), str(caught.value)


def test_workers_paused_without_progress_fail_the_stage_with_the_memory_fix():
    # A pause threshold of 1% pauses the worker for good as it starts: the real pause of a
    # worker whose unmanaged memory stays over distributed.worker.memory.pause, in seconds.
    settings = ClusterSettings(n_workers=1, dashboard_address=":0", max_paused_seconds=2)
    started = time.monotonic()
    with dask.config.set({"distributed.worker.memory.pause": 0.01}):
        with pytest.raises(DialflowError) as caught:
            _classify(settings)
    assert time.monotonic() - started < 40
    assert re.fullmatch(
        r"Dask workers stayed paused for \d+ s (during autoflush: classify|running "
        r"autoflush-classify \(partition 0\)) with no progress, out of memory \(over "
        r"distributed.worker.memory.pause, 1% of a worker limit of 4\.00 GiB\); "
        + re.escape(MEMORY_FIX),
        str(caught.value),
    ), str(caught.value)


def test_dask_logs_of_a_failing_worker_task_mask_its_phone_and_keep_quiet_and_one_line(
    tmp_path,
):
    """A worker task fails on a CreatedDate value that is a phone number: the worker's
    `Compute Failed` log on stderr masks it like our error line; --quiet shows no INFO line;
    the warning of a taken dashboard port is one log line without a site-packages path."""
    data = write_accounts(tmp_path / "data", {"CreatedDate": "4155550123"})
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        config = write_config(tmp_path, data)
        config.write_text(
            config.read_text().replace("dashboard_address: ':0'", f"dashboard_address: ':{port}'")
        )
        process = subprocess.run(
            [
                DIALFLOW, "--quiet", "run", "dedupe", "--config", str(config), "--as-of", AS_OF,
                "--no-sql", "--no-email",
            ],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    stderr = process.stderr
    assert process.returncode == 2, stderr
    assert "Compute Failed" in stderr  # the worker did log the task's failure ...
    assert "4155550123" not in stderr and "Time data ********23 is not ISO8601" in stderr  # masked
    assert not [line for line in stderr.splitlines() if " INFO " in line], stderr
    warning = [line for line in stderr.splitlines() if f"Port {port} is already in use" in line]
    assert len(warning) == 1 and "distributed.warnings" in warning[0], stderr
    assert "site-packages" not in warning[0] and "UserWarning: Port" in warning[0]
    assert_nothing_left(tmp_path / "out", "dedupe")
