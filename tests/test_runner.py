"""A new job is a spec plus its pure functions: docs/architecture.md's `phonecheck`, defined here
and never registered, runs through the runner and through a command the CLI builds from it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from dialflow.jobs.params import JobParams
from dialflow.phones import normalize_e164
from dialflow.runner import JobContext, JobOutput, JobPlan, JobSpec, RunRequest, run_job
from dialflow.schema import STRING, empty_frame
from dialflow.sinks.sql import registered_runs
from tests.conftest import accounts_frame, write_config

COUNTS_META = empty_frame({"Field": STRING, "Status": STRING, "Values": "int64"})


def phone_status_counts(accounts: pd.DataFrame, fields: tuple[str, ...]) -> pd.DataFrame:
    """Count, per phone field, the empty, invalid and valid values of one partition."""
    rows = []
    for field in fields:
        values = accounts[field]
        empty = values.isna() | (values.str.strip() == "")
        valid = normalize_e164(values, "US").notna() & ~empty
        for status, hits in (("empty", empty), ("invalid", ~empty & ~valid), ("valid", valid)):
            rows.append((field, status, int(hits.sum())))
    return pd.DataFrame(rows, columns=list(COUNTS_META.columns)).astype(COUNTS_META.dtypes)


class PhonecheckParams(JobParams):
    phone_fields: tuple[str, ...]

    @classmethod
    def from_settings(cls, settings) -> PhonecheckParams:  # noqa: ANN001 - dialflow Settings
        return cls.from_section(settings.phones, phone_fields=settings.phones.fields)


def plan(context: JobContext) -> JobPlan:
    params = PhonecheckParams.from_settings(context.settings)

    def compute(run, compute, tables) -> JobOutput:  # noqa: ANN001 - see JobPlan.compute
        partials = tables["Account"].map_partitions(
            phone_status_counts, params.phone_fields, meta=COUNTS_META
        )
        (total,) = compute(partials.groupby(["Field", "Status"]).sum(), stage="count phones")
        counts = total.reset_index().sort_values(["Field", "Status"], ignore_index=True)
        with run.stage("phonecheck") as stage:
            stage["fields"] = len(counts)
        return JobOutput(counts, "phone_check", "phone_check")

    return JobPlan(params, {"Account": ["Id", *params.phone_fields]}, compute)


SPEC = JobSpec(
    name="phonecheck", help="Count empty, invalid and valid phones per field.", plan=plan
)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    accounts = accounts_frame(
        [
            dict(Id="001A", Phone="(415) 867-5309", CreatedDate="2026-01-01"),
            dict(Id="001B", Phone="12", Mobile_Phone__c="212-736-5000"),
            dict(Id="001C", Phone=""),
        ]
    )
    accounts.to_parquet(folder / "Account.parquet", index=False)
    return folder


def expected_counts() -> list[tuple[str, str, int]]:
    fields = ("Phone", "Phone_2__c", "Phone_3__c", "Mobile_Phone__c", "Home_Phone__c")
    fields += ("Other_Phone__c",)
    by_field = {field: {"empty": 3, "invalid": 0, "valid": 0} for field in fields}
    by_field["Phone"] = {"empty": 1, "invalid": 1, "valid": 1}
    by_field["Mobile_Phone__c"] = {"empty": 2, "invalid": 0, "valid": 1}
    return sorted((f, s, n) for f, counts in by_field.items() for s, n in counts.items())


@pytest.mark.slow
def test_a_job_defined_only_by_its_spec_runs_through_the_runner(tmp_path, data):
    config = write_config(tmp_path, data)
    run = run_job(SPEC, RunRequest(job="phonecheck", config=config, as_of="2026-11-25"))
    written = pd.read_csv(run.final_folder / "phone_check.csv", keep_default_na=False)
    assert list(written.itertuples(index=False, name=None)) == expected_counts()
    summary = json.loads((run.final_folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["job"] == "phonecheck"
    assert summary["outputs"]["sql_table"] == "phone_check"
    assert summary["parameters"]["phone_fields"][0] == "Phone"
    sql_url = f"sqlite:///{tmp_path / 'out' / 'dialflow.sqlite'}"
    assert registered_runs(sql_url, "phone_check") == {run.run_id}


@pytest.mark.slow
def test_the_cli_builds_its_command_from_the_spec(tmp_path, data):
    from dialflow.cli import _run_command

    app = typer.Typer()
    app.command("phonecheck")(_run_command(SPEC))
    app.command("other")(lambda: None)  # two commands: typer then needs the command's name
    config = write_config(tmp_path, data)
    help_text = CliRunner().invoke(app, ["phonecheck", "--help"]).output
    assert "Count empty, invalid and valid phones per field." in help_text
    assert "--apply" not in help_text and "--no-sql" in help_text
    result = CliRunner().invoke(app, ["phonecheck", "--config", str(config), "--no-sql"])
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip().splitlines()[-1])
    assert (folder / "phone_check.csv").is_file()
    assert not (tmp_path / "out" / "dialflow.sqlite").exists()
