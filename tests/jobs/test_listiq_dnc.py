"""listiq's Do Not Call scrub on hand-built accounts and a registry store built from files:
exact rows in pandas and on Dask (no cluster), the EBR exemption's boundaries, the internal
list beating it, and the registry's age on the call date."""

from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from dialflow.config import EbrSettings
from dialflow.dnc import current_version, import_registry
from dialflow.errors import InputError
from dialflow.jobs.scrub import (
    DNC_REGISTRY,
    INTERNAL_DNC,
    area_code_groups,
    dnc_reasons,
    ebr_exempt,
    group_divisions,
    is_in,
)
from dialflow.sources.dnc import registry_for_call_date
from tests.jobs.test_listiq import AS_OF, account, params, reference

TODAY = date(2026, 11, 29)
EBR = EbrSettings(purchase_field="Last_Purchase__c", inquiry_field="Last_Inquiry__c")


def write(folder: Path, name: str, *lines: str) -> Path:
    path = folder / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="ascii")
    return path


def registry_store(tmp_path: Path, day: str = "2026-11-20") -> Path:
    """A registry of four area codes: 212 (six numbers), 305, 415 and 989 (one each)."""
    files = [
        write(tmp_path, f"dnc-full-212-{day}.txt",
              *(f"212,736500{n}" for n in (1, 2, 3, 4, 5, 7))),
        write(tmp_path, f"dnc-full-305-{day}.txt", "305,5550999"),
        write(tmp_path, f"dnc-full-415-{day}.txt", "415,5550101"),
        write(tmp_path, f"dnc-full-989-{day}.txt", "989,5550100"),
    ]  # fmt: skip
    store = tmp_path / "dnc"
    import_registry(files, store, today=TODAY)
    return store


def with_dates(accounts: pd.DataFrame, purchase: dict, inquiry: dict) -> pd.DataFrame:
    def column(dates: dict) -> pd.Series:
        values = accounts["Id"].map(dates).astype(object)
        return pd.to_datetime(values, utc=True, format="ISO8601").astype("datetime64[us, UTC]")

    return accounts.assign(Last_Purchase__c=column(purchase), Last_Inquiry__c=column(inquiry))


def scenario():
    """Accounts, their EBR dates and the Internal_DNC table of the whole-job tests."""
    from tests.conftest import accounts_frame

    rows = [
        account("R1", Phone="212-736-5001"),  # on the registry, no relationship
        account("E1", Phone="212-736-5002"),  # on it, purchase 6 months ago
        account("E2", Phone="212-736-5003"),  # on it, inquiry exactly 3 months ago
        account("E3", Phone="212-736-5004"),  # on it, inquiry 3 months and a day ago
        account("I1", Phone="212-736-5005"),  # on it and on the internal list, with a purchase
        account("I2", Phone="305-555-0100"),  # on the internal list only
        account("D1", Phone="415-555-0101", Phone_2__c="617-555-0102", Do_Not_Call__c=True),
        account("D2", Phone="617-555-0102"),  # D1's second number
        account("X1", "2026-01-02T00:00:00Z", Phone="212-736-5007"),  # newer, no relationship
        account("X2", "2025-01-02T00:00:00Z", Phone="212.736.5007"),  # same number, purchase
        account("OK1", Phone="212-736-5006"),
        account("OK2", Phone="907-555-0100"),
    ]
    purchase = {"E1": "2026-05-25T09:00:00Z", "I1": "2026-01-01", "X2": "2025-12-01"}
    inquiry = {"E2": "2026-08-25T23:59:00Z", "E3": "2026-08-24T23:59:00Z"}
    accounts = with_dates(accounts_frame(rows), purchase, inquiry)
    internal = pd.DataFrame(
        {"Phone": ["+1 212 736 5005", "(305) 555-0100", "n/a", None]}, dtype="string[pyarrow]"
    )
    return accounts, internal


