import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from dialflow.jobs.listiq import apportion, largest_remainder, recent_quota, split_buckets
from dialflow.schema import STRING


def series(values: dict[str, int]) -> pd.Series:
    return pd.Series(values, dtype="int64")


def test_largest_remainder_exact_and_ties_by_state_code():
    # 10 seats over 3 equal states: 3.33 each; the one extra seat goes to the first code.
    assert largest_remainder(series({"TX": 1, "CA": 1, "NY": 1}), 10).to_dict() == {
        "CA": 4,
        "NY": 3,
        "TX": 3,
    }
    # Quotas 5.5, 3.3, 1.2 -> 5, 3, 1 and the last seat to the largest remainder (0.5).
    assert largest_remainder(series({"A": 55, "B": 33, "C": 12}), 10).to_dict() == {
        "A": 6,
        "B": 3,
        "C": 1,
    }
    assert largest_remainder(series({"A": 0, "B": 0}), 5).to_dict() == {"A": 0, "B": 0}


def test_state_without_records_passes_its_quota_on_by_population():
    population = series({"CA": 50, "NY": 30, "WY": 20})
    plan = apportion(population, series({"CA": 1000, "NY": 1000}), 10)
    # First quotas 5/3/2; WY has none, so its 2 go to CA and NY by population (5:3 -> 1.25/0.75).
    assert plan.to_dict("index") == {
        "CA": {"quota": 5, "granted": 6, "shortfall": 0},
        "NY": {"quota": 3, "granted": 4, "shortfall": 0},
        "WY": {"quota": 2, "granted": 0, "shortfall": 2},
    }


def test_shortfall_passes_on_over_several_rounds():
    population = series({"A": 60, "B": 30, "C": 10})
    plan = apportion(population, series({"A": 2, "B": 100, "C": 1}), 20)
    # Round 1: quotas 12/6/2 -> granted 2/6/1, owed 10 + 1 = 11; round 2 over B only -> B +11.
    assert plan["granted"].to_dict() == {"A": 2, "B": 17, "C": 1}
    assert plan["quota"].to_dict() == {"A": 12, "B": 6, "C": 2}


def test_pool_smaller_than_target_takes_everything():
    plan = apportion(series({"A": 70, "B": 30}), series({"A": 3, "B": 4}), 100)
    assert plan["granted"].to_dict() == {"A": 3, "B": 4}


@given(
    st.dictionaries(
        st.sampled_from(["AK", "CA", "DC", "FL", "NY", "OK", "TX", "WY"]),
        st.tuples(st.integers(1, 40_000_000), st.integers(0, 3000)),
        min_size=1,
    ),
    st.integers(0, 10_000),
)
def test_apportionment_delivers_min_of_target_and_pool_within_availability(states, target):
    population = series({s: p for s, (p, _) in states.items()})
    available = series({s: a for s, (_, a) in states.items()})
    plan = apportion(population, available, target)
    assert plan["granted"].sum() == min(target, available.sum())
    assert (plan["granted"] <= available.reindex(plan.index)).all()
    assert plan["quota"].sum() == target


@pytest.mark.parametrize(
    "quota, recent, older, expected",
    [
        (10, 100, 100, (7, 3)),  # floor(0.7 x 10 + 0.5) = 7
        (5, 100, 100, (4, 1)),  # floor(3.5 + 0.5) = 4
        (10, 2, 100, (2, 8)),  # recent short: older fills
        (10, 100, 1, (9, 1)),  # older short: recent fills
        (10, 3, 4, (3, 4)),  # both short: all of both
        (0, 5, 5, (0, 0)),
    ],
)
def test_split_buckets_and_fallbacks(quota, recent, older, expected):
    assert split_buckets(quota, recent, older, 0.7) == expected


def test_recent_quota_rounds_half_up():
    assert [recent_quota(q, 0.7) for q in (1, 2, 3, 5, 15)] == [1, 1, 2, 4, 11]


def windows(rows: list[tuple[str, str]], day: str) -> list[tuple]:
    from datetime import date

    from dialflow.jobs.listiq import calling_windows

    places = pd.DataFrame(rows, columns=["TimeZone", "State"])
    result = calling_windows(
        places, date.fromisoformat(day), state_hours={"FL": (8, 20), "OK": (8, 20)}
    )
    return list(result[["State", "WindowStartLocal", "WindowEndLocal"]].itertuples(index=False))


