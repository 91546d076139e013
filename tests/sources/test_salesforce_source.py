"""The Salesforce source: simple-salesforce against the project's own test server, partitioned
by CreatedDate, REST or Bulk API 2.0, equal to the file source; logins, paging and faults.
(Every job's output from Salesforce equals the files': tests/test_cli_salesforce.py.)"""

from pathlib import Path

import pytest
from pandas.testing import assert_frame_equal

from dialflow.config import Settings
from dialflow.errors import DialflowError
from dialflow.salesforce import Connection
from dialflow.schema import DEFAULT_PHONE_FIELDS
from dialflow.sources import FileSource, SalesforceSource
from tests.conftest import make_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make_demo(tmp_path_factory.mktemp("demo"), 1500, 5000, 8, "2026-11-25")


@pytest.fixture
def org(salesforce_server, demo):
    files = FileSource(demo, {}, DEFAULT_PHONE_FIELDS)
    tables = {name: files.read(name).compute() for name in ("Account", "Task")}
    return salesforce_server(tables, page_size=500)


def settings_for(org, **extra) -> Settings:  # noqa: ANN001
    return Settings.model_validate(
        {
            "salesforce": {
                "username": org.username,
                "password": org.password,
                "security_token": org.token,
                "domain": org.domain,
                "ca_bundle": org.ca_path,
                "partitions": 4,
                **extra,
            }
        }
    )


def test_partitions_read_by_simple_salesforce_equal_the_files(org, demo):
    source = SalesforceSource.from_settings(settings_for(org))
    files = FileSource(demo, {}, DEFAULT_PHONE_FIELDS)
    for table in ("Account", "Task"):
        frame = source.read(table)
        assert frame.npartitions == 5  # four CreatedDate ranges and the records without one
        got = frame.compute().sort_values("Id").reset_index(drop=True)
        want = files.read(table).compute().sort_values("Id").reset_index(drop=True)
        assert_frame_equal(got, want)
    # Paging happened: more REST calls than SOQL queries means nextRecordsUrl was followed.
    assert org.requests > len(org.queries)


def test_a_wrong_password_is_one_clear_error(org):
    source = SalesforceSource.from_settings(settings_for(org, password="wrong"))
    with pytest.raises(DialflowError) as caught:
        source.read("Account")
    message = str(caught.value)
    assert message.startswith(
        f"Salesforce login (password) as {org.username} at {org.domain} failed (INVALID_LOGIN"
    )
    assert "wrong" not in message and org.token not in message


def test_transient_faults_are_retried_and_persistent_ones_fail_with_the_code(org):
    source = SalesforceSource.from_settings(settings_for(org, retry_base_seconds=0.01))
    org.faults.extend(["500", "REQUEST_LIMIT_EXCEEDED"])
    assert len(source.read("Account").compute()) == 1500  # both retried
    org.faults.extend(["500"] * 4)
    with pytest.raises(DialflowError) as caught:
        source.read("Account")
    assert str(caught.value).startswith(
        "Salesforce query of Account failed after 4 attempt(s) ("
    ) and str(caught.value).endswith("); see salesforce.retries")


def test_a_run_stops_before_work_when_the_api_floor_is_reached(org):
    org.api_limit = org.requests + 50
    source = SalesforceSource.from_settings(settings_for(org, min_remaining_api_calls=100))
    before = len(org.queries)
    with pytest.raises(DialflowError, match=r"daily API calls left .* fewer than salesforce\."):
        source.read("Task")
    assert len(org.queries) - before == 3  # only the count and the two range-finding queries
    assert source.api_usage["limit"] == org.api_limit


def test_an_expired_session_is_logged_in_again_by_each_reader(org):
    source = SalesforceSource.from_settings(settings_for(org))
    frame = source.read("Account")  # planned with the first session
    org.expire_sessions()
    logins = org.logins
    assert len(frame.compute()) == 1500
    assert org.logins - logins == frame.npartitions  # one new login per partition's reader


