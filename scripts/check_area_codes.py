"""Check dialflow/data/area_codes.csv against a second, independent source: NANPA's NPA database.

area_codes.csv is derived from the phonenumbers library (scripts/build_area_codes.py), so a bug or
a lag in that library would go unnoticed if we only ever looked at phonenumbers. This script
compares it with dialflow/data/area_codes_nanpa.csv, the geographic US rows of the North American
Numbering Plan Administrator's own NPA report (provenance in dialflow/data/SOURCES.md), restricted
to the 50 states and DC listed in census_population.csv, and reports:

- area codes in one table and not the other,
- area codes whose state differs,
- area codes whose set of time zones differs (IANA names are mapped to NANPA's zone letters).

Differences that are understood are listed in KNOWN_DIFFERENCES with a one-line reason each. The
script exits 1 when a difference is not on that list, and also when a listed difference no longer
occurs, so the list stays exact and cannot hide a later regression. tests/test_reference_data.py
runs the same comparison.

Run from anywhere: `.venv/bin/python scripts/check_area_codes.py`.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "dialflow" / "data"
SHIPPED_CSV = DATA_DIR / "area_codes.csv"
NANPA_CSV = DATA_DIR / "area_codes_nanpa.csv"
CENSUS_CSV = DATA_DIR / "census_population.csv"

# Difference kinds.
ONLY_IN_NANPA = "only_in_nanpa"
ONLY_IN_SHIPPED = "only_in_shipped"
STATE = "state"
TIME_ZONE = "time_zone"

EASTERN, CENTRAL, MOUNTAIN, PACIFIC = "Eastern", "Central", "Mountain", "Pacific"
ALASKA, HAWAII_ALEUTIAN = "Alaska", "Hawaii-Aleutian"

# The US IANA zones, by the NANPA zone they belong to. NANPA names zones, not places, so the
# comparison is at that level; an IANA name missing here is reported rather than guessed.
IANA_TO_ZONE: dict[str, str] = {
    "America/New_York": EASTERN, "America/Detroit": EASTERN,
    "America/Indiana/Indianapolis": EASTERN, "America/Indiana/Marengo": EASTERN,
    "America/Indiana/Petersburg": EASTERN, "America/Indiana/Vevay": EASTERN,
    "America/Indiana/Vincennes": EASTERN, "America/Indiana/Winamac": EASTERN,
    "America/Kentucky/Louisville": EASTERN, "America/Kentucky/Monticello": EASTERN,
    "America/Chicago": CENTRAL, "America/Indiana/Knox": CENTRAL,
    "America/Indiana/Tell_City": CENTRAL, "America/Menominee": CENTRAL,
    "America/North_Dakota/Beulah": CENTRAL, "America/North_Dakota/Center": CENTRAL,
    "America/North_Dakota/New_Salem": CENTRAL,
    "America/Denver": MOUNTAIN, "America/Boise": MOUNTAIN, "America/Phoenix": MOUNTAIN,
    "America/Los_Angeles": PACIFIC,
    "America/Anchorage": ALASKA, "America/Juneau": ALASKA, "America/Metlakatla": ALASKA,
    "America/Nome": ALASKA, "America/Sitka": ALASKA, "America/Yakutat": ALASKA,
    "America/Adak": HAWAII_ALEUTIAN, "Pacific/Honolulu": HAWAII_ALEUTIAN,
}  # fmt: skip

# Every TIME_ZONE value the NPA report uses for a code of the 50 states and DC, verbatim.
NANPA_ZONES: dict[str, frozenset[str]] = {
    "E": frozenset({EASTERN}),
    "C": frozenset({CENTRAL}),
    "M": frozenset({MOUNTAIN}),
    "P": frozenset({PACIFIC}),
    "EC": frozenset({EASTERN, CENTRAL}),
    "CM": frozenset({CENTRAL, MOUNTAIN}),
    "MP": frozenset({MOUNTAIN, PACIFIC}),
    "AK": frozenset({ALASKA}),
    "(UTC-10)": frozenset({HAWAII_ALEUTIAN}),
    "PT/MT only for W Wendover": frozenset({PACIFIC, MOUNTAIN}),
}

# Understood differences, keyed by (kind, area code). Shipped table: phonenumbers 9.0.43; NANPA
# table: NPA report of 2025-11-26. Regenerating either table means revisiting this list.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    # Codes phonenumbers 9.0.43 does not know: it rejects every number in them as invalid.
    (ONLY_IN_NANPA, "357"): "CA overlay of 559, in service 2025-03-26; not in phonenumbers 9.0.43",
    (ONLY_IN_NANPA, "436"): "OH overlay of 440, in service 2024-03-01; not in phonenumbers 9.0.43",
    (ONLY_IN_NANPA, "457"): "LA overlay of 318, in service 2025-09-25; not in phonenumbers 9.0.43",
    (ONLY_IN_NANPA, "621"): "TX overlay of 281/346/713/832, in service 2025-01-23; not in 9.0.43",
    (ONLY_IN_NANPA, "624"): "NY overlay of 716, in service 2023-11-16; not in phonenumbers 9.0.43",
    (ONLY_IN_NANPA, "679"): "MI overlay of 313, in service 2025-11-07; not in phonenumbers 9.0.43",
    (ONLY_IN_NANPA, "729"): "TN overlay of 423, in service 2025-09-05; not in phonenumbers 9.0.43",
    (ONLY_IN_NANPA, "837"): "CA overlay of 530, in service 2025-01-31; not in phonenumbers 9.0.43",
    (ONLY_IN_NANPA, "861"): "IL overlay of 309, in service 2023-02-24; not in phonenumbers 9.0.43",
    (ONLY_IN_NANPA, "924"): "MN overlay of 507, in service 2024-08-30; not in phonenumbers 9.0.43",
    # Assigned by NANPA but not yet in service on the report date: no numbers exist yet.
    (ONLY_IN_NANPA, "465"): "NY overlay of 347/718/917/929, not in service (planned 2026-06-18)",
    (ONLY_IN_NANPA, "471"): "MS overlay of 662, not in service on the report (planned 2026-01-30)",
    (ONLY_IN_NANPA, "483"): "AL overlay of 334, not in service on the report (planned 2026-02-23)",
    (ONLY_IN_NANPA, "565"): "GA overlay of 912, assigned 2025-05-27, not in service, no date",
    (ONLY_IN_NANPA, "761"): "KY overlay of 502, assigned 2025-08-07, not in service, no date",
    # Zones: phonenumbers sees more than NANPA lists.
    (TIME_ZONE, "907"): "NANPA: Alaska only; phonenumbers adds America/Adak (Aleutian Islands)",
    (TIME_ZONE, "986"): "NANPA: Pacific, yet Mountain+Pacific for 208 which 986 overlays",
}


@dataclass(frozen=True)
class Difference:
    """One disagreement between the shipped table and NANPA's, with the data that shows it."""

    kind: str
    area_code: str
    detail: str

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.area_code)


