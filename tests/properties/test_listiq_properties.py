"""listiq on random accounts and calls, against a plain-Python reading of the README's pool."""

from functools import partial

import dask.dataframe as dd
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from dialflow.config import Settings
from dialflow.jobs.contact import ContactParams, contact_frame
from dialflow.jobs.listiq import CONTACT_RATE, RANDOM, ListiqParams, listiq_frame, run_listiq
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
CONTACT = ContactParams.from_settings(Settings(), AS_OF).model_copy(
    update=dict(phone_fields=FIELDS)
)
SELECTIONS = [RANDOM, CONTACT_RATE]
# Numbers of SPELLINGS (and one more) the Do Not Call registry may hold.
REGISTRABLE = [4158675309, 4158675310, 2127365000, 2127365001, 3053741000, 9072695100, 2025550100]


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
        (
            draw(st.sampled_from(ids)),
            draw(st.sampled_from(SPELLINGS[:6])),
            draw(st.sampled_from(["No Answer", "Contact"])),
            draw(st.sampled_from(CALLED)),
        )
        for _ in range(draw(st.integers(0, 6)))
    ]
    excluded = draw(st.lists(st.sampled_from(ids), max_size=3, unique=True))
    cleared = draw(
        st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(FIELDS)), max_size=4, unique=True)
    )
    target = draw(st.integers(0, 12))
    seed = draw(st.integers(0, 10**6))
    registry = draw(st.lists(st.sampled_from(REGISTRABLE), max_size=4, unique=True))
    return accounts_frame(rows), calls_frame(calls), excluded, cleared, target, seed, registry


def oracle_pool(accounts, calls, excluded, cleared, registry=()) -> dict[str, str]:
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
        if int(phone[2:]) in registry:
            continue
        rank = (record.CreatedDate, record.Id)
        if phone not in best or rank > best[phone]:
            best[phone] = rank
    return {rank[1]: phone for phone, rank in best.items()}


def registry_frame(numbers: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"Number": pd.Series(numbers, dtype="int64")})


def numbers_in(registry: pd.DataFrame, codes: tuple[str, ...]) -> pd.DataFrame:
    """Return a registry's numbers of some area codes, as the store's reader does."""
    return registry[registry["Number"].floordiv(10**7).astype(str).isin(codes)]


def _pinned_model():
    """A contact model fitted on a fixed history of SPELLINGS' numbers: a scenario's own
    history may hold no usable call, and contact_rate then needs a pinned model."""
    accounts = accounts_frame(
        [{"Id": f"009{i:03d}", FIELDS[i % 3]: spelling} for i, spelling in enumerate(SPELLINGS[:6])]
    )
    rows = [
        (f"009{i:03d}", spelling, "Contact" if (i + k) % 3 == 0 else "No Answer", when)
        for i, spelling in enumerate(SPELLINGS[:6])
        for k, when in enumerate(["2026-10-01T15:00:00Z", "2026-09-01T21:00:00Z"])
    ]
    return contact_frame(calls_frame(rows), accounts, REFERENCE.area_codes, CONTACT).model


PINNED = _pinned_model()


def job_inputs(scenario, selection=RANDOM):
    """Return the job's arguments for a scenario, cleared fields as autoflush would list them."""
    accounts, calls, excluded, cleared, target, seed, _ = scenario
    params = PARAMS.model_copy(
        update=dict(
            phone_fields=FIELDS, target_total_records=target, seed=seed, selection=selection
        )
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


def contact_options(selection):
    """listiq_frame's and run_listiq's contact arguments in a mode."""
    return dict(contact=CONTACT, pinned=PINNED) if selection == CONTACT_RATE else {}


@pytest.mark.parametrize("selection", SELECTIONS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_list_is_min_of_target_and_pool_unique_and_eligible(selection, scenario):
    accounts, calls, excluded, cleared, target, _, numbers = scenario
    args = job_inputs(scenario, selection)
    registry = registry_frame(numbers)
    options = contact_options(selection)
    result = listiq_frame(
        *args[:4], REFERENCE.area_codes, POPULATION, args[4], registry=registry, **options
    )
    listed = result.call_list
    pool = oracle_pool(accounts, calls, set(excluded), set(cleared), set(numbers))
    assert len(listed) == min(target, len(pool))
    assert listed["AccountId"].is_unique and listed["Phone"].is_unique
    assert all(pool.get(a) == p for a, p in zip(listed["AccountId"], listed["Phone"], strict=True))
    assert result.counts["pool"] == len(pool)
    assert sum(result.counts["accounts_by_status"].values()) == len(accounts)
    rerun = listiq_frame(
        *args[:4], REFERENCE.area_codes, POPULATION, args[4], registry=registry, **options
    )
    assert_frame_equal(rerun.call_list, listed)
    if selection == CONTACT_RATE:
        # The same apportionment and buckets as random: only which records fill them differs.
        plain = listiq_frame(
            *job_inputs(scenario)[:4], REFERENCE.area_codes, POPULATION, job_inputs(scenario)[4],
            registry=registry,
        )  # fmt: skip
        assert result.counts == plain.counts
        assert_frame_equal(
            listed.groupby(["State", "Bucket"]).size().to_frame(),
            plain.call_list.groupby(["State", "Bucket"]).size().to_frame(),
        )
        assert listed["BestHourLocal"].between(8, 20).all()
        assert listed["ContactProbability"].between(0, 1).all()


# Each example builds a Dask graph three times: fewer examples, same scenarios.
@pytest.mark.parametrize("selection", SELECTIONS)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios())
def test_same_list_for_1_and_7_partitions(selection, scenario):
    accounts, calls, excluded, cleared, params = job_inputs(scenario, selection)
    registry = registry_frame(scenario[-1])
    options = contact_options(selection)
    expected = listiq_frame(
        accounts, calls, excluded, cleared, REFERENCE.area_codes, POPULATION, params,
        registry=registry, **options,
    )  # fmt: skip
    by_code = registry["Number"].floordiv(10**7).astype(str).value_counts()

    read_registry = partial(numbers_in, registry)  # one scrub partition's area codes
    for partitions in (1, 7):
        on_dask = run_listiq(
            dd.from_pandas(accounts, npartitions=partitions),
            dd.from_pandas(calls, npartitions=partitions),
            excluded,
            cleared,
            REFERENCE.area_codes,
            POPULATION,
            params,
            registry_numbers=by_code,
            read_registry=read_registry,
            **options,
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
