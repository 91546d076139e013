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


def test_a_stop_requested_during_the_run_keeps_no_run_folder_even_if_the_interrupt_was_lost(
    tmp_path,
):
    """Python drops a signal handler's exception raised inside a gc callback; the flag still
    stops the commit."""
    import pandas as pd
    import pytest

    from dialflow.run import open_run, stop_requested

    try:
        with pytest.raises(KeyboardInterrupt):
            with open_run(tmp_path, "autoflush", pd.Timestamp("2026-11-25", tz="UTC"), {}) as run:
                (run.folder / "cleanup.csv").write_text("AccountId\n", encoding="utf-8")
                stop_requested.set()
    finally:
        stop_requested.clear()
    assert list((tmp_path / "autoflush").iterdir()) == []