def test_calling_window_follows_daylight_saving():
    # US clocks spring forward on 2026-03-08: the same local hours move one hour in UTC.
    assert windows([("America/New_York", "NY")], "2026-03-07") == [
        ("NY", "2026-03-07T08:00:00-05:00", "2026-03-07T21:00:00-05:00")
    ]
    assert windows([("America/New_York", "NY")], "2026-03-09") == [
        ("NY", "2026-03-09T08:00:00-04:00", "2026-03-09T21:00:00-04:00")
    ]
    # Arizona keeps standard time all year, Denver does not.
    assert windows([("America/Phoenix", "AZ"), ("America/Denver", "CO")], "2026-07-01") == [
        ("AZ", "2026-07-01T08:00:00-07:00", "2026-07-01T21:00:00-07:00"),
        ("CO", "2026-07-01T08:00:00-06:00", "2026-07-01T21:00:00-06:00"),
    ]


def test_state_override_and_window_legal_in_every_zone():
    # Florida's panhandle code spans Central and Eastern time, with Florida's 8:00-20:00 rule:
    # the start binds in Chicago (8:00 CST), the end in New York (20:00 EST = 19:00 CST).
    assert windows([("America/Chicago|America/New_York", "FL")], "2026-11-25") == [
        ("FL", "2026-11-25T08:00:00-06:00", "2026-11-25T19:00:00-06:00")
    ]
    assert windows([("America/Chicago", "OK")], "2026-11-25") == [
        ("OK", "2026-11-25T08:00:00-06:00", "2026-11-25T20:00:00-06:00")
    ]


def pool(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["AccountId", "State", "CreatedDate", "Bucket"])
    frame["CreatedDate"] = pd.to_datetime(frame["CreatedDate"], utc=True, format="ISO8601")
    return frame


def test_seeded_order_depends_only_on_id_and_seed():
    from dialflow.jobs.listiq import seeded_order

    ids = pd.Series([f"001{i:05d}" for i in range(1000)], dtype="string[pyarrow]")
    first = seeded_order(ids, 7)
    assert (seeded_order(ids.iloc[::-1], 7)[::-1] == first).all()  # order-free
    assert (seeded_order(ids.iloc[500:], 7) == first[500:]).all()  # partition-free
    assert (seeded_order(ids, 8) != first).mean() > 0.99  # another seed, another order


def test_pick_takes_newest_recent_and_seeded_older_with_fallbacks():
    from dialflow.jobs.listiq import pick_state_lists, seeded_order

    candidates = pool(
        [(f"R{i}", "CA", f"2026-11-24T{i:02d}:00:00Z", "recent") for i in range(10)]
        + [(f"H{i}", "CA", "2025-01-01", "historical") for i in range(10)]
        + [("R0x", "NY", "2026-11-24T01:00:00Z", "recent")]  # NY: recent short, older fills
        + [(f"HNY{i}", "NY", "2025-01-01", "historical") for i in range(5)]
    )
    plan = pd.DataFrame({"granted": {"CA": 10, "NY": 4}})
    chosen = pick_state_lists(candidates, plan, 0.7, seed=3)
    california = chosen[chosen["State"] == "CA"]
    assert california["AccountId"].tolist()[:7] == ["R9", "R8", "R7", "R6", "R5", "R4", "R3"]
    older_ids = [f"H{i}" for i in range(10)]
    by_seed = pd.Series(seeded_order(pd.Series(older_ids), 3), index=older_ids).sort_values()
    assert california["AccountId"].tolist()[7:] == by_seed.index[:3].tolist()
    new_york = chosen[chosen["State"] == "NY"]
    assert new_york["Bucket"].tolist() == ["recent", "historical", "historical", "historical"]
    assert len(chosen) == 14 and chosen["AccountId"].is_unique


# --- the pool and the whole job on hand-built tables ----------------------------------------

AS_OF = pd.Timestamp("2026-11-25T12:00:00Z")


def params(**overrides):

    from dialflow.config import Settings
    from dialflow.jobs.listiq import ListiqParams

    return ListiqParams.from_settings(Settings(), AS_OF).model_copy(update=overrides)


def reference():
    from dialflow.sources.reference import load_reference_tables

    tables = load_reference_tables(None)
    return tables.area_codes, tables.census_population.set_index("state")["population"]


def account(id_: str, created: str = "2025-01-01T00:00:00Z", **fields) -> dict:
    return {"Id": id_, "Name": f"Name {id_}", "CreatedDate": created, **fields}


