"""A run stopped by SIGTERM (or Ctrl-C) leaves no run folder behind."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import write_config


def test_sigterm_mid_run_exits_130_and_leaves_no_run_folder(tmp_path):
    from dialflow.demo import generate_demo_data

    data = tmp_path / "demo"
    generate_demo_data(data, accounts=20_000, calls=200_000, seed=3)
    config = write_config(tmp_path, data)
    dialflow = Path(sys.executable).parent / "dialflow"
    process = subprocess.Popen(
        [str(dialflow), "run", "autoflush", "--config", str(config), "--no-sql"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    job_dir = tmp_path / "out" / "autoflush"
    deadline = time.monotonic() + 60
    while not (job_dir.exists() and any(job_dir.iterdir())):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Error: interrupted; no run folder was kept" in stderr
    assert list(job_dir.iterdir()) == []
