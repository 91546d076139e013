"""The contact model on Dask equals the pandas reference, `contact_frame`."""

import dask
import dask.dataframe as dd
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal, assert_series_equal

from dialflow.config import Settings
from dialflow.demo.reachability import draw_history, plant_world, world_accounts
from dialflow.jobs.autoflush import account_phones
from dialflow.jobs.contact import (
    EVIDENCE_META,
    NUMBER_KEYS,
    ContactParams,
    call_stats,
    contact_calls,
    contact_frame,
    number_facts,
    run_contact_model,
)
from dialflow.sources.reference import shipped_table
from tests.conftest import accounts_frame

AS_OF = pd.Timestamp("2026-11-25T06:00:00Z")
PARAMS = ContactParams.from_settings(Settings(), AS_OF)
AREA_CODES = shipped_table("area_codes")


@pytest.fixture(scope="module")
def history():
    world = plant_world(800, seed=3, as_of=AS_OF)
    wide = world_accounts(world)
    accounts = accounts_frame(wide.to_dict("records"))
    return accounts, draw_history(world, seed=3)


def _sorted(facts: pd.DataFrame) -> pd.DataFrame:
    return facts.sort_values(NUMBER_KEYS).reset_index(drop=True)


def _assert_same_model(got, expected) -> None:
    # Sums in another order: equal up to rounding, not bit for bit.
    assert got.overall == pytest.approx(expected.overall, rel=1e-12)
    assert got.strengths == pytest.approx(expected.strengths, rel=1e-9)
    for level in ("field", "hour", "state", "cell", "weekday_all", "weekday", "number_strength"):
        assert_series_equal(
            getattr(got, level), getattr(expected, level), check_exact=False, rtol=1e-9
        )


@pytest.mark.parametrize("partitions", [1, 5])
def test_dask_model_and_facts_equal_contact_frame(history, partitions):
    accounts, calls = history
    expected = contact_frame(calls, accounts, AREA_CODES, PARAMS)
    with dask.config.set(scheduler="synchronous"):
        result = run_contact_model(
            dd.from_pandas(calls, npartitions=partitions),
            dd.from_pandas(accounts, npartitions=partitions),
            AREA_CODES,
            PARAMS,
        )
        facts, evidence = dask.compute(result.facts, result.evidence)
    _assert_same_model(result.model, expected.model)
    assert len(expected.facts) > 1_000  # the world's numbers with calls
    assert_frame_equal(_sorted(facts), _sorted(expected.facts), check_exact=False, rtol=1e-9)
    # The evidence alone (what listiq reads) is the facts' evidence columns.
    columns = list(EVIDENCE_META.columns)
    assert_frame_equal(
        _sorted(evidence), _sorted(expected.facts[columns]), check_exact=False, rtol=1e-9
    )


def test_a_pinned_model_is_used_as_it_is(history):
    accounts, calls = history
    pinned = contact_frame(calls.iloc[: len(calls) // 3], accounts, AREA_CODES, PARAMS).model
    learned = contact_calls(calls, account_phones(accounts, PARAMS), AREA_CODES, PARAMS)
    expected = number_facts(learned, call_stats(learned), pinned, AS_OF)
    with dask.config.set(scheduler="synchronous"):
        result = run_contact_model(
            dd.from_pandas(calls, npartitions=3),
            dd.from_pandas(accounts, npartitions=3),
            AREA_CODES,
            PARAMS,
            pinned=pinned,
        )
        (facts,) = dask.compute(result.facts)
    assert result.model is pinned
    assert_frame_equal(_sorted(facts), _sorted(expected), check_exact=False, rtol=1e-9)
