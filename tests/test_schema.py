"""The canonical schema: the cast every source's partitions go through (no cluster needed)."""

import pandas as pd
import pytest

from dialflow.errors import InputError
from dialflow.schema import (
    DEFAULT_PHONE_FIELDS,
    PANDAS_DTYPES,
    table_columns,
    to_canonical,
)

KINDS = {"Id": "string", "CreatedDate": "datetime", "IsActive": "bool"}


def test_text_becomes_the_canonical_dtypes_in_the_order_of_the_kinds():
    stored = pd.DataFrame(
        {
            "IsActive": ["true", " No ", "1", "f", None, ""],
            "Extra": list("abcdef"),
            "Id": ["a", "b", None, "d", "e", "f"],
            "CreatedDate": [
                "2026-01-02T03:04:05Z",
                "2026-01-02 03:04:05",  # naive text is UTC
                "2025-06-01T00:00:00-05:00",
                "2025-06-01",
                None,
                "2025-06-01T00:00:00.123456+00:00",
            ],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    frame = to_canonical(stored, KINDS, "Users.csv")
    assert list(frame.columns) == list(KINDS)  # the extra column is left out
    assert list(frame.index) == [10, 11, 12, 13, 14, 15]  # the partition's index is kept
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        c: str(pd.Series(dtype=PANDAS_DTYPES[k]).dtype) for c, k in KINDS.items()
    }
    assert frame["IsActive"].tolist() == [True, False, True, False, pd.NA, False]
    assert frame["Id"].tolist() == ["a", "b", pd.NA, "d", "e", "f"]
    assert frame["CreatedDate"].tolist() == [
        pd.Timestamp("2026-01-02T03:04:05Z"),
        pd.Timestamp("2026-01-02T03:04:05Z"),
        pd.Timestamp("2025-06-01T05:00:00Z"),
        pd.Timestamp("2025-06-01T00:00:00Z"),
        pd.NaT,
        pd.Timestamp("2025-06-01T00:00:00.123456Z"),
    ]


def test_typed_values_keep_their_value():
    """What a driver or Parquet already typed (aware timestamps, booleans) is only cast."""
    stored = pd.DataFrame(
        {
            "Id": pd.Series(["a", "b"], dtype="object"),
            "CreatedDate": pd.to_datetime(["2026-01-02T03:04:05+01:00", None], utc=True),
            "IsActive": [True, False],
        }
    )
    frame = to_canonical(stored, KINDS, "SQL table User")
    assert frame["CreatedDate"].tolist() == [pd.Timestamp("2026-01-02T02:04:05Z"), pd.NaT]
    assert frame["IsActive"].tolist() == [True, False]
    assert str(frame["CreatedDate"].dtype) == PANDAS_DTYPES["datetime"]


def test_an_empty_partition_has_the_canonical_dtypes():
    stored = pd.DataFrame({column: pd.Series(dtype=object) for column in KINDS})
    frame = to_canonical(stored, KINDS, "Salesforce User")
    assert frame.empty
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        c: str(pd.Series(dtype=PANDAS_DTYPES[k]).dtype) for c, k in KINDS.items()
    }


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("IsActive", "perhaps", "a boolean (true/false)"),
        ("CreatedDate", "yesterday", "a timestamp (Parquet timestamp, or ISO-8601 text in CSV)"),
    ],
)
def test_a_value_that_does_not_fit_names_the_origin_and_the_column(column, value, expected):
    stored = pd.DataFrame({"Id": ["a"], "CreatedDate": ["2026-01-02"], "IsActive": ["true"]})
    stored[column] = [value]
    with pytest.raises(InputError) as caught:
        to_canonical(stored, KINDS, "data/User.csv")
    message = str(caught.value)
    assert message.startswith(
        f"data/User.csv: column {column} holds a value that is not {expected} ("
    )
    assert message.endswith("); fix the value or the column")
    assert "\n" not in message


def test_account_columns_follow_the_configured_phone_fields():
    columns = table_columns("Account", ("Phone", "Cell__c"))
    assert not (set(DEFAULT_PHONE_FIELDS) - {"Phone"}) & set(columns)
    assert columns["Cell__c"] == "string"
    assert list(table_columns("Task")) == [
        "Id", "AccountId", "Dialed_Number__c", "CallDisposition", "CreatedDate",
    ]  # fmt: skip
