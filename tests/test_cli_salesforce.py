"""Every job end to end through the CLI with `source.kind: salesforce` against the project's own
Salesforce-compatible server: the same bytes as from the files, a Parquet snapshot a rerun reads
without API calls, API usage in summary.json, `salesforce check`, and write-back with undo."""

import json
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dialflow.schema import DEFAULT_PHONE_FIELDS, OPTIONAL_TABLES, TABLES
from dialflow.sources import FileSource
from tests.conftest import JOB_OUTPUTS, make_demo, one_error_line, run_cli, run_folder, write_config

AS_OF = "2026-11-25T00:00:00Z"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demo"), 1200, 6000, 11, "2026-11-25")


@pytest.fixture
def org(salesforce_server, demo):
    files = FileSource(demo, {}, DEFAULT_PHONE_FIELDS)
    tables = {name: files.read(name).compute() for name in TABLES if files.has_table(name)}
    return salesforce_server(tables, page_size=700)


def salesforce_config(tmp_path: Path, demo: Path, org, monkeypatch, kind: str = "salesforce",
                      salesforce: str = "", cluster: str = "") -> Path:  # fmt: skip
    """A config reading `kind`, with the org's secrets in the environment only, and `cluster`
    lines added to its cluster section."""
    monkeypatch.setenv("DIALFLOW_SF_PASSWORD", org.password)
    monkeypatch.setenv("DIALFLOW_SF_TOKEN", org.token)
    tmp_path.mkdir(parents=True, exist_ok=True)
    extra = (
        f"salesforce:\n  username: {org.username}\n  password: ${{DIALFLOW_SF_PASSWORD}}\n"
        f"  security_token: ${{DIALFLOW_SF_TOKEN}}\n  domain: {org.domain}\n"
        f"  ca_bundle: {org.ca_path}\n  partitions: 3\n  retry_base_seconds: 0.01\n"
        f"  bulk_poll_seconds: 0.02\n" + salesforce
    )
    config = write_config(tmp_path, demo, extra=extra, cluster_extra=cluster)
    config.write_text(config.read_text().replace("source:\n", f"source:\n  kind: {kind}\n"))
    return config


