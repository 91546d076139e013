"""listiq on random accounts and calls, against a plain-Python reading of the README's pool."""

import dask.dataframe as dd
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from dialflow.config import Settings
from dialflow.jobs.listiq import ListiqParams, listiq_frame, run_listiq
from dialflow.jobs.usable_phone import cleared_keys
from dialflow.phones import reference_e164
from dialflow.sources.reference import load_reference_tables
from tests.conftest import accounts_frame, calls_frame

AS_OF = pd.Timestamp("2026-11-25T12:00:00Z")
PARAMS = ListiqParams.from_settings(Settings(), AS_OF)
FIELDS = PARAMS.phone_fields[:3]
REFERENCE = load_reference_tables(None)
POPULATION = REFERENCE.census_population.set_index("state")["population"]
STATE_OF = dict(zip(REFERENCE.area_codes["area_code"], REFERENCE.area_codes["state"], strict=True))
# Numbers in a few states (two share one number), toll-free, junk and empties.
SPELLINGS = [
    "(415) 867-5309", "415.867.5310", "+1 212 736 5000", "2127365001", "305-374-1000",
    "907 269 5100", "800-642-7676", "12345", "", None,
]  # fmt: skip
CREATED = ["2026-11-25T11:00:00Z", "2026-11-23T12:00:01Z", "2026-11-23T12:00:00Z", "2024-05-01"]
CALLED = ["2026-11-20T00:00:00Z", "2026-10-26T12:00:00Z", "2025-01-01T00:00:00Z"]


@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 14))
    ids = [f"001{i:03d}" for i in range(n)]
    rows = [
        {
            "Id": account_id,
            "Name": f"Account {account_id}",
            "CreatedDate": draw(st.sampled_from(CREATED)),
            "Do_Not_Call__c": draw(st.sampled_from([True, False, None])),
            **{field: draw(st.sampled_from(SPELLINGS)) for field in FIELDS},
        }
        for account_id in ids
    ]
    calls = [
        (draw(st.sampled_from(ids)), "", "No Answer", draw(st.sampled_from(CALLED)))
        for _ in range(draw(st.integers(0, 6)))
    ]
    excluded = draw(st.lists(st.sampled_from(ids), max_size=3, unique=True))
    cleared = draw(
        st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(FIELDS)), max_size=4, unique=True)
    )
    target = draw(st.integers(0, 12))
    seed = draw(st.integers(0, 10**6))
    return accounts_frame(rows), calls_frame(calls), excluded, cleared, target, seed


def oracle_pool(accounts, calls, excluded, cleared) -> dict[str, str]:
    """Account -> phone of every record the README puts in the pool, one record per number."""
    since = AS_OF - pd.Timedelta(days=30)
    called = {c.AccountId for c in calls.itertuples() if c.CreatedDate > since}
    # The internal DNC list: every valid number of a Do_Not_Call__c account, whichever field.
    internal = {
        reference_e164(getattr(record, field))
        for record in accounts.itertuples()
        if pd.notna(record.Do_Not_Call__c) and bool(record.Do_Not_Call__c)
        for field in FIELDS
    } - {None}
    best: dict[str, tuple] = {}
    for record in accounts.itertuples():
        do_not_call = pd.notna(record.Do_Not_Call__c) and bool(record.Do_Not_Call__c)
        if do_not_call or record.Id in excluded or record.Id in called:
            continue
        phones = [
            reference_e164(getattr(record, field))
            for field in FIELDS
            if (record.Id, field) not in cleared
        ]
        phone = next((p for p in phones if p is not None), None)
        if phone is None or STATE_OF.get(phone[2:5]) is None or phone in internal:
            continue
        rank = (record.CreatedDate, record.Id)
        if phone not in best or rank > best[phone]:
            best[phone] = rank
    return {rank[1]: phone for phone, rank in best.items()}


def job_inputs(scenario):
    """Return the job's arguments for a scenario, cleared fields as autoflush would list them."""
    accounts, calls, excluded, cleared, target, seed = scenario
    params = PARAMS.model_copy(
        update=dict(phone_fields=FIELDS, target_total_records=target, seed=seed)
    )
    cleared_frame = pd.DataFrame(
        {
            "AccountId": [a for a, _ in cleared],
            "Field": [f for _, f in cleared],
            "PhoneE164": [
                reference_e164(accounts.set_index("Id").at[a, f]) or "" for a, f in cleared
            ],
        }
    )
    return accounts, calls, pd.Index(excluded), cleared_keys(cleared_frame), params


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_list_is_min_of_target_and_pool_unique_and_eligible(scenario):
    accounts, calls, excluded, cleared, target, _ = scenario
    args = job_inputs(scenario)
    result = listiq_frame(*args[:4], REFERENCE.area_codes, POPULATION, args[4])
    listed = result.call_list
    pool = oracle_pool(accounts, calls, set(excluded), set(cleared))
    assert len(listed) == min(target, len(pool))
    assert listed["AccountId"].is_unique and listed["Phone"].is_unique
    assert all(pool.get(a) == p for a, p in zip(listed["AccountId"], listed["Phone"], strict=True))
    assert result.counts["pool"] == len(pool)
    assert sum(result.counts["accounts_by_status"].values()) == len(accounts)
    rerun = listiq_frame(*args[:4], REFERENCE.area_codes, POPULATION, args[4])
    assert_frame_equal(rerun.call_list, listed)


# Each example builds a Dask graph three times: fewer examples, same scenarios.
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_same_list_for_1_and_7_partitions(scenario):
    accounts, calls, excluded, cleared, params = job_inputs(scenario)
    expected = listiq_frame(
        accounts, calls, excluded, cleared, REFERENCE.area_codes, POPULATION, params
    )
    for partitions in (1, 7):
        on_dask = run_listiq(
            dd.from_pandas(accounts, npartitions=partitions),
            dd.from_pandas(calls, npartitions=partitions),
            excluded,
            cleared,
            REFERENCE.area_codes,
            POPULATION,
            params,
        )
        assert_frame_equal(on_dask.call_list, expected.call_list)
        assert on_dask.counts == expected.counts


def test_another_seed_draws_another_sample_and_order():
    rows = [
        {"Id": f"001{i:04d}", "Name": "x", "CreatedDate": "2024-05-01", "Phone": f"212736{i:04d}"}
        for i in range(400)
    ]
    accounts = accounts_frame(rows)
    lists = [
        listiq_frame(
            accounts,
            calls_frame([]),
            pd.Index([]),
            pd.Index([]),
            REFERENCE.area_codes,
            POPULATION,
            PARAMS.model_copy(update=dict(target_total_records=50, seed=seed)),
        ).call_list["AccountId"]
        for seed in (1, 1, 2)
    ]
    assert lists[0].tolist() == lists[1].tolist()
    assert len(lists[2]) == 50 and set(lists[2]) != set(lists[0])
