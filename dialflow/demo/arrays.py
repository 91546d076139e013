"""Numpy helpers shared by the generators: weighted draws, draws inside groups, copying rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def pick(rng: np.random.Generator, weights: Sequence[float] | np.ndarray, size: int) -> np.ndarray:
    """Return `size` indices drawn with the given relative weights."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(p.size, size=size, p=p / p.sum())


def in_group(
    rng: np.random.Generator, start: np.ndarray, count: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """Return a uniformly drawn index inside each row's group (a state, an area code)."""
    return start[group] + (rng.random(group.size) * count[group]).astype(np.int64)


def copy_fields(
    target: Any, source_rows: np.ndarray, copy_rows: np.ndarray, fields: Sequence[str]
) -> None:
    """Copy the named array attributes of `target` from source rows to copy rows."""
    for field in fields:
        values = getattr(target, field)
        values[copy_rows] = values[source_rows]
