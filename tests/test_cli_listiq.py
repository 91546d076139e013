"""listiq end to end through the CLI after dedupe and autoflush, on demo data, SQL and email."""

import csv
import json
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from dialflow.jobs.exports import GENESYS_COLUMNS, VICIDIAL_COLUMNS
from dialflow.jobs.listiq import CALL_LIST_COLUMNS
from dialflow.phones import normalize_e164
from tests.conftest import (
    make_demo,
    no_run_folder,
    one_error_line,
    run_cli,
    run_folder,
    write_config,
)

AS_OF = "2026-11-25T12:00:00Z"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demo"), 6000, 20000, 9, "2026-11-25")


def email_config(port: int) -> str:
    return (
        "email:\n  enabled: true\n  port: %d\n  security: none\n"
        "  recipients: [ops@example.com]\n  attach_csv: {listiq: true}\n" % port
    )


def test_listiq_after_dedupe_and_autoflush_excludes_their_results(tmp_path, demo, serve):
    inbox, port = serve()
    config = str(write_config(tmp_path, demo, extra="listiq:\n  target_total_records: 900\n"))
    dedupe = run_folder(run_cli("run", "dedupe", "--config", config, "--as-of", AS_OF))
    autoflush = run_folder(run_cli("run", "autoflush", "--config", config, "--as-of", AS_OF))
    (tmp_path / "email.yaml").write_text(
        Path(config).read_text() + email_config(port), encoding="utf-8"
    )
    listiq = run_folder(
        run_cli(
            "run", "listiq", "--config", str(tmp_path / "email.yaml"), "--as-of", AS_OF,
            "--call-date", "2026-11-26",
        )
    )  # fmt: skip

    listed = pd.read_csv(listiq / "call_list_2026-11-26.csv", dtype=str, keep_default_na=False)
    assert listed.columns.tolist() == CALL_LIST_COLUMNS
    assert len(listed) == 900
    assert listed["AccountId"].is_unique and listed["Phone"].is_unique
    flagged = pd.read_csv(dedupe / "dedupe_flagged.csv", dtype=str)["Id"]
    assert len(flagged) > 0 and not listed["AccountId"].isin(flagged).any()
    cleanup = pd.read_csv(autoflush / "autoflush_cleanup.csv", dtype=str)
    cleared = set(zip(cleanup["AccountId"], cleanup["Field"], cleanup["PhoneE164"], strict=True))
    used = zip(listed["AccountId"], listed["PhoneField"], listed["Phone"], strict=True)
    assert len(cleared) > 0 and not cleared & set(used)
    assert (listed["Phone"] == normalize_e164(listed["Phone"]).astype(str)).all()
    assert set(listed["Bucket"]) == {"recent", "historical"}
    # 2026-11-26 is Thanksgiving: the shipped state rules close five states.
    thanksgiving = ["AL", "LA", "PA", "RI", "UT"]
    assert not listed["State"].isin(thanksgiving).any()
    (line,) = [
        line for line in (listiq / "run.log").read_text().splitlines() if "no calls in" in line
    ]
    assert line.endswith(
        "call date 2026-11-26: no calls in AL (holiday: Thanksgiving Day), LA (holiday: "
        "Thanksgiving Day), PA (holiday: Thanksgiving Day), RI (holiday: Thanksgiving Day), "
        "UT (holiday: Thanksgiving Day); their quota goes to the open states"
    )
    kentucky = listed[listed["State"] == "KY"].iloc[0]
    assert kentucky["WindowStartLocal"].startswith("2026-11-26T10:00:00-0")
    florida = listed[listed["State"] == "FL"].iloc[0]
    assert florida["WindowStartLocal"].startswith("2026-11-26T08:00:00-0")
    assert florida["WindowEndLocal"].endswith(("T19:00:00-06:00", "T20:00:00-05:00"))

    summary = json.loads((listiq / "summary.json").read_text())
    counts = summary["counts"]
    assert (counts["target"], counts["delivered"]) == (900, 900)
    assert sum(s["delivered"] for s in counts["states"].values()) == 900
    assert counts["closed_states"] == dict.fromkeys(thanksgiving, "holiday: Thanksgiving Day")
    assert all(counts["states"][state]["delivered"] == 0 for state in thanksgiving)
    assert counts["accounts_by_status"]["dedupe_flagged"] > 0
    assert summary["inputs"]["previous_runs"]["dedupe"]["run_id"] == dedupe.name
    assert summary["inputs"]["previous_runs"]["autoflush"]["run_id"] == autoflush.name
    assert "Bokeh" in (listiq / "report.html").read_text()

    with sqlite3.connect(tmp_path / "out" / "dialflow.sqlite") as db:
        rows = db.execute("select count(*), min(run_id) from call_list").fetchone()
        states = db.execute("select count(*) from census_population").fetchone()
        rules = db.execute("select count(*) from state_calling_rules").fetchone()
    assert rows == (900, listiq.name) and states == (51,) and rules == (18,)

    (message,) = [inbox.message()]
    assert inbox.subject().startswith("[DIAL-Flow] listiq succeeded: 900 rows")
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "call_list_2026-11-26.csv"
    assert attachment.get_payload(decode=True) == (listiq / "call_list_2026-11-26.csv").read_bytes()


