"""The CSV formula guard on arbitrary text: control characters, full-width forms, separators."""

from __future__ import annotations

import csv
import io
import re
import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialflow.sinks.csv import FORMULA_CHARACTERS, write_csv

PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
# Text rich in what breaks CSV files and spreadsheets, mixed with anything else.
HOSTILE_PIECES = list(FORMULA_CHARACTERS) + [
    "\r", "\n", "\r\n", "\t", "\x00", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029",
    " ", "\u3000", "\u00a0", "\u200b", "\ufeff", ";", ",", '"', "'",
    "1", "+1415", "-1", "2.5", "SUM(1)",
]  # fmt: skip
cells = st.one_of(
    st.none(),
    st.text(),
    st.lists(st.sampled_from(HOSTILE_PIECES) | st.text(max_size=3), max_size=8).map("".join),
)
frames = st.lists(st.tuples(cells, cells), max_size=12).map(
    lambda rows: pd.DataFrame(
        {
            # The hostile column first, so that its cells start the physical lines.
            "Name": pd.Series([a for a, _ in rows], dtype=object),
            "AccountId": [f"001{i:03d}" for i in range(len(rows))],
            "Value": pd.Series([b for _, b in rows], dtype="string[pyarrow]"),
        }
    )
)


def _write(frame: pd.DataFrame, neutralise: bool) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.csv"
        write_csv(frame, path, neutralise=neutralise)
        return path.read_bytes().decode("utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_every_row_reads_back_and_no_line_starts_a_formula(frame):
    text = _write(frame, neutralise=True)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == len(frame) + 1
    assert [row[1] for row in rows[1:]] == frame["AccountId"].tolist()
    lines = text.split("\n")[:-1]
    assert len(lines) == len(frame) + 1 and text.splitlines() == lines
    # A plain signed number may start a line (the E.164 exception); nothing else formula-like.
    assert not [
        line
        for line, row in zip(lines, rows, strict=True)
        if line.lstrip('"')[:1] in set(FORMULA_CHARACTERS) and not PLAIN_NUMBER.fullmatch(row[0])
    ]
    read = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert read.values.tolist() == [row for row in rows[1:]]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames)
def test_undo_round_trips_verbatim(frame):
    text = _write(frame, neutralise=False)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    expected = frame.astype(object).where(frame.notna(), "").values.tolist()
    assert rows[1:] == expected
    read = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    assert read.values.tolist() == expected
