"""listiq's Do Not Call scrub end to end through the CLI: the demo's synthetic registry imported
with `dialflow dnc import`, an Internal_DNC table, the EBR exemption, and a stale registry
refused before anything is written unless dnc.allow_stale_until allows it."""

import csv
import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from dialflow.dnc import current_version, read_manifest
from dialflow.jobs.exports import VICIDIAL_COLUMNS
from dialflow.phones import normalize_e164
from tests.conftest import one_error_line, run_cli, run_folder, write_config

AS_OF = "2026-11-25T12:00:00Z"
LIST = "call_list_2026-11-25.csv"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """Demo tables with a registry of 20,000 numbers (`_dnc/`), and an Internal_DNC table of
    the first valid Phone of 40 accounts (written the way a person would type them) and two
    values that are not numbers."""
    folder = tmp_path_factory.mktemp("demo")
    made = run_cli(
        "demo-data", "--accounts", "3000", "--calls", "9000", "--seed", "7", "--dnc", "20000",
        "--as-of", "2026-11-25", "--out", str(folder),
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    phones = normalize_e164(accounts(folder)["Phone"].astype("string[pyarrow]")).dropna()
    phones = phones[phones.str.startswith("+1")].iloc[100:140]
    area, exchange, line = (phones.str.slice(*span) for span in ((2, 5), (5, 8), (8, None)))
    internal = "(" + area + ") " + exchange + "-" + line
    # Two values nobody can call: a note and a number without its area code (counted, warned).
    internal = pd.concat([internal, pd.Series(["ask first", "555-0100"], dtype="string")])
    pd.DataFrame({"Phone": internal}).to_csv(folder / "Internal_DNC.csv", index=False)
    return folder


def accounts(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / "Account")


def registry_numbers(store: Path) -> set[int]:
    return set(pq.read_table(current_version(store) / "numbers")["number"].to_pylist())


def ten_digits(phones: pd.Series) -> set[int]:
    return {int(phone[2:]) for phone in phones}


def test_listiq_scrubs_the_demo_registry_and_internal_list_and_ebr_keeps_some(tmp_path, demo):
    store = tmp_path / "dnc"
    dnc = f"dnc:\n  path: {store}\n"
    files = sorted(str(f) for f in (demo / "_dnc").glob("*.txt"))
    imported = run_cli("dnc", "import", *files, "--config", str(write_config(tmp_path, demo, dnc)))
    assert imported.exit_code == 0, imported.output
    listiq = "listiq:\n  target_total_records: 2000\n  exports: [csv, vicidial]\n"
    config = str(write_config(tmp_path, demo, dnc + listiq))
    args = ("run", "listiq", "--config", config, "--as-of", AS_OF, "--no-sql", "--no-email")
    folder = run_folder(run_cli(*args))

    listed = pd.read_csv(folder / LIST, dtype=str)
    registry = registry_numbers(store)
    typed = pd.read_csv(demo / "Internal_DNC.csv", dtype="string")["Phone"]
    internal = ten_digits(normalize_e164(typed).dropna())
    assert len(internal) == 40
    assert not ten_digits(listed["Phone"]) & registry
    assert not ten_digits(listed["Phone"]) & internal
    leads = pd.read_csv(
        folder / "vicidial_leads_2026-11-25.txt", sep="\t", header=None, dtype=str,
        names=VICIDIAL_COLUMNS, keep_default_na=False, quoting=csv.QUOTE_NONE,
    )  # fmt: skip
    alternates = {int(phone) for phone in leads["alt_phone"] if phone}
    assert len(alternates) > 0 and not alternates & (registry | internal)
    summary = json.loads((folder / "summary.json").read_text())
    counts = summary["counts"]["dnc"]
    assert counts["registry"] == str(current_version(store))
    assert counts["registry_date"] == read_manifest(store)["registry_date"] == "2026-11-24"
    assert counts["internal_table"] == "Internal_DNC"
    assert counts["excluded"]["registry"] > 0 and counts["excluded"]["internal_dnc"] > 0
    assert counts["ebr_exempted"] == 0
    assert counts["internal_invalid"] == 2
    warning = (
        "Internal_DNC: 2 Phone value(s) are not valid +1 phone numbers and can match no "
        "candidate: those numbers are NOT blocked; correct them in the table"
    )
    assert (folder / "run.log").read_text().count(warning) == 1
    by_status = summary["counts"]["accounts_by_status"]
    assert by_status["dnc_registry"] == counts["excluded"]["registry"]
    assert by_status["internal_dnc"] == counts["excluded"]["internal_dnc"]
    assert summary["inputs"]["dnc_registry"] == counts["registry"]
    assert summary["inputs"]["Internal_DNC"] == len(typed)

    # Five of those alternate phones on the internal list: the same list again, without them.
    chosen = sorted(alternates)[:5]
    with open(demo / "Internal_DNC.csv", "a", encoding="utf-8") as table:
        table.writelines(f"+1{number}\n" for number in chosen)
    again = run_folder(run_cli(*args))
    leads = pd.read_csv(
        again / "vicidial_leads_2026-11-25.txt", sep="\t", header=None, dtype=str,
        names=VICIDIAL_COLUMNS, keep_default_na=False, quoting=csv.QUOTE_NONE,
    )  # fmt: skip
    assert not {int(phone) for phone in leads["alt_phone"] if phone} & set(chosen)
    dropped = json.loads((again / "summary.json").read_text())["counts"]["dnc"]
    assert dropped["alt_phones_dropped"] == 5 - len(set(chosen) & ten_digits(listed["Phone"]))
    assert dropped["alt_phones_dropped"] > 0

    # With LastModifiedDate as the last purchase, accounts modified in the 18 months before the
    # call date keep their registry-listed numbers; nobody else's is listed.
    ebr = "  ebr: {purchase_field: LastModifiedDate}\n"
    write_config(tmp_path, demo, dnc + "listiq:\n  target_total_records: 2000\n" + ebr)
    exempt_run = run_folder(run_cli(*args))
    listed = pd.read_csv(exempt_run / LIST, dtype=str)
    counts = json.loads((exempt_run / "summary.json").read_text())["counts"]["dnc"]
    assert counts["ebr_exempted"] > 0
    assert (
        counts["excluded"]["registry"]
        < json.loads((folder / "summary.json").read_text())["counts"]["dnc"]["excluded"]["registry"]
    )
    on_registry = listed[[int(p[2:]) in registry for p in listed["Phone"]]]
    assert len(on_registry) > 0 and not ten_digits(listed["Phone"]) & internal
    by_id = accounts(demo).set_index("Id")
    modified = pd.to_datetime(by_id.loc[on_registry["AccountId"], "LastModifiedDate"], utc=True)
    assert (modified >= pd.Timestamp("2025-05-25", tz="UTC")).all()
    assert (modified < pd.Timestamp("2026-11-25", tz="UTC")).all()


def stale_store(tmp_path: Path) -> Path:
    """A registry last updated 2026-10-20: 36 days old on 2026-11-25."""
    full = tmp_path / "dnc-full-212-2026-10-20.txt"
    full.write_text("212,7365000\n", encoding="ascii")
    store = tmp_path / "dnc"
    config = tmp_path / "dnc.yaml"
    config.write_text(f"dnc:\n  path: {store}\n", encoding="utf-8")
    assert run_cli("dnc", "import", str(full), "--config", str(config)).exit_code == 0
    return store


def test_a_stale_registry_stops_listiq_with_one_line_and_nothing_written(tmp_path, demo):
    store = stale_store(tmp_path)
    config = str(write_config(tmp_path, demo, f"dnc:\n  path: {store}\n"))
    result = run_cli("run", "listiq", "--config", config, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: dnc.path {store}: the DNC registry is 36 days old on call date 2026-11-25: "
        f"area code 212 was last updated 2026-10-20, and at most 31 days are allowed; download "
        f"a change list (or the full lists) and run dialflow dnc import"
    )
    assert not (tmp_path / "out").exists()  # no run folder, no lock, no SQL database


def test_an_explicit_override_lets_a_stale_registry_through_and_is_recorded(tmp_path, demo):
    store = stale_store(tmp_path)
    extra = (
        f"dnc:\n  path: {store}\n  allow_stale_until: 2026-11-26\n"
        "listiq:\n  target_total_records: 100\n"
    )
    config = str(write_config(tmp_path, demo, extra))
    result = run_cli("run", "listiq", "--config", config, "--as-of", AS_OF, "--no-email")
    folder = run_folder(result)
    assert "used anyway because dnc.allow_stale_until is 2026-11-26" in result.output
    counts = json.loads((folder / "summary.json").read_text())["counts"]["dnc"]
    assert counts["stale_allowed_until"] == "2026-11-26"
    assert counts["registry_date"] == "2026-10-20"
    assert counts["stale"].startswith("the DNC registry is 36 days old on call date 2026-11-25")
    assert "used anyway" in (folder / "run.log").read_text()
