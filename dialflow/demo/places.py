"""Places: states with census weights, area codes and cities by state, and street addresses."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from phonenumbers import PhoneMetadata

from dialflow.errors import ConfigError

from .arrays import in_group, pick
from .columns import digits, fixed_width_strings, join, render, take_words
from .words import CITIES, STREET_NAMES

# Street types as written, with how often each is written (STREET_TYPE_WEIGHTS, same order).
STREET_TYPES = (
    "St", "Street", "Ave", "Avenue", "Blvd", "Rd", "Road", "Dr", "Ln", "Way", "Pkwy", "Ct", "Pl",
    "Hwy",
)  # fmt: skip
STREET_TYPE_WEIGHTS = (18, 6, 16, 5, 6, 12, 4, 10, 6, 6, 3, 4, 2, 2)
# Per street type, the index of the same type written the other way (Street for St), -1 for none.
_SPELLINGS = {"St": "Street", "Ave": "Avenue", "Rd": "Road"}
_SPELLINGS.update({long: short for short, long in _SPELLINGS.items()})
STREET_TYPE_OTHER = np.array(
    [STREET_TYPES.index(_SPELLINGS[t]) if t in _SPELLINGS else -1 for t in STREET_TYPES]
)
UNIT_TEMPLATES = ("Suite #00", "Suite ##", "Ste ###", "Unit #", "Apt #", "Bldg #", "Floor #")
UNIT_SHARE = 0.25


@dataclass(frozen=True)
class Reference:
    """States with population weights, and area codes and cities grouped by state."""

    states: np.ndarray  # USPS codes, census order
    state_names: pa.Array  # the same, for take()
    weights: np.ndarray
    area_codes: np.ndarray  # int, grouped by state
    area_start: np.ndarray  # per state: first index into area_codes
    area_count: np.ndarray
    exchanges: np.ndarray  # valid exchanges, grouped by area code (in area_codes order)
    exchange_start: np.ndarray  # per area code: first index into exchanges
    exchange_count: np.ndarray
    city_names: pa.Array  # grouped by state
    city_zip3: np.ndarray
    city_start: np.ndarray
    city_count: np.ndarray


def _read_reference_csv(name: str) -> pd.DataFrame:
    """Read a packaged reference CSV with every column as text."""
    with resources.files("dialflow").joinpath("data", name).open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


def _group_by_state(
    states: np.ndarray, keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the order that groups `keys` by state, and each state's start and count in it."""
    index = {state: i for i, state in enumerate(states)}
    codes = np.array([index[k] for k in keys])
    order = np.argsort(codes, kind="stable")
    count = np.bincount(codes, minlength=len(states))
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return order, start, count


def load_reference() -> Reference:
    """Load the census weights, the area codes with their valid exchanges, and the cities."""
    census = _read_reference_csv("census_population.csv")
    states = census["state"].to_numpy(dtype=object)
    population = census["population"].astype(np.int64).to_numpy()
    area = _read_reference_csv("area_codes.csv")
    area_order, area_start, area_count = _group_by_state(states, area["state"].to_numpy())
    city_state = np.array([c[0] for c in CITIES])
    city_order, city_start, city_count = _group_by_state(states, city_state)
    if (area_count == 0).any() or (city_count == 0).any():
        missing = sorted(states[(area_count == 0) | (city_count == 0)])
        raise ConfigError(f"reference data: no area code or city for {', '.join(missing)}")
    area_codes = area["area_code"].astype(np.int64).to_numpy()[area_order]
    exchanges, exchange_start, exchange_count = _valid_exchanges(area_codes)
    return Reference(
        states=states,
        state_names=pa.array(states, pa.large_string()),
        weights=population / population.sum(),
        area_codes=area_codes,
        area_start=area_start,
        area_count=area_count,
        exchanges=exchanges,
        exchange_start=exchange_start,
        exchange_count=exchange_count,
        city_names=pa.array([CITIES[i][1] for i in city_order], pa.large_string()),
        city_zip3=np.array([int(CITIES[i][2]) for i in city_order], dtype=np.int64),
        city_start=city_start,
        city_count=city_count,
    )


