"""Autoflush on random call histories, against a plain-Python reading of the README's rules."""

from collections import defaultdict

import dask.dataframe as dd
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from dialflow.config import Settings
from dialflow.jobs.autoflush import AutoflushParams, autoflush_frame, run_autoflush
from dialflow.phones import reference_e164
from tests.conftest import accounts_frame, calls_frame

PARAMS = AutoflushParams.from_settings(Settings(), pd.Timestamp("2026-11-25", tz="UTC"))
DAY0 = pd.Timestamp("2026-01-01T00:00:00Z")
# A few numbers, each in several spellings, plus junk, so that random data collides often.
NUMBERS = [
    ["(415) 867-5309", "415.867.5309", "+1 415 867 5309"],
    ["212-736-5000", "2127365000"],
    ["617 253 1000", "+16172531000 x4"],
    ["12345", "", None],
]
DISPOSITIONS = ["Disconnected", " dc ", "Wrong Number", "WN", "Contact", "No Answer", "??"]
DAYS = [0, 1, 45, 89, 90, 91, 120, 200]
ACCOUNT_IDS = ["001A", "001B", "001C"]
FIELDS = ["Phone", "Phone_2__c", "Mobile_Phone__c"]


@st.composite
def histories(draw) -> tuple[pd.DataFrame, pd.DataFrame]:
    spelling = st.sampled_from([s for spellings in NUMBERS for s in spellings])
    accounts = accounts_frame(
        [{"Id": i, **{f: draw(spelling) for f in FIELDS}} for i in ACCOUNT_IDS]
    )
    calls = draw(
        st.lists(
            st.tuples(
                st.sampled_from(ACCOUNT_IDS),
                spelling,
                st.sampled_from(DISPOSITIONS),
                st.sampled_from(DAYS),
            ),
            max_size=40,
        )
    )
    rows = [(a, n, d, (DAY0 + pd.Timedelta(days=t)).isoformat()) for a, n, d, t in calls]
    return calls_frame(rows), accounts


def oracle(calls: pd.DataFrame, accounts: pd.DataFrame) -> set[tuple]:
    """Apply the rules call by call with dicts: the independent reading of the design."""
    bad: dict[tuple, list] = defaultdict(list)
    contacts: dict[tuple, list] = defaultdict(list)
    for call in calls.itertuples():
        number = reference_e164(call.Dialed_Number__c)
        disposition = call.CallDisposition
        category = PARAMS.categories.get(str(disposition).strip().casefold())
        if number is None or category is None:
            continue
        if category == "disconnected":
            bad[("disconnected", number, None)].append(call.CreatedDate)
        elif category == "wrong_number":
            bad[("wrong_number", number, call.AccountId)].append(call.CreatedDate)
        elif category == "contact":
            contacts[(number, None)].append(call.CreatedDate)
            contacts[(number, call.AccountId)].append(call.CreatedDate)
    verdicts = {}
    for (reason, number, account), times in bad.items():
        threshold = 3 if reason == "disconnected" else 2
        first, last = min(times), max(times)
        later = [t for t in contacts[(number, account)] if t > last]
        if len(times) >= threshold and last - first >= pd.Timedelta(days=90) and not later:
            verdicts[(reason, number, account)] = (len(times), first, last)
    expected = set()
    for account in accounts.itertuples():
        for field in FIELDS:
            number = reference_e164(getattr(account, field))
            for reason, owner in (("disconnected", None), ("wrong_number", account.Id)):
                if (reason, number, owner) in verdicts:
                    expected.add((account.Id, field, reason, *verdicts[(reason, number, owner)]))
                    break
    return expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_cleanup_rows_are_exactly_the_fields_whose_number_broke_a_rule(history):
    calls, accounts = history
    rows, _ = autoflush_frame(calls, accounts, PARAMS)
    got = set(
        rows[
            ["AccountId", "Field", "Reason", "BadCallCount", "FirstBadCall", "LastBadCall"]
        ].itertuples(index=False, name=None)
    )
    assert got == oracle(calls, accounts)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_output_does_not_depend_on_partitioning(history):
    calls, accounts = history
    one = run_autoflush(dd.from_pandas(calls, npartitions=1), dd.from_pandas(accounts, 1), PARAMS)
    many = run_autoflush(
        dd.from_pandas(calls, npartitions=5, sort=False),
        dd.from_pandas(accounts, npartitions=3, sort=False),
        PARAMS,
    )
    assert_frame_equal(one.cleanup, many.cleanup)
    assert one.counts == many.counts
