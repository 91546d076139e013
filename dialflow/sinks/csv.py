"""CSV for dialers and people: UTF-8, a header, ISO-8601 dates, no spreadsheet formulas."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

# A cell starting with one of these runs as a formula in spreadsheet programs (OWASP CSV injection).
_FORMULA_START = r"^[=+\-@\t\r]"
# ...except a plain signed number such as an E.164 phone, which a spreadsheet reads as a number.
_PLAIN_NUMBER = r"^[+-]?\d+(?:\.\d+)?$"


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Prefix text cells that a spreadsheet would run as a formula with an apostrophe."""
    text = values.astype("string[pyarrow]")
    risky = text.str.contains(_FORMULA_START, regex=True).fillna(False) & ~text.str.fullmatch(
        _PLAIN_NUMBER
    ).fillna(False)
    return text.mask(risky, "'" + text)


def to_csv_frame(frame: pd.DataFrame, neutralise: bool = True) -> pd.DataFrame:
    """Return the frame as it is written: dates as ISO-8601 UTC text, text cells neutralised."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            out[column] = values.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif pd.api.types.is_datetime64_dtype(values.dtype):
            out[column] = values.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif neutralise and (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
            out[column] = neutralise_formulas(values)
        else:
            out[column] = values
    return pd.DataFrame(out, index=frame.index)


def write_csv(frame: pd.DataFrame, path: Path, neutralise: bool = True) -> int:
    """Write a (small, already gathered) frame as a dialer-ready CSV; return the rows written.

    `neutralise=False` keeps text verbatim, for files a program reads back (undo.csv)."""
    to_csv_frame(frame, neutralise).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return len(frame)