@dataclass(frozen=True)
class Report:
    """Outcome of a comparison: every difference, split into explained and not."""

    differences: list[Difference]
    unexplained: list[Difference]
    stale: list[tuple[str, str]]  # allow-list entries that match no difference

    @property
    def ok(self) -> bool:
        return not self.unexplained and not self.stale


def read_rows(path: Path) -> list[dict[str, str]]:
    """Read a reference CSV (header row, UTF-8) into a list of dicts."""
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def read_states(path: Path = CENSUS_CSV) -> frozenset[str]:
    """The 51 USPS codes (50 states + DC) that define the scope of area_codes.csv."""
    return frozenset(row["state"] for row in read_rows(path))


def iana_zones(joined: str) -> tuple[frozenset[str], list[str]]:
    """Map "|"-joined IANA names to NANPA zones; also return the names it cannot map."""
    names = [name for name in joined.split("|") if name]
    unknown = [name for name in names if name not in IANA_TO_ZONE]
    return frozenset(IANA_TO_ZONE[name] for name in names if name in IANA_TO_ZONE), unknown


def compare(
    shipped: Iterable[Mapping[str, str]],
    nanpa: Iterable[Mapping[str, str]],
    states: frozenset[str],
    known: Mapping[tuple[str, str], str] = KNOWN_DIFFERENCES,
) -> Report:
    """Compare shipped rows (area_code, state, time_zone) with NANPA rows within `states`.

    Pure: takes rows rather than paths, so a test can feed it tampered data and see it complain.
    """
    ours = {row["area_code"]: row for row in shipped}
    theirs = {row["area_code"]: row for row in nanpa if row["state"] in states}
    found: list[Difference] = []
    for code in sorted(theirs.keys() - ours.keys()):
        row = theirs[code]
        date = row["in_service_date"]
        if row["in_service"] == "Y":
            status = f"in service since {date}"
        else:
            status = f"not in service, planned {date}" if date else "not in service, no date"
        found.append(Difference(ONLY_IN_NANPA, code, f"{row['state']}, {status}"))
    for code in sorted(ours.keys() - theirs.keys()):
        found.append(Difference(ONLY_IN_SHIPPED, code, ours[code]["state"]))
    for code in sorted(ours.keys() & theirs.keys()):
        mine, other = ours[code], theirs[code]
        if mine["state"] != other["state"]:
            detail = f"shipped {mine['state']}, NANPA {other['state']}"
            found.append(Difference(STATE, code, detail))
            continue
        zones, unknown = iana_zones(mine["time_zone"])
        nanpa_zones = NANPA_ZONES.get(other["nanpa_time_zone"])
        if unknown or nanpa_zones is None:
            detail = f"cannot map shipped {unknown} or NANPA {other['nanpa_time_zone']!r}"
            found.append(Difference(TIME_ZONE, code, detail))
        elif zones != nanpa_zones:
            detail = (
                f"shipped {'+'.join(sorted(zones))} ({mine['time_zone']}), "
                f"NANPA {'+'.join(sorted(nanpa_zones))} ({other['nanpa_time_zone']})"
            )
            found.append(Difference(TIME_ZONE, code, detail))
    keys = {difference.key for difference in found}
    return Report(
        differences=found,
        unexplained=[difference for difference in found if difference.key not in known],
        stale=sorted(key for key in known if key not in keys),
    )


