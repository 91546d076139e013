"""Shared fixtures: small hand-built frames and a small demo data set."""

from __future__ import annotations

import pandas as pd
import pytest

from dialflow.config import DedupeParams, DedupeSettings
from dialflow.schema import DEFAULT_PHONE_FIELDS, PANDAS_DTYPES, table_columns


def accounts_frame(rows: list[dict]) -> pd.DataFrame:
    """Build an Account frame of canonical dtypes from partial rows (missing fields empty)."""
    kinds = table_columns("Account")
    data = {column: [row.get(column) for row in rows] for column in kinds}
    frame = pd.DataFrame(data)
    for column, kind in kinds.items():
        if kind == "datetime":
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601").astype(
                PANDAS_DTYPES[kind]
            )
        else:
            frame[column] = frame[column].astype(PANDAS_DTYPES[kind])
    return frame


@pytest.fixture
def dedupe_defaults() -> DedupeParams:
    defaults = DedupeSettings()
    return DedupeParams(
        match_keys=defaults.match_keys,
        phone_field=DEFAULT_PHONE_FIELDS[0],
        region="US",
        postal_digits=defaults.postal_digits,
        legal_suffixes=defaults.legal_suffixes,
    )
