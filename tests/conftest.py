"""Shared test data: hand-built Account frames of canonical dtypes and default parameters."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings
from typer.testing import CliRunner

from dialflow.cli import app
from dialflow.config import DedupeSettings, Settings
from dialflow.jobs.dedupe import DedupeParams
from dialflow.schema import PANDAS_DTYPES, table_columns
from tests.browser import chromium  # noqa: F401 - a fixture: headless Chromium
from tests.salesforce_server import salesforce_server  # noqa: F401 - a Salesforce-like server
from tests.smtp_server import serve  # noqa: F401 - a fixture: a real SMTP server on loopback
from tests.sql_servers import sql_url  # noqa: F401 - a fixture: sqlite/postgresql/mariadb

# The machine is shared: a property test fails on what it asserts, never on how long one example
# took (hypothesis' 200 ms deadline failed an apportionment example at 376 ms under load).
settings.register_profile("dialflow", deadline=None)
settings.load_profile("dialflow")

# Each job and the CSV it writes on the demo data's day, in the order later jobs need them.
JOB_OUTPUTS = {
    "dedupe": "dedupe_flagged.csv",
    "autoflush": "autoflush_cleanup.csv",
    "listiq": "call_list_2026-11-25.csv",
    "infoflow": "research_requests.csv",
}

# A ~ B through the same phone written two ways; B ~ C through name + postal; D alone.
CHAIN_ACCOUNTS: list[dict] = [
    dict(
        Id="001A",
        Name="Alpha Widgets",
        Phone="(415) 867-5309",
        BillingPostalCode="10001",
        LastModifiedDate="2026-01-01",
        CreatedDate="2020-01-01",
    ),
    dict(
        Id="001B",
        Name="Bayside Tools Inc.",
        Phone="+1 415.867.5309",
        BillingPostalCode="94105-2000",
        LastModifiedDate="2026-03-01",
        CreatedDate="2021-01-01",
    ),
    dict(
        Id="001C",
        Name="BAYSIDE TOOLS, LLC",
        Phone="212-736-5000",
        BillingPostalCode="94105",
        LastModifiedDate="2026-02-01",
        CreatedDate="2022-01-01",
    ),
    dict(
        Id="001D",
        Name="Delta Farms",
        Phone="617 253 1000",
        BillingPostalCode="02139",
        LastModifiedDate="2026-04-01",
        CreatedDate="2022-01-01",
    ),
]


def accounts_frame(rows: list[dict]) -> pd.DataFrame:
    """Build an Account frame of canonical dtypes from partial rows (missing fields empty)."""
    kinds = table_columns("Account")
    data = {column: [row.get(column) for row in rows] for column in kinds}
    frame = pd.DataFrame(data)
    for column, kind in kinds.items():
        if kind == "datetime":
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601").astype(
                PANDAS_DTYPES[kind]
            )
        else:
            frame[column] = frame[column].astype(PANDAS_DTYPES[kind])
    return frame


@pytest.fixture
def two_accounts(tmp_path: Path) -> Path:
    """A data folder holding an Account table of two rows (Ids 001A and 001B), nothing else."""
    folder = tmp_path / "data"
    folder.mkdir()
    accounts_frame([dict(Id="001A"), dict(Id="001B")]).to_parquet(
        folder / "Account.parquet", index=False
    )
    return folder


def exact_dedupe_params(**changes: object) -> DedupeParams:
    """The default dedupe parameters with the exact method, and `changes`."""
    settings = Settings(dedupe=DedupeSettings(method="exact"))
    return DedupeParams.from_settings(settings).model_copy(update=changes)


@pytest.fixture
def dedupe_defaults() -> DedupeParams:
    return exact_dedupe_params()


def calls_frame(rows: list[tuple]) -> pd.DataFrame:
    """Build a Task frame from (AccountId, Dialed_Number__c, CallDisposition, CreatedDate) rows."""
    kinds = table_columns("Task")
    frame = pd.DataFrame(
        [(f"00T{i:05d}", *row) for i, row in enumerate(rows)],
        columns=["Id", "AccountId", "Dialed_Number__c", "CallDisposition", "CreatedDate"],
    )
    frame["CreatedDate"] = pd.to_datetime(frame["CreatedDate"], utc=True, format="ISO8601")
    return frame.astype({column: PANDAS_DTYPES[kind] for column, kind in kinds.items()})


def write_config(tmp_path: Path, data: Path, extra: str = "", cluster_extra: str = "") -> Path:
    """Write a config for a small LocalCluster reading `data`, writing under tmp_path/out; the
    DNC registry store is tmp_path/dnc unless `extra` has a dnc section (never the working
    folder's data/dnc, which a person's `dnc import` may have filled)."""
    config = tmp_path / "config.yaml"
    if not any(line.startswith("dnc:") for line in extra.splitlines()):
        extra += f"dnc:\n  path: {tmp_path / 'dnc'}\n"
    config.write_text(
        f"run:\n  output_dir: {tmp_path / 'out'}\n"
        "cluster:\n  n_workers: 2\n  memory_limit: 2GiB\n  dashboard_address: ':0'\n"
        + cluster_extra
        + f"source:\n  path: {data}\n"
        f"sql:\n  url: sqlite:///{tmp_path / 'out' / 'dialflow.sqlite'}\n" + extra,
        encoding="utf-8",
    )
    return config


def run_cli(*args: str):
    """Invoke the CLI in-process and return typer's result."""
    return CliRunner().invoke(app, list(args))


def make_demo(folder: Path, accounts: int, calls: int, seed: int, as_of: str) -> Path:
    """Write demo data through the CLI (module fixtures call it once) and return its folder."""
    made = run_cli(
        "demo-data", "--accounts", str(accounts), "--calls", str(calls), "--seed", str(seed),
        "--as-of", as_of, "--out", str(folder),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    return folder


def run_folder(result) -> Path:  # noqa: ANN001 - typer's Result
    """Return the run folder a successful `dialflow run` printed last."""
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def no_run_folder(tmp_path: Path, job: str) -> bool:
    """Return True when no run folder (finished or temporary) of the job exists under out/."""
    job_dir = tmp_path / "out" / job
    return not job_dir.exists() or not any(job_dir.iterdir())


def one_error_line(output: str) -> str:
    """Return the single `Error:` line, which must end the output."""
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], output
    return errors[0]


# Tests that start a Dask cluster (every `dialflow run` does), a server or a subprocess take
# seconds each: they are marked `slow`, so `pytest -m 'not slow'` is the fast local loop.
SLOW_MODULES = {
    "test_cli_autoflush", "test_cli_dedupe", "test_cli_infoflow", "test_cli_interrupt",
    "test_cli_listiq", "test_cli_listiq_dnc", "test_cli_salesforce", "test_cli_sql_servers",
    "test_cluster_faults",
    "test_cluster_tls", "test_dashboard", "test_submit", "test_rows_and_files",
    "test_cluster_hangs", "test_salesforce_server", "test_salesforce_source", "test_sql_source",
}  # fmt: skip
SERVER_FIXTURES = {"salesforce_server", "serve"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    from tests.sql_servers import SERVERS

    for item in items:
        params = getattr(item, "callspec", None)
        on_server = params is not None and params.params.get("sql_url") in SERVERS
        module = item.module.__name__.rsplit(".", 1)[-1] if item.module else ""
        if module in SLOW_MODULES or on_server or SERVER_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.slow)
