"""Call dispositions and their categories, for every job that reads call outcomes (autoflush
finds bad numbers by them, infoflow recognises contacts by them)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..schema import STRING

UNMAPPED = "unmapped"


def category_map(dispositions: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Return raw disposition (trimmed, casefolded) -> category, from `autoflush.dispositions`
    (category -> the raw values a dialer writes)."""
    return {
        raw.strip().casefold(): category
        for category, raw_values in dispositions.items()
        for raw in raw_values
    }


def categorise(dispositions: pd.Series, categories: dict[str, str]) -> pd.Series:
    """Map raw dispositions (trimmed, case-insensitive) to a category, or `unmapped`."""
    key = dispositions.astype(STRING).str.strip().str.lower()
    # Few distinct values: casefold and look each up once, not once per call.
    distinct = pd.unique(key.dropna())
    lookup = {value: categories.get(value.casefold(), UNMAPPED) for value in distinct}
    return key.map(lookup).fillna(UNMAPPED).astype(STRING)