def test_account_status_first_valid_uncleared_phone_and_every_reason():
    from dialflow.jobs.listiq import account_status
    from dialflow.jobs.usable_phone import cleared_keys
    from tests.conftest import accounts_frame

    accounts = accounts_frame(
        [
            account("A1", Phone="212-736-5000", Do_Not_Call__c=True),
            account("A2", Phone="212-736-5001"),  # flagged by dedupe
            account("A3", Phone="n/a", Phone_2__c="(212) 736-5002"),
            account(
                "A4", Phone="212 736 5003", Phone_3__c="415-555-01", Mobile_Phone__c="4158675309"
            ),
            account("A5", Phone="212.736.5004"),  # cleared, but for another number
            account("A6", Phone="12345", Other_Phone__c=""),
            account("A7", Phone="800-642-7676"),  # toll-free: valid, no state
            account(
                "A8", "2026-11-23T12:00:01Z", Phone="305-055-0000", Phone_2__c="305 374 1000"
            ),
            account("A9", created="2026-11-23T12:00:00Z", Phone="(907) 555-1234"),
        ]
    )  # fmt: skip
    cleanup = pd.DataFrame(
        {
            "AccountId": ["A4", "A5"],
            "Field": ["Phone", "Phone"],
            "PhoneE164": ["+12127365003", "+12127369999"],
        }
    )
    area_codes, _ = reference()
    status = account_status(accounts, pd.Index(["A2"]), cleared_keys(cleanup), area_codes, params())
    got = status.set_index("AccountId")
    assert got["Status"].to_dict() == {
        "A1": "do_not_call",
        "A2": "dedupe_flagged",
        "A3": "callable",
        "A4": "callable",
        "A5": "callable",
        "A6": "no_valid_phone",
        "A7": "unmapped_area_code",
        "A8": "callable",
        "A9": "callable",
    }
    assert got.loc["A3", ["Phone", "PhoneField", "State"]].tolist() == [
        "+12127365002", "Phone_2__c", "NY",
    ]  # fmt: skip
    # A4's Phone was cleared by autoflush; its next valid field is the mobile.
    assert got.loc["A4", ["Phone", "PhoneField", "State", "TimeZone"]].tolist() == [
        "+14158675309", "Mobile_Phone__c", "CA", "America/Los_Angeles",
    ]  # fmt: skip
    assert got.loc["A5", ["Phone", "PhoneField"]].tolist() == ["+12127365004", "Phone"]
    assert got.loc["A7", "Phone"] == "+18006427676"
    # 48 hours before as-of is not "in the last 48 hours"; one second later is.
    assert got.loc["A8", ["Bucket", "PhoneField"]].tolist() == ["recent", "Phone_2__c"]
    assert got.loc["A9", ["Bucket", "State"]].tolist() == ["historical", "AK"]


def test_recently_called_is_strictly_inside_the_window():
    from dialflow.jobs.listiq import recently_called
    from tests.conftest import calls_frame

    calls = calls_frame(
        [
            ("A1", "1", "No Answer", "2026-10-26T12:00:00Z"),  # exactly 30 days: not inside
            ("A2", "1", "No Answer", "2026-10-26T12:00:01Z"),
            ("A3", "1", "Contact", "2026-11-26T00:00:00Z"),  # after as-of counts too
        ]
    )
    assert recently_called(calls, params())["AccountId"].tolist() == ["A2", "A3"]


def test_one_per_number_keeps_the_newest_record():
    from dialflow.jobs.listiq import one_per_number

    pool = pd.DataFrame(
        {
            "AccountId": ["B1", "B2", "B3", "B4"],
            "Phone": ["+12127365000", "+12127365000", "+14158675309", "+14158675309"],
            "CreatedDate": pd.to_datetime(
                ["2026-01-01", "2026-02-01", "2026-03-01", "2026-03-01"], utc=True
            ),
        }
    )
    assert sorted(one_per_number(pool)["AccountId"]) == ["B2", "B4"]


