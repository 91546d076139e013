"""autoflush then listiq end to end through the CLI with SQL on SQLite, PostgreSQL and MariaDB:
the result tables hold exactly the run's CSV rows, listiq reads the autoflush run back from
the server, and the reference tables are created there on first use."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from tests.conftest import run_cli, write_config
from tests.sql_servers import other_connection

AS_OF = "2026-11-25T12:00:00Z"
CALL_DAY = "2026-11-25"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("demo")
    made = run_cli(
        "demo-data", "--accounts", "3000", "--calls", "10000", "--seed", "5",
        "--as-of", "2026-11-25", "--out", str(data),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    return data


def server_config(tmp_path: Path, demo: Path, url: str) -> Path:
    """write_config's file with its SQLite url swapped for the server's (same shape)."""
    config = write_config(tmp_path, demo)
    text, swapped = re.subn(
        r"(?m)^  url: sqlite:///.*$", f"  url: '{url}'", config.read_text(encoding="utf-8")
    )
    assert swapped == 1
    config.write_text(text, encoding="utf-8")
    return config


def run_folder(result) -> Path:  # noqa: ANN001
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def sql_rows(url: str, table: str) -> pd.DataFrame:
    with other_connection(url) as connection:
        source = sa.table(table, sa.column("run_id"), sa.column("AccountId"))
        rows = connection.execute(sa.select(source.c.run_id, source.c.AccountId)).all()
    return pd.DataFrame(rows, columns=["run_id", "AccountId"])


def same_rows(url: str, table: str, csv: Path, run_id: str) -> int:
    written = pd.read_csv(csv, dtype=str, keep_default_na=False)
    stored = sql_rows(url, table)
    assert len(written) > 0
    assert len(stored) == len(written)
    assert set(stored["run_id"]) == {run_id}
    assert sorted(stored["AccountId"]) == sorted(written["AccountId"])
    return len(written)


def test_autoflush_then_listiq_on_each_server(tmp_path, demo, sql_url):
    config = str(server_config(tmp_path, demo, sql_url))
    autoflush = run_folder(
        run_cli("run", "autoflush", "--config", config, "--as-of", AS_OF, "--no-email")
    )
    cleanup_rows = same_rows(
        sql_url, "autoflush_cleanup", autoflush / "autoflush_cleanup.csv", autoflush.name
    )
    # Out of the output folder, so listiq can only find the autoflush run on the server.
    shutil.move(autoflush, tmp_path / autoflush.name)

    listiq = run_folder(
        run_cli("run", "listiq", "--config", config, "--as-of", AS_OF, "--no-email")
    )
    same_rows(sql_url, "call_list", listiq / f"call_list_{CALL_DAY}.csv", listiq.name)

    summary = json.loads((listiq / "summary.json").read_text())
    assert summary["inputs"]["previous_runs"]["autoflush"] == {
        "run_id": autoflush.name,
        "from": "SQL table autoflush_cleanup",
        "rows": cleanup_rows,
    }
    assert "dedupe" not in summary["inputs"]["previous_runs"]
    with other_connection(sql_url) as connection:
        counts = {
            name: connection.execute(sa.text(f"SELECT COUNT(*) FROM {name}")).scalar()
            for name in ("area_codes", "census_population")
        }
        tables = set(sa.inspect(connection).get_table_names())
    assert counts == {"area_codes": 359, "census_population": 51}
    assert tables == {
        "autoflush_cleanup", "call_list", "dialflow_runs", "area_codes", "census_population",
        "state_calling_rules", "state_holidays",
    }  # fmt: skip
