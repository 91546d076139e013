import dask.dataframe as dd
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dialflow.config import Settings
from dialflow.jobs.autoflush import (
    CLEANUP_META,
    AutoflushParams,
    autoflush_frame,
    categorise,
    run_autoflush,
)
from tests.conftest import accounts_frame, calls_frame

AS_OF = pd.Timestamp("2026-11-25", tz="UTC")
PARAMS = AutoflushParams.from_settings(Settings(), AS_OF)
DAY0 = pd.Timestamp("2026-01-01T09:00:00Z")


def day(n: float) -> str:
    return (DAY0 + pd.Timedelta(days=n)).isoformat()


N1, N2, N3, N4, N5, N6 = (
    "(415) 867-5309",
    "212-736-5000",
    "617-253-1000",
    "312-222-3456",
    "646-555-0199",
    "303-555-0142",
)
E1, E2, E3, E4, E5, E6 = (
    "+14158675309",
    "+12127365000",
    "+16172531000",
    "+13122223456",
    "+16465550199",
    "+13035550142",
)

ACCOUNTS = accounts_frame(
    [
        # The same number in two fields, in two formats (N2), and N1 shared with A2.
        dict(Id="001A1", Phone=N1, Phone_2__c=N2, Mobile_Phone__c="+1 212.736.5000"),
        dict(Id="001A2", Phone="415.867.5309", Home_Phone__c=N3),
        dict(Id="001A3", Phone="617 253 1000", Phone_2__c=N4, Other_Phone__c=N5),
        dict(Id="001A4", Phone=N6),
        dict(Id="001A5", Phone="2127365000"),  # N2 is wrong for A1 only
        dict(Id="001A6", Phone="not a phone", Phone_2__c=""),
    ]
)

CALLS = calls_frame(
    [
        # N1: 3 disconnected across two accounts, exactly 90 days -> disconnected everywhere.
        ("001A1", N1, "Disconnected", day(0)),
        ("001A2", "4158675309", " dc ", day(45)),
        ("001A1", "+1 415 867 5309", "ADC", day(90)),
        ("001A2", N1, "Contact", day(90)),  # same instant as the last bad call: not after
        # N2: 2 wrong numbers by A1 over 90 days -> wrong for A1 (both fields); A5 untouched.
        ("001A1", N2, "Wrong Number", day(10)),
        ("001A1", N2, "WN", day(100)),
        ("001A5", N2, "Contact", day(200)),  # another account's contact does not reset A1
        # N3: A2 wrong twice over 89 days (too short); A3 wrong twice then contact after.
        ("001A2", N3, "wrong number", day(0)),
        ("001A2", N3, "wrong number", day(89)),
        ("001A3", N3, "WN", day(0)),
        ("001A3", N3, "WN", day(100)),
        ("001A3", N3, "Connected", day(101)),
        # N4: only 2 disconnected calls over 200 days.
        ("001A3", N4, "Disconnected", day(0)),
        ("001A3", N4, "Disconnected", day(200)),
        # N5: 3 disconnected over 120 days, then a contact by another account.
        ("001A3", N5, "DC", day(0)),
        ("001A3", N5, "DC", day(60)),
        ("001A3", N5, "DC", day(120)),
        ("001A1", N5, "Appointment Set", day(121)),
        # N6: disconnected and wrong for A4 at once -> one row, reason disconnected.
        ("001A4", N6, "Not In Service", day(0)),
        ("001A4", N6, "Not In Service", day(50)),
        ("001A4", N6, "Not In Service", day(95)),
        ("001A4", N6, "Wrong Number", day(1)),
        ("001A4", N6, "Wrong Number", day(96)),
        # Noise: unparseable dialed number, unmapped and empty dispositions, a future call.
        ("001A6", "12345", "Disconnected", day(5)),
        ("001A6", N4, "Left Msg w/ Gatekeeper", day(6)),
        ("001A6", N4, None, day(7)),
        ("001A6", N4, "Disconnected", (AS_OF + pd.Timedelta(days=1)).isoformat()),
    ]
)


