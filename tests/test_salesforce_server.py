"""The fake Salesforce org answers simple-salesforce, unpatched, as Salesforce would."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone

import pandas as pd
import pytest
import requests
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
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