def test_same_day_rerun_gives_the_same_list_and_no_sql_works_without_sql(tmp_path, demo):
    config = str(write_config(tmp_path, demo, extra="listiq:\n  target_total_records: 300\n"))
    args = ("run", "listiq", "--config", config, "--as-of", AS_OF, "--no-sql", "--no-email")
    first, second = run_folder(run_cli(*args)), run_folder(run_cli(*args))
    name = "call_list_2026-11-25.csv"
    assert (first / name).read_bytes() == (second / name).read_bytes()
    assert not (tmp_path / "out" / "dialflow.sqlite").exists()
    # Same day, same seed; with every export profile on, the call list stays byte for byte.
    exports = "listiq:\n  target_total_records: 300\n  exports: [csv, vicidial, genesys]\n"
    write_config(tmp_path, demo, extra=exports)
    seeded = run_folder(run_cli(*args[:-2], "--no-sql"))
    assert (seeded / name).read_bytes() == (first / name).read_bytes()
    listed = pd.read_csv(seeded / name, dtype=str, keep_default_na=False)

    leads = pd.read_csv(
        seeded / "vicidial_leads_2026-11-25.txt", sep="\t", header=None, dtype=str,
        names=VICIDIAL_COLUMNS, keep_default_na=False, quoting=csv.QUOTE_NONE,
    )  # fmt: skip
    assert leads["vendor_lead_code"].tolist() == listed["AccountId"].tolist()
    assert (leads["phone_code"] + leads["phone_number"]).tolist() == [
        phone.removeprefix("+") for phone in listed["Phone"]
    ]
    assert leads["alt_phone"].str.fullmatch(r"([0-9]{10})?").all()
    assert not set(leads["alt_phone"]) & set(leads["phone_number"])
    assert (leads["postal_code"] != "").any() and (leads["address1"] != "").any()

    contacts = pd.read_csv(seeded / "genesys_contacts_2026-11-25.csv", dtype=str)
    assert contacts.columns.tolist() == GENESYS_COLUMNS
    assert contacts["Phone"].tolist() == listed["Phone"].tolist()
    assert contacts["TimeZones"].tolist() == listed["TimeZone"].tolist()
    assert all(ZoneInfo(zone) for zone in contacts["TimeZone"])
    assert contacts["TimeZone"].tolist() == [zones.split("|")[0] for zones in listed["TimeZone"]]
    assert contacts["WindowStartUTC"].tolist() == [
        pd.Timestamp(local).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
        for local in listed["WindowStartLocal"]
    ]
    counts = json.loads((seeded / "summary.json").read_text())["counts"]["exports"]
    assert (counts["vicidial"]["rows"], counts["genesys"]["rows"]) == (300, 300)
    assert counts["rows_without_window"] == 0