@pytest.mark.parametrize("seed", range(4))
def test_one_per_number_equals_one_sort_of_the_whole_pool(seed):
    """Only shared numbers are sorted now: the same rows, order and index as sorting the pool by
    phone, newest CreatedDate (missing last) and greatest Id."""
    import numpy as np

    from dialflow.jobs.listiq import _newest_per_phone, one_per_number

    rng = np.random.default_rng(seed)
    print(f"seed {seed}")
    n = 300
    dates = pd.to_datetime("2026-01-01", utc=True) + pd.to_timedelta(rng.integers(0, 5, n), "D")
    pool = pd.DataFrame(
        {
            "AccountId": pd.array([f"A{i:04d}" for i in rng.permutation(n)], dtype=STRING),
            "Phone": pd.array(
                [f"+1{n:010d}" for n in 2_000_000_000 + rng.integers(0, 400, n) * 7919],
                dtype=STRING,
            ),
            "CreatedDate": dates.where(rng.random(n) > 0.1),  # some missing
        },
        index=rng.permutation(n) + 1000,
    )
    assert pool["Phone"].duplicated().any()
    assert_frame_equal(one_per_number(pool), _newest_per_phone(pool))
    unique = pool.drop_duplicates("Phone")
    assert_frame_equal(one_per_number(unique), _newest_per_phone(unique))
    other = pool.assign(Phone=pool["Phone"].str.slice(1))  # not +1 E.164: the plain sort
    assert_frame_equal(one_per_number(other), _newest_per_phone(other))


def test_whole_job_exact_list_with_a_state_short_of_records():
    from dialflow.jobs.listiq import SHUFFLE, listiq_frame, seeded_order
    from tests.conftest import accounts_frame, calls_frame

    # CA (415) 3 recent + 10 older; NY (212) 1 recent + 2 older; FL none.
    rows = [account(f"CR{i}", f"2026-11-25T0{i}:00:00Z", Phone=f"415-867-530{i}") for i in range(3)]
    rows += [account(f"CH{i}", Phone=f"415-867-54{i:02d}") for i in range(10)]
    rows += [account("NR0", "2026-11-24T10:00:00Z", Phone="212-736-5100")]
    rows += [account(f"NH{i}", Phone=f"212-736-520{i}") for i in range(2)]
    rows += [account("NX", Phone="212-736-5300")]  # called 3 days ago
    accounts = accounts_frame(rows)
    calls = calls_frame([("NX", "2127365300", "No Answer", "2026-11-22T12:00:00Z")])
    area_codes, _ = reference()
    population = pd.Series({"CA": 50, "NY": 30, "FL": 20})
    run_params = params(target_total_records=10, seed=11)
    result = listiq_frame(
        accounts, calls, pd.Index([]), pd.Index([]), area_codes, population, run_params
    )
    # Quotas 5/3/2. FL has no records: its 2 go to CA and NY by population, NY has no spare,
    # so CA takes both -> 7. CA recent target floor(0.7 x 7 + 0.5) = 5 but only 3 exist: the
    # other 4 are older ones in seeded order. NY: all 3.
    assert result.plan[["quota", "granted", "shortfall"]].to_dict("index") == {
        "CA": {"quota": 5, "granted": 7, "shortfall": 0},
        "FL": {"quota": 2, "granted": 0, "shortfall": 2},
        "NY": {"quota": 3, "granted": 3, "shortfall": 0},
    }
    older_ca = pd.Series([f"CH{i}" for i in range(10)])
    first_four = older_ca.iloc[seeded_order(older_ca, 11).argsort()[:4]].tolist()
    expected = {"CR0", "CR1", "CR2", *first_four, "NR0", "NH0", "NH1"}
    listed = result.call_list
    assert set(listed["AccountId"]) == expected and len(listed) == 10
    # Shuffled by the seed's own stream, not in pick order.
    ids = listed["AccountId"]
    assert ids.tolist() == ids.iloc[seeded_order(ids, 11, SHUFFLE).argsort()].tolist()
    row = listed.set_index("AccountId").loc["CR0"]
    assert row.to_dict() == {
        "AccountName": "Name CR0",
        "Phone": "+14158675300",
        "PhoneField": "Phone",
        "State": "CA",
        "TimeZone": "America/Los_Angeles",
        "WindowStartLocal": "2026-11-25T08:00:00-08:00",
        "WindowEndLocal": "2026-11-25T21:00:00-08:00",
        "Bucket": "recent",
    }
    counts = result.counts
    assert {k: v for k, v in counts["accounts_by_status"].items() if v} == {
        "callable": 16,
        "recently_called": 1,
    }
    assert (counts["target"], counts["delivered"], counts["pool"]) == (10, 10, 16)
    assert counts["delivered_by_bucket"] == {"recent": 4, "historical": 6}
    assert counts["states"]["FL"]["shortfall"] == 2
    assert counts["states"]["CA"]["recent_delivered"] == 3


