"""Build dialflow/data/area_codes.csv from the phonenumbers library's geocoder and time-zone data.

Every NANP area code 200-999 is probed with sample numbers; a code is kept when phonenumbers assigns
it to region US and its English geocoder descriptions name one of the 50 states or DC (toll-free,
premium, personal-communication and other non-geographic codes have no such description; Canadian
and Caribbean codes have another region). The state is the most common one among the sample numbers
(a few exchanges near a border are geocoded to the neighbouring state), and the time zones are the
union of `time_zones_for_number` over the samples in that state, sorted and joined with `|`.

Run from the repository root: `.venv/bin/python scripts/build_area_codes.py`. The output depends
only on the installed phonenumbers version, which is recorded in dialflow/data/SOURCES.md.
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import Counter
from pathlib import Path

import phonenumbers
from phonenumbers import geocoder, timezone

STATE_NAMES: dict[str, str] = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "Washington D.C.": "DC",
    "District of Columbia": "DC", "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID",
    "Illinois": "IL", "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY",
    "Louisiana": "LA", "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI",
    "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT", "Nebraska": "NE",
    "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ", "New Mexico": "NM",
    "New York": "NY", "North Carolina": "NC", "North Dakota": "ND", "Ohio": "OH",
    "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA", "Rhode Island": "RI",
    "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN", "Texas": "TX", "Utah": "UT",
    "Vermont": "VT", "Virginia": "VA", "Washington State": "WA", "Washington": "WA",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}  # fmt: skip
STATE_CODES = frozenset(STATE_NAMES.values())

# Exchanges 200, 210, ..., 990 with line 0100: enough to outvote a border exchange, fast to probe.
SAMPLE_EXCHANGES = range(200, 1000, 10)
SAMPLE_LINE = "0100"
UNKNOWN_ZONE = "Etc/Unknown"

# Where phonenumbers' time-zone data is wrong or narrower than NANPA's NPA report (see
# scripts/check_area_codes.py). A code that reaches a second zone gets both: the calling window
# must be legal in each of them.
ZONE_CORRECTIONS: dict[str, str] = {
    "689": "America/New_York",  # Orlando overlay of 407/321; phonenumbers 9.0.43 says Chicago
    "364": "America/Chicago|America/New_York",  # overlay of 270, western KY is Central
    "448": "America/Chicago|America/New_York",  # overlay of 850, the panhandle is Central
    "574": "America/Chicago|America/New_York",  # Starke County is Central
    "606": "America/Chicago|America/New_York",  # south-central KY counties are Central
    "906": "America/Chicago|America/New_York",  # UP counties on the Wisconsin line are Central
    "931": "America/Chicago|America/New_York",  # a few counties on the Eastern side
    "458": "America/Boise|America/Los_Angeles",  # Malheur County is Mountain
    "541": "America/Boise|America/Los_Angeles",  # Malheur County is Mountain
    "620": "America/Chicago|America/Denver",  # far-west Kansas counties are Mountain
    "915": "America/Chicago|America/Denver",  # Hudspeth County side is Central per NANPA
}

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "dialflow" / "data" / "area_codes.csv"


def state_of_description(description: str) -> str | None:
    """Return the USPS code a geocoder description names ("Texas", "Austin, TX"), or None."""
    if description in STATE_NAMES:
        return STATE_NAMES[description]
    match = re.search(r", ([A-Z]{2})$", description)
    if match and match.group(1) in STATE_CODES:
        return match.group(1)
    return None


def probe_area_code(area_code: int) -> tuple[str, str] | None:
    """Return (state, "|"-joined time zones) for a geographic US area code, else None."""
    by_state: dict[str, set[str]] = {}
    votes: Counter[str] = Counter()
    for exchange in SAMPLE_EXCHANGES:
        number = phonenumbers.PhoneNumber(
            country_code=1, national_number=int(f"{area_code}{exchange}{SAMPLE_LINE}")
        )
        if not phonenumbers.is_valid_number(number):
            continue
        if phonenumbers.region_code_for_number(number) != "US":
            return None
        state = state_of_description(geocoder.description_for_number(number, "en"))
        if state is None:
            continue
        votes[state] += 1
        zones = set(timezone.time_zones_for_number(number)) - {UNKNOWN_ZONE}
        by_state.setdefault(state, set()).update(zones)
    if not votes:
        return None
    # Ties (never seen so far) go to the smallest state code, to keep the output deterministic.
    state = min(votes, key=lambda s: (-votes[s], s))
    zones = sorted(by_state[state])
    if not zones:
        return None
    return state, "|".join(zones)


def build_rows() -> list[tuple[str, str, str]]:
    """Return (area_code, state, time_zone) for every geographic area code of the states and DC."""
    rows = []
    for area_code in range(200, 1000):
        probed = probe_area_code(area_code)
        if probed is not None:
            state, zones = probed
            rows.append((str(area_code), state, ZONE_CORRECTIONS.get(str(area_code), zones)))
    return rows


def main() -> None:
    """Write area_codes.csv and print a one-line summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV file to write")
    args = parser.parse_args()
    rows = build_rows()
    missing = sorted(STATE_CODES - {state for _, state, _ in rows})
    if missing:
        raise SystemExit(f"no area code found for {', '.join(missing)}")
    with args.out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("area_code", "state", "time_zone"))
        writer.writerows(rows)
    states = len({state for _, state, _ in rows})
    print(
        f"wrote {len(rows)} area codes in {states} states to {args.out} "
        f"(phonenumbers {phonenumbers.__version__})"
    )


if __name__ == "__main__":
    main()
