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

    return tuple(from_futures(c) for c in dask.persist(*optimised_together(collections)))


_FRAMES = ("DataFrame", "Series", "Index")


def _is_frame(collection: Any) -> bool:
    import dask.dataframe as dd

    return isinstance(collection, tuple(getattr(dd, name) for name in _FRAMES))


def optimised_together(collections: tuple[Any, ...]) -> tuple[Any, ...]:
    """Return `collections` with their Dask frames optimised as one expression: what every
    persist must be given (docs/architecture.md, "Persisting").

    Dask rebuilds a persisted frame with the partitions its expression declares before
    optimisation, but the optimiser may change them: a groupby aggregation over 16 or more
    partitions gets ceil(n / 15) output partitions (split_out), and the persisted frame then
    held only the first, silently losing the groups hashed to the others (docs/dnc.md, "The
    250M-number defect"). An optimised frame declares the partitions it runs with. Optimised
    together, the steps the frames share keep one name, so they run once: a frame optimised
    alone named them anew and they ran once for it and once for the others.
    """
    from dask._expr import _ExprSequence
    from dask.dataframe.dask_expr import new_collection

    at = [i for i, collection in enumerate(collections) if _is_frame(collection)]
    if not at:
        return collections
    optimised = _ExprSequence(*(collections[i].expr for i in at)).optimize().operands
    result = list(collections)
    for i, expr in zip(at, optimised, strict=True):
        result[i] = new_collection(expr)
    return tuple(result)


def from_futures(persisted: Any) -> Any:
    """A persisted Dask frame rebuilt from its futures, in partition order.

    The frame `Client.persist` returns names its partitions by the expression it was given,
    optimised once more, while the futures hold them under another name: every later compute
    ran the frame's steps again from the input (dedupe's linkage read and prepared the accounts
    four times, its candidate pairs three). A frame made of the futures themselves is what was
    persisted. Off a distributed client there are no futures: the frame is returned as it is.
    """
    if not _is_frame(persisted):
        return persisted
    from distributed import futures_of

    futures = sorted(futures_of(persisted), key=lambda future: future.key[1])
    if not futures:
        return persisted
    import dask.dataframe as dd

    divisions = persisted.divisions if len(persisted.divisions) == len(futures) + 1 else None
    return dd.from_delayed(futures, meta=persisted._meta, divisions=divisions, verify_meta=False)


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
