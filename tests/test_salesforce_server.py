"""The fake Salesforce org answers simple-salesforce, unpatched, as Salesforce would."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import jwt
import pandas as pd
import pytest
import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

FIELDS = "Id, Name, Phone, Mobile_Phone__c, CreatedDate, Do_Not_Call__c"


def accounts() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "Id": ["001A", "001B", "001C", "001D", "001E"],
            "Name": ["Alpha Widgets", "Bayside Tools", "O'Brien & Sons", "Delta Farms", None],
            "Phone": ["(415) 867-5309", "+1 415.867.5309", "212-736-5000", None, "617 253 1000"],
            "Mobile_Phone__c": [None, "415-555-0100", None, None, None],
            "CreatedDate": [
                "2025-12-31T23:59:59.999Z",
                "2026-01-01T00:00:00Z",
                "2026-01-15T12:30:00.250Z",
                "2026-02-01T00:00:00Z",
                None,
            ],
            "Do_Not_Call__c": [False, True, None, False, True],
        }
    )
    frame["CreatedDate"] = pd.to_datetime(frame["CreatedDate"], utc=True, format="ISO8601")
    return frame.astype(
        {
            "Id": "string[pyarrow]",
            "Name": "string[pyarrow]",
            "Phone": "string[pyarrow]",
            "Mobile_Phone__c": "string[pyarrow]",
            "CreatedDate": "datetime64[us, UTC]",
            "Do_Not_Call__c": "boolean",
        }
    )


EXPECTED = {
    "001A": ("Alpha Widgets", "(415) 867-5309", None, "2025-12-31T23:59:59.999+0000", False),
    "001B": (
        "Bayside Tools", "+1 415.867.5309", "415-555-0100", "2026-01-01T00:00:00.000+0000", True
    ),
    "001C": ("O'Brien & Sons", "212-736-5000", None, "2026-01-15T12:30:00.250+0000", None),
    "001D": ("Delta Farms", None, None, "2026-02-01T00:00:00.000+0000", False),
    "001E": (None, "617 253 1000", None, None, True),
}  # fmt: skip


def values(record: dict) -> tuple:
    return tuple(record[f] for f in FIELDS.split(", ")[1:])


@pytest.fixture
def org(salesforce_server):
    return salesforce_server({"Account": accounts()}, page_size=2)


def trusting(org) -> requests.Session:
    """A Session verifying with the org's CA. trust_env is off because requests lets a
    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE environment variable override Session.verify."""
    session = requests.Session()
    session.verify = org.ca_path
    session.trust_env = False
    return session


@pytest.fixture
def sf(org) -> Salesforce:
    session = trusting(org)
    return Salesforce(
        username=org.username,
        password=org.password,
        security_token=org.token,
        domain=org.domain,
        version="59.0",
        session=session,
    )


def test_login_points_simple_salesforce_at_the_server(org, sf):
    assert sf.sf_instance == f"127.0.0.1:{org.port}"
    assert sf.base_url == f"https://127.0.0.1:{org.port}/services/data/v59.0/"
    assert sf.session_id in org.sessions
    assert org.logins == 1 and org.requests == 0


def test_query_pages_and_query_all_returns_exact_values(org, sf):
    first = sf.query(f"SELECT {FIELDS} FROM Account ORDER BY Id")
    assert first["totalSize"] == 5 and first["done"] is False
    assert [r["Id"] for r in first["records"]] == ["001A", "001B"]
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-2")
    assert first["records"][0]["attributes"] == {
        "type": "Account",
        "url": "/services/data/v59.0/sobjects/Account/001A",
    }
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert [r["Id"] for r in second["records"]] == ["001C", "001D"]

    every = sf.query_all(f"SELECT {FIELDS} FROM Account")
    assert every["totalSize"] == 5
    assert {r["Id"]: values(r) for r in every["records"]} == EXPECTED
    assert list(every["records"][0]) == ["attributes", *FIELDS.split(", ")]
    assert org.requests == 2 + 3  # query + query_more, then 3 pages of 2
    assert sf.api_usage["api-usage"].used == 5
    assert sf.api_usage["api-usage"].total == org.api_limit


def test_default_page_size_is_2000(salesforce_server):
    org = salesforce_server({"Account": accounts()})
    assert org.page_size == 2000
    page = org.salesforce().query("SELECT Id FROM Account")
    assert page["done"] is True and page["totalSize"] == 5 and "nextRecordsUrl" not in page


def test_created_date_range_from_format_soql_filters_exactly(org, sf):
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    end = datetime(2026, 2, 1, tzinfo=timezone.utc)
    soql = format_soql(
        "SELECT Id FROM Account WHERE CreatedDate >= {} AND CreatedDate < {} ORDER BY Id",
        start,
        end,
    )
    assert "2026-01-01T00:00:00+00:00" in soql
    assert [r["Id"] for r in sf.query_all(soql)["records"]] == ["001B", "001C"]

    with_nulls = format_soql(
        "SELECT Id FROM Account WHERE CreatedDate >= {} AND CreatedDate < {} "
        "OR CreatedDate = null ORDER BY Id",
        start,
        end,
    )
    assert [r["Id"] for r in sf.query_all(with_nulls)["records"]] == ["001B", "001C", "001E"]

    zulu = "SELECT Id FROM Account WHERE CreatedDate < 2026-01-01T00:00:00Z"
    assert [r["Id"] for r in sf.query_all(zulu)["records"]] == ["001A"]
    assert org.queries[-1] == zulu


def test_other_filters_and_order(sf):
    soql = format_soql(
        "SELECT Id FROM Account WHERE Name = {} OR Id IN {}", "O'Brien & Sons", ["001D"]
    )
    assert [r["Id"] for r in sf.query_all(soql)["records"]] == ["001C", "001D"]
    flagged = sf.query_all("SELECT Id FROM Account WHERE Do_Not_Call__c = true")["records"]
    assert [r["Id"] for r in flagged] == ["001B", "001E"]
    newest = sf.query_all("SELECT Id FROM Account ORDER BY CreatedDate DESC LIMIT 3")["records"]
    assert [r["Id"] for r in newest] == ["001D", "001C", "001B"]  # nulls last when DESC


def test_bad_queries_are_400s(sf):
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_FIELD"):
        sf.query("SELECT Nope FROM Account")
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_FIELD"):
        sf.query("SELECT Id FROM Account WHERE CreatedDate >= '2026-01-01'")
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_TYPE"):
        sf.query("SELECT Id FROM Lead")
    with pytest.raises(SalesforceMalformedRequest, match="MALFORMED_QUERY"):
        sf.query("SELECT Id FROM Account WHERE")


def test_describe_lists_fields_and_types(sf):
    described = sf.Account.describe()
    assert described["name"] == "Account"
    assert {f["name"]: f["type"] for f in described["fields"]} == {
        "Id": "id",
        "Name": "string",
        "Phone": "phone",
        "Mobile_Phone__c": "phone",
        "CreatedDate": "datetime",
        "Do_Not_Call__c": "boolean",
    }
    with pytest.raises(SalesforceResourceNotFound):
        sf.Lead.describe()


def test_field_types_can_be_overridden(salesforce_server):
    tasks = pd.DataFrame({"Id": ["00T1"], "AccountId": ["001A"], "Dialed_Number__c": ["1"]})
    org = salesforce_server({"Task": tasks}, field_types={"Task": {"Dialed_Number__c": "phone"}})
    fields = org.salesforce().Task.describe()["fields"]
    assert {f["name"]: f["type"] for f in fields} == {
        "Id": "id",
        "AccountId": "reference",
        "Dialed_Number__c": "phone",
    }


def test_wrong_password_fails_login(org):
    session = trusting(org)
    with pytest.raises(SalesforceAuthenticationFailed, match="INVALID_LOGIN"):
        Salesforce(
            username=org.username,
            password="wrong",
            security_token=org.token,
            domain=org.domain,
            version="59.0",
            session=session,
        )


def test_ca_bundle_from_the_environment(org, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", org.ca_path)
    sf = Salesforce(
        username=org.username,
        password=org.password,
        security_token=org.token,
        domain=org.domain,
        version="59.0",
    )
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 5


def test_plain_session_verify_once_the_environment_has_no_ca_bundle(org, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    session = requests.Session()
    session.verify = org.ca_path
    sf = Salesforce(
        username=org.username,
        password=org.password,
        security_token=org.token,
        domain=org.domain,
        version="59.0",
        session=session,
    )
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 5


def test_untrusted_without_the_ca(org, monkeypatch):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(org.url + "/services/data/v59.0/sobjects", verify=True, timeout=5)


def test_injected_faults(org, sf):
    org.faults.append("500")
    with pytest.raises(SalesforceGeneralError) as error:
        sf.query("SELECT Id FROM Account")
    assert error.value.status == 500
    org.faults.append("REQUEST_LIMIT_EXCEEDED")
    with pytest.raises(SalesforceRefusedRequest, match="REQUEST_LIMIT_EXCEEDED"):
        sf.query("SELECT Id FROM Account")
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 5  # faults are used up
    assert org.requests == 3 and sf.api_usage["api-usage"].used == 3


def test_invalid_session(org, sf):
    # A password login re-logs in on INVALID_SESSION_ID and retries, up to 3 times.
    org.faults.append("INVALID_SESSION_ID")
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 5
    assert org.logins == 2
    org.faults.extend(["INVALID_SESSION_ID"] * 4)
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")
    assert org.logins == 6 and not org.faults
    # A client given only a session id raises at once, here on a really expired session.
    bare = Salesforce(
        session_id=sf.session_id, instance=sf.sf_instance, version="59.0", session=org.session()
    )
    assert bare.query("SELECT Id FROM Account")["totalSize"] == 5
    org.expire_sessions()
    with pytest.raises(SalesforceExpiredSession, match="INVALID_SESSION_ID"):
        bare.query("SELECT Id FROM Account")


def test_api_limit_is_enforced(salesforce_server):
    org = salesforce_server({"Account": accounts()}, api_limit=2)
    sf = org.salesforce()
    sf.query("SELECT Id FROM Account")
    sf.query("SELECT Id FROM Account")
    assert sf.api_usage["api-usage"].used == 2
    with pytest.raises(SalesforceRefusedRequest, match="REQUEST_LIMIT_EXCEEDED"):
        sf.query("SELECT Id FROM Account")


def test_latency_and_concurrency(org, sf):
    org.latency = 0.2
    results = []

    def one() -> None:
        results.append(sf.query("SELECT Id FROM Account")["totalSize"])

    threads = [threading.Thread(target=one) for _ in range(4)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    assert results == [5] * 4
    assert 0.2 <= elapsed < 0.7  # served in parallel, each delayed


def test_count_query(sf):
    assert sf.query("SELECT COUNT() FROM Account") == {"totalSize": 5, "done": True, "records": []}
    flagged = sf.query("SELECT COUNT() FROM Account WHERE Do_Not_Call__c = true")
    assert flagged["totalSize"] == 2


# --------------------------------------------------------------------------- Bulk API 2.0 query

BULK_FIELDS = "Id, Name, Phone, CreatedDate, Do_Not_Call__c"
HEADER = '"Id","Name","Phone","CreatedDate","Do_Not_Call__c"\n'
ROWS = [
    '"001A","Alpha Widgets","(415) 867-5309","2025-12-31T23:59:59.999Z","false"\n',
    '"001B","Bayside Tools","+1 415.867.5309","2026-01-01T00:00:00.000Z","true"\n',
    '"001C","O\'Brien & Sons","212-736-5000","2026-01-15T12:30:00.250Z",\n',
    '"001D","Delta Farms",,"2026-02-01T00:00:00.000Z","false"\n',
    '"001E",,"617 253 1000",,"true"\n',
]


@pytest.mark.parametrize(
    ("max_records", "pages"),
    [(5, [ROWS]), (4, [ROWS[:4], ROWS[4:]]), (6, [ROWS]), (2, [ROWS[:2], ROWS[2:4], ROWS[4:]])],
)
def test_bulk_query_pages_exact_csv(org, sf, max_records, pages):
    soql = f"SELECT {BULK_FIELDS} FROM Account ORDER BY Id"
    got = list(sf.bulk2.Account.query(soql, max_records=max_records, wait=0.1))
    assert got == [HEADER + "".join(rows) for rows in pages]
    assert org.queries == [soql]
    (job,) = org.bulk_jobs
    assert job.operation == "query" and job.object == "Account" and job.state == "JobComplete"
    assert job.id.startswith("750") and len(job.id) == 18
    assert org.requests == 2 + len(pages)  # create, one poll, the pages


def test_bulk_query_all_filters_and_quotes(org, sf):
    soql = "SELECT Name, Id FROM Account WHERE Name != null AND Id != '001A'"
    (page,) = sf.bulk2.Account.query_all(soql, wait=0.1)
    assert page == (
        '"Name","Id"\n"Bayside Tools","001B"\n"O\'Brien & Sons","001C"\n"Delta Farms","001D"\n'
    )
    assert org.bulk_jobs[0].operation == "queryAll"
    (empty,) = sf.bulk2.Account.query("SELECT Id FROM Account WHERE Id = 'none'", wait=0.1)
    assert empty == '"Id"\n'


def test_bulk_query_csv_escapes_quotes_numbers_and_crlf(salesforce_server):
    frame = pd.DataFrame(
        {"Id": ["a0X1", "a0X2"], "Note": ['say "hi", then\nleave', ""], "Calls": [3, 12]}
    )
    frame["Score"] = [1.5, None]
    org = salesforce_server({"Thing__c": frame})
    sf = org.salesforce()
    (page,) = sf.bulk2.Thing__c.query(
        "SELECT Id, Note, Calls, Score FROM Thing__c", line_ending="CRLF", wait=0.1
    )
    assert page == (
        '"Id","Note","Calls","Score"\r\n'
        '"a0X1","say ""hi"", then\nleave","3","1.5"\r\n'
        '"a0X2","","12",\r\n'
    )


def bulk_url(org, sf, rest: str = "") -> str:
    return f"{org.url}/services/data/v{sf.sf_version}/jobs/{rest}"


def test_bulk_query_job_lifecycle_over_http(salesforce_server):
    org = salesforce_server({"Account": accounts()}, bulk_page_size=3, bulk_polls_in_progress=2)
    sf = org.salesforce()
    http = org.session()
    http.headers["Authorization"] = f"Bearer {sf.session_id}"
    created = http.post(
        bulk_url(org, sf, "query"), json={"operation": "query", "query": "SELECT Id FROM Account"}
    )
    assert created.status_code == 200
    job = created.json()
    assert job["state"] == "UploadComplete" and job["object"] == "Account"
    assert job["apiVersion"] == 59.0 and job["columnDelimiter"] == "COMMA"
    states = [http.get(bulk_url(org, sf, f"query/{job['id']}")).json() for _ in range(3)]
    assert [s["state"] for s in states] == ["InProgress", "InProgress", "JobComplete"]
    assert states[-1]["numberRecordsProcessed"] == 5 and states[-1]["jobType"] == "V2Query"
    first = http.get(bulk_url(org, sf, f"query/{job['id']}/results"))  # bulk_page_size: 3
    assert first.headers["Content-Type"] == "text/csv"
    assert first.headers["Sforce-NumberOfRecords"] == "3"
    assert first.text == '"Id"\n"001A"\n"001B"\n"001C"\n'
    locator = first.headers["Sforce-Locator"]
    second = http.get(bulk_url(org, sf, f"query/{job['id']}/results"), params={"locator": locator})
    assert second.text == '"Id"\n"001D"\n"001E"\n'
    assert second.headers["Sforce-Locator"] == "null"
    again = http.get(bulk_url(org, sf, f"query/{job['id']}/results"), params={"locator": locator})
    assert again.text == second.text  # a locator can be read again while the job exists
    assert http.put(bulk_url(org, sf, f"query/{job['id']}")).status_code == 405
    assert http.put(bulk_url(org, sf, f"query/{job['id']}")).json()[0]["errorCode"] == (
        "METHOD_NOT_ALLOWED"
    )
    deleted = http.delete(bulk_url(org, sf, f"query/{job['id']}"))
    assert deleted.status_code == 204 and deleted.content == b""
    assert http.get(bulk_url(org, sf, f"query/{job['id']}")).status_code == 404


def test_bulk_query_refuses_bad_soql_at_creation(org, sf):
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_FIELD"):
        list(sf.bulk2.Account.query("SELECT Nope FROM Account", wait=0.1))
    with pytest.raises(SalesforceMalformedRequest, match="MALFORMED_QUERY"):
        list(sf.bulk2.Account.query("SELECT Id FROM Account WHERE", wait=0.1))
    assert org.bulk_jobs == [] and len(org.queries) == 2


def test_bulk_faults_surface_as_simple_salesforce_errors(org, sf):
    soql = "SELECT Id FROM Account"
    org.faults.append("500")
    with pytest.raises(SalesforceGeneralError) as error:
        list(sf.bulk2.Account.query(soql, wait=0.1))
    assert error.value.status == 500
    org.faults.extend([None, None, "REQUEST_LIMIT_EXCEEDED"])  # create, poll, then the page
    with pytest.raises(SalesforceRefusedRequest, match="REQUEST_LIMIT_EXCEEDED"):
        list(sf.bulk2.Account.query(soql, wait=0.1))
    org.faults.extend([None, "INVALID_SESSION_ID"])  # the upload of an ingest job
    with pytest.raises(SalesforceExpiredSession):
        sf.bulk2.Account.update(records=[{"Id": "001A", "Name": "X"}], wait=0.1)
    assert org.ingest_jobs[-1].state == "Aborted"  # simple-salesforce aborts the open job
    assert org.tables["Account"].frame["Name"].iloc[0] == "Alpha Widgets"
    assert not org.faults


# --------------------------------------------------------------------------- Bulk API 2.0 ingest


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(text.splitlines()))


def test_bulk_update_writes_exactly_the_sent_fields(org, sf):
    before = org.tables["Account"].frame.copy()
    org.record_errors["001C"] = (
        "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--"
    )
    (result,) = sf.bulk2.Account.update(
        records=[
            {"Id": "001A", "Name": "", "Phone": "#N/A"},  # "" leaves Name, #N/A nulls Phone
            {"Id": "001B", "Name": "Bayside Tools Inc.", "Phone": ""},
            {"Id": "001C", "Name": "Locked", "Phone": ""},
            {"Id": "001Z", "Name": "Nobody", "Phone": ""},
        ],
        wait=0.1,
    )
    assert result["numberRecordsProcessed"] == 4 and result["numberRecordsFailed"] == 2
    after = org.tables["Account"].frame
    assert after.dtypes.equals(before.dtypes)
    assert after.at[0, "Phone"] is pd.NA and after.at[0, "Name"] == "Alpha Widgets"
    assert after.at[1, "Name"] == "Bayside Tools Inc." and after.at[1, "Phone"] == "+1 415.867.5309"
    expected = before.copy()
    expected.loc[0, "Phone"] = None
    expected.loc[1, "Name"] = "Bayside Tools Inc."
    pd.testing.assert_frame_equal(after, expected)

    job_id = result["job_id"]
    assert rows_of(sf.bulk2.Account.get_successful_records(job_id)) == [
        {"sf__Id": "001A", "sf__Created": "false", "Id": "001A", "Name": "", "Phone": "#N/A"},
        {"sf__Id": "001B", "sf__Created": "false", "Id": "001B", "Name": "Bayside Tools Inc.",
         "Phone": ""},
    ]  # fmt: skip
    assert rows_of(sf.bulk2.Account.get_failed_records(job_id)) == [
        {"sf__Id": "001C", "sf__Error": org.record_errors["001C"], "Id": "001C", "Name": "Locked",
         "Phone": ""},
        {"sf__Id": "001Z", "sf__Error": "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--",
         "Id": "001Z", "Name": "Nobody", "Phone": ""},
    ]  # fmt: skip
    assert rows_of(sf.bulk2.Account.get_unprocessed_records(job_id)) == []
    (job,) = org.ingest_jobs
    assert (job.operation, job.object, job.state) == ("update", "Account", "JobComplete")
    assert org.bulk_jobs == []


def test_bulk_update_types_and_bad_values(org, sf):
    (result,) = sf.bulk2.Account.update(
        records=[
            {"Id": "001C", "Do_Not_Call__c": "true", "CreatedDate": "2026-03-01T10:00:00.000Z"},
            {"Id": "001D", "Do_Not_Call__c": "maybe", "CreatedDate": ""},
        ],
        wait=0.1,
    )
    assert result["numberRecordsFailed"] == 1
    frame = org.tables["Account"].frame
    assert frame.at[2, "Do_Not_Call__c"] is True or frame.at[2, "Do_Not_Call__c"] == True  # noqa: E712
    assert frame.at[2, "CreatedDate"] == pd.Timestamp("2026-03-01T10:00:00Z")
    assert str(frame["CreatedDate"].dtype) == "datetime64[us, UTC]"
    (failed,) = rows_of(sf.bulk2.Account.get_failed_records(result["job_id"]))
    assert failed["sf__Error"] == (
        "INVALID_TYPE_ON_FIELD_IN_RECORD:Do_Not_Call__c: value not of required type: "
        "maybe:[Do_Not_Call__c]"
    )
    assert frame.at[3, "Do_Not_Call__c"] == False  # noqa: E712 - unchanged


def test_bulk_update_with_an_unknown_column_fails_the_job(org, sf):
    with pytest.raises(
        SalesforceOperationError, match="InvalidBatch : Field name not found : Nope"
    ):
        sf.bulk2.Account.update(records=[{"Id": "001A", "Nope": "x"}], wait=0.1)
    (job,) = org.ingest_jobs
    assert job.state == "Failed"
    assert rows_of(sf.bulk2.Account.get_unprocessed_records(job.id)) == [
        {"Id": "001A", "Nope": "x"}
    ]


def test_bulk_insert_creates_rows_with_new_ids(salesforce_server):
    requests_frame = pd.DataFrame(
        {
            "Id": ["a0R000000000001AAA"],
            "Account__c": ["001A"],
            "CreatedDate": pd.to_datetime(["2024-01-01T00:00:00Z"]),
            "Status__c": ["Completed"],
        }
    ).astype({"Id": "string", "Account__c": "string", "Status__c": "string"})
    org = salesforce_server({"Research_Request__c": requests_frame})
    sf = org.salesforce()
    began = pd.Timestamp.now(tz="UTC").floor("ms")
    (result,) = sf.bulk2.Research_Request__c.insert(
        records=[
            {"Account__c": "001B", "Status__c": "New"},
            {"Account__c": "001C", "Status__c": ""},
        ],
        wait=0.1,
    )
    assert result["numberRecordsProcessed"] == 2 and result["numberRecordsFailed"] == 0
    successful = rows_of(sf.bulk2.Research_Request__c.get_successful_records(result["job_id"]))
    new_ids = [row["sf__Id"] for row in successful]
    assert [row["sf__Created"] for row in successful] == ["true", "true"]
    assert all(i.startswith("a0R") and len(i) == 18 for i in new_ids) and len(set(new_ids)) == 2
    frame = org.tables["Research_Request__c"].frame
    assert frame["Id"].tolist() == ["a0R000000000001AAA", *new_ids]
    assert frame["Account__c"].tolist() == ["001A", "001B", "001C"]
    assert frame["Status__c"].iloc[2] is pd.NA
    assert (frame["CreatedDate"].iloc[1:] >= began).all()
    assert frame.dtypes.equals(requests_frame.dtypes)
    rest = sf.query_all(f"SELECT Status__c FROM Research_Request__c WHERE Id = '{new_ids[0]}'")
    assert rest["records"][0]["Status__c"] == "New"


def test_bulk_delete_removes_rows(org, sf):
    (result,) = sf.bulk2.Account.delete(records=[{"Id": "001B"}, {"Id": "001Q"}], wait=0.1)
    assert result["numberRecordsFailed"] == 1
    assert org.tables["Account"].frame["Id"].tolist() == ["001A", "001C", "001D", "001E"]
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 4


def test_an_ingest_job_takes_one_upload_while_open(org, sf):
    http = org.session()
    http.headers["Authorization"] = f"Bearer {sf.session_id}"
    job = http.post(
        bulk_url(org, sf, "ingest"), json={"object": "Account", "operation": "update"}
    ).json()
    assert job["state"] == "Open" and job["contentUrl"].endswith(f"/ingest/{job['id']}/batches")
    batches = bulk_url(org, sf, f"ingest/{job['id']}/batches")
    assert http.put(batches, data=b"Id,Name\n001A,A\n").status_code == 201
    assert http.put(batches, data=b"Id,Name\n001B,B\n").status_code == 400
    closed = http.patch(bulk_url(org, sf, f"ingest/{job['id']}"), json={"state": "UploadComplete"})
    assert closed.json()["state"] == "UploadComplete"
    assert http.put(batches, data=b"Id,Name\n001B,B\n").status_code == 409
    info = http.get(bulk_url(org, sf, f"ingest/{job['id']}")).json()
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        1,
        0,
    )
    assert org.tables["Account"].frame["Name"].tolist()[:2] == ["A", "Bayside Tools"]


# --------------------------------------------------------------------------- OAuth 2.0


def test_oauth_client_credentials(org):
    sf = Salesforce(
        consumer_key=org.consumer_key,
        consumer_secret=org.consumer_secret,
        domain=org.domain,
        version="59.0",
        session=org.session(),
    )
    assert sf.session_id in org.sessions and sf.sf_instance == org.instance
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 5
    assert org.logins == 1
    with pytest.raises(SalesforceAuthenticationFailed, match="invalid_client"):
        Salesforce(
            consumer_key=org.consumer_key,
            consumer_secret="wrong",
            domain=org.domain,
            version="59.0",
            session=org.session(),
        )
    assert org.logins == 2


def test_oauth_jwt_bearer(org, tmp_path):
    sf = Salesforce(
        username=org.username,
        consumer_key=org.consumer_key,
        privatekey_file=org.private_key_path,
        domain=org.domain,
        version="59.0",
        session=org.session(),
    )
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 5
    (page,) = sf.bulk2.Account.query("SELECT Id FROM Account WHERE Id = '001A'", wait=0.1)
    assert page == '"Id"\n"001A"\n'

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(SalesforceAuthenticationFailed, match="invalid_grant"):
        Salesforce(
            username=org.username,
            consumer_key=org.consumer_key,
            privatekey=other.decode(),
            domain=org.domain,
            version="59.0",
            session=org.session(),
        )
    with pytest.raises(SalesforceAuthenticationFailed, match="invalid_client"):
        Salesforce(
            username=org.username,
            consumer_key="someone-else",
            privatekey_file=org.private_key_path,
            domain=org.domain,
            version="59.0",
            session=org.session(),
        )
    claims = {
        "iss": org.consumer_key,
        "sub": org.username,
        "aud": f"https://{org.domain}.salesforce.com",
        "exp": int(time.time()) + 60,
    }
    unsigned = jwt.encode(claims, None, algorithm="none")
    answer = org.session().post(
        f"{org.url}/sf.salesforce.com/services/oauth2/token",  # where simple-salesforce posts
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": unsigned},
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}
    assert org.logins == 4


# --------------------------------------------------------------------------- own process


def test_served_as_its_own_process(tmp_path):
    data = tmp_path / "data"
    (data / "Account").mkdir(parents=True)
    accounts().to_parquet(data / "Account" / "part-00000.parquet")
    accounts().head(2).to_parquet(data / "Contact.parquet")
    (data / "_demo.json").write_text("{}")
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.salesforce_server", "--data", str(data), "--latency", "0",
         "--bulk-page-size", "2", "--ca-dir", str(tmp_path / "ca")],
        cwd=root, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        connection = json.loads(process.stdout.readline())
        assert set(connection) >= {"url", "domain", "ca_path", "username", "password", "token"}
        session = requests.Session()
        session.verify = connection["ca_path"]
        session.trust_env = False
        sf = Salesforce(
            username=connection["username"],
            password=connection["password"],
            security_token=connection["token"],
            domain=connection["domain"],
            version="59.0",
            session=session,
        )
        assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 5
        assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 2
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
