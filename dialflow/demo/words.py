"""The demo's word lists and cities, read once from the data files under dialflow/data/demo/.

The files say what they hold in their '#' header lines; dialflow/data/SOURCES.md describes them.
"""

from __future__ import annotations

import csv
from importlib import resources


def _demo_data_lines(name: str) -> list[str]:
    """Return the lines of a packaged demo data file, without blank and '#' comment lines."""
    path = resources.files("dialflow").joinpath("data", "demo", name)
    stripped = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


FIRST_PARTS = tuple(_demo_data_lines("company_first_parts.txt"))
MODIFIERS = tuple(_demo_data_lines("company_modifiers.txt"))
INDUSTRIES = tuple(_demo_data_lines("industries.txt"))
STREET_NAMES = tuple(_demo_data_lines("street_names.txt"))
PERSON_FIRST = tuple(_demo_data_lines("person_first_names.txt"))
PERSON_LAST = tuple(_demo_data_lines("person_last_names.txt"))
# (state, city, ZIP3) per city: cities and ZIPs of an address agree with its state.
CITIES = tuple(
    (row["state"], row["city"], row["zip3"])
    for row in csv.DictReader(_demo_data_lines("cities.csv"))
)