def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame as Python objects with None for every kind of null, sorted by Id."""
    frame = frame.sort_values("Id").reset_index(drop=True).astype(object)
    return frame.where(frame.notna(), None)


def run_job(config: Path, job: str, *extra: str) -> Path:
    return run_folder(
        run_cli(
            "run", job, "--config", str(config), "--as-of", AS_OF, "--no-sql", "--no-email", *extra
        )  # fmt: skip
    )


def test_every_job_gives_the_same_bytes_from_salesforce_as_from_the_files(
    tmp_path, demo, org, monkeypatch
):
    # Accounts through Bulk API 2.0 (pages of 500 records), the smaller objects through REST.
    bulk = "  bulk_min_records: 1000\n  bulk_page_records: 500\n"
    # The bytes are the point, not the workers: in process, both kinds alike (a Salesforce
    # source would start worker processes, its size unknown; the other runs here still do).
    in_process = "  processes: false\n"
    configs = {
        kind: salesforce_config(tmp_path / kind, demo, org, monkeypatch, kind, bulk, in_process)
        for kind in ("files", "salesforce")
    }
    # In this order: later jobs read earlier runs' results.
    for job, csv_name in JOB_OUTPUTS.items():
        outputs = {kind: run_job(config, job) for kind, config in configs.items()}
        files, salesforce = (outputs[k] / csv_name for k in ("files", "salesforce"))
        assert files.read_bytes() == salesforce.read_bytes(), job
        assert files.read_bytes().count(b"\n") > 1, job  # the comparison is not of empty files
        assert org.password not in (outputs["salesforce"] / "run.log").read_text()
    assert any(job.object == "Account" for job in org.bulk_jobs)
    assert not any(job.object == "User" for job in org.bulk_jobs)


def test_a_run_saves_a_snapshot_and_a_rerun_from_it_spends_no_api_calls(
    tmp_path, demo, org, monkeypatch
):
    config = salesforce_config(tmp_path, demo, org, monkeypatch)
    before = plain(org.tables["Account"].frame)
    first = run_job(config, "autoflush")
    # Without --apply nothing in Salesforce changes.
    assert org.ingest_jobs == [] and plain(org.tables["Account"].frame).equals(before)
    assert not (first / "apply_results.csv").exists()
    summary = json.loads((first / "summary.json").read_text())
    usage = summary["inputs"]["salesforce_api_usage"]
    assert usage["limit"] == org.api_limit and usage["used_at_end"] == org.requests
    assert usage["used_at_start"] < usage["used_at_end"]
    assert summary["inputs"]["Task"] == len(org.tables["Task"].frame)
    assert sorted(p.name for p in (first / "snapshot").iterdir()) == ["Account", "Task"]
    assert summary["outputs"]["snapshot"] == "snapshot/"

    requests, logins = org.requests, org.logins
    again = run_job(config, "autoflush", "--from-snapshot", str(first))
    assert (org.requests, org.logins) == (requests, logins)
    assert (again / "autoflush_cleanup.csv").read_bytes() == (
        first / "autoflush_cleanup.csv"
    ).read_bytes()
    assert json.loads((again / "summary.json").read_text())["inputs"]["snapshot_of"] == str(first)


def test_from_snapshot_of_a_folder_without_one_is_one_clear_error(tmp_path, demo, org,
                                                                   monkeypatch):  # fmt: skip
    config = salesforce_config(tmp_path, demo, org, monkeypatch)
    result = run_cli("run", "dedupe", "--config", str(config), "--from-snapshot", str(tmp_path))
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: --from-snapshot {tmp_path}: no snapshot folder there; give the run folder of a "
        f"run with source.kind salesforce and salesforce.snapshot true"
    )


def test_salesforce_check_passes_on_the_default_mapping(tmp_path, demo, org, monkeypatch):
    config = salesforce_config(tmp_path, demo, org, monkeypatch)
    result = run_cli("salesforce", "check", "--config", str(config))
    assert result.exit_code == 0, result.output
    fields = sum(len(columns) for table, columns in TABLES.items() if table not in OPTIONAL_TABLES)
    assert f"salesforce mapping OK: 5 objects, {fields} fields" in result.output


def test_salesforce_check_names_missing_objects_fields_and_type_mismatches(
    tmp_path, demo, org, monkeypatch
):
    org.tables.pop("Address_History__c")
    frame = org.tables["Account"].frame
    org.set_table("Account", frame.assign(Do_Not_Call__c=frame["Do_Not_Call__c"].astype(str)))
    mapping = "  fields:\n    Task:\n      CallDisposition: Call_Result__c\n"
    config = salesforce_config(tmp_path, demo, org, monkeypatch, salesforce=mapping)
    result = run_cli("salesforce", "check", "--config", str(config))
    assert result.exit_code == 1
    assert one_error_line(result.output) == (
        "Error: salesforce mapping: 3 problem(s), first: field Account.Do_Not_Call__c is "
        "string, the column needs bool (boolean)"
    )
    lines = result.output.splitlines()
    assert (
        "  Account.Do_Not_Call__c: field Account.Do_Not_Call__c is string, the column needs bool "
        "(boolean)" in lines
    )
    assert (
        "  Task.CallDisposition: field Task.Call_Result__c not found; "
        "set salesforce.fields.Task.CallDisposition"
    ) in lines
    assert (
        "  Address_History__c: object Address_History__c not found; "
        "set salesforce.objects.Address_History__c"
    ) in lines


def test_autoflush_apply_clears_exactly_the_flagged_fields_and_restore_brings_them_back(
    tmp_path, demo, org, monkeypatch
):
    config = salesforce_config(tmp_path, demo, org, monkeypatch)
    first = run_job(config, "autoflush")
    cleanup = pd.read_csv(first / "autoflush_cleanup.csv", dtype=str, keep_default_na=False)
    assert len(cleanup) >= 4
    accounts = org.tables["Account"]
    before = plain(accounts.frame)

    # Between the run and --apply: someone types a new number into one flagged field, and
    # Salesforce will refuse every update of another account (a locked row).
    changed = cleanup.iloc[0]
    locked = next(a for a in cleanup["AccountId"] if a != changed["AccountId"])
    edited = accounts.frame.copy()
    edited.loc[edited["Id"] == changed["AccountId"], changed["Field"]] = "(212) 555-0188"
    accounts.replace(edited)
    org.record_errors[locked] = "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access:--"

    result = run_cli(
        "run", "autoflush", "--config", str(config), "--as-of", AS_OF, "--no-sql", "--no-email",
        "--from-snapshot", str(first), "--apply",
    )  # fmt: skip
    assert result.exit_code == 1
    assert one_error_line(result.output) == (
        f"Error: Salesforce refused {int((cleanup['AccountId'] == locked).sum())} field "
        f"update(s); see apply_results.csv"
    )
    folder = Path(result.stdout.strip().splitlines()[-1])  # kept, with its undo.csv
    applied = pd.read_csv(folder / "apply_results.csv", dtype=str, keep_default_na=False)
    status = {(r.AccountId, r.Field): r.Status for r in applied.itertuples()}
    want = {
        (r.AccountId, r.Field): "skipped_changed"
        if (r.AccountId, r.Field) == (changed["AccountId"], changed["Field"])
        else "failed"
        if r.AccountId == locked
        else "cleared"
        for r in cleanup.itertuples()
    }
    assert status == want
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["counts"]["apply"] == {
        s: list(want.values()).count(s) for s in ("cleared", "failed", "skipped_changed")
    }

    # Exactly the cleared fields are now null; every other value is as it was (or as edited).
    expected = plain(edited)
    for (account, field), outcome in want.items():
        if outcome == "cleared":
            expected.loc[expected["Id"] == account, field] = None
    assert_frame_equal(plain(accounts.frame), expected)

    org.record_errors.clear()
    restored = run_cli("salesforce", "restore", str(folder), "--config", str(config))
    assert restored.exit_code == 0, restored.output
    assert_frame_equal(plain(accounts.frame), plain(edited))  # every cleared value is back
    assert not plain(accounts.frame).equals(before)  # and the typed-in number was kept
    (results,) = folder.glob("restore_results-*.csv")
    outcomes = pd.read_csv(results, dtype=str, keep_default_na=False)["Status"].value_counts()
    assert outcomes.to_dict() == {
        "restored": list(want.values()).count("cleared"),
        "skipped_not_empty": list(want.values()).count("failed"),
    }


def test_infoflow_apply_inserts_one_research_request_per_requested_account(
    tmp_path, demo, org, monkeypatch
):
    config = salesforce_config(tmp_path, demo, org, monkeypatch)
    existing = len(org.tables["Research_Request__c"].frame)
    folder = run_job(config, "infoflow", "--apply")
    requested = pd.read_csv(folder / "research_requests.csv", dtype=str)["AccountId"]
    applied = pd.read_csv(folder / "apply_results.csv", dtype=str, keep_default_na=False)
    assert sorted(applied["AccountId"]) == sorted(requested) and len(requested) > 0
    assert set(applied["Status"]) == {"inserted"}
    table = org.tables["Research_Request__c"].frame
    new = table[table["Id"].isin(applied["RequestId"])]
    assert len(table) == existing + len(requested)
    assert sorted(new["Account__c"]) == sorted(requested)
    assert set(new["Status__c"]) == {"New"}