def cleanup(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(CLEANUP_META.columns))
    for column in ("FirstBadCall", "LastBadCall"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.astype(CLEANUP_META.dtypes.to_dict())


EXPECTED = cleanup(
    [
        ("001A1", "Phone", N1, E1, "disconnected", 3, day(0), day(90)),
        ("001A1", "Phone_2__c", N2, E2, "wrong_number", 2, day(10), day(100)),
        ("001A1", "Mobile_Phone__c", "+1 212.736.5000", E2, "wrong_number", 2, day(10), day(100)),
        ("001A2", "Phone", "415.867.5309", E1, "disconnected", 3, day(0), day(90)),
        ("001A4", "Phone", N6, E6, "disconnected", 3, day(0), day(95)),
    ]
)


def row_keys(frame: pd.DataFrame, *columns: str) -> set[tuple]:
    return set(frame[list(columns)].itertuples(index=False, name=None))


def test_categorise_trims_and_ignores_case():
    raw = pd.Series([" Wrong Number ", "WN", "dc", "ADC", "CONTACT", "no answer", "??", None, ""])
    assert categorise(raw, PARAMS.categories).tolist() == [
        "wrong_number",
        "wrong_number",
        "disconnected",
        "disconnected",
        "contact",
        "neutral",
        "unmapped",
        "unmapped",
        "unmapped",
    ]


def test_boundaries_give_exactly_the_expected_cleanup_rows():
    rows, counts = autoflush_frame(CALLS, ACCOUNTS, PARAMS)
    assert_frame_equal(rows, EXPECTED)
    assert counts["bad_numbers"] == {"disconnected": 2, "wrong_number": 2}  # N1, N6; N2@A1, N6@A4
    assert counts["cleanup_by_reason"] == {"disconnected": 3, "wrong_number": 2}
    assert counts["cleanup_by_field"] == {"Mobile_Phone__c": 1, "Phone": 3, "Phone_2__c": 1}
    assert counts["signal_calls_unparseable_number"] == 1
    assert counts["unmapped_dispositions"] == {"<empty>": 1, "Left Msg w/ Gatekeeper": 1}
    assert counts["calls_by_category"] == {
        "contact": 4,
        "disconnected": 12,
        "outside_window": 1,
        "unmapped": 2,
        "wrong_number": 8,
    }
    assert counts["accounts_touched"] == 3


def test_later_contact_is_ignored_when_reset_is_off():
    rows, _ = autoflush_frame(
        CALLS, ACCOUNTS, PARAMS.model_copy(update=dict(reset_on_later_contact=False))
    )
    added = row_keys(rows, "AccountId", "Field", "Reason") - row_keys(
        EXPECTED, "AccountId", "Field", "Reason"
    )
    # N5 everywhere and N3 at A3 now count; N3 at A2 still spans only 89 days.
    assert added == {
        ("001A3", "Other_Phone__c", "disconnected"),
        ("001A3", "Phone", "wrong_number"),
    }


def test_since_counts_only_later_calls():
    rows, counts = autoflush_frame(
        CALLS, ACCOUNTS, PARAMS.model_copy(update=dict(since=pd.Timestamp(day(5))))
    )
    # N1 keeps 2 disconnected calls after day 5, N6 keeps 2: neither reaches 3.
    assert rows["Reason"].tolist() == ["wrong_number", "wrong_number"]
    assert counts["calls_by_category"]["outside_window"] == 9


def test_thresholds_come_from_params():
    rows, _ = autoflush_frame(
        CALLS,
        ACCOUNTS,
        PARAMS.model_copy(update=dict(disconnected_threshold=2, time_span_minimum_days=89)),
    )
    flagged = row_keys(rows, "AccountId", "Field")
    assert ("001A3", "Phone_2__c") in flagged  # N4: 2 calls over 200 days now enough
    assert ("001A2", "Home_Phone__c") in flagged  # N3 at A2: 89 days now enough


@pytest.mark.parametrize("partitions", [(1, 1), (3, 2), (7, 4)])
def test_dask_wiring_equals_the_pure_function(partitions):
    call_parts, account_parts = partitions
    reference, reference_counts = autoflush_frame(CALLS, ACCOUNTS, PARAMS)
    result = run_autoflush(
        dd.from_pandas(CALLS, npartitions=call_parts, sort=False),
        dd.from_pandas(ACCOUNTS, npartitions=account_parts, sort=False),
        PARAMS,
    )
    assert_frame_equal(result.cleanup, reference)
    assert result.counts == reference_counts


def test_dnc_numbers_are_the_disconnected_ones_once_sorted():
    from dialflow.jobs.autoflush import VERDICTS_META, dnc_numbers

    verdicts = pd.DataFrame(
        [
            ("+14158675310", None, "disconnected"),
            ("+12127365000", None, "disconnected"),
            ("+12127365000", None, "disconnected"),  # twice in: once out
            ("+13125550100", "A1", "wrong_number"),  # wrong for A1 only: never a DNC
            ("+14158675310", "A2", "wrong_number"),
        ],
        columns=["PhoneE164", "AccountId", "Reason"],
    ).assign(BadCallCount=3, FirstBadCall=pd.NaT, LastBadCall=pd.NaT)
    verdicts[["FirstBadCall", "LastBadCall"]] = pd.Timestamp("2026-01-01", tz="UTC")
    verdicts = verdicts.astype(VERDICTS_META.dtypes.to_dict())
    got = dnc_numbers(verdicts)
    assert got.columns.tolist() == ["PhoneE164"]
    assert got["PhoneE164"].tolist() == ["+12127365000", "+14158675310"]
    assert dnc_numbers(verdicts.iloc[:0]).columns.tolist() == ["PhoneE164"]