def test_bad_call_date_is_one_line_and_writes_nothing(tmp_path, demo):
    config = str(write_config(tmp_path, demo))
    result = run_cli("run", "listiq", "--config", config, "--call-date", "tomorrow")
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        "Error: --call-date 'tomorrow': not a date; give YYYY-MM-DD like 2026-11-25"
    )
    assert no_run_folder(tmp_path, "listiq")


def test_a_bad_state_rule_in_sql_is_one_line_and_writes_nothing(tmp_path, demo):
    import sqlalchemy as sa

    from dialflow.sources.reference import load_reference_tables

    config = str(write_config(tmp_path, demo))
    url = f"sqlite:///{tmp_path / 'out' / 'dialflow.sqlite'}"
    (tmp_path / "out").mkdir(exist_ok=True)
    load_reference_tables(url)  # first use: the shipped copy goes into SQL
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE state_calling_rules SET weekday_start = '10am' WHERE state = 'KY'")
        )
    engine.dispose()
    result = run_cli("run", "listiq", "--config", config, "--as-of", AS_OF, "--no-email")
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {url}: table state_calling_rules, row KY, column weekday_start: '10am' is not "
        "a local time; write HH:MM (e.g. 09:00), leave start and end empty for federal hours, "
        "or write closed in both"
    )
    assert no_run_folder(tmp_path, "listiq")


def test_failed_run_is_emailed_with_its_cause(tmp_path, demo, serve):
    inbox, port = serve()
    config = write_config(tmp_path, demo, extra=email_config(port))
    (demo.parent / "broken").mkdir(exist_ok=True)
    result = run_cli(
        "run", "listiq", "--config", str(config), "--input", str(demo.parent / "broken")
    )
    assert result.exit_code == 2
    cause = one_error_line(result.output).removeprefix("Error: ")
    assert inbox.subject().startswith("[DIAL-Flow] listiq FAILED: ")
    assert cause[:40] in inbox.message().get_body().get_content()
    assert no_run_folder(tmp_path, "listiq")


def test_contact_rate_writes_its_model_and_a_pinned_model_gives_the_same_list(tmp_path, demo):
    extra = "listiq:\n  target_total_records: 300\n  selection: contact_rate\n"
    config = str(write_config(tmp_path, demo, extra=extra))
    args = ("run", "listiq", "--config", config, "--as-of", AS_OF, "--no-sql", "--no-email")
    fitted = run_folder(run_cli(*args))
    name = "call_list_2026-11-25.csv"
    listed = pd.read_csv(fitted / name, dtype=str, keep_default_na=False)
    assert listed.columns.tolist() == [*CALL_LIST_COLUMNS, "ContactProbability", "BestHourLocal"]
    assert len(listed) == 300
    assert listed["BestHourLocal"].astype(int).between(8, 20).all()
    model = json.loads((fitted / "contact_model.json").read_text())
    assert model["model"] == "contact" and model["field_rates"]
    summary = json.loads((fitted / "summary.json").read_text())
    assert summary["counts"]["contact_model"] == "fitted"
    assert summary["parameters"]["selection"] == "contact_rate"
    # The run's own model pinned: the same model, so the same list, byte for byte.
    pinned = extra + f"  contact_model: {fitted / 'contact_model.json'}\n"
    config = str(write_config(tmp_path, demo, extra=pinned))
    again = run_folder(run_cli(*args))
    assert (again / name).read_bytes() == (fitted / name).read_bytes()
    summary = json.loads((again / "summary.json").read_text())
    assert summary["counts"]["contact_model"] == str(fitted / "contact_model.json")
