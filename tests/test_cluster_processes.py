"""cluster.processes: a LocalCluster's workers as processes or as threads of the run's process,
decided by the input's size with `auto`, and what summary.json and run.log say of it."""

from __future__ import annotations

import json

import pytest

from dialflow.cluster import local_processes
from dialflow.config import ClusterSettings
from dialflow.run import in_one_process
from dialflow.runner import RunRequest, run_job
from dialflow.sources import FileSource
from tests.conftest import write_config
from tests.test_worker_logs import SPEC

MIB = 2**20


@pytest.mark.parametrize(
    ("processes", "size", "expected"),
    [
        ("auto", 10 * MIB, False),  # below in_process_below: threads
        ("auto", 64 * MIB - 1, False),
        ("auto", 64 * MIB, True),  # at the threshold: processes
        ("auto", None, True),  # SQL or Salesforce: size unknown, processes
        (True, 1, True),  # set: the size does not matter
        (False, 10**12, False),
    ],
)
def test_processes_follow_the_setting_or_the_input_size(processes, size, expected):
    settings = ClusterSettings(processes=processes, in_process_below="64MiB")
    chosen, reason = local_processes(settings, size)
    assert chosen is expected
    assert reason.startswith("cluster.processes")


def test_the_reason_names_the_size_and_the_threshold():
    _, reason = local_processes(ClusterSettings(in_process_below="1MiB"), 3 * MIB)
    assert reason == (
        "cluster.processes auto: input files 3.00 MiB, not below cluster.in_process_below (1MiB)"
    )


def test_a_threshold_that_is_no_size_is_a_config_error():
    with pytest.raises(ValueError, match="in_process_below"):
        ClusterSettings(in_process_below="lots")


def test_stored_bytes_are_the_read_tables_files(tmp_path):
    (tmp_path / "Account").mkdir()
    (tmp_path / "Account" / "part-0.parquet").write_bytes(b"x" * 100)
    (tmp_path / "Account" / "part-1.parquet").write_bytes(b"x" * 50)
    (tmp_path / "Account" / "_SUCCESS").write_bytes(b"x" * 999)  # not a data file
    (tmp_path / "Task.csv").write_bytes(b"y" * 7)
    source = FileSource(root=tmp_path, tables={}, phone_fields=("Phone",))
    assert source.stored_bytes(["Account"]) == 150
    assert source.stored_bytes(["Account", "Task"]) == 157


def test_in_process_readings_count_the_one_process_once():
    memory = {"inproc://a/1": 700, "inproc://a/2": 710}
    assert in_one_process(memory) == {"in-process": 710}
    cpu = {"inproc://a/1": {"cpu_seconds": 3.0, "cpu_share": 1.0},
           "inproc://a/2": {"cpu_seconds": 3.1, "cpu_share": 1.1}}  # fmt: skip
    assert in_one_process(cpu) == {"in-process": {"cpu_seconds": 3.1, "cpu_share": 1.1}}
    assert in_one_process({}) == {}


@pytest.mark.slow
@pytest.mark.parametrize("setting", ["auto", "true"])
def test_a_run_records_its_workers_and_logs_worker_lines_once(tmp_path, two_accounts, setting):
    config = write_config(tmp_path, two_accounts, cluster_extra=f"  processes: {setting}\n")
    run = run_job(SPEC, RunRequest(job="warncheck", config=config, no_sql=True, no_email=True))
    summary = json.loads((run.final_folder / "summary.json").read_text(encoding="utf-8"))
    cluster = summary["cluster"]
    lines = (run.final_folder / "run.log").read_text(encoding="utf-8").splitlines()
    looked_at = [line for line in lines if line.endswith("2 rows looked at")]
    if setting == "auto":  # a tiny input: threads of this process, one reading of it
        assert cluster["processes"] is False
        assert "below cluster.in_process_below (128MiB)" in cluster["processes_reason"]
        assert cluster["scheduler"].startswith("inproc://")
        assert list(summary["memory"]["workers_peak_bytes"]) == ["in-process"]
        assert list(summary["cpu"]["workers"]) == ["in-process"]
        # Logged by the worker thread straight into run.log, not a second time as an event.
        assert len(looked_at) == 1 and " worker " not in looked_at[0]
    else:
        assert cluster["processes"] is True
        assert cluster["processes_reason"] == "cluster.processes is true"
        assert len(summary["memory"]["workers_peak_bytes"]) == 2
        assert len(looked_at) == 1 and " worker " in looked_at[0]
    assert any("LocalCluster workers: " in line for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize(("processes", "method"), [(False, "tasks"), (True, None)])
def test_in_process_runs_shuffle_by_tasks_and_leave_the_default_after(processes, method):
    import dask

    from dialflow.cluster import open_client

    settings = ClusterSettings(n_workers=1, threads_per_worker=1, dashboard_address=":0")
    before = dask.config.get("dataframe.shuffle.method", None)
    with open_client(settings, processes=processes):
        assert dask.config.get("dataframe.shuffle.method", None) == (method or before)
    assert dask.config.get("dataframe.shuffle.method", None) == before
