"""End to end through the CLI on a real LocalCluster: outputs, summary, SQL, and bad input."""

import json
import sqlite3
from pathlib import Path

import pandas as pd

from tests.conftest import (
    CHAIN_ACCOUNTS,
    accounts_frame,
    no_run_folder,
    one_error_line,
    run_cli,
    write_config,
)

ACCOUNTS = CHAIN_ACCOUNTS


def test_dedupe_end_to_end_on_a_local_cluster(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(ACCOUNTS).to_parquet(data / "Account.parquet")
    config = write_config(tmp_path, data)

    result = run_cli("run", "dedupe", "--config", str(config), "--as-of", "2026-11-25")
    assert result.exit_code == 0, result.output

    runs = list((tmp_path / "out" / "dedupe").iterdir())
    assert len(runs) == 1 and not runs[0].name.startswith(".")
    folder = runs[0]
    assert {p.name for p in folder.iterdir()} >= {
        "dedupe_flagged.csv",
        "summary.json",
        "dask-report.html",
        "run.log",
    }
    assert (folder / "dedupe_flagged.csv").read_text(encoding="utf-8").splitlines() == [
        "Id,SurvivorId,ClusterSize,MatchKeys,LastModifiedDate,SurvivorLastModifiedDate",
        "001A,001B,3,phone,2026-01-01T00:00:00Z,2026-03-01T00:00:00Z",
        "001C,001B,3,name_postal,2026-02-01T00:00:00Z,2026-03-01T00:00:00Z",
    ]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["job"] == "dedupe" and summary["run_id"] == folder.name
    assert summary["as_of"] == "2026-11-25T00:00:00+00:00"
    assert summary["inputs"] == {"Account": 4}
    assert summary["counts"]["flagged"] == 2 and summary["counts"]["clusters"] == 1
    assert set(summary["stages"]) == {"dedupe", "write"}
    workers = summary["memory"]["workers_peak_bytes"]
    assert len(workers) == 2 and all(v > 10_000_000 for v in workers.values())
    assert summary["memory"]["client_peak_bytes"] > 10_000_000
    # Per-worker CPU, keyed like the memory peaks: exactly these two numbers per worker.
    assert set(summary["cpu"]) == {"workers"}
    cpu = summary["cpu"]["workers"]
    assert set(cpu) == set(workers)
    for usage in cpu.values():
        assert set(usage) == {"cpu_seconds", "cpu_share"}
        assert all(isinstance(v, float) and v >= 0 for v in usage.values())
    assert sum(usage["cpu_seconds"] for usage in cpu.values()) > 0
    # The share divides by the job's wall time, which is within the run's.
    assert all(
        u["cpu_share"] >= u["cpu_seconds"] / summary["seconds"] - 0.002 for u in cpu.values()
    )
    assert summary["parameters"]["match_keys"] == ["phone", "name_postal"]

    with sqlite3.connect(tmp_path / "out" / "dialflow.sqlite") as db:
        rows = db.execute(
            "select run_id, Id, SurvivorId from dedupe_flagged order by Id"
        ).fetchall()
    assert rows == [(folder.name, "001A", "001B"), (folder.name, "001C", "001B")]
    # Phone numbers never reach the log.
    assert "867-5309" not in (folder / "run.log").read_text() and "8675309" not in result.output


def test_csv_cells_are_neutralised_against_formulas(tmp_path):
    from dialflow.sinks.csv import to_csv_frame

    frame = pd.DataFrame({"a": ["=SUM(A1)", "+14158675309", "-12.5", "@cmd", "-x", "plain", None]})
    assert to_csv_frame(frame)["a"].tolist() == [
        "'=SUM(A1)",
        "+14158675309",
        "-12.5",
        "'@cmd",
        "'-x",
        "plain",
        pd.NA,
    ]


def test_missing_column_stops_before_any_output(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(ACCOUNTS).drop(columns=["LastModifiedDate"]).to_csv(data / "Account.csv")
    result = run_cli("run", "dedupe", "--config", str(write_config(tmp_path, data)))
    assert result.exit_code == 2
    line = one_error_line(result.output)
    assert f"{data / 'Account.csv'}: missing column LastModifiedDate" in line
    assert no_run_folder(tmp_path, "dedupe")


def test_a_phone_column_is_not_demanded_when_no_key_uses_it(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(ACCOUNTS).drop(columns=["Phone"]).to_parquet(data / "Account.parquet")
    config = write_config(tmp_path, data, extra="dedupe:\n  match_keys: [name_postal]\n")
    result = run_cli("run", "dedupe", "--config", str(config), "--no-sql")
    folder = Path(result.stdout.strip().splitlines()[-1]) if result.exit_code == 0 else None
    assert folder is not None, result.output
    flagged = pd.read_csv(folder / "dedupe_flagged.csv", dtype=str)
    # B ~ C share name + postal (the phone link A ~ B is not configured).
    assert flagged[["Id", "SurvivorId", "MatchKeys"]].values.tolist() == [
        ["001C", "001B", "name_postal"]
    ]


def test_mistyped_parquet_column_stops_before_any_output(tmp_path):
    data = tmp_path / "data"
    (data / "Account").mkdir(parents=True)
    frame = accounts_frame(ACCOUNTS)
    frame["CreatedDate"] = frame["CreatedDate"].astype("int64")
    frame.to_parquet(data / "Account" / "part-0.parquet")
    result = run_cli("run", "dedupe", "--config", str(write_config(tmp_path, data)))
    assert result.exit_code == 2
    line = one_error_line(result.output)
    assert f"{data / 'Account'}: column CreatedDate is int64, expected a timestamp" in line
    assert no_run_folder(tmp_path, "dedupe")


def test_bad_value_deep_in_a_csv_fails_the_run_and_leaves_no_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    frame = accounts_frame(ACCOUNTS * 400)
    frame["Id"] = [f"001{i:05d}" for i in range(len(frame))]
    text = frame.astype(object).astype(str)
    text.loc[1500, "CreatedDate"] = "last tuesday"  # beyond the 1,000-row sample
    text.to_csv(data / "Account.csv", index=False)
    result = run_cli("run", "dedupe", "--config", str(write_config(tmp_path, data)))
    assert result.exit_code == 2, result.output
    assert "column CreatedDate holds a value that is not a timestamp" in result.output
    assert no_run_folder(tmp_path, "dedupe")


def test_missing_table_names_what_was_looked_for(tmp_path):
    data = tmp_path / "empty"
    data.mkdir()
    result = run_cli("run", "dedupe", "--config", str(write_config(tmp_path, data)))
    assert result.exit_code == 2
    assert "no Account table (looked for Account/, Account.parquet, Account.csv)" in (
        one_error_line(result.output)
    )
    assert no_run_folder(tmp_path, "dedupe")


def test_bad_config_value_exits_2_and_leaves_no_run_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(ACCOUNTS).to_parquet(data / "Account.parquet")
    config = write_config(tmp_path, data, "dedupe:\n  postal_digits: 0\n")
    result = run_cli("run", "dedupe", "--config", str(config))
    assert result.exit_code == 2
    assert "dedupe.postal_digits = 0 is not allowed" in one_error_line(result.output)
    assert no_run_folder(tmp_path, "dedupe")


def test_unreachable_scheduler_fails_fast_with_the_address(tmp_path):
    import time

    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(ACCOUNTS).to_parquet(data / "Account.parquet")
    config = write_config(tmp_path, data, cluster_extra="  connect_timeout_seconds: 3\n")
    started = time.monotonic()
    result = run_cli("run", "dedupe", "--config", str(config), "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in one_error_line(result.output)
    assert time.monotonic() - started < 10
    assert no_run_folder(tmp_path, "dedupe")


def test_demo_data_then_dedupe_through_the_cli_equals_the_pure_job(tmp_path):
    from dialflow.config import Settings
    from dialflow.jobs.dedupe import DedupeParams, dedupe_frame
    from dialflow.sources import FileSource

    data = tmp_path / "demo"
    made = run_cli(
        "demo-data", "--accounts", "4000", "--calls", "6000", "--seed", "11", "--out", str(data)
    )
    assert made.exit_code == 0, made.output
    planted = json.loads((data / "_demo.json").read_text())

    result = run_cli("run", "dedupe", "--config", str(write_config(tmp_path, data)))
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip().splitlines()[-1])
    flagged = pd.read_csv(folder / "dedupe_flagged.csv", dtype=str)

    settings = Settings()
    source = FileSource(data, {}, settings.phones.fields)
    accounts = pd.read_parquet(data / "Account")
    params = DedupeParams.from_settings(settings)
    expected, counts = dedupe_frame(source.read("Account").compute().reset_index(drop=True), params)
    assert len(accounts) == 4000
    assert flagged["Id"].tolist() == expected["Id"].tolist()
    assert flagged["SurvivorId"].tolist() == expected["SurvivorId"].tolist()
    assert len(flagged) >= planted["counts"]["duplicates"]["flagged"] > 0
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["counts"] == counts


def test_failed_sql_write_fails_the_run_and_leaves_no_run_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(ACCOUNTS).to_parquet(data / "Account.parquet")
    (tmp_path / "out").mkdir()
    with sqlite3.connect(tmp_path / "out" / "dialflow.sqlite") as db:
        db.execute("create table dedupe_flagged (other integer not null)")
    result = run_cli("run", "dedupe", "--config", str(write_config(tmp_path, data)))
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "SQL table dedupe_flagged: writing 2 rows failed" in line
    assert "nothing was written" in line
    assert no_run_folder(tmp_path, "dedupe")
    with sqlite3.connect(tmp_path / "out" / "dialflow.sqlite") as db:
        assert db.execute("select count(*) from dedupe_flagged").fetchone() == (0,)