EXPECTED_LIST = ["E1", "E2", "OK1", "OK2", "X2"]
EXPECTED_STATUSES = {
    "callable": 5,
    "do_not_call": 1,
    "internal_dnc": 3,  # I1 (despite its purchase), I2, D2
    "dnc_registry": 3,  # R1, E3, X1
}
EXPECTED_DNC = {
    "excluded": {"internal_dnc": 3, "registry": 3},
    "ebr_exempted": 3,  # E1, E2, X2
    "internal_numbers": 4,  # D1's two, the table's two valid ones
    "internal_invalid": 1,  # the table's "n/a" (its null is not written: not counted)
}


def test_ebr_dates_qualify_inside_the_months_before_the_call_date_only():
    accounts = with_dates(
        pd.DataFrame({"Id": list("abcdefg")}),
        {"a": "2025-05-25", "b": "2025-05-24T23:00:00Z", "c": "2026-11-25T00:00:00Z",
         "d": "2026-11-24T23:59:59Z", "e": "2027-01-01"},
        {"f": "2026-08-25", "g": "2026-08-24"},
    )  # fmt: skip
    exempt = ebr_exempt(accounts, EBR, date(2026, 11, 25))
    # 18 months back is the same day, included; the call day itself and later are not.
    assert dict(zip(accounts["Id"], exempt.tolist(), strict=True)) == {
        "a": True, "b": False, "c": False, "d": True, "e": False, "f": True, "g": False,
    }  # fmt: skip
    assert not ebr_exempt(accounts, None, date(2026, 11, 25)).any()
    months = EbrSettings(purchase_field="Last_Purchase__c", purchase_months=1)
    assert (
        ebr_exempt(accounts, months, date(2026, 11, 25)).tolist()
        == [False] * 3 + [True] + [False] * 3
    )


def test_the_internal_list_wins_over_an_exemption_and_the_registry_yields_to_one():
    import numpy as np

    status, exempted = dnc_reasons(
        np.array([1, 2, 3, 4, 5]),
        np.array([True, True, False, False, True]),
        registry=np.array([1, 2, 3]),
        internal=np.array([1, 4]),
    )
    assert status.tolist() == [INTERNAL_DNC, "callable", DNC_REGISTRY, INTERNAL_DNC, "callable"]
    assert exempted.tolist() == [False, True, False, False, False]


