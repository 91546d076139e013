"""infoflow on hand-built tables: each eligibility rule on its boundary, priority and addresses."""

import dask.dataframe as dd
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dialflow.config import Settings
from dialflow.jobs.infoflow import InfoflowParams, flushed_by_account, infoflow_frame, run_infoflow
from dialflow.jobs.usable_phone import cleared_keys
from dialflow.schema import PANDAS_DTYPES, table_columns
from tests.conftest import accounts_frame, calls_frame

AS_OF = pd.Timestamp("2026-11-25T12:00:00Z")
PARAMS = InfoflowParams.from_settings(Settings(), AS_OF)
OLD = "2020-01-01T00:00:00Z"


def table(name: str, rows: list[dict]) -> pd.DataFrame:
    kinds = table_columns(name)
    frame = pd.DataFrame({column: [row.get(column) for row in rows] for column in kinds})
    for column, kind in kinds.items():
        if kind == "datetime":
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        frame[column] = frame[column].astype(PANDAS_DTYPES[kind])
    return frame


def account(id_: str, owner: str = "U1", created: str = OLD, **fields) -> dict:
    billing = {
        "BillingStreet": f"{id_} Billing St",
        "BillingCity": "Austin",
        "BillingState": "TX",
        "BillingPostalCode": "73301",
    }
    return {
        "Id": id_,
        "Name": f"Name {id_}",
        "OwnerId": owner,
        "CreatedDate": created,
        "LastModifiedDate": "2026-01-01T00:00:00Z",
        **billing,
        **fields,
    }


ACCOUNTS = accounts_frame(
    [
        account("I1", Phone="n/a"),
        account("I2", Phone="212-736-5000"),  # a usable phone: no research
        account("I3", Phone="212-736-5001", Phone_2__c=""),  # its only number was flushed
        account("I4", owner="U2"),  # inactive owner
        account("I5"),  # asked 89 days ago
        account("I6"),  # asked exactly 90 days ago: outside the window
        account("I7"),  # in DIAL-Flow's own request log
        account("I8"),  # moved: address history newer than Billing
        account("I9"),  # address history older than Billing
        account("I10", Mobile_Phone__c="555-12"),  # malformed; reached 100 days ago
        account("I11", created="2026-10-26T12:00:00Z"),  # new account
        account("I12", owner="U9"),  # owner not in User
    ]
)
USERS = table(
    "User",
    [
        {"Id": "U1", "Name": "Ann Lee", "Email": "ann@example.com", "IsActive": True},
        {"Id": "U2", "Name": "Bob Roe", "Email": "bob@example.com", "IsActive": False},
    ],
)
RESEARCH = table(
    "Research_Request__c",
    [
        {"Id": "R1", "Account__c": "I5", "CreatedDate": "2026-08-28T12:00:01Z"},
        {"Id": "R2", "Account__c": "I6", "CreatedDate": "2026-08-27T12:00:00Z"},
    ],
)
HISTORY = table(
    "Address_History__c",
    [
        {
            "Id": "H1", "Account__c": "I8", "Street__c": "1 New Rd", "City__c": "Boise",
            "State__c": "ID", "PostalCode__c": "83701", "CreatedDate": "2026-06-01T00:00:00Z",
        },
        {
            "Id": "H0", "Account__c": "I8", "Street__c": "0 Older Rd", "City__c": "Boise",
            "State__c": "ID", "PostalCode__c": "83701", "CreatedDate": "2025-06-01T00:00:00Z",
        },
        {
            "Id": "H2", "Account__c": "I9", "Street__c": "9 Old Rd", "City__c": "Reno",
            "State__c": "NV", "PostalCode__c": "89501", "CreatedDate": "2024-06-01T00:00:00Z",
        },
    ],
)  # fmt: skip
CALLS = calls_frame(
    [
        ("I10", "5551200", "Contact", "2026-08-17T12:00:00Z"),
        ("I10", "5551200", "No Answer", "2026-10-01T09:30:00Z"),
        ("I1", "5551201", "Contact", "2025-11-24T12:00:00Z"),  # 366 days: outside the lookback
    ]
)
CLEANUP = pd.DataFrame(
    {"AccountId": ["I3"], "Field": ["Phone"], "PhoneE164": ["+12127365001"]}, dtype="string"
)
LOGGED = pd.Series(["I7"], dtype="string")


def run(params=PARAMS) -> pd.DataFrame:  # noqa: ANN001
    result = infoflow_frame(
        ACCOUNTS, CALLS, RESEARCH, HISTORY, USERS, cleared_keys(CLEANUP),
        flushed_by_account(CLEANUP), LOGGED, params,
    )  # fmt: skip
    return result


def test_exact_requests_priority_signals_and_addresses():
    requests = run().requests
    got = requests[["AccountId", "Priority", "Signals"]].astype({"Priority": float})
    assert got.values.tolist() == [
        ["I8", 3.0, "address_changed"],
        ["I10", 2.0, "reached_before"],
        ["I11", 1.0, "new_account"],  # ties by Id: "I11" < "I3"
        ["I3", 1.0, "numbers_flushed=1"],
        ["I1", 0.0, ""],
        ["I6", 0.0, ""],
        ["I9", 0.0, ""],
    ]
    by_id = requests.set_index("AccountId")
    assert by_id.loc["I8", ["Street", "City", "State", "PostalCode"]].tolist() == [
        "1 New Rd", "Boise", "ID", "83701",
    ]  # fmt: skip
    assert by_id.loc["I9", ["Street", "State"]].tolist() == ["I9 Billing St", "TX"]
    assert by_id.loc["I10", "LastCallDate"] == pd.Timestamp("2026-10-01T09:30:00Z")
    assert pd.isna(by_id.loc["I8", "LastCallDate"])
    assert by_id.loc["I1", ["OwnerName", "OwnerEmail"]].tolist() == ["Ann Lee", "ann@example.com"]


def test_summary_counts_each_rule():
    counts = run().counts
    assert counts == {
        "accounts": 12,
        "without_usable_phone": 11,
        "owner_inactive_or_unknown": 2,
        "recently_requested": 2,
        "eligible": 7,
        "requested": 7,
        "signals_fired": {
            "address_changed": 1,
            "new_account": 1,
            "numbers_flushed": 1,
            "reached_before": 1,
        },
        "dropped_rows": {"Account": {"no_id": 0}, "Task": {"no_account_id": 0}},
    }


def test_max_requests_and_weights():
    params = PARAMS.model_copy(
        update=dict(
            max_requests=2,
            weights={**PARAMS.weights, "numbers_flushed": 5.0, "address_changed": 0.0},
        )
    )
    assert run(params).requests["AccountId"].tolist() == ["I3", "I10"]


@pytest.mark.parametrize("partitions", [1, 3])
def test_dask_wiring_equals_the_pandas_reference(partitions):
    expected = run()
    got = run_infoflow(
        dd.from_pandas(ACCOUNTS, npartitions=partitions),
        dd.from_pandas(CALLS, npartitions=partitions),
        dd.from_pandas(RESEARCH, npartitions=partitions),
        dd.from_pandas(HISTORY, npartitions=partitions),
        dd.from_pandas(USERS, npartitions=1),
        cleared_keys(CLEANUP),
        flushed_by_account(CLEANUP),
        LOGGED,
        PARAMS,
    )
    assert_frame_equal(got.requests, expected.requests)
    assert got.counts == expected.counts
