"""Faults on a real cluster: a worker killed mid-run, an unreachable scheduler, a worker that runs
out of memory on a partition; and every job on a multi-process cluster equal to a LocalCluster."""

import subprocess
import sys
import time
from pathlib import Path

import dask
import dask.dataframe as dd
import pandas as pd
import pytest

from dialflow.cluster import open_client
from dialflow.config import ClusterSettings
from dialflow.errors import DialflowError
from dialflow.progress import ProgressCompute, StageLimits
from tests.conftest import JOB_OUTPUTS, make_demo, one_error_line, run_cli, run_folder, write_config
from tests.real_cluster import running_cluster

DIALFLOW = str(Path(sys.executable).parent / "dialflow")
AS_OF = "2026-11-25T00:00:00Z"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """Big enough that autoflush runs for seconds, so a worker can be killed mid-run."""
    return make_demo(tmp_path_factory.mktemp("demo"), 20_000, 300_000, 9, "2026-11-25")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("small"), 3_000, 30_000, 9, "2026-11-25")


def config_in(folder: Path, demo: Path, **options: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_config(folder, demo, **options)


def run_args(job: str, config: Path, *extra: str) -> list[str]:
    return ["run", job, "--config", str(config), "--as-of", AS_OF, "--no-sql", "--no-email",
            *extra]  # fmt: skip


def test_every_job_on_a_multi_process_cluster_equals_the_local_cluster(tmp_path, small):
    local = config_in(tmp_path / "local", small)
    remote = config_in(tmp_path / "remote", small)
    with running_cluster(tmp_path / "cluster", workers=2) as cluster:
        for job, csv_name in JOB_OUTPUTS.items():  # in order: later jobs read earlier results
            here = run_folder(run_cli(*run_args(job, local)))
            there = run_folder(run_cli(*run_args(job, remote, "--scheduler", cluster.address)))
            assert (here / csv_name).read_bytes() == (there / csv_name).read_bytes(), job
            assert (here / csv_name).read_bytes().count(b"\n") > 1, job


def test_a_worker_killed_mid_run_changes_nothing_in_the_output(tmp_path, demo):
    from distributed import Client

    clean = run_folder(run_cli(*run_args("autoflush", config_in(tmp_path / "clean", demo))))
    config = config_in(tmp_path / "faulty", demo)
    with running_cluster(tmp_path / "cluster", workers=2) as cluster:
        victim = cluster.workers[0]
        process = subprocess.Popen(
            [DIALFLOW, *run_args("autoflush", config, "--scheduler", cluster.address)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        with Client(cluster.address) as watcher:
            address = next(
                a for a, w in watcher.scheduler_info()["workers"].items() if w["name"] == "worker-0"
            )
            deadline = time.monotonic() + 120
            busy: list = []
            while not busy:  # kill it while it runs the job's tasks, not before or after
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "the job never reached the worker"
                # The cluster is this test's own: any task it processes is the job's (reading
                # its tables included; waiting for an `autoflush-*` task raced a fast run).
                busy = list(watcher.processing().get(address, ()))
                time.sleep(0.005)
            cluster.kill_worker(0)
        stdout, stderr = process.communicate(timeout=300)
    assert victim.returncode == -9
    assert process.returncode == 0, stderr
    faulty = Path(stdout.strip().splitlines()[-1])
    name = "autoflush_cleanup.csv"
    assert (faulty / name).read_bytes() == (clean / name).read_bytes()


def test_an_unreachable_scheduler_fails_in_seconds_naming_it(tmp_path, small):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    config = write_config(tmp_path, small, cluster_extra="  connect_timeout_seconds: 2\n")
    started = time.monotonic()
    result = run_cli(*run_args("dedupe", config, "--scheduler", address))
    assert time.monotonic() - started < 15
    assert result.exit_code == 1
    assert one_error_line(result.output).startswith(
        f"Error: cannot reach the Dask scheduler at {address} ("
    )
    assert not (tmp_path / "out" / "dedupe").exists() or not any(
        (tmp_path / "out" / "dedupe").iterdir()
    )


def _hog_memory(partition: int) -> pd.DataFrame:
    """Take far more memory than the worker may use, so that its nanny kills it."""
    hog = bytearray(1_200 * 2**20)
    for offset in range(0, len(hog), 4096):  # touch every page so it is really resident
        hog[offset] = 1
    time.sleep(30)
    return pd.DataFrame({"partition": [partition]})


def test_a_worker_out_of_memory_is_reported_with_the_partition_and_the_fix():
    settings = ClusterSettings(n_workers=2, memory_limit="600MiB", dashboard_address=":0")
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        with open_client(settings) as client:
            frame = dd.from_map(
                _hog_memory, [0], label="autoflush-classify",
                meta=pd.DataFrame({"partition": pd.Series(dtype="int64")}),
            )  # fmt: skip
            with pytest.raises(DialflowError) as caught:
                limits = StageLimits.of(settings, client)
                ProgressCompute(client, "autoflush", limits=limits)(frame, stage="classify")
    assert str(caught.value) == (
        "Dask workers died 2 times running autoflush-classify (partition 0), most likely out of "
        "memory (a worker limit of 600.00 MiB); raise cluster.memory_limit or split the input "
        "into more, smaller partitions (source.parquet_blocksize, salesforce.partitions)"
    )
