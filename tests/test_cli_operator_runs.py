"""Runs as an operator starts them (issue 16), as subprocesses on a real LocalCluster: from
another working directory with a config of relative paths, --quiet really quiet, JSON log lines
that parse, run.log with the lineage, dashboard link and stage timings, summary.json with the
version, config hash, source and cluster, and `runs` / `show` on the result."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dialflow import __version__
from tests.conftest import make_demo, run_cli

pytestmark = pytest.mark.slow

DIALFLOW = str(Path(sys.executable).parent / "dialflow")
AS_OF = "2026-11-25T12:00:00Z"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """An install folder: demo data and a config whose paths are all relative to it."""
    root = tmp_path_factory.mktemp("site").resolve()
    make_demo(root / "data", 3000, 10000, 5, "2026-11-25")
    (root / "config.yaml").write_text(
        "run:\n  output_dir: out\n"
        "cluster:\n  n_workers: 2\n  memory_limit: 2GiB\n  dashboard_address: ':0'\n"
        "source:\n  path: data\n"
        "sql:\n  url: sqlite:///out/dialflow.sqlite\n"
        "listiq:\n  target_total_records: 500\n",
        encoding="utf-8",
    )
    return root


def dialflow(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [DIALFLOW, *args], capture_output=True, text=True, cwd=cwd, timeout=300, env=environment
    )


def test_runs_from_another_directory_quiet_and_json_and_what_they_record(site, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = str(site / "config.yaml")

    # --quiet, from a working directory that holds neither the data nor the config.
    quiet = dialflow(
        "--quiet", "run", "dedupe", "--config", config, "--as-of", AS_OF, "--no-email",
        cwd=elsewhere,
    )  # fmt: skip
    assert quiet.returncode == 0, quiet.stderr
    dedupe = Path(quiet.stdout.strip().splitlines()[-1])
    assert dedupe.parent == site / "out" / "dedupe"  # beside the config, not the cwd
    assert not (elsewhere / "out").exists()
    noise = [line for line in quiet.stderr.splitlines() if line.strip()]
    assert not [line for line in noise if " INFO " in line or "dashboard" in line], noise
    assert not [line for line in noise if "Warning:" in line and "site-packages" in line], noise

    summary = json.loads((dedupe / "summary.json").read_text())
    assert summary["dialflow_version"] == __version__
    assert summary["config"]["path"] == config
    assert re.fullmatch(r"[0-9a-f]{64}", summary["config"]["sha256"])
    assert summary["source"] == {"kind": "files", "location": str(site / "data")}
    # A tiny input: the LocalCluster's workers are threads of the run's process (processes: auto).
    assert summary["cluster"]["processes"] is False
    assert summary["cluster"]["scheduler"].startswith("inproc://")
    assert summary["cluster"]["dashboard"].startswith("http://")
    assert "as_of" not in summary["parameters"] and summary["as_of"] == "2026-11-25T12:00:00+00:00"
    log = (dedupe / "run.log").read_text()
    assert f"dialflow {__version__}; config {config}" in log
    assert f"Dask dashboard at {summary['cluster']['dashboard']}" in log
    assert re.search(r"stage dedupe done in \d+\.\d\ds", log)
    assert re.search(r"computed in \d+\.\d\ds", log)

    # JSON log lines: every stderr line is one JSON object.
    as_json = dialflow(
        "--log-format", "json", "run", "autoflush", "--config", config, "--as-of", AS_OF,
        "--no-email", cwd=elsewhere,
    )  # fmt: skip
    assert as_json.returncode == 0, as_json.stderr
    records = [json.loads(line) for line in as_json.stderr.splitlines() if line.strip()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    messages = " | ".join(r["message"] for r in records)
    assert "Dask dashboard at" in messages and "autoflush: done, run folder" in messages
    autoflush = Path(as_json.stdout.strip().splitlines()[-1])
    inputs = json.loads((autoflush / "summary.json").read_text())["inputs"]
    assert inputs["Task"] > 0 and inputs["Account"] == 3000

    # A job that uses earlier runs writes them into run.log; --set reaches the settings.
    listiq = run_cli(
        "run", "listiq", "--config", config, "--as-of", AS_OF, "--no-email",
        "--set", "listiq.target_total_records=300",
    )  # fmt: skip
    assert listiq.exit_code == 0, listiq.output
    folder = Path(listiq.stdout.strip().splitlines()[-1])
    log = (folder / "run.log").read_text()
    assert f"used earlier dedupe run {dedupe.name}" in log
    assert f"used earlier autoflush run {autoflush.name}" in log
    listiq_summary = json.loads((folder / "summary.json").read_text())
    assert listiq_summary["config"]["overrides"] == ["listiq.target_total_records"]
    assert listiq_summary["config"]["sha256"] != summary["config"]["sha256"]
    assert len(next(folder.glob("call_list_*.csv")).read_text().splitlines()) - 1 <= 300
    written = json.loads((site / "data" / "_demo.json").read_text())["counts"]["rows"]
    assert listiq_summary["inputs"]["Account"] == written["Account"] == 3000
    assert listiq_summary["inputs"]["Task"] == written["Task"] == 10000

    # A job file submitted from another directory: its paths are relative to it. infoflow
    # counts every table it read.
    (site / "jobs").mkdir()
    (site / "jobs" / "infoflow.yaml").write_text(
        "job: infoflow\nconfig: ../config.yaml\nnotify: {enabled: false}\n", encoding="utf-8"
    )
    submitted = dialflow("--quiet", "submit", str(site / "jobs" / "infoflow.yaml"), cwd=elsewhere)
    assert submitted.returncode == 0, submitted.stderr
    infoflow = Path(submitted.stdout.strip().splitlines()[-1])
    assert infoflow.parent == site / "out" / "infoflow"
    inputs = json.loads((infoflow / "summary.json").read_text())["inputs"]
    tables = ("Account", "Task", "Research_Request__c", "Address_History__c", "User")
    assert {table: inputs[table] for table in tables} == {table: written[table] for table in tables}
    assert inputs["previous_runs"]["autoflush"]["run_id"] == autoflush.name

    # The history of those runs, from another directory too.
    listed = dialflow("runs", "--config", config, cwd=elsewhere)
    assert listed.returncode == 0, listed.stderr
    for run in (dedupe, autoflush, folder, infoflow):
        line = next(line for line in listed.stdout.splitlines() if run.name in line)
        assert "committed" in line and "folder+SQL" in line
    shown = dialflow("show", folder.name, "--config", config, cwd=elsewhere)
    assert shown.returncode == 0, shown.stderr
    assert f"dedupe {dedupe.name}" in shown.stdout and f"autoflush {autoflush.name}" in shown.stdout


def test_config_check_connect_reaches_a_real_smtp_server_and_sends_nothing(site, tmp_path, serve):
    inbox, port = serve()
    config = tmp_path / "config.yaml"
    config.write_text(
        f"source:\n  path: {site / 'data'}\n"
        f"sql:\n  url: sqlite:///{tmp_path / 'results.sqlite'}\n"
        f"email:\n  enabled: true\n  host: 127.0.0.1\n  port: {port}\n  security: none\n",
        encoding="utf-8",
    )
    result = run_cli("config", "check", "--config", str(config), "--connect")
    assert result.exit_code == 0, result.output
    assert re.search(rf"^smtp\s+ok\s+127\.0\.0\.1:{port} \(none\)$", result.stdout, re.MULTILINE)
    assert len(re.findall(r"^source table \S+\s+ok", result.stdout, re.MULTILINE)) == 5
    assert inbox.envelopes == []


def test_config_check_connect_logs_in_to_salesforce(site, tmp_path, salesforce_server, monkeypatch):
    from dialflow.schema import DEFAULT_PHONE_FIELDS, TABLES
    from dialflow.sources import FileSource

    files = FileSource(site / "data", {}, DEFAULT_PHONE_FIELDS)
    org = salesforce_server(
        {name: files.read(name).head(5) for name in TABLES if files.has_table(name)}
    )
    monkeypatch.setenv("DIALFLOW_SF_PASSWORD", org.password)
    monkeypatch.setenv("DIALFLOW_SF_TOKEN", org.token)
    config = tmp_path / "config.yaml"
    text = (
        f"source:\n  kind: salesforce\nsql:\n  url: sqlite:///{tmp_path / 'results.sqlite'}\n"
        f"salesforce:\n  username: {org.username}\n  password: ${{DIALFLOW_SF_PASSWORD}}\n"
        f"  security_token: ${{DIALFLOW_SF_TOKEN}}\n  domain: {org.domain}\n"
        f"  ca_bundle: {org.ca_path}\n  retries: 0\n"
    )
    config.write_text(text, encoding="utf-8")
    good = run_cli("config", "check", "--config", str(config), "--connect")
    assert good.exit_code == 0, good.output
    assert re.search(r"^salesforce\s+ok\s+logged in to https://", good.stdout, re.MULTILINE)
    assert org.password not in good.output

    monkeypatch.setenv("DIALFLOW_SF_PASSWORD", "not-the-password")
    bad = run_cli("config", "check", "--config", str(config), "--connect")
    assert bad.exit_code == 1
    assert re.search(r"^salesforce\s+failed\s+\S", bad.stdout, re.MULTILINE), bad.stdout
    assert "not-the-password" not in bad.output


def test_shell_completion_script_and_answers():
    def completion(**env: str) -> list[str]:
        result = subprocess.run(
            [DIALFLOW], env={**os.environ, **env}, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    script = subprocess.run(
        [DIALFLOW, "--show-completion"], env={**os.environ, "SHELL": "/bin/bash"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert script.returncode == 0, script.stderr
    assert "complete -o default -F _dialflow_completion dialflow" in script.stdout
    # What bash asks the installed script for, as the script asks it.
    bash = {"_DIALFLOW_COMPLETE": "complete_bash"}
    assert completion(**bash, COMP_WORDS="dialflow ru", COMP_CWORD="1") == ["runs", "run"]
    assert completion(**bash, COMP_WORDS="dialflow run ", COMP_CWORD="2") == [
        "dedupe", "autoflush", "listiq", "infoflow",
    ]  # fmt: skip