def check(
    shipped_csv: Path = SHIPPED_CSV, nanpa_csv: Path = NANPA_CSV, census_csv: Path = CENSUS_CSV
) -> Report:
    """Compare the CSV files in dialflow/data (the default) or the given ones."""
    return compare(read_rows(shipped_csv), read_rows(nanpa_csv), read_states(census_csv))


def main() -> int:
    """Print the report; return 1 on an unexplained difference or a stale allow-list entry."""
    report = check()
    shipped, nanpa = read_rows(SHIPPED_CSV), read_rows(NANPA_CSV)
    states = read_states()
    in_scope = sum(1 for row in nanpa if row["state"] in states)
    print(
        f"shipped {SHIPPED_CSV.name}: {len(shipped)} area codes; "
        f"NANPA {NANPA_CSV.name}: {in_scope} in the {len(states)} states + DC "
        f"({len(nanpa) - in_scope} territory codes ignored)"
    )
    for kind in (ONLY_IN_NANPA, ONLY_IN_SHIPPED, STATE, TIME_ZONE):
        of_kind = [difference for difference in report.differences if difference.kind == kind]
        print(f"{kind}: {len(of_kind)}")
        for difference in of_kind:
            reason = KNOWN_DIFFERENCES.get(difference.key)
            note = f"known: {reason}" if reason else "UNEXPLAINED"
            print(f"  {difference.area_code}  {difference.detail}  [{note}]")
    for kind, code in report.stale:
        print(f"STALE allow-list entry ({kind}, {code}): no such difference any more")
    verdict = "OK" if report.ok else "FAIL"
    print(
        f"{verdict}: {len(report.differences)} differences, "
        f"{len(report.unexplained)} unexplained, {len(report.stale)} stale allow-list entries"
    )
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
