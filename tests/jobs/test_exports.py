"""listiq's dialer exports: exact rows on hand-built data, each file read back by its column
spec, and the details pass on Dask equal to the pandas reference."""

import csv
import re
from datetime import date
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from dialflow.jobs.exports import (
    GENESYS_COLUMNS,
    VICIDIAL_COLUMNS,
    account_details,
    build_exports,
    fetch_details,
    genesys_contacts,
    vicidial_frame,
    vicidial_text,
)
from dialflow.jobs.listiq import CALL_LIST_COLUMNS, calling_windows
from dialflow.sinks.csv import write_csv
from tests.conftest import accounts_frame
from tests.jobs.test_listiq import account, params, reference

DAY = date(2026, 11, 26)
E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
UTC = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$")
BOISE = "America/Boise|America/Los_Angeles"  # a two-zone row, as the issue quotes it


def call_list() -> pd.DataFrame:
    """Three listed rows: one zone, two zones, and one with no window (never exported)."""
    rows = [
        ("A1", "Ann Lee", "+14158675309", "Phone", "CA", "America/Los_Angeles"),
        ("A2", "=Bad\tName", "+15417365100", "Phone_2__c", "OR", BOISE),
        ("A3", "Cy", "+12127365200", "Phone", "NY", "America/New_York"),
    ]
    frame = pd.DataFrame(rows, columns=CALL_LIST_COLUMNS[:6])
    windows = calling_windows(frame, DAY).set_index(["TimeZone", "State"])
    frame = frame.join(windows, on=["TimeZone", "State"])
    frame.loc[2, ["WindowStartLocal", "WindowEndLocal"]] = None
    frame["Bucket"] = "recent"
    return frame[CALL_LIST_COLUMNS].astype("string[pyarrow]")


def test_listiq_windows_are_what_the_exports_read():
    listed = call_list()
    # 8:00 Pacific (16:00Z) is the latest start, 21:00 Mountain (04:00Z) the earliest end.
    assert listed.loc[1, ["WindowStartLocal", "WindowEndLocal"]].tolist() == [
        "2026-11-26T09:00:00-07:00",
        "2026-11-26T21:00:00-07:00",
    ]


def test_genesys_exact_rows_one_zone_all_zones_and_utc_window():
    got = genesys_contacts(call_list())
    assert got.to_dict("records") == [
        {
            "AccountId": "A1",
            "AccountName": "Ann Lee",
            "Phone": "+14158675309",
            "State": "CA",
            "TimeZone": "America/Los_Angeles",
            "TimeZones": "America/Los_Angeles",
            "WindowStartUTC": "2026-11-26T16:00:00Z",
            "WindowEndUTC": "2026-11-27T05:00:00Z",
        },
        {
            "AccountId": "A2",
            "AccountName": "=Bad\tName",
            "Phone": "+15417365100",
            "State": "OR",
            "TimeZone": "America/Boise",
            "TimeZones": BOISE,
            "WindowStartUTC": "2026-11-26T16:00:00Z",
            "WindowEndUTC": "2026-11-27T04:00:00Z",
        },
    ]


def test_genesys_file_read_back_by_its_column_spec(tmp_path):
    path = tmp_path / "genesys.csv"
    write_csv(genesys_contacts(call_list()), path)
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert back.columns.tolist() == GENESYS_COLUMNS
    assert back["AccountName"].tolist() == ["Ann Lee", "'=Bad Name"]  # the CSV guard
    for row in back.itertuples(index=False):
        assert E164.match(row.Phone)
        assert "|" not in row.TimeZone and ZoneInfo(row.TimeZone)
        assert row.TimeZone == row.TimeZones.split("|")[0]
        assert UTC.match(row.WindowStartUTC) and UTC.match(row.WindowEndUTC)
        start, end = pd.Timestamp(row.WindowStartUTC), pd.Timestamp(row.WindowEndUTC)
        assert start < end
        # Legal everywhere: inside 8:00-21:00 on the wall clock of every zone of the row.
        for zone in row.TimeZones.split("|"):
            local_start, local_end = start.tz_convert(zone), end.tz_convert(zone)
            assert local_start.hour >= 8 and local_start.date() == DAY
            assert (local_end.hour, local_end.minute) <= (21, 0) and local_end.date() == DAY


def details_accounts() -> pd.DataFrame:
    return accounts_frame(
        [
            # Same number again, then New York (another place), then a usable California one.
            account(
                "A1", Phone="415-867-5309", Phone_2__c="(415) 867 5309",
                Phone_3__c="212-736-5000", Mobile_Phone__c="415-867-5310",
                BillingStreet="1 Main St", BillingCity="San Francisco",
                BillingPostalCode="94103-1234",
            ),
            # Oregon: the alternate is cleared by autoflush; the next one is another row's phone.
            account(
                "A2", Phone="junk", Phone_2__c="541-736-5100", Phone_3__c="541-736-5101",
                Home_Phone__c="415-867-5309", Other_Phone__c="541-736-5102",
                BillingStreet="2 Elm Rd", BillingCity="Bend", BillingPostalCode="97701",
            ),
            account("A3", Phone="212-736-5200"),
            account("ZZ", Phone="415-867-5399"),  # not listed
        ]
    )  # fmt: skip


