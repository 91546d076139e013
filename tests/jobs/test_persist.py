"""Persisting keeps every group and runs every step once.

A reduction: Dask's optimiser gives a groupby aggregation over 16 or more partitions several
output partitions (split_out), and a persisted collection built from the unoptimised expression
kept only the first of them (docs/dnc.md, "The 250M defect"). The steps: a persisted frame whose
partitions the optimiser changes (Parquet reads it fuses) was computed again by every later
compute on a cluster (docs/architecture.md, "Persisting").
"""

import uuid
from pathlib import Path

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


def local_cluster():
    from dialflow.cluster import open_client
    from dialflow.config import ClusterSettings

    return open_client(ClusterSettings(n_workers=1, memory_limit="1GiB", dashboard_address=":0"))


@pytest.mark.slow
def test_the_progress_persist_on_a_cluster_keeps_every_group():
    from dialflow.progress import ProgressCompute

    sizes, expected = counts_by_key(31)
    with local_cluster() as client:
        (persisted,) = ProgressCompute(client, "listiq").persist(sizes, stage="count")
        got = persisted.compute().sort_index()
    assert got.to_dict() == expected.to_dict()


def _prepared(partition: pd.DataFrame, calls: str) -> pd.DataFrame:
    """The partition, leaving one file in `calls` per call (the workers are other processes)."""
    (Path(calls) / uuid.uuid4().hex).touch()
    return partition.assign(y=partition["x"] * 2)


def steps_run(calls: Path) -> int:
    return len(list(calls.iterdir()))


@pytest.mark.slow
def test_a_persisted_frame_is_not_computed_again_by_the_stages_after_it(tmp_path):
    from dialflow.progress import ProgressCompute

    # Four small Parquet files: the optimiser fuses their reads, so the partitions change.
    data, calls = tmp_path / "data", tmp_path / "calls"
    data.mkdir()
    calls.mkdir()
    for i in range(4):
        wide = {f"other{j}": np.zeros(10) for j in range(20)}
        part = pd.DataFrame({"x": np.arange(i * 10, i * 10 + 10), **wide})
        part.to_parquet(data / f"{i}.parquet")
    frame = dd.read_parquet(data, columns=["x"])
    prepared = frame.map_partitions(_prepared, str(calls), meta={"x": "int64", "y": "int64"})
    assert prepared.optimize().npartitions != prepared.npartitions  # the case that recomputed
    with local_cluster() as client:
        progress = ProgressCompute(client, "dedupe")
        (persisted, total) = progress.persist(prepared, prepared["y"].sum(), stage="prepare")
        ran = steps_run(calls)
        assert ran == persisted.npartitions
        (rows, again) = progress(persisted["y"].sum(), total, stage="use it")
        (count,) = progress(persisted.map_partitions(len).sum(), stage="use it again")
    assert (rows, again, count) == (2 * sum(range(40)), 2 * sum(range(40)), 40)
    assert steps_run(calls) == ran
