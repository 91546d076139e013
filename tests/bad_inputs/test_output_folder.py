"""The output folder: unusable ones are refused before any work; runs are not world-readable."""

from __future__ import annotations

import stat
import time
from pathlib import Path

import pytest

from tests.bad_inputs.conftest import assert_nothing_left
from tests.conftest import make_demo, one_error_line, run_cli, run_folder, write_config


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demo"), 300, 600, 3, "2026-11-25")


def test_an_output_folder_that_is_a_file_is_refused_before_the_cluster_starts(tmp_path, demo):
    config = write_config(tmp_path, demo)
    (tmp_path / "out").write_text("not a folder", encoding="utf-8")
    started = time.monotonic()
    result = run_cli("run", "dedupe", "--config", str(config))
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: run.output_dir {tmp_path / 'out'}: cannot write there (a file is in the way); "
        f"give a folder this user can create and write (--output or run.output_dir)"
    )
    assert time.monotonic() - started < 3, "refused only after a cluster started"
    assert (tmp_path / "out").read_text(encoding="utf-8") == "not a folder"


def test_an_output_folder_that_cannot_be_created_is_refused(tmp_path, demo):
    config = write_config(tmp_path, demo)
    forbidden = Path("/sys/dialflow-out")  # refused even to root, unlike a chmod 500 folder
    result = run_cli("run", "autoflush", "--config", str(config), "--output", str(forbidden))
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: run.output_dir {forbidden}: cannot write there (Operation not permitted); "
        f"give a folder this user can create and write (--output or run.output_dir)"
    )
    assert not forbidden.exists()


@pytest.mark.slow
def test_run_folders_and_files_are_for_owner_and_group_only(tmp_path, demo):
    config = write_config(tmp_path, demo)
    folder = run_folder(run_cli("run", "dedupe", "--config", str(config)))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in folder.iterdir()}
    assert set(modes) >= {"dedupe_flagged.csv", "summary.json", "run.log", "dask-report.html"}
    assert set(modes.values()) == {0o640}, modes
    assert stat.S_IMODE((tmp_path / "out" / "dialflow.sqlite").stat().st_mode) == 0o640
    assert_nothing_left(tmp_path / "out", "autoflush")


@pytest.mark.slow
def test_run_umask_opens_them_up_when_asked(tmp_path, demo):
    config = write_config(tmp_path, demo, extra="")
    text = config.read_text(encoding="utf-8").replace("run:\n", 'run:\n  umask: "022"\n', 1)
    config.write_text(text, encoding="utf-8")
    folder = run_folder(run_cli("run", "dedupe", "--config", str(config), "--no-sql"))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "summary.json").stat().st_mode) == 0o644


def test_a_umask_that_is_not_octal_text_is_a_config_error(tmp_path, demo):
    config = write_config(tmp_path, demo)
    text = config.read_text(encoding="utf-8").replace("run:\n", "run:\n  umask: 27\n", 1)
    config.write_text(text, encoding="utf-8")
    result = run_cli("config", "check", "--config", str(config))
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {config}: run.umask = 27 is not allowed: give three octal digits "
        f'in quotes, e.g. "027" (folders 0750, files 0640)'
    )