CLEARED = pd.Index(["A2|Phone_3__c|+15417365101"])


def test_account_details_exact_rows():
    area_codes, _ = reference()
    listed = call_list()[["AccountId", "Phone", "TimeZone", "State"]]
    got = account_details(details_accounts(), listed, CLEARED, area_codes, params())
    assert got.astype(object).where(got.notna(), None).to_dict("records") == [
        {
            "AccountId": "A1",
            "Street": "1 Main St",
            "City": "San Francisco",
            "PostalCode": "94103-1234",
            "AltPhone": "+14158675310",
        },
        {
            "AccountId": "A2",
            "Street": "2 Elm Rd",
            "City": "Bend",
            "PostalCode": "97701",
            "AltPhone": "+15417365102",
        },
        {"AccountId": "A3", "Street": None, "City": None, "PostalCode": None, "AltPhone": None},
    ]


@pytest.mark.parametrize("partitions", [1, 3])
def test_details_on_dask_equal_the_pandas_reference(partitions):
    import dask.dataframe as dd

    from dialflow.jobs import dask_compute

    area_codes, _ = reference()
    accounts = details_accounts()
    listed = call_list()
    expected = account_details(
        accounts, listed[["AccountId", "Phone", "TimeZone", "State"]], CLEARED, area_codes,
        params(),
    )  # fmt: skip
    got = fetch_details(
        dd.from_pandas(accounts, npartitions=partitions), listed, CLEARED, area_codes, params(),
        dask_compute,
    )  # fmt: skip
    pd.testing.assert_frame_equal(
        got.sort_values("AccountId", ignore_index=True), expected.reset_index(drop=True)
    )


def vicidial_details() -> pd.DataFrame:
    area_codes, _ = reference()
    listed = call_list()[["AccountId", "Phone", "TimeZone", "State"]]
    details = account_details(details_accounts(), listed, CLEARED, area_codes, params())
    # A2's alternate is made another listed row's number: the dialer would ring it twice.
    details.loc[details["AccountId"] == "A2", "AltPhone"] = "+14158675309"
    return details


def test_vicidial_exact_rows():
    got = vicidial_frame(call_list(), vicidial_details(), DAY)
    blank = {column: "" for column in VICIDIAL_COLUMNS}
    assert got.to_dict("records") == [
        {
            **blank,
            "vendor_lead_code": "A1",
            "source_code": "dialflow-listiq-2026-11-26",
            "phone_code": "1",
            "phone_number": "4158675309",
            "first_name": "Ann Lee",
            "address1": "1 Main St",
            "city": "San Francisco",
            "state": "CA",
            "postal_code": "94103-1234",
            "country_code": "USA",
            "gender": "U",
            "alt_phone": "4158675310",
            "rank": "0",
        },
        {
            **blank,
            "vendor_lead_code": "A2",
            "source_code": "dialflow-listiq-2026-11-26",
            "phone_code": "1",
            "phone_number": "5417365100",
            "first_name": "=Bad\tName",
            "address1": "2 Elm Rd",
            "city": "Bend",
            "state": "OR",
            "postal_code": "97701",
            "country_code": "USA",
            "gender": "U",
            "rank": "0",
        },
    ]


def test_vicidial_file_read_back_by_its_column_spec(tmp_path):
    text = vicidial_text(vicidial_frame(call_list(), vicidial_details(), DAY))
    path = tmp_path / "leads.txt"
    path.write_bytes(text.encode("utf-8"))
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 3  # one lead per line, no header
    assert all(line.count("\t") == len(VICIDIAL_COLUMNS) - 1 for line in lines[:-1])
    back = pd.read_csv(
        path, sep="\t", header=None, names=VICIDIAL_COLUMNS, dtype=str,
        keep_default_na=False, quoting=csv.QUOTE_NONE,
    )  # fmt: skip
    assert back["vendor_lead_code"].tolist() == ["A1", "A2"]
    assert back["first_name"].tolist() == ["Ann Lee", "'=Bad Name"]  # tab gone, formula guarded
    assert (back["phone_code"] == "1").all()
    assert back["phone_number"].str.fullmatch(r"[0-9]{10}").all()
    assert back["alt_phone"].str.fullmatch(r"([0-9]{10})?").all()
    assert back["state"].str.fullmatch(r"[A-Z]{2}").all()
    assert (back["postal_code"].str.len() <= 10).all()
    assert vicidial_text(vicidial_frame(call_list().iloc[:0], vicidial_details(), DAY)) == ""


def test_build_exports_names_files_by_day_and_counts():
    run_params = params(exports=("csv", "vicidial", "genesys"), call_date=DAY)
    files, counts = build_exports(call_list(), vicidial_details(), run_params)
    assert list(files) == ["vicidial_leads_2026-11-26.txt", "genesys_contacts_2026-11-26.csv"]
    assert counts == {
        "vicidial": {
            "file": "vicidial_leads_2026-11-26.txt",
            "rows": 2,
            "alt_phone": 1,
            "multi_zone_rows": 1,
        },
        "genesys": {"file": "genesys_contacts_2026-11-26.csv", "rows": 2},
        "rows_without_window": 1,
    }
    assert build_exports(call_list(), None, params()) == ({}, {})  # the default: csv only
