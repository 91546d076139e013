"""`dialflow submit jobs/<name>.yaml`: a job file runs exactly like `dialflow run`, and two runs of
one job on one output never overlap."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dialflow.lock import job_lock
from dialflow.submit import config_overrides, load_job_file, run_request
from tests.conftest import make_demo, one_error_line, run_cli, run_folder, write_config

REPO = Path(__file__).resolve().parents[1]
DIALFLOW = str(Path(sys.executable).parent / "dialflow")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demo"), 20_000, 200_000, 5, "2026-11-25")


def job_file(folder: Path, text: str) -> Path:
    path = folder / "jobs" / "nightly.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_job_file_is_valid_and_names_its_job():
    for path in sorted((REPO / "jobs").glob("*.yaml")):
        spec = load_job_file(path)
        assert spec.job == path.stem
        assert run_request(spec, path, None).command_line()[:4] == [
            "run", spec.job, "--config", str(REPO / "config.yaml"),
        ]  # fmt: skip


def test_a_job_file_becomes_the_run_command_a_person_would_type(tmp_path):
    path = job_file(
        tmp_path,
        "job: autoflush\nconfig: ../conf/config.yaml\noutput: ../out\n"
        "scheduler: tcp://10.0.0.5:8786\n"
        "options: {no_sql: true, apply: true, since: '2026-01-01'}\nnotify: {enabled: false}\n",
    )
    assert run_request(load_job_file(path), path, None).command_line() == [
        "run", "autoflush", "--config", str(tmp_path / "conf" / "config.yaml"),
        "--output", str(tmp_path / "out"), "--scheduler", "tcp://10.0.0.5:8786",
        "--since", "2026-01-01", "--no-sql", "--no-email", "--apply",
    ]  # fmt: skip
    # --scheduler on the command line wins over the file.
    assert "tls://h:1" in run_request(load_job_file(path), path, "tls://h:1").command_line()


def test_submit_runs_the_job_with_the_files_overrides(tmp_path, demo):
    config = write_config(tmp_path, demo)
    path = job_file(
        tmp_path,
        f"job: autoflush\nconfig: {config}\noutput: ../submitted\n"
        "overrides: {autoflush.wrong_number_threshold: 3}\noptions: {no_sql: true}\n"
        "notify: {enabled: false}\n",
    )
    folder = run_folder(run_cli("submit", str(path)))
    assert folder.parent == tmp_path / "submitted" / "autoflush"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["parameters"]["wrong_number_threshold"] == 3


def test_a_job_file_takes_variables_from_the_environment_like_config_yaml(tmp_path, monkeypatch):
    monkeypatch.setenv("DF_THRESHOLD", "4")
    monkeypatch.delenv("DF_SINCE", raising=False)
    path = job_file(
        tmp_path,
        "job: autoflush\noverrides: {autoflush.wrong_number_threshold: '${DF_THRESHOLD}'}\n"
        "options: {since: '${DF_SINCE:-2026-01-01}'}\n",
    )
    spec = load_job_file(path)
    assert config_overrides(spec) == {"autoflush.wrong_number_threshold": "4"}
    assert run_request(spec, path, None).command_line()[-2:] == ["--since", "2026-01-01"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("job: autoflush\noptions: {call_date: '2026-01-01'}\n",
         "options.call_date: `dialflow run autoflush` has no such option; known: apply, no_sql, "
         "since"),
        ("job: autoflush\noptions: {apply: 'yes'}\n", "options.apply: must be true or false"),
        ("job: reindex\n", "job: Input should be 'dedupe', 'autoflush', 'listiq' or 'infoflow'"),
        ("job: dedupe\noverrides: {'dedupe..x': 1}\n",
         "overrides: Value error, 'dedupe..x' is not a dotted config key like autoflush.since"),
    ],
)  # fmt: skip
def test_a_bad_job_file_is_one_error_line_naming_the_key(tmp_path, text, error):
    path = job_file(tmp_path, text)
    result = run_cli("submit", str(path))
    assert result.exit_code == 2
    assert one_error_line(result.output) == f"Error: {path}: {error}"


def test_a_second_run_of_the_same_job_on_the_same_output_stops_at_once(tmp_path, demo):
    config = write_config(tmp_path, demo)
    with job_lock(tmp_path / "out", "autoflush"):
        result = run_cli("run", "autoflush", "--config", str(config), "--no-sql")
    assert result.exit_code == 3
    line = one_error_line(result.output)
    assert line.startswith(
        f"Error: autoflush is already running on {tmp_path / 'out'} (pid {os.getpid()} on "
    )
    assert line.endswith(
        "); this run did not start: wait for that one to finish or use another run.output_dir"
    )
    # Another job on the same output is not held up.
    assert run_cli("run", "dedupe", "--config", str(config), "--no-sql").exit_code == 0


def test_two_submissions_as_separate_processes_do_not_overlap(tmp_path, demo):
    # Worker processes: the first run must still hold the lock while the second starts up, and
    # on threads of its own process (cluster.processes auto) the small demo ran out first.
    config = write_config(tmp_path, demo, cluster_extra="  processes: true\n")
    path = job_file(
        tmp_path, f"job: autoflush\nconfig: {config}\noptions: {{no_sql: true}}\n"
    )  # fmt: skip
    first = subprocess.Popen(
        [DIALFLOW, "submit", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    job_dir = tmp_path / "out" / "autoflush"
    deadline = time.monotonic() + 60
    while not (job_dir.exists() and any(job_dir.iterdir())):  # the first run has started
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline, "the first submission never started"
        time.sleep(0.05)
    second = subprocess.run(
        [DIALFLOW, "submit", str(path)], capture_output=True, text=True, timeout=60
    )
    assert second.returncode == 3, second.stderr
    assert first.poll() is None  # it stopped without waiting for the first to end
    assert "Dask dashboard" not in second.stderr  # nor starting a cluster
    assert f"pid {first.pid} on " in second.stderr
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert len(list(job_dir.iterdir())) == 1


def test_sigterm_to_a_submission_leaves_no_run_folder_and_frees_the_lock(tmp_path, demo):
    config = write_config(tmp_path, demo)
    path = job_file(tmp_path, f"job: dedupe\nconfig: {config}\noptions: {{no_sql: true}}\n")
    process = subprocess.Popen(
        [DIALFLOW, "submit", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    job_dir = tmp_path / "out" / "dedupe"
    deadline = time.monotonic() + 60
    while not (job_dir.exists() and any(job_dir.iterdir())):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert list(job_dir.iterdir()) == []
    with job_lock(tmp_path / "out", "dedupe"):  # free again
        pass