def test_a_session_that_expires_again_right_after_a_new_login_fails_clearly(org):
    connection = Connection.from_settings(settings_for(org).salesforce)
    logins = org.logins
    org.faults.extend(["INVALID_SESSION_ID", "INVALID_SESSION_ID"])
    with pytest.raises(DialflowError) as caught:
        connection.call(lambda client: client.query("SELECT Id FROM Account"), "query of Account")
    assert str(caught.value).startswith(
        "Salesforce query of Account failed: the session expired again right after a new login "
        "(INVALID_SESSION_ID: "
    )
    assert org.logins == logins + 1
    assert org.token not in repr(connection) and connection.session_id not in repr(connection)


def files_table(demo, table: str):  # noqa: ANN001, ANN201
    frame = FileSource(demo, {}, DEFAULT_PHONE_FIELDS).read(table).compute()
    return frame.sort_values("Id").reset_index(drop=True)


@pytest.mark.parametrize("mode", ["rest", "bulk"])
@pytest.mark.parametrize("page", [6, 7, 8])
def test_paging_boundaries_lose_and_repeat_nothing(salesforce_server, demo, mode, page):
    """Seven records read in one range with pages of one fewer, exactly as many and one more."""
    seven = files_table(demo, "Account").head(7)
    org = salesforce_server({"Account": seven}, page_size=page, bulk_page_size=page)
    extra = {"bulk_min_records": 0, "bulk_page_records": page} if mode == "bulk" else {}
    source = SalesforceSource.from_settings(
        settings_for(org, partitions=1, bulk_poll_seconds=0.01, **extra)
    )
    got = source.read("Account").compute().sort_values("Id").reset_index(drop=True)
    assert_frame_equal(got, seven.reset_index(drop=True))
    assert bool(org.bulk_jobs) == (mode == "bulk")


def test_bulk_reads_survive_transient_faults(org, demo):
    source = SalesforceSource.from_settings(
        settings_for(
            org, bulk_min_records=0, bulk_page_records=400, bulk_poll_seconds=0.01,
            retry_base_seconds=0.01,
        )
    )  # fmt: skip
    frame = source.read("Task")
    org.faults.extend([None, "500", None, None, "REQUEST_LIMIT_EXCEEDED"])
    got = frame.compute(scheduler="sync").sort_values("Id").reset_index(drop=True)
    assert_frame_equal(got, files_table(demo, "Task"))
    assert org.faults == []


@pytest.mark.parametrize("flow", ["client_credentials", "jwt"])
def test_oauth_logins_read_the_same_rows(org, demo, flow):
    credentials = {
        "client_credentials": {"consumer_secret": org.consumer_secret},
        "jwt": {"username": org.username, "private_key_path": org.private_key_path},
    }[flow]
    settings = Settings.model_validate(
        {
            "salesforce": {
                "auth": flow,
                "consumer_key": org.consumer_key,
                "domain": org.domain,
                "ca_bundle": org.ca_path,
                **credentials,
            }
        }
    )
    got = SalesforceSource.from_settings(settings).read("Account").compute()
    assert_frame_equal(got.sort_values("Id").reset_index(drop=True), files_table(demo, "Account"))


def test_a_wrong_consumer_secret_is_one_clear_error_without_the_secret(org):
    settings = Settings.model_validate(
        {
            "salesforce": {
                "auth": "client_credentials",
                "consumer_key": org.consumer_key,
                "consumer_secret": "not-the-secret",
                "domain": org.domain,
                "ca_bundle": org.ca_path,
            }
        }
    )
    with pytest.raises(DialflowError) as caught:
        Connection.from_settings(settings.salesforce)
    message = str(caught.value)
    assert message.startswith(
        f"Salesforce login (client_credentials) as consumer key …{org.consumer_key[-4:]} at "
        f"{org.domain} failed ("
    )
    assert "not-the-secret" not in message and org.consumer_key not in message


def test_missing_oauth_settings_name_the_environment_variables():
    settings = Settings.model_validate({"salesforce": {"auth": "jwt", "username": "u@x.org"}})
    with pytest.raises(DialflowError) as caught:
        Connection.from_settings(settings.salesforce)
    assert str(caught.value) == (
        "salesforce.auth jwt needs salesforce.consumer_key, salesforce.private_key_path; set "
        "DIALFLOW_SF_CONSUMER_KEY, DIALFLOW_SF_PRIVATE_KEY in the environment"
    )