def test_dask_wiring_equals_the_pandas_reference_on_demo_data(tmp_path):
    from datetime import date

    import dask.dataframe as dd

    from dialflow.demo import generate_demo_data
    from dialflow.jobs.listiq import account_columns, listiq_frame, run_listiq
    from dialflow.sources import FileSource
    from dialflow.sources.reference import load_reference_tables

    generate_demo_data(tmp_path, accounts=3000, calls=9000, seed=5, as_of=AS_OF.normalize())
    # A Sunday, with the shipped state rules: AL, LA, MS, RI and UT are closed.
    run_params = params(target_total_records=700, call_date=date(2026, 11, 29))
    rules = load_reference_tables(None).calling_rules
    source = FileSource(tmp_path, {}, run_params.phone_fields)
    accounts = source.read("Account", account_columns(run_params)).compute()
    calls = source.read("Task", ["AccountId", "CreatedDate"]).compute()
    area_codes, population = reference()
    excluded = pd.Index(accounts["Id"].iloc[::50])
    expected = listiq_frame(
        accounts, calls, excluded, pd.Index([]), area_codes, population, run_params, rules
    )
    for partitions in (1, 4):
        got = run_listiq(
            dd.from_pandas(accounts, npartitions=partitions),
            dd.from_pandas(calls, npartitions=partitions + 2),
            excluded,
            pd.Index([]),
            area_codes,
            population,
            run_params,
            rules=rules,
        )
        pd.testing.assert_frame_equal(got.call_list, expected.call_list)
        pd.testing.assert_frame_equal(got.plan, expected.plan)
        assert got.counts == expected.counts
    assert len(expected.call_list) == 700
    assert sorted(expected.closed) == ["AL", "LA", "MS", "RI", "UT"]
    assert not expected.call_list["State"].isin(list(expected.closed)).any()
    assert expected.counts["accounts_by_status"]["dedupe_flagged"] == len(excluded) - (
        accounts["Do_Not_Call__c"].fillna(False).iloc[::50].sum()
    )


def test_account_status_on_a_partition_whose_index_repeats():
    from dialflow.jobs.listiq import account_status
    from tests.conftest import accounts_frame

    accounts = accounts_frame(
        [account("D1", Phone="junk", Phone_2__c="212-736-5000"), account("D2", Phone="4158675309")]
    ).set_axis([0, 0])
    area_codes, _ = reference()
    status = account_status(accounts, pd.Index([]), pd.Index([]), area_codes, params())
    assert status["Phone"].tolist() == ["+12127365000", "+14158675309"]
    assert status["PhoneField"].tolist() == ["Phone_2__c", "Phone"]


def test_a_state_closed_on_the_call_date_passes_its_quota_to_the_open_states():
    from datetime import date

    from dialflow.calling_rules import RULE_COLUMNS, check_calling_rules
    from dialflow.jobs.listiq import listiq_frame
    from tests.conftest import accounts_frame, calls_frame

    # CA (415) 3 recent + 10 older; NY (212) 1 recent + 2 older; FL none. NY closes on Sundays.
    rows = [account(f"CR{i}", f"2026-11-25T0{i}:00:00Z", Phone=f"415-867-530{i}") for i in range(3)]
    rows += [account(f"CH{i}", Phone=f"415-867-54{i:02d}") for i in range(10)]
    rows += [account("NR0", "2026-11-24T10:00:00Z", Phone="212-736-5100")]
    rows += [account(f"NH{i}", Phone=f"212-736-520{i}") for i in range(2)]
    ny = dict.fromkeys(RULE_COLUMNS, "")
    ny.update(state="NY", sunday_start="closed", sunday_end="closed", source="test",
              verified="2026-11-29")  # fmt: skip
    holidays = pd.DataFrame(columns=["holiday", "name", "rule", "years", "observance"])
    rules = check_calling_rules(pd.DataFrame([ny]), holidays, {"CA", "FL", "NY"}, "test")
    area_codes, _ = reference()
    population = pd.Series({"CA": 50, "NY": 30, "FL": 20})
    sunday = params(target_total_records=10, seed=11, call_date=date(2026, 11, 29))
    result = listiq_frame(
        accounts_frame(rows), calls_frame([]), pd.Index([]), pd.Index([]), area_codes,
        population, sunday, rules,
    )  # fmt: skip
    # Quotas 5/3/2. NY is closed and FL has no records: their 5 go to CA, the only open state
    # with records, which takes all 10 (its 3 recent and 7 older).
    assert result.plan[["quota", "granted", "shortfall"]].to_dict("index") == {
        "CA": {"quota": 5, "granted": 10, "shortfall": 0},
        "FL": {"quota": 2, "granted": 0, "shortfall": 2},
        "NY": {"quota": 3, "granted": 0, "shortfall": 3},
    }
    assert set(result.call_list["State"]) == {"CA"} and len(result.call_list) == 10
    assert result.closed == {"NY": "no calls on Sundays"}
    assert result.counts["closed_states"] == {"NY": "no calls on Sundays"}
    assert result.counts["states"]["NY"]["recent_available"] == 1  # still counted in the pool
    # The same data on the Monday: NY is open again and gets its 3.
    monday = sunday.model_copy(update={"call_date": date(2026, 11, 30)})
    again = listiq_frame(
        accounts_frame(rows), calls_frame([]), pd.Index([]), pd.Index([]), area_codes,
        population, monday, rules,
    )  # fmt: skip
    assert again.plan.loc["NY", "granted"] == 3 and again.closed == {}


