"""The contact model's partial aggregates: the same for one partition and for many, and equal to
a plain-Python count of the calls."""

from collections import defaultdict

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from dialflow.jobs.contact import (
    CONTACT_CALLS_META,
    attempts_since_contact,
    call_stats,
    combine_attempts,
    combine_recency,
    combine_stats,
    fit_contact_model,
    recency,
)

NUMBERS = {"+12127365000": "NY", "+14158675309": "CA", "+16172531000": "MA"}
FIELDS = ["Phone", "Mobile_Phone__c"]
DAY0 = pd.Timestamp("2026-06-01T12:00:00Z")


@st.composite
def partitioned_calls(draw) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(sorted(NUMBERS)),
                st.sampled_from(FIELDS),
                st.integers(8, 20),
                st.integers(0, 6),
                st.booleans(),
                st.integers(0, 5),  # few days: calls at the same instant as a contact happen
            ),
            max_size=40,
        )
    )
    frame = pd.DataFrame(
        {
            "PhoneE164": [r[0] for r in rows],
            "Field": [r[1] for r in rows],
            "State": [NUMBERS[r[0]] for r in rows],
            "LocalHour": [r[2] for r in rows],
            "Weekday": [r[3] for r in rows],
            "Contact": [r[4] for r in rows],
            "CreatedDate": [DAY0 + pd.Timedelta(days=r[5]) for r in rows],
        },
        columns=list(CONTACT_CALLS_META.columns),
    ).astype(CONTACT_CALLS_META.dtypes.to_dict())
    cuts = sorted(draw(st.lists(st.integers(0, len(frame)), max_size=4)))
    bounds = [0, *cuts, len(frame)]
    parts = [frame.iloc[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    return frame, parts


@settings(max_examples=50, deadline=None)
@given(partitioned_calls())
def test_partials_combine_to_the_one_partition_result(data):
    frame, parts = data
    assert_frame_equal(combine_stats(pd.concat([call_stats(p) for p in parts])), call_stats(frame))
    last = recency(frame)
    assert_frame_equal(combine_recency(pd.concat([recency(p) for p in parts])), last)
    assert_frame_equal(
        combine_attempts(pd.concat([attempts_since_contact(p, last) for p in parts])),
        attempts_since_contact(frame, last),
    )


@settings(max_examples=50, deadline=None)
@given(partitioned_calls())
def test_aggregates_match_a_plain_count(data):
    frame, _ = data
    calls, contacts = defaultdict(int), defaultdict(int)
    last_contact = {}
    for row in frame.itertuples(index=False):
        key = (row.PhoneE164, row.Field, row.State, row.LocalHour, row.Weekday)
        calls[key] += 1
        contacts[key] += int(row.Contact)
        if row.Contact:
            number = (row.PhoneE164, row.Field)
            last_contact[number] = max(last_contact.get(number, row.CreatedDate), row.CreatedDate)
    stats = call_stats(frame)
    assert {tuple(r[:5]): (r[5], r[6]) for r in stats.itertuples(index=False, name=None)} == {
        key: (calls[key], contacts[key]) for key in calls
    }
    after = defaultdict(int)
    for row in frame.itertuples(index=False):
        number = (row.PhoneE164, row.Field)
        after[number] += int(number not in last_contact or row.CreatedDate > last_contact[number])
    attempts = attempts_since_contact(frame, recency(frame))
    assert dict(
        zip(
            zip(attempts["PhoneE164"], attempts["Field"], strict=True),
            attempts["AttemptsSinceContact"],
            strict=True,
        )
    ) == dict(after)


@settings(max_examples=15, deadline=None)
@given(partitioned_calls())
def test_the_model_fitted_on_combined_partials_is_the_same(data):
    frame, parts = data
    if frame.empty:
        return
    combined = fit_contact_model(combine_stats(pd.concat([call_stats(p) for p in parts])))
    assert combined.to_json() == fit_contact_model(call_stats(frame)).to_json()
