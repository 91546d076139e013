"""The CSV formula guard: hostile cells written and read back by csv, pandas and line by line."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from dialflow.sinks.csv import FORMULA_CHARACTERS, neutralise_formulas, write_csv

CALC = "=SUM(1+1)*cmd|' /C calc'!A0"
HOSTILE = [
    f"Acme\r{CALC}",  # a bare carriage return: the new line would start with `=`
    f"Acme\n{CALC}",
    f"Acme\r\n{CALC}",
    "\uff1dSUM(1+1)",  # full-width forms
    "\uff0b1",
    "\uff0dx",
    "\uff20cmd",
    " =SUM(1)",
    "\t=SUM(1)",
    "\u3000=SUM(1)",
    ";=SUM(1)",
    "x;=SUM(1)",
    "-1;=SUM(1);+2",
    "@cmd",
    "-x",
    '"quoted", =1',
    "a\x00b\x0bc\x0cd\x1ce\x85f\u2028g\u2029h",
    "+14158675309",
    "-12.5",
    "plain",
    "",
    None,
]
EXPECTED = [
    f"Acme {CALC}",
    f"Acme {CALC}",
    f"Acme  {CALC}",
    "'\uff1dSUM(1+1)",
    "'\uff0b1",
    "'\uff0dx",
    "'\uff20cmd",
    "' =SUM(1)",
    "' =SUM(1)",
    "'\u3000=SUM(1)",
    ";'=SUM(1)",
    "x;'=SUM(1)",
    "'-1;'=SUM(1);+2",  # the cell is no number; its last part, alone, is
    "'@cmd",
    "'-x",
    '"quoted", =1',
    "a b c d e f g h",
    "+14158675309",  # a plain signed number is left alone: dialers need the E.164 form
    "-12.5",
    "plain",
    "",
    "",
]


def hostile_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "AccountId": [f"001{i:03d}" for i in range(len(HOSTILE))],
            "Name": pd.Series(HOSTILE, dtype="string[pyarrow]"),
            "Note": pd.Series(HOSTILE, dtype=object),
        }
    )


def read_with_csv_module(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_neutralise_formulas_cell_by_cell():
    assert neutralise_formulas(pd.Series(HOSTILE)).fillna("").tolist() == EXPECTED


def test_hostile_cells_read_back_exactly_by_csv_pandas_and_lines(tmp_path):
    path = tmp_path / "call_list.csv"
    assert write_csv(hostile_frame(), path) == len(HOSTILE)

    rows = read_with_csv_module(path)
    assert rows[0] == ["AccountId", "Name", "Note"]
    assert [row[1] for row in rows[1:]] == EXPECTED
    assert [row[2] for row in rows[1:]] == EXPECTED

    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(frame) == len(HOSTILE)
    assert frame["Name"].tolist() == EXPECTED and frame["Note"].tolist() == EXPECTED

    text = path.read_bytes().decode("utf-8")  # no newline translation: the bytes as written
    lines = text.split("\n")[:-1]
    assert len(lines) == len(HOSTILE) + 1 and text.splitlines() == lines
    assert not [line for line in lines if line.lstrip(' "')[:1] in set(FORMULA_CHARACTERS)]


def test_undo_keeps_control_characters_and_quotes_every_cell(tmp_path):
    path = tmp_path / "undo.csv"
    write_csv(hostile_frame(), path, neutralise=False)
    verbatim = [value or "" for value in HOSTILE]
    rows = read_with_csv_module(path)
    assert [row[1] for row in rows[1:]] == verbatim and [row[2] for row in rows[1:]] == verbatim
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert frame["Name"].tolist() == verbatim and len(frame) == len(HOSTILE)
    # A physical line never starts inside a cell unquoted: every cell opens with a quote.
    written = path.read_bytes().decode("utf-8")
    assert written.startswith('"AccountId","Name","Note"\n"001000","Acme\r=SUM')


def test_dates_and_numbers_are_untouched(tmp_path):
    frame = pd.DataFrame(
        {
            "When": pd.to_datetime(["2026-03-01T00:00:00Z"], utc=True),
            "Count": [-3],
            "Priority": [-1.5],
        }
    )
    path = tmp_path / "out.csv"
    write_csv(frame, path)
    assert path.read_text(encoding="utf-8") == "When,Count,Priority\n2026-03-01T00:00:00Z,-3,-1.5\n"
