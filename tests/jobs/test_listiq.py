import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialflow.jobs.listiq import apportion, largest_remainder, recent_quota, split_buckets


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