@pytest.mark.parametrize("seed", range(5))
def test_is_in_equals_numpys_isin_for_any_order_and_repeats(seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    print(f"seed {seed}")
    values = rng.integers(0, 60, int(rng.integers(0, 40)))  # unsorted, with repeats, or none
    numbers = rng.integers(-5, 70, 50)
    assert is_in(numbers, values).tolist() == np.isin(numbers, values).tolist()
    assert is_in(numbers[:0], values).tolist() == []


@pytest.mark.parametrize("seed", range(3))
def test_is_in_by_area_code_tables_equals_numpys_isin(seed):
    """Ten-digit numbers over a few area codes (the table per area code), values sorted as the
    registry arrives or not, and more area codes than tables (the sorted search)."""
    import numpy as np

    from dialflow.jobs.scrub import MAX_TABLES

    rng = np.random.default_rng(seed)
    print(f"seed {seed}")
    codes = rng.choice(np.arange(200, 1000), 6, replace=False) * 10**7
    values = rng.choice(codes, 5000) + rng.integers(0, 2000, 5000)
    numbers = np.concatenate([rng.choice(codes, 3000) + rng.integers(0, 2000, 3000),
                              [codes[0] - 1, codes[0] + 10**7, 0, -1]])  # fmt: skip
    for registry in (np.sort(values), values):
        assert is_in(numbers, registry).tolist() == np.isin(numbers, registry).tolist()
    spread = rng.integers(0, 10**13, MAX_TABLES + 50)  # one "area code" each, nearly all
    spread_values = np.concatenate([spread[::3], rng.integers(0, 10**13, 100)])
    assert is_in(spread, spread_values).tolist() == np.isin(spread, spread_values).tolist()


def test_area_codes_are_grouped_by_weight_and_only_the_used_ones_are_kept():
    registry = pd.Series({"201": 10, "212": 50, "305": 5, "989": 1000})
    candidates = pd.Series({"201": 1, "212": 0, "305": 2, "415": 1})
    # 201: 10 + 16; 305: 5 + 32; 415: 16. 212 and 989 have no candidate.
    assert area_code_groups(registry, candidates, weight=70) == [("201", "305"), ("415",)]
    assert area_code_groups(registry, candidates, weight=30) == [("201",), ("305",), ("415",)]
    assert group_divisions([("201", "305"), ("415",)]) == (0, 4150000000, 10**10)
    assert area_code_groups(registry, pd.Series(dtype="int64")) == [()]
    assert group_divisions([()]) == (0, 10**10)


def test_registry_numbers_dropped_exemptions_kept_internal_wins_in_pandas_and_on_dask(
    tmp_path,
):
    import dask
    import dask.dataframe as dd

    from dialflow.jobs import dask_compute
    from dialflow.jobs.listiq import listiq_frame, run_listiq, without_listed_alt_phones
    from tests.conftest import calls_frame

    store = registry_store(tmp_path)
    accounts, internal = scenario()
    area_codes, population = reference()
    run_params = params(target_total_records=100, ebr=EBR)
    registry = pq.read_table(current_version(store) / "numbers", columns=["number"])
    registry = registry.to_pandas().rename(columns={"number": "Number"})
    calls = calls_frame([])
    expected = listiq_frame(
        accounts, calls, pd.Index([]), pd.Index([]), area_codes, population, run_params,
        registry=registry, internal=internal,
    )  # fmt: skip
    assert sorted(expected.call_list["AccountId"]) == EXPECTED_LIST
    assert expected.call_list.set_index("AccountId").at["X2", "Phone"] == "+12127365007"
    statuses = {k: v for k, v in expected.counts["accounts_by_status"].items() if v}
    assert statuses == EXPECTED_STATUSES
    assert expected.counts["dnc"] == EXPECTED_DNC

    # Without the exemption, E1, E2 and X2 go too; without the registry, only the internal list.
    no_ebr = listiq_frame(
        accounts, calls, pd.Index([]), pd.Index([]), area_codes, population,
        params(target_total_records=100), registry=registry, internal=internal,
    )  # fmt: skip
    assert sorted(no_ebr.call_list["AccountId"]) == ["OK1", "OK2"]
    no_registry = listiq_frame(
        accounts, calls, pd.Index([]), pd.Index([]), area_codes, population, run_params
    )
    assert no_registry.counts["dnc"]["internal_invalid"] == 0  # no table: nothing to count
    assert sorted(no_registry.call_list["AccountId"]) == [
        "E1", "E2", "E3", "I1", "I2", "OK1", "OK2", "R1", "X1",
    ]  # fmt: skip

    # On Dask: the registry is read from the store by area code, 989 (no candidate) never: its
    # file is broken now, and reading it would stop the run.
    version = registry_for_call_date(store, AS_OF.date())
    (current_version(store) / "numbers" / "area_code=989" / "part-0.parquet").write_bytes(b"x")
    run_params = run_params.model_copy(update={"scrub_partition_numbers": 20})  # 3 partitions
    with dask.config.set(scheduler="sync"):
        for parts in (1, 3):
            got = run_listiq(
                dd.from_pandas(accounts, npartitions=parts),
                dd.from_pandas(calls, npartitions=1),
                pd.Index([]), pd.Index([]), area_codes, population, run_params,
                registry_numbers=version.numbers, read_registry=version.reader(),
                internal=dd.from_pandas(internal, npartitions=2),
            )  # fmt: skip
            pd.testing.assert_frame_equal(got.call_list, expected.call_list)
            assert got.counts == expected.counts

        # The exports' alternate phones are scrubbed the same way: OK1's is on the registry,
        # OK2's on the internal list; X2's is on the registry, but X2 has a recent purchase.
        details = pd.DataFrame(
            {
                "AccountId": ["OK1", "OK2", "X2", "E1", "E2"],
                "AltPhone": ["+12127365001", "+13055550100", "+12127365002", "+12127365099",
                             None],
            },
            index=[10, 11, 12, 13, 14],
        ).astype("string[pyarrow]")  # fmt: skip
        kept, dropped = without_listed_alt_phones(details, got.dnc, dask_compute)
    assert dropped == 2
    assert kept["AltPhone"].tolist() == [pd.NA, pd.NA, "+12127365002", "+12127365099", pd.NA]
    assert kept.index.tolist() == [10, 11, 12, 13, 14]


def test_a_stale_registry_stops_unless_allowed_until_the_call_date(tmp_path):
    store = registry_store(tmp_path, day="2026-10-20")
    with pytest.raises(InputError) as caught:
        registry_for_call_date(store, date(2026, 11, 25))
    assert caught.value.exit_code == 2
    assert str(caught.value) == (
        f"dnc.path {store}: the DNC registry is 36 days old on call date 2026-11-25: area "
        f"code 212 (and 3 more area codes) was last updated 2026-10-20, and at most 31 days "
        f"are allowed; download a change list (or the full lists) and run dialflow dnc import"
    )
    day = date(2026, 11, 25)
    allowed = registry_for_call_date(store, day, allow_stale_until=day)
    assert allowed.summary["stale_allowed_until"] == "2026-11-25"
    assert allowed.summary["registry_date"] == "2026-10-20"
    assert allowed.summary["stale"].startswith("the DNC registry is 36 days old")
    assert "used anyway because dnc.allow_stale_until is 2026-11-25" in allowed.warning
    with pytest.raises(InputError) as expired:  # the override has expired
        registry_for_call_date(store, date(2026, 11, 25), allow_stale_until=date(2026, 11, 24))
    assert str(expired.value) == (
        f"{caught.value} (dnc.allow_stale_until 2026-11-24 is before the call date)"
    )
    fresh = registry_for_call_date(store, date(2026, 11, 20))
    assert fresh.warning is None and "stale_allowed_until" not in fresh.summary
    assert fresh.numbers.to_dict() == {"212": 6, "305": 1, "415": 1, "989": 1}


def test_no_registry_warns_or_stops_when_required(tmp_path):
    none = registry_for_call_date(tmp_path / "dnc", date(2026, 11, 25))
    assert none.summary == {"registry": "none"} and none.reader() is None
    assert "NOT scrubbed against the National Do Not Call Registry" in none.warning
    with pytest.raises(InputError, match="no DNC registry has been imported and dnc.required"):
        registry_for_call_date(tmp_path / "dnc", date(2026, 11, 25), required=True)


# 40 area codes, each a scrub partition of its own: more than the 16 partitions from which
# Dask's optimiser splits a groupby's result, which a persist then lost (docs/dnc.md).
MANY_CODES = (
    "201", "202", "203", "205", "206", "207", "208", "209", "210", "212", "213", "214", "215",
    "216", "217", "218", "219", "224", "225", "228", "229", "231", "234", "239", "240", "248",
    "251", "252", "253", "254", "256", "260", "262", "267", "269", "270", "276", "281", "301",
    "302",
)  # fmt: skip


def many_codes_scenario():
    """Six accounts per area code: callable (0), on the registry (1), on it with a purchase
    (2), on the Internal_DNC table (3), and two sharing one number (4 and 5: the newer wins)."""
    from tests.conftest import accounts_frame

    rows, registry, internal = [], [], []
    for code in MANY_CODES:
        rows += [
            account(f"{code}-0", Phone=f"{code}-555-0100"),
            account(f"{code}-1", Phone=f"{code}-555-0101"),
            account(f"{code}-2", Phone=f"{code}-555-0102"),
            account(f"{code}-3", Phone=f"{code}-555-0103"),
            account(f"{code}-4", "2025-01-01T00:00:00Z", Phone=f"{code}-555-0104"),
            account(f"{code}-5", "2026-01-01T00:00:00Z", Phone=f"({code}) 555-0104"),
        ]
        registry += [int(f"{code}5550101"), int(f"{code}5550102")]
        internal.append(f"+1{code}5550103")
    accounts = with_dates(
        accounts_frame(rows), {f"{code}-2": "2026-06-01" for code in MANY_CODES}, {}
    )
    registry = pd.DataFrame({"Number": pd.Series(registry, dtype="int64")})
    return accounts, registry, pd.DataFrame({"Phone": internal}, dtype="string[pyarrow]")


def registry_reader(registry: pd.DataFrame):
    """A `read(area_codes)` over an in-memory registry, by area code as the store's."""

    def numbers_in(codes: tuple[str, ...]) -> pd.DataFrame:
        return registry[registry["Number"].floordiv(10**7).astype(str).isin(codes)]

    return numbers_in


def many_codes_listiq():
    """The 40-code scenario's pandas reference, and `run(parts, **kwargs)`: run_listiq on it
    with `parts` account partitions and one area code per scrub partition (40 partitions)."""
    import dask.dataframe as dd

    from dialflow.jobs.listiq import listiq_frame, run_listiq
    from tests.conftest import calls_frame

    accounts, registry, internal = many_codes_scenario()
    area_codes, population = reference()
    run_params = params(target_total_records=1000, ebr=EBR)
    calls = calls_frame([])
    expected = listiq_frame(
        accounts, calls, pd.Index([]), pd.Index([]), area_codes, population, run_params,
        registry=registry, internal=internal,
    )  # fmt: skip
    by_code = registry["Number"].floordiv(10**7).astype(str).value_counts()
    run_params = run_params.model_copy(update={"scrub_partition_numbers": 1})  # one per code

    def run(parts: int, **kwargs):
        return run_listiq(
            dd.from_pandas(accounts, npartitions=parts),
            dd.from_pandas(calls, npartitions=1),
            pd.Index([]), pd.Index([]), area_codes, population, run_params,
            registry_numbers=by_code, read_registry=registry_reader(registry),
            internal=dd.from_pandas(internal, npartitions=2), **kwargs,
        )  # fmt: skip

    return expected, run


def test_forty_scrub_partitions_count_every_candidate_once_as_in_pandas():
    import dask

    expected, run = many_codes_listiq()
    listed = {f"{code}-{n}" for code in MANY_CODES for n in (0, 2, 5)}
    assert set(expected.call_list["AccountId"]) == listed
    statuses = {k: v for k, v in expected.counts["accounts_by_status"].items() if v}
    assert statuses == {"callable": 120, "internal_dnc": 40, "dnc_registry": 40,
                        "shared_number": 40}  # fmt: skip
    assert expected.counts["dnc"] == {
        "excluded": {"internal_dnc": 40, "registry": 40},
        "ebr_exempted": 40,
        "internal_numbers": 40,
        "internal_invalid": 0,
    }
    with dask.config.set(scheduler="sync"):
        for parts in (3, 20):  # 20: the account statuses' own counts span 16+ partitions
            got = run(parts)
            assert got.counts == expected.counts
            pd.testing.assert_frame_equal(got.call_list, expected.call_list)


def test_the_scrub_fails_closed_when_its_counts_do_not_add_up():
    from dialflow.errors import DialflowError
    from dialflow.jobs.listiq import check_scrub_total

    reasons = pd.Series({"callable": 5, "internal_dnc": 1, "dnc_registry": 2})
    check_scrub_total(reasons, 8, 5)  # every candidate counted once, a pool of 5 from 5
    check_scrub_total(reasons, 8, 4)  # two callable accounts share a number
    fix = "no call list was written (a defect: report it with the run's run.log)"
    with pytest.raises(DialflowError) as fewer:
        check_scrub_total(reasons, 1_000_000, 5)
    assert fewer.value.exit_code == 1
    assert str(fewer.value) == (
        f"listiq: the Do Not Call scrub returned 8 of 1,000,000 candidates; {fix}"
    )
    with pytest.raises(DialflowError, match="returned 8 of 7 candidates"):
        check_scrub_total(reasons, 7, 5)
    with pytest.raises(DialflowError) as larger_pool:
        check_scrub_total(reasons, 8, 6)
    assert str(larger_pool.value) == (
        f"listiq: the pool holds 6 accounts but the Do Not Call scrub left 5 callable; {fix}"
    )
    with pytest.raises(DialflowError, match="holds 1 accounts but .* left 0 callable"):
        check_scrub_total(pd.Series({"internal_dnc": 3}), 3, 1)


def test_listiq_stops_on_counts_lost_by_a_persist_of_unoptimised_frames():
    """Dask's own persist, as the jobs used it before the fix, loses the scrub's counts over 16
    or more partitions; the check stops the run instead of writing a list."""
    import re

    import dask

    from dialflow.errors import DialflowError

    _, run = many_codes_listiq()
    with dask.config.set(scheduler="sync"), pytest.raises(DialflowError) as caught:
        run(3, persist=lambda *collections, stage: dask.persist(*collections))
    returned = re.fullmatch(
        r"listiq: the Do Not Call scrub returned (\d+) of 240 candidates; no call list was "
        r"written \(a defect: report it with the run's run\.log\)",
        str(caught.value),
    )
    assert returned and int(returned.group(1)) < 240


def test_internal_dnc_values_written_but_not_valid_numbers_are_counted():
    from dialflow.jobs.scrub import internal_numbers, written_values

    table = pd.DataFrame(
        {"Phone": ["(212) 736-5000", "n/a", "", "   ", None, "555-0100", "+44 20 7946 0018",
                   "212.736.5000"]},
        dtype="string[pyarrow]",
    )  # fmt: skip
    # Written: all but the empty, the blank and the null. Valid +1: the two 212 numbers; the
    # London number is valid but can match no +1 candidate.
    assert written_values(table) == 5
    assert internal_numbers(table, "US")["Number"].tolist() == [2127365000, 2127365000]
    assert written_values(table.iloc[:0]) == 0


@pytest.mark.slow
def test_forty_scrub_partitions_on_a_cluster_count_as_in_pandas():
    """The runner's persist (`ProgressCompute.persist`, distributed) on the 40-partition scrub:
    the path the 250M-number benchmark took."""
    from dialflow.cluster import open_client
    from dialflow.config import ClusterSettings
    from dialflow.progress import ProgressCompute

    expected, run = many_codes_listiq()
    settings = ClusterSettings(n_workers=1, memory_limit="1GiB", dashboard_address=":0")
    # Workers in process: the distributed scheduler's persist is what is tested, not processes.
    with open_client(settings, processes=False) as client:
        compute = ProgressCompute(client, "listiq")
        got = run(20, compute=compute, persist=compute.persist)
    assert got.counts == expected.counts
    pd.testing.assert_frame_equal(got.call_list, expected.call_list)


def test_the_scrub_partition_setting_defaults_to_the_scrubs_partition_weight():
    from dialflow.config import ListiqSettings
    from dialflow.jobs.scrub import PARTITION_WEIGHT

    assert ListiqSettings().scrub_partition_numbers == PARTITION_WEIGHT
    assert params().scrub_partition_numbers == PARTITION_WEIGHT