def _valid_exchanges(area_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the exchanges phonenumbers accepts per area code: values, start and count per code.

    Newer overlays are valid only for some exchanges (983 in Colorado: not 6xx), so every pair is
    checked against the US fixed-line and mobile patterns of phonenumbers' metadata, with RE2.
    """
    meta = PhoneMetadata.metadata_for_region("US")
    patterns = (meta.fixed_line.national_number_pattern, meta.mobile.national_number_pattern)
    pattern = "^(?:" + "|".join(patterns) + ")$"
    exchanges = np.arange(200, 1000)
    # N11 exchanges are service codes and 555 is reserved: never a subscriber's line.
    exchanges = exchanges[(exchanges % 100 != 11) & (exchanges != 555)]
    base = area_codes[:, None] * 10_000_000 + exchanges[None, :] * 10_000
    valid = np.ones(base.shape, dtype=bool)
    for line in (0, 9_999):  # the patterns stop at the exchange; both ends of the line range agree
        text = fixed_width_strings(digits((base + line).ravel(), 10))
        matched = pc.match_substring_regex(text, pattern).to_numpy(zero_copy_only=False)
        valid &= matched.reshape(base.shape)
    count = valid.sum(axis=1)
    if (count == 0).any():
        dead = ", ".join(str(code) for code in area_codes[count == 0])
        raise ConfigError(f"area_codes.csv: no valid exchange for {dead}; rebuild the file")
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return np.broadcast_to(exchanges, base.shape)[valid], start, count


@dataclass
class Places:
    """Street, city and ZIP attributes of n addresses; rendered by `render_places`."""

    state: np.ndarray
    city: np.ndarray  # index into Reference.city_names
    zip5: np.ndarray
    plus4: np.ndarray  # bool: written as ZIP+4
    plus4_digits: np.ndarray  # (n, 4) ASCII
    street_no: np.ndarray
    street_name: np.ndarray
    street_type: np.ndarray
    unit: np.ndarray  # index into UNIT_TEMPLATES, -1 for none
    unit_digits: np.ndarray  # (n, 3) ASCII


def draw_places(rng: np.random.Generator, ref: Reference, state: np.ndarray) -> Places:
    """Draw addresses in the given states."""
    n = state.size
    city = in_group(rng, ref.city_start, ref.city_count, state)
    return Places(
        state=state,
        city=city,
        zip5=ref.city_zip3[city] * 100 + rng.integers(0, 100, n),
        plus4=rng.random(n) < 0.15,
        plus4_digits=rng.integers(ord("0"), ord("9") + 1, (n, 4), dtype=np.uint8),
        # House numbers: small ones are more common.
        street_no=np.exp(rng.random(n) * np.log(20_000)).astype(np.int64),
        street_name=rng.integers(0, len(STREET_NAMES), n),
        street_type=pick(rng, STREET_TYPE_WEIGHTS, n),
        unit=np.where(rng.random(n) < UNIT_SHARE, rng.integers(0, len(UNIT_TEMPLATES), n), -1),
        unit_digits=rng.integers(ord("1"), ord("9") + 1, (n, 3), dtype=np.uint8),
    )


def render_places(
    ref: Reference, places: Places, street_names: pa.Array | None = None
) -> dict[str, pa.Array]:
    """Return street, city, state and postal code arrays.

    `street_names` replaces the rows' STREET_NAMES words (fuzzy duplicates mistype some).
    """
    no_unit = places.unit < 0
    unit = render(UNIT_TEMPLATES, np.where(no_unit, 0, places.unit), places.unit_digits, no_unit)
    street = join(
        [
            pc.cast(pa.array(places.street_no), pa.large_string()),
            take_words(STREET_NAMES, places.street_name) if street_names is None else street_names,
            take_words(STREET_TYPES, places.street_type),
            unit,
        ],
        " ",
    )
    zip_fills = np.concatenate([digits(places.zip5, 5), places.plus4_digits], axis=1)
    postal = render(("#####", "#####-####"), places.plus4.astype(np.int64), zip_fills)
    return {
        "street": street,
        "city": ref.city_names.take(pa.array(places.city)),
        "state": ref.state_names.take(pa.array(places.state)),
        "postal": postal,
    }
