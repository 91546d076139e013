"""Dedupe invariants on random account tables, checked against networkx as an independent oracle."""

import dask.dataframe as dd
import networkx as nx
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from dialflow.jobs.dedupe import account_keys, dedupe_frame, run_dedupe
from dialflow.schema import DEFAULT_PHONE_FIELDS
from tests.conftest import accounts_frame, exact_dedupe_params

PARAMS = exact_dedupe_params(
    match_keys=("phone", "name_postal"),
    phone_field=DEFAULT_PHONE_FIELDS[0],
    region="US",
    postal_digits=5,
    legal_suffixes=("inc", "llc", "co"),
)
# Small pools so that random records collide often, in several spellings.
PHONES = ["(415) 867-5309", "+1 415.867.5309", "617-253-1000", "212 736 5000", "", None, "12345"]
NAMES = ["Acme Inc", "ACME, LLC", "acme", "Bolt Co", "Bolt", "Cedar", None, "Inc."]
POSTALS = ["94105", "94105-1234", "10001", None, "123"]
DATES = [None, "2025-01-01", "2025-06-01", "2026-01-01T08:30:00Z"]


@st.composite
def account_tables(draw) -> pd.DataFrame:
    size = draw(st.integers(min_value=0, max_value=25))
    ids = draw(st.lists(st.integers(0, 999), min_size=size, max_size=size, unique=True))
    rows = [
        dict(
            Id=f"001{i:04d}",
            Phone=draw(st.sampled_from(PHONES)),
            Name=draw(st.sampled_from(NAMES)),
            BillingPostalCode=draw(st.sampled_from(POSTALS)),
            LastModifiedDate=draw(st.sampled_from(DATES)),
            CreatedDate=draw(st.sampled_from(DATES)),
        )
        for i in ids
    ]
    return accounts_frame(rows)


def newest_key(record: pd.Series) -> tuple:
    def stamp(value):
        return (0, pd.Timestamp.min.tz_localize("UTC")) if pd.isna(value) else (1, value)

    return (*stamp(record["LastModifiedDate"]), *stamp(record["CreatedDate"]), record["Id"])


def oracle(accounts: pd.DataFrame) -> pd.DataFrame:
    """Link every pair of records sharing a key value, naively, and pick survivors by hand."""
    keys = account_keys(accounts, PARAMS).dropna(subset=["KeyValue"])
    graph = nx.Graph()
    graph.add_nodes_from(accounts["Id"])
    for _, holders in keys.groupby("KeyValue")["Id"]:
        holders = list(holders)
        graph.add_edges_from((a, b) for a in holders for b in holders if a < b)
    by_id = accounts.set_index("Id", drop=False)
    rows = []
    for component in nx.connected_components(graph):
        if len(component) < 2:
            continue
        survivor = max(component, key=lambda i: newest_key(by_id.loc[i]))
        rows += [(i, survivor, len(component)) for i in component if i != survivor]
    return pd.DataFrame(rows, columns=["Id", "SurvivorId", "ClusterSize"]).sort_values("Id")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account_tables())
def test_clusters_and_survivors_match_the_oracle(accounts):
    flagged, counts = dedupe_frame(accounts, PARAMS)
    want = oracle(accounts)
    got = flagged[["Id", "SurvivorId", "ClusterSize"]].astype(object)
    assert got.values.tolist() == want.astype(object).values.tolist()
    # Exactly one survivor per cluster: survivors are never flagged, and each has one cluster.
    assert not set(flagged["SurvivorId"]) & set(flagged["Id"])
    assert counts["flagged"] + counts["clusters"] == counts["records_in_clusters"]
    # The survivor is the newest member.
    by_id = accounts.set_index("Id", drop=False)
    for record, survivor in zip(flagged["Id"], flagged["SurvivorId"], strict=True):
        assert newest_key(by_id.loc[survivor]) > newest_key(by_id.loc[record])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(account_tables())
def test_output_is_the_same_for_1_and_7_partitions(accounts):
    one = run_dedupe(dd.from_pandas(accounts, npartitions=1), PARAMS)
    seven = run_dedupe(dd.from_pandas(accounts, npartitions=7, sort=False), PARAMS)
    assert_frame_equal(one.flagged, seven.flagged)
    assert one.counts == seven.counts
