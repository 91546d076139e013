"""The jobs: pure functions on one pandas partition, and one Dask wiring function per job."""

from __future__ import annotations

from typing import Any, Protocol


class Compute(Protocol):
    """Computes Dask collections together; `stage` names the step for progress displays."""

    def __call__(self, *collections: Any, stage: str) -> tuple[Any, ...]: ...


def dask_compute(*collections: Any, stage: str) -> tuple[Any, ...]:
    """Compute with Dask's current scheduler and no progress display (tests, library use)."""
    import dask

    return dask.compute(*collections)


class Persist(Protocol):
    """Persists Dask collections on the workers and waits for them; `stage` names the step."""

    def __call__(self, *collections: Any, stage: str) -> tuple[Any, ...]: ...


def dask_persist(*collections: Any, stage: str) -> tuple[Any, ...]:
    """Persist with Dask's current scheduler and no progress display (tests, library use)."""
    import dask

    return dask.persist(*as_optimised(collections))


def as_optimised(collections: tuple[Any, ...]) -> tuple[Any, ...]:
    """Return `collections` with each Dask frame whose optimiser changes its partitions given
    optimised: what every persist must be given (docs/dnc.md, "The 250M-number defect").

    Dask rebuilds a persisted frame with the partitions its expression declares before
    optimisation, but the optimiser may change them: a groupby aggregation over 16 or more
    partitions gets ceil(n / 15) output partitions (split_out), and the persisted frame then
    held only the first, silently losing the groups hashed to the others. An optimised frame
    declares the partitions it runs with. The other frames are left as they are: a frame
    optimised alone names its steps anew, so the steps it shares with the other collections
    of the persist ran twice (dedupe at 1,000,000 accounts: 64 s -> 94 s).
    """
    import dask.dataframe as dd

    frames = (dd.DataFrame, dd.Series, dd.Index)
    return tuple(_declaring_its_partitions(c) if isinstance(c, frames) else c for c in collections)


def _declaring_its_partitions(frame: Any) -> Any:
    optimised = frame.optimize()
    return optimised if optimised.npartitions != frame.npartitions else frame


def not_in(frame: Any, excluded: Any) -> Any:
    """Return the rows of a pandas frame whose AccountId is not among the excluded frame's."""
    return frame[~frame["AccountId"].isin(excluded["AccountId"]).to_numpy(dtype=bool)]


def without_accounts(frame: Any, excluded: Any, token: str) -> Any:
    """Drop the rows of a Dask frame whose AccountId the other Dask frame holds (any number of
    times): one hash shuffle of each side on AccountId, then `not_in` partition by partition."""
    import dask.dataframe as dd

    partitions = max(frame.npartitions, excluded.npartitions)
    return dd.map_partitions(
        not_in,
        frame.shuffle(on="AccountId", npartitions=partitions),
        excluded.shuffle(on="AccountId", npartitions=partitions),
        meta=frame._meta,
        align_dataframes=False,
        token=token,
    )


def keep_best(frame: Any, best: Any, meta: Any, **kwargs: Any) -> Any:
    """Tree-reduce a Dask frame with `best(pandas_frame, **kwargs)`, a function that keeps some
    rows and gives the same answer on its own output concatenated: per partition, then on
    concatenations of eight results, up to one frame."""
    return frame.reduction(
        chunk=best,
        combine=_best_of_concat,
        aggregate=_best_of_concat,
        chunk_kwargs=kwargs,
        combine_kwargs={"best": best, **kwargs},
        aggregate_kwargs={"best": best, **kwargs},
        split_every=8,
        meta=meta,
    )


def _best_of_concat(parts: Any, best: Any, **kwargs: Any) -> Any:
    import pandas as pd

    return best(pd.concat(parts) if isinstance(parts, list) else parts, **kwargs)
