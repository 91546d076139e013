"""The shipped area-code table is well-formed and agrees with NANPA's NPA database.

area_codes.csv comes from one library (phonenumbers); these tests hold it to a second, independent
source (area_codes_nanpa.csv, see dialflow/data/SOURCES.md) through the same comparison that
scripts/check_area_codes.py prints, and to the 51 states of census_population.csv.
"""

from __future__ import annotations

import csv
import importlib.util
import re
import sys
import zoneinfo
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "dialflow" / "data"


def _load_checker():
    """Import scripts/check_area_codes.py by path: scripts/ is not a package."""
    spec = importlib.util.spec_from_file_location(
        "check_area_codes", ROOT / "scripts" / "check_area_codes.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


checker = _load_checker()


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


AREA_CODES = _rows("area_codes.csv")
NANPA = _rows("area_codes_nanpa.csv")
STATES = frozenset(row["state"] for row in _rows("census_population.csv"))


def test_census_has_the_50_states_and_dc():
    assert len(STATES) == 51
    assert "DC" in STATES and "PR" not in STATES


def test_shipped_table_agrees_with_nanpa_apart_from_the_allow_list():
    report = checker.check()
    assert report.unexplained == []
    assert report.stale == []
    assert {difference.key for difference in report.differences} == set(checker.KNOWN_DIFFERENCES)


def test_no_shipped_code_is_unknown_to_nanpa_or_in_another_state():
    """Only NANPA may have extra codes (newer ones); every shipped code must be NANPA's too."""
    kinds = {kind for kind, _ in checker.KNOWN_DIFFERENCES}
    assert kinds <= {checker.ONLY_IN_NANPA, checker.TIME_ZONE}
    nanpa_state = {row["area_code"]: row["state"] for row in NANPA}
    assert {row["area_code"]: row["state"] for row in AREA_CODES}.items() <= nanpa_state.items()


def test_comparison_reports_a_tampered_row():
    """The check can fail: a wrong state, zone or extra code is reported as unexplained."""
    tampered = [dict(row) for row in AREA_CODES]
    by_code = {row["area_code"]: row for row in tampered}
    by_code["212"]["state"] = "NJ"
    by_code["303"]["time_zone"] = "America/Chicago"
    tampered.append({"area_code": "999", "state": "TX", "time_zone": "America/Chicago"})
    report = checker.compare(tampered, NANPA, STATES)
    assert not report.ok
    assert {difference.key for difference in report.unexplained} == {
        (checker.STATE, "212"),
        (checker.TIME_ZONE, "303"),
        (checker.ONLY_IN_SHIPPED, "999"),
    }


def test_comparison_reports_a_stale_allow_list_entry():
    known = {**checker.KNOWN_DIFFERENCES, (checker.STATE, "212"): "no such difference"}
    report = checker.compare(AREA_CODES, NANPA, STATES, known)
    assert report.unexplained == []
    assert report.stale == [(checker.STATE, "212")]


def test_every_state_is_one_of_the_51():
    assert {row["state"] for row in AREA_CODES} <= STATES


def test_every_one_of_the_51_states_has_an_area_code():
    assert {row["state"] for row in AREA_CODES} == STATES


@pytest.mark.parametrize("rows", [AREA_CODES, NANPA], ids=["area_codes", "area_codes_nanpa"])
def test_area_codes_are_unique_nanp_codes(rows):
    codes = [row["area_code"] for row in rows]
    assert [code for code, count in Counter(codes).items() if count > 1] == []
    assert [code for code in codes if not re.fullmatch(r"[2-9][0-9]{2}", code)] == []


def test_every_time_zone_is_a_valid_iana_name():
    names = {name for row in AREA_CODES for name in row["time_zone"].split("|")}
    assert "" not in names
    for name in sorted(names):
        zoneinfo.ZoneInfo(name)  # raises ZoneInfoNotFoundError for a bad name


def test_every_shipped_time_zone_maps_to_a_nanpa_zone():
    names = {name for row in AREA_CODES for name in row["time_zone"].split("|")}
    assert names <= checker.IANA_TO_ZONE.keys()


def test_nanpa_table_in_scope_has_374_codes_and_six_territory_codes():
    """Pins the saved extract of the 2025-11-26 NPA report, so an edit to it is noticed."""
    in_scope = [row for row in NANPA if row["state"] in STATES]
    outside = sorted((row["area_code"], row["state"]) for row in NANPA if row not in in_scope)
    assert len(in_scope) == 374
    assert outside == [
        ("340", "VI"),
        ("670", "CNMI"),
        ("671", "GU"),
        ("684", "AS"),
        ("787", "PR"),
        ("939", "PR"),
    ]
    assert {row["nanpa_time_zone"] for row in in_scope} <= checker.NANPA_ZONES.keys()
