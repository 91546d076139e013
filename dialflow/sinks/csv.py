"""CSV for dialers and people: UTF-8, a header, ISO-8601 dates, no spreadsheet formulas.

The formula guard follows OWASP's CSV injection guidance: a cell whose first visible character
is `=`, `+`, `-`, `@` or their full-width forms (`＝ ＋ － ＠`) gets a leading `'`, even after
leading spaces; so does every part of a cell after a `;`, because a spreadsheet set to `;` as
its separator starts a new cell there (quotes do not protect it: the quoted cell then no longer
starts with the quote). Control characters (tab, CR, LF, NUL, ...) and the Unicode line
separators become a space, so no cell holds a line break: a line-based reader, and a dialer,
sees one physical line per row.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

FORMULA_CHARACTERS = "=+-@\uff1d\uff0b\uff0d\uff20"  # ASCII and full-width forms
# Unicode category Cc (C0, DEL, C1: NEL is one) and the line and paragraph separators. The
# classes hold the characters themselves (no escapes): the same text must mean the same to
# pyarrow's RE2 and to Python's re, whose `\s` and `\uXXXX` differ.
_CONTROL = "[\x00-\x1f\x7f-\x9f\u2028\u2029]"
# What a spreadsheet may skip before the first character: spaces (also no-break, ideographic
# and the other Unicode spaces) and zero-width characters; and a double quote, which a loader
# that strips quoting instead of parsing it drops (`"=1+1` would reach it as `=1+1`).
_INVISIBLE = "[ \u00a0\u1680\u180e\u2000-\u200d\u202f\u205f\u2060\u3000\ufeff\"]"
_SEGMENT_START = r"(?:^|;)"
# Cheap pyarrow (RE2) test: does any segment start, after invisible characters, with a formula
# character? Only those rows go through the Python regex below.
_RISKY = rf"{_SEGMENT_START}{_INVISIBLE}*[{re.escape(FORMULA_CHARACTERS)}]"
# A cell (or a part after `;`) opening with a formula character: where the `'` goes.
_FORMULA_SEGMENT = re.compile(rf"(?:^|(?<=;))(?={_INVISIBLE}*[{re.escape(FORMULA_CHARACTERS)}])")
# ...except a plain signed number such as an E.164 phone, which a spreadsheet reads as a number
# and dialers need intact: the whole cell, or for a part after `;`, the part up to the next `;`.
_PLAIN_NUMBER = re.compile(rf"{_INVISIBLE}*[+-]?[0-9]+(?:\.[0-9]+)?")


def _guard_cell(cell: str) -> str:
    def apostrophe(start: re.Match) -> str:
        part = cell if start.start() == 0 else cell[start.start() :].split(";", 1)[0]
        return "" if _PLAIN_NUMBER.fullmatch(part) else "'"

    return _FORMULA_SEGMENT.sub(apostrophe, cell)


def neutralise_formulas(values: pd.Series) -> pd.Series:
    """Return text cells as spreadsheets may safely open them: control characters become a
    space, and a cell (or a part after `;`) that would start a formula gets a leading `'`."""
    text = values.astype("string[pyarrow]").str.replace(_CONTROL, " ", regex=True)
    risky = text.str.contains(_RISKY, regex=True).fillna(False).to_numpy(dtype=bool)
    if not risky.any():
        return text
    guarded = [_guard_cell(value) for value in text[risky]]
    text = text.copy()
    text[risky] = guarded
    return text


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

    `neutralise=False` keeps text verbatim, for files a program reads back (undo.csv). Every
    cell is then quoted: Python's csv writer quotes only a cell holding the line terminator
    (`\\n`), so a bare carriage return would otherwise split the row for every reader.
    """
    quoting = csv.QUOTE_MINIMAL if neutralise else csv.QUOTE_ALL
    to_csv_frame(frame, neutralise).to_csv(
        path, index=False, encoding="utf-8", lineterminator="\n", quoting=quoting
    )
    return len(frame)