def test_an_account_at_its_states_attempt_cap_is_left_out_in_pandas_and_on_dask():
    import dask.dataframe as dd

    from dialflow.calling_rules import RULE_COLUMNS, check_calling_rules
    from dialflow.jobs.listiq import listiq_frame, run_listiq
    from tests.conftest import accounts_frame, calls_frame

    fl = dict.fromkeys(RULE_COLUMNS, "")
    fl.update(state="FL", attempt_cap="3", attempt_window_hours="24", source="test",
              verified="2026-11-29")  # fmt: skip
    holidays = pd.DataFrame(columns=["holiday", "name", "rule", "years", "observance"])
    rules = check_calling_rules(pd.DataFrame([fl]), holidays, {"FL", "NY"}, "test")
    rows = [
        account("F3", Phone="305-555-0103"),
        account("F2", Phone="305-555-0102"),
        account("FOLD", Phone="305-555-0104"),
        account("N3", Phone="212-736-5103"),
    ]
    # 25 Nov 2026: Florida's window opens 8:00 EST = 13:00 UTC, so calls from 24 Nov 13:00 UTC
    # count. F3 has 3 of them (capped); F2 has 2; FOLD's third is an hour too early; New York
    # has no cap. With contact_days_threshold 0 none of these calls (all before --as-of) is
    # "recently called".
    calls = [
        *(("F3", "", "No Answer", f"2026-11-{d}Z") for d in ("24T13:00", "25T09:00", "25T11:59")),
        *(("F2", "", "No Answer", f"2026-11-{d}Z") for d in ("24T14:00", "25T09:00")),
        *(("FOLD", "", "No Answer", f"2026-11-{d}Z") for d in ("24T12:00", "24T14:00", "25T09:00")),
        *(("N3", "", "No Answer", f"2026-11-{d}Z") for d in ("24T14:00", "25T09:00", "25T10:00")),
    ]
    area_codes, _ = reference()
    population = pd.Series({"FL": 50, "NY": 50})
    run_params = params(target_total_records=10, contact_days_threshold=0)
    accounts, tasks = accounts_frame(rows), calls_frame(calls)
    expected = listiq_frame(
        accounts, tasks, pd.Index([]), pd.Index([]), area_codes, population, run_params, rules
    )
    assert sorted(expected.call_list["AccountId"]) == ["F2", "FOLD", "N3"]
    assert {k: v for k, v in expected.counts["accounts_by_status"].items() if v} == {
        "callable": 3,
        "attempt_cap": 1,
    }
    # On Dask, with 20 more capped accounts so that they land in several partitions: each must
    # meet its calls whatever the partition counts.
    more = [account(f"C{i:02d}", Phone=f"305-555-02{i:02d}") for i in range(20)]
    more_calls = [
        (f"C{i:02d}", "", "No Answer", f"2026-11-25T0{hour}:00Z") for i in range(20)
        for hour in (1, 2, 3)
    ]  # fmt: skip
    accounts, tasks = accounts_frame(rows + more), calls_frame(calls + more_calls)
    expected = listiq_frame(
        accounts, tasks, pd.Index([]), pd.Index([]), area_codes, population, run_params, rules
    )
    assert expected.counts["accounts_by_status"]["attempt_cap"] == 21
    for account_parts, task_parts in ((2, 3), (5, 2), (4, 7)):
        got = run_listiq(
            dd.from_pandas(accounts, npartitions=account_parts),
            dd.from_pandas(tasks, npartitions=task_parts),
            pd.Index([]), pd.Index([]), area_codes, population, run_params, rules=rules,
        )  # fmt: skip
        pd.testing.assert_frame_equal(got.call_list, expected.call_list)
        assert got.counts == expected.counts
