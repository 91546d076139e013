"""The pure parts of Salesforce write-back: which flagged fields still hold their value, the
Bulk API 2.0 update records, and per-field outcomes from per-record results."""

import pandas as pd
from pandas.testing import assert_frame_equal

from dialflow.sinks.salesforce import (
    BULK_NULL,
    compare_with_current,
    field_outcomes,
    update_records,
)

NAMES = {"Phone": "Phone", "Mobile_Phone__c": "MobilePhone"}


def frame(rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns, dtype=object)


def test_only_fields_still_holding_the_flagged_value_are_unchanged():
    wanted = frame(
        [
            ("001A", "Phone", "555-0101"),  # unchanged
            ("001A", "Mobile_Phone__c", "555-0102"),  # someone typed a new number
            ("001B", "Phone", "555-0103"),  # already cleared by hand
            ("001C", "Phone", "555-0104"),  # the account is gone
        ],
        ["AccountId", "Field", "Phone"],
    )
    current = frame(
        [
            ("001A", "Phone", "555-0101"),
            ("001A", "Mobile_Phone__c", "555-0199"),
            ("001B", "Phone", None),
        ],
        ["AccountId", "Field", "Current"],
    )
    unchanged, changed = compare_with_current(wanted, current, "Phone")
    assert unchanged.values.tolist() == [["001A", "Phone", "555-0101"]]
    assert changed["AccountId"].tolist() == ["001A", "001B", "001C"]


def test_one_update_record_per_account_leaves_other_fields_empty():
    changes = frame(
        [
            ("001A", "Phone", BULK_NULL),
            ("001A", "Mobile_Phone__c", BULK_NULL),
            ("001B", "Mobile_Phone__c", BULK_NULL),
        ],  # fmt: skip
        ["AccountId", "Field", "Clear"],
    )
    assert update_records(changes, "Clear", NAMES) == [
        {"Id": "001A", "MobilePhone": BULK_NULL, "Phone": BULK_NULL},
        {"Id": "001B", "MobilePhone": BULK_NULL, "Phone": ""},  # empty: Bulk API leaves it
    ]


def test_every_field_of_a_failed_account_fails_with_its_error():
    changes = frame(
        [("001A", "Phone"), ("001A", "Mobile_Phone__c"), ("001B", "Phone")],
        ["AccountId", "Field"],
    )
    failed = frame([("001A", "UNABLE_TO_LOCK_ROW:busy:--")], ["sf__Id", "sf__Error"])
    got = field_outcomes(changes, failed, "cleared")
    want = changes.assign(
        Status=["failed", "failed", "cleared"],
        Error=["UNABLE_TO_LOCK_ROW:busy:--", "UNABLE_TO_LOCK_ROW:busy:--", ""],
    )
    assert_frame_equal(got.astype(object), want.astype(object))
