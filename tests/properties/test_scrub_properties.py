"""listiq's Do Not Call scrub on Dask equals a plain pandas anti-join, for any registry, internal
list, EBR flags and partitioning (as many scrub partitions as area codes, or one)."""

import dask
import dask.dataframe as dd
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialflow.jobs.listiq import run_listiq
from tests.conftest import accounts_frame, calls_frame
from tests.jobs.test_listiq import params, reference
from tests.jobs.test_listiq_dnc import EBR, MANY_CODES, registry_reader, with_dates

AREA_CODES, POPULATION = reference()
LINES = range(4)  # few lines per area code, so that accounts share numbers


@st.composite
def scrubs(draw):
    # 16 area codes or more make 16 scrub partitions or more (with a weight of 1).
    codes = MANY_CODES[: draw(st.sampled_from([1, 3, 16, 40]))]
    number = st.tuples(st.sampled_from(codes), st.sampled_from(LINES)).map(
        lambda t: int(f"{t[0]}555010{t[1]}")
    )
    every_code = [(int(f"{code}5550100"), False) for code in codes]
    holders = every_code + draw(st.lists(st.tuples(number, st.booleans()), max_size=40))
    registry = draw(st.sets(number, max_size=30))
    internal = draw(st.sets(number, max_size=10))
    weight = draw(st.sampled_from([1, 40, 10**9]))  # a partition per area code, some, one
    return holders, sorted(registry), sorted(internal), weight, draw(st.integers(1, 20))


def anti_join(holders, registry, internal) -> tuple[dict, set]:
    """The scrub's counts by pandas merges (the internal list first, then the registry unless
    exempt; one account per number among the rest) and the numbers left to call."""
    candidates = pd.DataFrame(holders, columns=["Number", "Ebr"])
    on_internal = candidates.merge(
        pd.DataFrame({"Number": internal}).drop_duplicates(), how="left", indicator=True
    )["_merge"].eq("both")
    on_registry = candidates.merge(
        pd.DataFrame({"Number": registry}).drop_duplicates(), how="left", indicator=True
    )["_merge"].eq("both")
    registry_only = ~on_internal & on_registry
    left = candidates[~on_internal & ~(registry_only & ~candidates["Ebr"])]
    return {
        "internal_dnc": int(on_internal.sum()),
        "dnc_registry": int((registry_only & ~candidates["Ebr"]).sum()),
        "callable": int(left["Number"].nunique()),
        "shared_number": len(left) - int(left["Number"].nunique()),
        "ebr_exempted": int((registry_only & candidates["Ebr"]).sum()),
        "internal_numbers": len(set(internal)),
    }, set(left["Number"])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scrubs())
def test_the_scrub_on_dask_equals_a_pandas_anti_join(scrub):
    holders, registry, internal, weight, partitions = scrub
    ids = [f"A{i:03d}" for i in range(len(holders))]
    accounts = accounts_frame(
        [{"Id": i, "Name": i, "Phone": str(n)} for i, (n, _) in zip(ids, holders, strict=True)]
    )
    accounts = with_dates(
        accounts, {i: "2026-06-01" for i, (_, ebr) in zip(ids, holders, strict=True) if ebr}, {}
    )
    frame = pd.DataFrame({"Number": pd.Series(registry, dtype="int64")})
    table = pd.DataFrame({"Phone": [f"+1{n}" for n in internal]}, dtype="string[pyarrow]")
    expected, left = anti_join(holders, registry, internal)
    with dask.config.set(scheduler="sync"):
        got = run_listiq(
            dd.from_pandas(accounts, npartitions=min(partitions, len(accounts))),
            dd.from_pandas(calls_frame([]), npartitions=1),
            pd.Index([]), pd.Index([]), AREA_CODES, POPULATION,
            params(target_total_records=1000, ebr=EBR, scrub_partition_numbers=weight),
            registry_numbers=frame["Number"].floordiv(10**7).astype(str).value_counts(),
            read_registry=registry_reader(frame),
            internal=dd.from_pandas(table, npartitions=1) if internal else None,
        )  # fmt: skip
    statuses = got.counts["accounts_by_status"]
    assert {k: statuses.get(k, 0) for k in list(expected)[:4]} == dict(list(expected.items())[:4])
    assert got.counts["dnc"]["ebr_exempted"] == expected["ebr_exempted"]
    assert got.counts["dnc"]["internal_numbers"] == expected["internal_numbers"]
    assert sum(statuses.values()) == len(holders)
    assert set(got.call_list["Phone"].str.slice(2).astype("int64")) == left
