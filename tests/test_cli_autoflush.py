"""autoflush end to end through the CLI on a real LocalCluster, on generated demo data."""

import json
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from dialflow.config import Settings
from dialflow.jobs.autoflush import CALL_COLUMNS, AutoflushParams, autoflush_frame
from dialflow.sources import FileSource
from tests.conftest import no_run_folder, one_error_line, run_cli, write_config

AS_OF = "2026-11-25T00:00:00Z"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("demo")
    made = run_cli(
        "demo-data",
        "--accounts",
        "6000",
        "--calls",
        "20000",
        "--seed",
        "5",
        "--as-of",
        AS_OF,
        "--out",
        str(data),
    )
    assert made.exit_code == 0, made.output
    return data


def test_autoflush_end_to_end_equals_the_pure_job_and_the_planted_numbers(tmp_path, demo):
    result = run_cli(
        "run", "autoflush", "--config", str(write_config(tmp_path, demo)), "--as-of", AS_OF
    )
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip().splitlines()[-1])
    assert folder.parent == tmp_path / "out" / "autoflush"
    written = pd.read_csv(folder / "autoflush_cleanup.csv", dtype=str, keep_default_na=False)

    source = FileSource(demo, {}, Settings().phones.fields)
    params = AutoflushParams.from_settings(Settings(), pd.Timestamp(AS_OF))
    expected, counts = autoflush_frame(
        source.read("Task", CALL_COLUMNS).compute(),
        source.read("Account", ["Id", *params.phone_fields]).compute(),
        params,
    )
    assert len(expected) > 0
    assert written["AccountId"].tolist() == expected["AccountId"].tolist()
    assert written["Field"].tolist() == expected["Field"].tolist()
    assert written["Reason"].tolist() == expected["Reason"].tolist()
    assert written["BadCallCount"].astype(int).tolist() == expected["BadCallCount"].tolist()
    assert (
        written["FirstBadCall"].tolist()
        == expected["FirstBadCall"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").tolist()
    )

    dnc = (folder / "dnc_numbers.csv").read_text(encoding="utf-8").splitlines()
    numbers = dnc[1:]
    assert dnc[0] == "PhoneE164" and numbers == sorted(set(numbers))
    assert len(numbers) == counts["bad_numbers"]["disconnected"] > 0
    assert all(re.fullmatch(r"\+1[0-9]{10}", number) for number in numbers)
    disconnected = expected.loc[expected["Reason"] == "disconnected", "PhoneE164"]
    wrong_only = set(expected.loc[expected["Reason"] == "wrong_number", "PhoneE164"])
    assert set(disconnected) <= set(numbers) and not wrong_only & set(numbers)

    summary = json.loads((folder / "summary.json").read_text())
    assert summary["counts"] == counts
    assert summary["outputs"]["files"] == ["dnc_numbers.csv"]
    assert summary["inputs"] == {"Task": 20000, "Account": 6000}
    planted = json.loads((demo / "_demo.json").read_text())["counts"]["autoflush_rows"]
    assert counts["cleanup_by_reason"] == planted

    with sqlite3.connect(tmp_path / "out" / "dialflow.sqlite") as db:
        (rows,) = db.execute(
            "select count(*) from autoflush_cleanup where run_id = ?", (folder.name,)
        ).fetchone()
    assert rows == len(expected)


def test_since_narrows_the_calls_counted(tmp_path, demo):
    result = run_cli(
        "run",
        "autoflush",
        "--config",
        str(write_config(tmp_path, demo)),
        "--as-of",
        AS_OF,
        "--since",
        "2026-06-01",
        "--no-sql",
    )
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip().splitlines()[-1])
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["parameters"]["since"].startswith("2026-06-01")
    assert summary["counts"]["calls_by_category"]["outside_window"] > 0
    assert not (tmp_path / "out" / "dialflow.sqlite").exists()


def test_bad_since_and_missing_task_column_stop_before_output(tmp_path, demo):
    config = write_config(tmp_path, demo)
    bad_since = run_cli("run", "autoflush", "--config", str(config), "--since", "yesterday-ish")
    assert bad_since.exit_code == 2
    assert "--since 'yesterday-ish': not a timestamp" in one_error_line(bad_since.output)

    broken = tmp_path / "broken"
    broken.mkdir()
    pd.read_parquet(demo / "Task").drop(columns=["CallDisposition"]).to_parquet(
        broken / "Task.parquet"
    )
    (broken / "Account").symlink_to(demo / "Account")
    result = run_cli("run", "autoflush", "--config", str(write_config(tmp_path, broken)))
    assert result.exit_code == 2
    assert f"{broken / 'Task.parquet'}: missing column CallDisposition" in one_error_line(
        result.output
    )
    assert no_run_folder(tmp_path, "autoflush")
