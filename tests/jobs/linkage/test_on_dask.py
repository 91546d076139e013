"""The Dask wiring equals the one-frame reference, whatever the partitions, run after run."""

from __future__ import annotations

import dask.dataframe as dd
import pandas as pd
import pytest

from dialflow.jobs.linkage.compare import level_labels
from dialflow.jobs.linkage.on_dask import run_matcher
from dialflow.jobs.linkage.reference import LinkageParams, match_frame
from dialflow.schema import DEFAULT_PHONE_FIELDS
from tests.jobs.linkage.test_linkage_reference import planted

PARAMS = LinkageParams(phone_fields=DEFAULT_PHONE_FIELDS, u_sample_records=300, u_pairs=20_000)


@pytest.fixture(scope="module")
def accounts() -> pd.DataFrame:
    frame, _ = planted(seed=3, originals=400, duplicates=100)
    stamps = pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(range(len(frame)), unit="h")
    return frame.assign(LastModifiedDate=stamps, CreatedDate=stamps)


@pytest.fixture(scope="module")
def reference(accounts: pd.DataFrame):
    return match_frame(accounts, PARAMS)


@pytest.mark.parametrize("partitions", [1, 3, 7])
def test_dask_equals_the_reference_for_any_number_of_partitions(accounts, reference, partitions):
    shuffled = accounts.sample(frac=1, random_state=partitions).reset_index(drop=True)
    result = run_matcher(dd.from_pandas(shuffled, npartitions=partitions), PARAMS)
    assert len(reference.flagged) > 50
    pd.testing.assert_frame_equal(result.flagged, reference.flagged)
    pd.testing.assert_frame_equal(result.review, reference.review)
    assert result.model == reference.model
    assert result.model.to_json(level_labels()) == reference.model.to_json(level_labels())
    assert {k: v for k, v in result.counts.items() if k != "dropped_rows"} == reference.counts


def test_a_pinned_model_is_used_as_it_is(accounts, reference):
    result = run_matcher(dd.from_pandas(accounts, npartitions=2), PARAMS, model=reference.model)
    assert result.model is reference.model
    pd.testing.assert_frame_equal(result.flagged, reference.flagged)
