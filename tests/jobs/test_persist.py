"""Persisting a reduction keeps every group: Dask's optimiser gives a groupby aggregation over
16 or more partitions several output partitions (split_out), and a persisted collection built
from the unoptimised expression kept only the first of them (docs/dnc.md, "The 250M defect")."""

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from dialflow.jobs import dask_persist


def counts_by_key(partitions: int) -> tuple[dd.Series, pd.Series]:
    frame = pd.DataFrame({"Key": np.arange(partitions * 6) % 5, "x": np.arange(partitions * 6)})
    sizes = dd.from_pandas(frame, npartitions=partitions).groupby("Key").size()
    return sizes, frame.groupby("Key").size()


@pytest.mark.parametrize("partitions", [1, 15, 16, 31, 40])
def test_a_persisted_groupby_size_keeps_every_group(partitions):
    sizes, expected = counts_by_key(partitions)
    with dask.config.set(scheduler="sync"):
        (persisted,) = dask_persist(sizes, stage="count")
        got = persisted.compute().sort_index()
    assert got.to_dict() == expected.to_dict()
    assert int(got.sum()) == partitions * 6


@pytest.mark.slow
def test_the_progress_persist_on_a_cluster_keeps_every_group():
    from dialflow.cluster import open_client
    from dialflow.config import ClusterSettings
    from dialflow.progress import ProgressCompute

    sizes, expected = counts_by_key(31)
    settings = ClusterSettings(n_workers=1, memory_limit="1GiB", dashboard_address=":0")
    with open_client(settings) as client:
        (persisted,) = ProgressCompute(client, "listiq").persist(sizes, stage="count")
        got = persisted.compute().sort_index()
    assert got.to_dict() == expected.to_dict()
