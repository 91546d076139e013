"""infoflow end to end through the CLI after autoflush, on demo data, with SQL and email."""

import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from dialflow.jobs.infoflow import REQUESTS_COLUMNS
from tests.conftest import make_demo, one_error_line, run_cli, run_folder, write_config
from tests.smtp_server import free_port

AS_OF = "2026-11-25T12:00:00Z"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demo"), 8000, 30000, 4, "2026-11-25")


def test_infoflow_after_autoflush_emails_requests_and_never_asks_twice(tmp_path, demo, serve):
    inbox, port = serve()
    extra = (
        "infoflow:\n  max_requests: 40\n"
        "email:\n  enabled: true\n  port: %d\n  security: none\n"
        "  job_recipients: {infoflow: [research@example.com]}\n" % port
    )
    config = str(write_config(tmp_path, demo, extra=extra))
    autoflush = run_folder(
        run_cli("run", "autoflush", "--config", config, "--as-of", AS_OF, "--no-email")
    )
    first = run_folder(run_cli("run", "infoflow", "--config", config, "--as-of", AS_OF))

    requests = pd.read_csv(first / "research_requests.csv", dtype=str, keep_default_na=False)
    assert requests.columns.tolist() == REQUESTS_COLUMNS
    assert len(requests) == 40 and requests["AccountId"].is_unique
    priority = requests["Priority"].astype(float)
    assert priority.is_monotonic_decreasing
    cleanup = pd.read_csv(autoflush / "autoflush_cleanup.csv", dtype=str)
    flushed = requests[requests["Signals"].str.contains("numbers_flushed")]
    assert len(flushed) > 0 and flushed["AccountId"].isin(cleanup["AccountId"]).all()
    summary = json.loads((first / "summary.json").read_text())
    assert summary["counts"]["requested"] == 40
    assert summary["inputs"]["previous_runs"]["autoflush"]["run_id"] == autoflush.name

    (message,) = [inbox.message()]
    assert message["To"] == "research@example.com"
    assert inbox.subject().startswith("[DIAL-Flow] infoflow succeeded: 40 rows")
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "research_requests.csv"
    assert attachment.get_payload(decode=True) == (first / "research_requests.csv").read_bytes()

    # The same day again: the request log (SQL and folder) keeps every account of the first run out.
    second = run_folder(
        run_cli("run", "infoflow", "--config", config, "--as-of", AS_OF, "--no-email")
    )
    again = pd.read_csv(second / "research_requests.csv", dtype=str)
    assert len(again) > 0 and not again["AccountId"].isin(requests["AccountId"]).any()
    with sqlite3.connect(tmp_path / "out" / "dialflow.sqlite") as db:
        logged = db.execute("select count(distinct AccountId) from research_requests").fetchone()
    assert logged == (40 + len(again),)
    assert len(inbox.envelopes) == 1  # --no-email


def test_a_failed_email_keeps_the_outputs_and_fails_the_command(tmp_path, demo):
    port = free_port()  # nothing listens there
    extra = (
        "email:\n  enabled: true\n  port: %d\n  security: none\n  timeout_seconds: 5\n"
        "  recipients: [ops@example.com]\n" % port
    )
    config = str(write_config(tmp_path, demo, extra=extra))
    result = run_cli("run", "infoflow", "--config", config, "--as-of", AS_OF, "--no-sql")
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert line.startswith(f"Error: email via 127.0.0.1:{port} failed")
    assert "the run's outputs were kept" in line
    (run,) = (tmp_path / "out" / "infoflow").iterdir()
    assert (run / "research_requests.csv").is_file() and (run / "summary.json").is_file()
