"""Generate deterministic demo data for the canonical tables, vectorised and chunk by chunk.

The output is one folder of Parquet directories, `<out_dir>/<Table>/part-NNNNN.parquet`, with
exactly the columns and dtypes of `dialflow.schema`, plus `<out_dir>/_demo.json` (parameters and
counts).

How the data is built, so that the jobs have something to decide:
- Accounts are generated chunk by chunk; the calls, research requests and address history of a
  chunk reference only that chunk's accounts, so memory depends on `chunk_accounts`, not on the
  totals. Chunk `i` draws everything from `np.random.default_rng([seed, i])`.
- Ids are 18 characters: key prefix, 6 base-62 digits of the creation second, 3 of the chunk, 3 of
  the rank inside that second and chunk, and Salesforce's 3-character case checksum. Base-62 digits
  are in ASCII order, so within a table string order is creation order.
- Duplicates are planted inside a chunk between accounts that take part in no other plant: a later
  account copies an earlier one's Phone in another format (`phone`), or its name in a spelling
  variant with the same city and ZIP (`name_postal`), or both in a chain A~B by phone, B~C by name
  (`chain`).
- Bad numbers are planted as call series on a forced-valid phone field (see `_SCENARIOS`).
  Background calls to any planted number get neutral dispositions only, and background keeps at
  most one disconnected-type call per number and one wrong-number-type call per (account, number),
  so the planted counts are what the autoflush rules find inside a chunk (random numbers can still
  collide across chunks, which is rare).
"""

from __future__ import annotations

import csv
import functools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from phonenumbers import PhoneMetadata

from dialflow.errors import ConfigError
from dialflow.schema import DEFAULT_PHONE_FIELDS, PANDAS_DTYPES, table_columns
from dialflow.times import as_utc

TABLE_NAMES = ("Account", "Task", "Research_Request__c", "Address_History__c", "User")
KEY_PREFIXES = {
    "Account": "001",
    "Task": "00T",
    "User": "005",
    "Research_Request__c": "a0R",
    "Address_History__c": "a0S",
}

DAY = 86_400
NS = 1_000_000_000
ACCOUNT_YEARS = 5
CALL_DAYS = 730
RECENT_SHARE = 0.03  # accounts created in the 48 hours before as_of, the listiq "recent" bucket
DO_NOT_CALL_SHARE = 0.03
ACCOUNTS_PER_USER = 2_000
MIN_USERS = 5
INACTIVE_USER_SHARE = 0.10

# ---------------------------------------------------------------------------------------------
# Word lists: data files under dialflow/data/demo/, read once at import
# ---------------------------------------------------------------------------------------------


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

# Legal-suffix families: forms inside a family normalise to the same dedupe key.
SUFFIX_FAMILIES = (
    ("Inc", "Inc.", "Incorporated"),
    ("LLC", "L.L.C.", "Llc"),
    ("Ltd", "Ltd.", "Limited"),
    ("Corp", "Corp.", "Corporation"),
    ("Co", "Co.", "Company"),
)
SUFFIX_FAMILY_WEIGHTS = (0.34, 0.34, 0.06, 0.14, 0.12)
SUFFIX_FORM_WEIGHTS = (0.6, 0.3, 0.1)
SUFFIX_SEPARATORS = (" ", ", ")
NO_SUFFIX_SHARE = 0.15
TAILS = ("",) + tuple(
    sep + form for family in SUFFIX_FAMILIES for form in family for sep in SUFFIX_SEPARATORS
)

STREET_TYPES = (
    "St", "Street", "Ave", "Avenue", "Blvd", "Rd", "Road", "Dr", "Ln", "Way", "Pkwy", "Ct", "Pl",
    "Hwy",
)  # fmt: skip
STREET_TYPE_WEIGHTS = (18, 6, 16, 5, 6, 12, 4, 10, 6, 6, 3, 4, 2, 2)
UNIT_TEMPLATES = ("Suite #00", "Suite ##", "Ste ###", "Unit #", "Apt #", "Bldg #", "Floor #")
UNIT_SHARE = 0.25

# ---------------------------------------------------------------------------------------------
# Phone templates: '#' holes are filled left to right with the number's ten digits, then four
# extension digits; malformed templates reuse the same digits.
# ---------------------------------------------------------------------------------------------

HOLE = ord("#")
VALID_FORMATS = (
    ("(###) ###-####", 28),
    ("###-###-####", 24),
    ("###.###.####", 7),
    ("##########", 14),
    ("+1 ###.###.####", 3),
    ("+1##########", 8),
    ("1-###-###-####", 5),
    ("### ### ####", 4),
    ("+1 (###) ###-####", 3),
    ("########## x##", 2),
    ("(###) ###-#### ext. ###", 1),
    ("###-###-#### x####", 1),
)
MALFORMED_FORMATS = (
    # Seven digits, no area code; 555 because 310-xxxx is a valid Canadian service number.
    ("555-####", 30),
    ("(###) ###-###", 15),  # nine digits
    ("###-###-#####", 10),  # eleven digits
    ("(0##) ###-####", 10),  # area codes never start with 0 or 1
    ("1##-###-####", 10),
    ("###-##O-####", 15),  # a letter O typed for a zero
    ("###-###-##OO", 10),
)
JUNK_VALUES = (
    ("N/A", 20), ("n/a", 8), ("NA", 5), ("none", 6), ("NONE", 4), ("unknown", 6), ("TBD", 5),
    ("-", 6), ("0", 4), ("000-000-0000", 12), ("0000000000", 6), ("111-111-1111", 4),
    ("999-999-9999", 4), ("123-456-7890", 5), ("see notes", 2), ("call main office", 2),
    ("no phone", 1),
)  # fmt: skip
PHONE_TEMPLATES = (
    tuple(t for t, _ in VALID_FORMATS)
    + tuple(t for t, _ in MALFORMED_FORMATS)
    + tuple(t for t, _ in JUNK_VALUES)
    + ("",)
)
N_VALID = len(VALID_FORMATS)
MALFORMED_START = N_VALID
JUNK_START = MALFORMED_START + len(MALFORMED_FORMATS)
EMPTY = len(PHONE_TEMPLATES) - 1
# Formats a dialer writes into Dialed_Number__c when it does not echo the stored value.
DIAL_FORMATS = tuple(
    PHONE_TEMPLATES.index(t)
    for t in ("+1##########", "##########", "(###) ###-####", "###-###-####", "1-###-###-####")
)

# Per phone field: share filled, share of filled values malformed, share junk.
PHONE_FILL = (0.92, 0.55, 0.30, 0.35, 0.15, 0.08)
MALFORMED_SHARE = 0.03
JUNK_SHARE = 0.015
EMPTY_STRING_SHARE = 0.30  # of unfilled values; the rest are null
OUT_OF_STATE_SHARE = 0.05  # numbers with another state's area code (people move, lines port)
PHONE_2_REPEATS_PHONE = 0.02
# How often a background call goes to each field, relative to the others.
FIELD_CALL_WEIGHT = np.array([5.0, 2.0, 1.0, 2.0, 1.0, 0.5])
# Where a bad-number plant lives: Phone mostly.
FIELD_PLANT_WEIGHT = np.array([0.5, 0.1, 0.1, 0.1, 0.1, 0.1])

# ---------------------------------------------------------------------------------------------
# Dispositions: raw dialer spellings with background frequencies.
# ---------------------------------------------------------------------------------------------

NEUTRAL, CONTACT, WRONG, DISCONNECTED, UNKNOWN = range(5)
DISPOSITIONS: tuple[tuple[str | None, int, float], ...] = (
    ("No Answer", NEUTRAL, 35.0),
    ("Busy", NEUTRAL, 6.0),
    ("Voicemail", NEUTRAL, 12.0),
    ("Left Message", NEUTRAL, 10.0),
    ("no answer", NEUTRAL, 0.5),
    ("NO ANSWER", NEUTRAL, 0.3),
    ("Contact", CONTACT, 7.0),
    ("Connected", CONTACT, 5.0),
    ("Appointment Set", CONTACT, 1.5),
    ("Not Interested", CONTACT, 4.0),
    ("Wrong Number", WRONG, 1.2),
    ("WN", WRONG, 0.5),
    (" wrong number ", WRONG, 0.05),
    ("WRONG NUMBER", WRONG, 0.05),
    ("Disconnected", DISCONNECTED, 1.0),
    ("DC", DISCONNECTED, 0.5),
    ("ADC", DISCONNECTED, 0.4),
    ("Not In Service", DISCONNECTED, 0.6),
    ("DISCONNECTED", DISCONNECTED, 0.05),
    ("disconnected ", DISCONNECTED, 0.05),
    ("Call Back", UNKNOWN, 1.0),
    ("Fax Tone", UNKNOWN, 0.4),
    ("Hung Up", UNKNOWN, 0.5),
    ("Dropped", UNKNOWN, 0.3),
    ("Do Not Call Request", UNKNOWN, 0.2),
    ("", UNKNOWN, 0.1),
    (None, UNKNOWN, 0.1),
)
DISP_CATEGORY = np.array([c for _, c, _ in DISPOSITIONS], dtype=np.int8)
DISP_WEIGHT = np.array([w for _, _, w in DISPOSITIONS])
PLANTED_CONTACT = np.array(
    [i for i, (s, _, _) in enumerate(DISPOSITIONS) if s in ("Contact", "Connected")]
)
NEUTRAL_DIAL = np.array(
    [i for i, (s, _, _) in enumerate(DISPOSITIONS) if s in ("No Answer", "Busy", "Voicemail")]
)
NEUTRAL_DIAL_WEIGHT = np.array([0.65, 0.1, 0.25])


@dataclass(frozen=True)
class _Scenario:
    """A kind of planted bad-number call series; spans are seconds from first to last bad call."""

    name: str
    rate: float  # planted series per account of the chunk
    bad: int  # WRONG or DISCONNECTED
    calls: tuple[int, int]  # inclusive range of bad calls
    span: tuple[int, int]  # inclusive range of the span, seconds
    flagged: bool  # whether the autoflush rule flags it
    contact: str = ""  # "after": a contact call after the last bad one; "same_time": at it
    shared: bool = False  # the number is also on a second account, which places every other call
    extra_wrong: bool = False  # two wrong-number calls to the disconnected number, same account


_SPAN = (90 * DAY, 400 * DAY)
_SCENARIOS = (
    _Scenario("disconnected", 0.0030, DISCONNECTED, (3, 5), _SPAN, True),
    _Scenario("disconnected_exact_90_days", 0.0003, DISCONNECTED, (3, 3), (90 * DAY,) * 2, True),
    _Scenario("disconnected_shared", 0.0010, DISCONNECTED, (3, 4), _SPAN, True, shared=True),
    _Scenario("disconnected_contact_same_time", 0.0002, DISCONNECTED, (3, 3), _SPAN, True,
              contact="same_time"),
    _Scenario("disconnected_and_wrong", 0.0003, DISCONNECTED, (3, 4), (100 * DAY, 400 * DAY), True,
              extra_wrong=True),
    _Scenario("disconnected_two_calls", 0.0010, DISCONNECTED, (2, 2), _SPAN, False),
    _Scenario("disconnected_span_89_days", 0.0005, DISCONNECTED, (3, 4), (89 * DAY, 90 * DAY - 1),
              False),
    _Scenario("disconnected_contact_after", 0.0010, DISCONNECTED, (3, 4), _SPAN, False,
              contact="after"),
    _Scenario("wrong_number", 0.0040, WRONG, (2, 4), _SPAN, True),
    _Scenario("wrong_number_exact_90_days", 0.0003, WRONG, (2, 2), (90 * DAY,) * 2, True),
    _Scenario("wrong_number_span_89_days", 0.0005, WRONG, (2, 3), (89 * DAY, 90 * DAY - 1), False),
    _Scenario("wrong_number_contact_after", 0.0010, WRONG, (2, 3), _SPAN, False, contact="after"),
    _Scenario("wrong_number_split_accounts", 0.0005, WRONG, (2, 2), _SPAN, False, shared=True),
)  # fmt: skip
# A planted series needs its first call after the account existed and its last 31 days before as_of.
PLANT_MIN_AGE = 440 * DAY

DUPLICATE_RATES = {"phone": 0.015, "name_postal": 0.015, "chain": 0.004}
DUPLICATE_TIE_SHARE = 0.10  # planted pairs whose LastModifiedDate is exactly equal
# Id layout after the key prefix: creation second, chunk, rank inside the second (base 62).
SECOND_DIGITS, CHUNK_DIGITS, RANK_DIGITS = 6, 3, 3


# ---------------------------------------------------------------------------------------------
# Reference data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reference:
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


def _load_reference() -> _Reference:
    """Load the census weights, area codes and the embedded city table."""
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
    return _Reference(
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
        text = _fixed_width_strings(_digits((base + line).ravel(), 10))
        matched = pc.match_substring_regex(text, pattern).to_numpy(zero_copy_only=False)
        valid &= matched.reshape(base.shape)
    count = valid.sum(axis=1)
    if (count == 0).any():
        dead = ", ".join(str(code) for code in area_codes[count == 0])
        raise ConfigError(f"area_codes.csv: no valid exchange for {dead}; rebuild the file")
    start = np.concatenate([[0], np.cumsum(count)[:-1]])
    return np.broadcast_to(exchanges, base.shape)[valid], start, count


# ---------------------------------------------------------------------------------------------
# Vectorised string building
# ---------------------------------------------------------------------------------------------

_B62 = np.frombuffer(b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", np.uint8)
_CHECKSUM = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", np.uint8)


def _fixed_width_strings(chars: np.ndarray) -> pa.Array:
    """Return a large_string array whose rows are the rows of a 2-D uint8 ASCII matrix."""
    n, width = chars.shape
    offsets = np.arange(n + 1, dtype=np.int64) * width
    data = np.ascontiguousarray(chars).reshape(-1)
    return pa.Array.from_buffers(
        pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _digits(values: np.ndarray, width: int, alphabet: np.ndarray = _B62[:10]) -> np.ndarray:
    """Return zero-padded digits of non-negative ints in base len(alphabet), as a uint8 matrix.

    The default alphabet gives decimal digits; `_B62` gives base 62 in ASCII order.
    """
    out = np.empty((values.size, width), dtype=np.uint8)
    rest = values.astype(np.int64)
    for column in range(width - 1, -1, -1):
        rest, digit = np.divmod(rest, alphabet.size)
        out[:, column] = alphabet[digit]
    if (rest != 0).any() or (values < 0).any():
        raise ValueError(f"value out of range for {width} base-{alphabet.size} digits")
    return out


def _rank_in_second(seconds: np.ndarray) -> np.ndarray:
    """Return each row's rank among the rows of the same second (input sorted ascending)."""
    n = seconds.size
    position = np.arange(n)
    new_second = np.ones(n, dtype=bool)
    new_second[1:] = seconds[1:] != seconds[:-1]
    return position - np.maximum.accumulate(np.where(new_second, position, 0))


def _salesforce_ids(
    prefix: str, seconds: np.ndarray, chunk_index: int, rank: np.ndarray | None = None
) -> pa.Array:
    """Return 18-character Ids for rows sorted by creation second, unique within the table.

    Args:
        prefix: the object's key prefix.
        seconds: creation times, sorted ascending.
        chunk_index: the chunk the rows belong to.
        rank: each row's rank inside its second, when `seconds` is a slice of the chunk's rows.
    """
    n = seconds.size
    rank = _rank_in_second(seconds) if rank is None else rank
    head = np.empty((n, 15), dtype=np.uint8)
    head[:, :3] = np.frombuffer(prefix.encode(), np.uint8)
    head[:, 3:9] = _digits(seconds, SECOND_DIGITS, _B62)
    head[:, 9:12] = _digits(np.full(n, chunk_index), CHUNK_DIGITS, _B62)
    head[:, 12:15] = _digits(rank, RANK_DIGITS, _B62)
    # Salesforce's suffix: per 5-character block, a bit per upper-case letter, as one character.
    upper = ((head >= ord("A")) & (head <= ord("Z"))).reshape(n, 3, 5)
    suffix = _CHECKSUM[np.packbits(upper, axis=2, bitorder="little")[:, :, 0]]
    return _fixed_width_strings(np.concatenate([head, suffix], axis=1))


def _render(
    templates: Sequence[str],
    choice: np.ndarray,
    fills: np.ndarray | None = None,
    null: np.ndarray | None = None,
) -> pa.Array:
    """Return a large_string array: row i is templates[choice[i]], holes filled from fills[i].

    Args:
        templates: ASCII strings whose '#' characters are holes.
        choice: template index per row.
        fills: uint8 ASCII matrix; row i fills the holes of its template left to right.
        null: rows that are null.
    """
    encoded = [t.encode("ascii") for t in templates]
    n = choice.size
    lengths = np.array([len(t) for t in encoded], dtype=np.int64)[choice]
    if null is not None:
        lengths[null] = 0
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    # Group rows by template once, rather than one mask over all rows per template.
    order = np.argsort(choice, kind="stable")
    bounds = np.searchsorted(choice[order], np.arange(len(encoded) + 1))
    for k, template in enumerate(encoded):
        rows = order[bounds[k] : bounds[k + 1]]
        if null is not None:
            rows = rows[~null[rows]]
        if rows.size == 0 or not template:
            continue
        start = offsets[rows]
        hole = 0
        # Column by column keeps temporaries at one int per row, not one per character.
        for position, char in enumerate(template):
            if char == HOLE:
                assert fills is not None
                data[start + position] = fills[rows, hole]
                hole += 1
            else:
                data[start + position] = char
    validity = None if null is None else pa.py_buffer(np.packbits(~null, bitorder="little"))
    return pa.Array.from_buffers(
        pa.large_string(), n, [validity, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _words(
    words: Sequence[str] | pa.Array, index: np.ndarray, null: np.ndarray | None = None
) -> pa.Array:
    """Return words[index] as a large_string array, null where `null` is set."""
    table = words if isinstance(words, pa.Array) else pa.array(words, pa.large_string())
    return table.take(pa.array(index, mask=null))


def _join(parts: Sequence[pa.Array | str], sep: str) -> pa.Array:
    """Join string arrays (and constant strings) element-wise with `sep`, skipping nulls."""
    # The kernel wants one string type throughout: large_string, like every array built here.
    scalars = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(
        *scalars, pa.scalar(sep, pa.large_string()), null_handling="skip"
    )


def _pick(rng: np.random.Generator, weights: Sequence[float] | np.ndarray, size: int) -> np.ndarray:
    """Return `size` indices drawn with the given relative weights."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(p.size, size=size, p=p / p.sum())


def _timestamps(seconds: np.ndarray) -> pa.Array:
    """Return epoch seconds as a timestamp[s, UTC] array; `_table` casts to the schema's unit."""
    return pa.array(seconds.astype(np.int64), pa.int64()).view(pa.timestamp("s", "UTC"))


# ---------------------------------------------------------------------------------------------
# Places and people
# ---------------------------------------------------------------------------------------------


@dataclass
class _Places:
    """Street, city and ZIP attributes of n addresses; rendered by `_render_places`."""

    state: np.ndarray
    city: np.ndarray  # index into _Reference.city_names
    zip5: np.ndarray
    plus4: np.ndarray  # bool: written as ZIP+4
    plus4_digits: np.ndarray  # (n, 4) ASCII
    street_no: np.ndarray
    street_name: np.ndarray
    street_type: np.ndarray
    unit: np.ndarray  # index into UNIT_TEMPLATES, -1 for none
    unit_digits: np.ndarray  # (n, 3) ASCII


def _in_group(
    rng: np.random.Generator, start: np.ndarray, count: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """Return a uniformly drawn index inside each row's group (a state, an area code)."""
    return start[group] + (rng.random(group.size) * count[group]).astype(np.int64)


def _places(rng: np.random.Generator, ref: _Reference, state: np.ndarray) -> _Places:
    """Draw addresses in the given states."""
    n = state.size
    city = _in_group(rng, ref.city_start, ref.city_count, state)
    return _Places(
        state=state,
        city=city,
        zip5=ref.city_zip3[city] * 100 + rng.integers(0, 100, n),
        plus4=rng.random(n) < 0.15,
        plus4_digits=rng.integers(ord("0"), ord("9") + 1, (n, 4), dtype=np.uint8),
        # House numbers: small ones are more common.
        street_no=np.exp(rng.random(n) * np.log(20_000)).astype(np.int64),
        street_name=rng.integers(0, len(STREET_NAMES), n),
        street_type=_pick(rng, STREET_TYPE_WEIGHTS, n),
        unit=np.where(rng.random(n) < UNIT_SHARE, rng.integers(0, len(UNIT_TEMPLATES), n), -1),
        unit_digits=rng.integers(ord("1"), ord("9") + 1, (n, 3), dtype=np.uint8),
    )


def _render_places(ref: _Reference, places: _Places) -> dict[str, pa.Array]:
    """Return street, city, state and postal code arrays."""
    no_unit = places.unit < 0
    unit = _render(UNIT_TEMPLATES, np.where(no_unit, 0, places.unit), places.unit_digits, no_unit)
    street = _join(
        [
            pc.cast(pa.array(places.street_no), pa.large_string()),
            _words(STREET_NAMES, places.street_name),
            _words(STREET_TYPES, places.street_type),
            unit,
        ],
        " ",
    )
    zip_fills = np.concatenate([_digits(places.zip5, 5), places.plus4_digits], axis=1)
    postal = _render(("#####", "#####-####"), places.plus4.astype(np.int64), zip_fills)
    return {
        "street": street,
        "city": ref.city_names.take(pa.array(places.city)),
        "state": ref.state_names.take(pa.array(places.state)),
        "postal": postal,
    }


@dataclass
class _Names:
    """Company name components of n accounts; rendered by `_render_names`."""

    first: np.ndarray
    modifier: np.ndarray  # -1 for none
    industry: np.ndarray
    family: np.ndarray  # legal-suffix family, -1 for none
    form: np.ndarray
    sep: np.ndarray
    case: np.ndarray  # 0 as written, 1 upper, 2 lower
    spacing: np.ndarray  # 0 normal, 1 doubled spaces, 2 padded


def _names(rng: np.random.Generator, n: int) -> _Names:
    """Draw company name components."""
    return _Names(
        first=rng.integers(0, len(FIRST_PARTS), n),
        modifier=np.where(rng.random(n) < 0.5, rng.integers(0, len(MODIFIERS), n), -1),
        industry=rng.integers(0, len(INDUSTRIES), n),
        family=np.where(rng.random(n) < NO_SUFFIX_SHARE, -1, _pick(rng, SUFFIX_FAMILY_WEIGHTS, n)),
        form=_pick(rng, SUFFIX_FORM_WEIGHTS, n),
        sep=_pick(rng, (0.7, 0.3), n),
        case=_pick(rng, (0.93, 0.05, 0.02), n),
        spacing=_pick(rng, (0.97, 0.02, 0.01), n),
    )


def _render_names(names: _Names) -> pa.Array:
    """Return the Name strings."""
    parts = [
        _words(FIRST_PARTS, names.first),
        _words(MODIFIERS, np.maximum(names.modifier, 0), names.modifier < 0),
        _words(INDUSTRIES, names.industry),
    ]
    base = pc.if_else(pa.array(names.spacing == 1), _join(parts, "  "), _join(parts, " "))
    tail = np.where(names.family < 0, 0, 1 + (names.family * 3 + names.form) * 2 + names.sep)
    name = _join([base, _words(TAILS, tail)], "")
    name = pc.if_else(pa.array(names.spacing == 2), _join([" ", name, " "], ""), name)
    name = pc.if_else(pa.array(names.case == 1), pc.utf8_upper(name), name)
    return pc.if_else(pa.array(names.case == 2), pc.utf8_lower(name), name)


def _copy_fields(
    target: Any, source_rows: np.ndarray, copy_rows: np.ndarray, fields: Sequence[str]
) -> None:
    """Copy the named array attributes of `target` from source rows to copy rows."""
    for field in fields:
        values = getattr(target, field)
        values[copy_rows] = values[source_rows]


def _name_variants(
    rng: np.random.Generator, names: _Names, src: np.ndarray, dst: np.ndarray
) -> None:
    """Give dst the name of src in another spelling: case, punctuation, spacing or legal suffix."""
    _copy_fields(names, src, dst, tuple(_Names.__dataclass_fields__))
    n = dst.size
    kind = rng.integers(0, 4, n)
    no_suffix = names.family[dst] < 0
    # Case: upper or lower if the source is as written, else back to as written.
    rows = dst[kind == 0]
    names.case[rows] = np.where(names.case[rows] == 0, rng.integers(1, 3, rows.size), 0)
    # Punctuation: flip the comma and the period form (Inc <-> Inc.); give a suffix if none.
    rows = dst[(kind == 1) & ~no_suffix]
    names.sep[rows] = 1 - names.sep[rows]
    names.form[rows] = np.where(names.form[rows] == 0, 1, 0)
    # Spacing: doubled or padded spaces.
    rows = dst[kind == 2]
    names.spacing[rows] = np.where(names.spacing[rows] == 0, rng.integers(1, 3, rows.size), 0)
    # Legal suffix: another form of the same family, or none; a suffix where there was none.
    rows = dst[(kind == 3) & ~no_suffix]
    drop = rng.random(rows.size) < 0.4
    names.form[rows] = (names.form[rows] + rng.integers(1, 3, rows.size)) % 3
    names.family[rows[drop]] = -1
    rows = dst[((kind == 1) | (kind == 3)) & no_suffix]
    names.family[rows] = _pick(rng, SUFFIX_FAMILY_WEIGHTS, rows.size)
    # Shouting is common in copied records, whatever else changed.
    names.case[dst[rng.random(n) < 0.2]] = 1


# ---------------------------------------------------------------------------------------------
# Phones
# ---------------------------------------------------------------------------------------------


@dataclass
class _Phones:
    """The six phone fields of n accounts as numbers and templates, (6, n) each."""

    number: np.ndarray  # a valid ten-digit number in every cell, shown only by valid templates
    ext: np.ndarray  # (6, n, 4) ASCII extension digits
    template: np.ndarray  # index into PHONE_TEMPLATES
    null: np.ndarray

    def valid(self) -> np.ndarray:
        """Return which cells hold a number in a valid format."""
        return (self.template < N_VALID) & ~self.null


def _phone_numbers(rng: np.random.Generator, ref: _Reference, state: np.ndarray) -> np.ndarray:
    """Return valid ten-digit numbers, mostly with an area code of the state, real exchanges."""
    n = state.size
    home = _in_group(rng, ref.area_start, ref.area_count, state)
    anywhere = rng.integers(0, ref.area_codes.size, n)
    area = np.where(rng.random(n) < OUT_OF_STATE_SHARE, anywhere, home)
    exchange = ref.exchanges[_in_group(rng, ref.exchange_start, ref.exchange_count, area)]
    return ref.area_codes[area] * 10_000_000 + exchange * 10_000 + rng.integers(0, 10_000, n)


def _valid_format(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return n valid-format template indices with realistic frequencies."""
    return _pick(rng, [w for _, w in VALID_FORMATS], n)


def _phones(rng: np.random.Generator, ref: _Reference, state: np.ndarray) -> _Phones:
    """Draw six phone fields: filled less often field by field, with malformed and junk values."""
    n = state.size
    fields = len(DEFAULT_PHONE_FIELDS)
    number = np.stack([_phone_numbers(rng, ref, state) for _ in range(fields)])
    template = np.empty((fields, n), dtype=np.int64)
    null = np.zeros((fields, n), dtype=bool)
    for f, fill in enumerate(PHONE_FILL):
        filled = rng.random(n) < fill
        quality = rng.random(n)
        malformed = filled & (quality < MALFORMED_SHARE)
        junk = filled & ~malformed & (quality < MALFORMED_SHARE + JUNK_SHARE)
        row = _valid_format(rng, n)
        row[malformed] = MALFORMED_START + _pick(
            rng, [w for _, w in MALFORMED_FORMATS], int(malformed.sum())
        )
        row[junk] = JUNK_START + _pick(rng, [w for _, w in JUNK_VALUES], int(junk.sum()))
        row[~filled] = EMPTY
        template[f] = row
        null[f] = ~filled & (rng.random(n) >= EMPTY_STRING_SHARE)
    repeat = rng.random(n) < PHONE_2_REPEATS_PHONE
    number[1, repeat] = number[0, repeat]
    ext = rng.integers(ord("1"), ord("9") + 1, (fields, n, 4), dtype=np.uint8)
    return _Phones(number=number, ext=ext, template=template, null=null)


def _force_valid(
    rng: np.random.Generator, phones: _Phones, field: np.ndarray, row: np.ndarray
) -> None:
    """Make the given cells show their number in a valid format."""
    shown = phones.template[field, row] < N_VALID
    phones.template[field, row] = np.where(
        shown, phones.template[field, row], _valid_format(rng, row.size)
    )
    phones.null[field, row] = False


def _phone_fills(number: np.ndarray, ext: np.ndarray) -> np.ndarray:
    """Return the hole fills of phone templates: ten digits, then four extension digits."""
    return np.concatenate([_digits(number, 10), ext], axis=1)


# ---------------------------------------------------------------------------------------------
# One chunk
# ---------------------------------------------------------------------------------------------


@dataclass
class _Calls:
    """Call rows of a chunk before rendering."""

    account: np.ndarray
    field: np.ndarray
    seconds: np.ndarray
    disposition: np.ndarray
    dial_template: np.ndarray  # -1: the stored value's format

    def __post_init__(self) -> None:
        # Calls dominate a chunk's memory: keep the per-call integers narrow.
        self.account = self.account.astype(np.int32, copy=False)
        self.field = self.field.astype(np.int8, copy=False)
        self.seconds = self.seconds.astype(np.int64, copy=False)
        self.disposition = self.disposition.astype(np.int16, copy=False)
        self.dial_template = self.dial_template.astype(np.int16, copy=False)

    @staticmethod
    def empty() -> _Calls:
        """Return no calls."""
        return _Calls(*(np.empty(0, dtype=np.int64) for _ in _Calls.__dataclass_fields__))

    @staticmethod
    def concat(parts: Sequence[_Calls]) -> _Calls:
        """Return the rows of all parts."""
        return _Calls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in _Calls.__dataclass_fields__)
        )


def _scenario_count(rate: float, n: int) -> int:
    """Return how many of a plant a chunk of n accounts gets: at least one from 1,000 accounts."""
    count = int(round(rate * n))
    return max(count, 1) if n >= 1_000 else count


def _plant_duplicates(
    rng: np.random.Generator,
    names: _Names,
    places: _Places,
    phones: _Phones,
    lmd: np.ndarray,
    order: np.ndarray,
) -> tuple[dict[str, int], int]:
    """Plant duplicate accounts on disjoint rows taken from `order`; return counts and rows used."""
    n = order.size
    counts = {kind: _scenario_count(rate, n) for kind, rate in DUPLICATE_RATES.items()}
    sizes = {"phone": 2, "name_postal": 2, "chain": 3}
    while sum(counts[k] * sizes[k] for k in counts) > n:  # tiny chunks only
        largest = max(counts, key=lambda k: counts[k])
        counts[largest] -= 1
    used = 0
    groups = {}
    for kind, size in sizes.items():
        rows = np.sort(order[used : used + counts[kind] * size].reshape(-1, size), axis=1)
        groups[kind] = rows
        used += rows.size
    phone_pairs = np.concatenate([groups["phone"], groups["chain"][:, :2]])
    name_pairs = np.concatenate([groups["name_postal"], groups["chain"][:, 1:]])

    # Phone: the later account holds the earlier one's Phone in another valid format.
    src, dst = phone_pairs[:, 0], phone_pairs[:, 1]
    _force_valid(rng, phones, np.zeros(src.size, dtype=np.int64), src)
    phones.number[0, dst] = phones.number[0, src]
    shift = rng.integers(1, N_VALID, dst.size)
    phones.template[0, dst] = (phones.template[0, src] + shift) % N_VALID
    phones.null[0, dst] = False

    # Name and postal code: same name in another spelling, same city and ZIP, ZIP+4 half the time.
    src, dst = name_pairs[:, 0], name_pairs[:, 1]
    _name_variants(rng, names, src, dst)
    _copy_fields(places, src, dst, ("state", "city", "zip5", "plus4"))
    flip_zip = rng.random(dst.size) < 0.5
    places.plus4[dst[flip_zip]] = ~places.plus4[dst[flip_zip]]
    same_street = rng.random(dst.size) < 0.5
    street_fields = ("street_no", "street_name", "street_type", "unit", "unit_digits")
    _copy_fields(places, src[same_street], dst[same_street], street_fields)

    # Some pairs were last modified at the same second: the survivor rule falls to CreatedDate.
    pairs = np.concatenate([groups["phone"], groups["name_postal"]])
    tie = pairs[rng.random(len(pairs)) < DUPLICATE_TIE_SHARE]
    latest = np.maximum(lmd[tie[:, 0]], lmd[tie[:, 1]])
    lmd[tie[:, 0]] = latest
    lmd[tie[:, 1]] = latest
    counts["ties"] = len(tie)
    return counts, used


def _plant_bad_numbers(
    rng: np.random.Generator,
    phones: _Phones,
    created: np.ndarray,
    pool: np.ndarray,
    as_of: int,
    max_calls: int,
) -> tuple[_Calls, dict[str, int], np.ndarray, dict[str, np.ndarray]]:
    """Plant the call series of `_SCENARIOS` on accounts from `pool` (old enough, else unused).

    Returns the planted calls, the count per scenario, the planted numbers (to keep background
    calls to them neutral) and, per outcome, the (account, number) pairs the rules should flag.
    """
    pool = pool[created[pool] <= as_of - PLANT_MIN_AGE]
    wanted = np.array([_scenario_count(s.rate, created.size) for s in _SCENARIOS])
    per_series = np.array([s.calls[1] + 2 for s in _SCENARIOS])
    accounts_needed = np.array([2 if s.shared else 1 for s in _SCENARIOS])
    # Planted calls stay a minority of the chunk's calls, and each series needs its own accounts.
    scale = min(1.0, 0.2 * max_calls / max(1, int((wanted * per_series).sum())))
    scale = min(scale, pool.size / max(1, int((wanted * accounts_needed).sum())))
    counts = np.floor(wanted * scale).astype(np.int64)

    parts: list[_Calls] = []
    planted_numbers = []
    pairs: dict[str, list[np.ndarray]] = {"disconnected": [], "wrong_number": []}
    used = 0
    for scenario, count in zip(_SCENARIOS, counts, strict=True):
        a = pool[used : used + count]
        used += count
        b = pool[used : used + count] if scenario.shared else a
        used += count if scenario.shared else 0
        if count == 0:
            continue
        field_a = _pick(rng, FIELD_PLANT_WEIGHT, count)
        _force_valid(rng, phones, field_a, a)
        number = phones.number[field_a, a]
        field_b = field_a
        if scenario.shared:
            field_b = rng.integers(1, len(DEFAULT_PHONE_FIELDS), count)
            phones.number[field_b, b] = number
            phones.template[field_b, b] = _valid_format(rng, count)
            phones.null[field_b, b] = False
        planted_numbers.append(number)
        if scenario.flagged:
            outcome = "disconnected" if scenario.bad == DISCONNECTED else "wrong_number"
            pairs[outcome].append(np.stack([a, number], axis=1))
            if scenario.shared:
                pairs[outcome].append(np.stack([b, number], axis=1))

        # Series times: first call after both accounts existed, last 31+ days before as_of.
        span = rng.integers(scenario.span[0], scenario.span[1] + 1, count)
        lo = np.maximum(as_of - CALL_DAYS * DAY, np.maximum(created[a], created[b]) + DAY)
        hi = as_of - 31 * DAY - span
        first = lo + (rng.random(count) * (hi - lo)).astype(np.int64)
        k = rng.integers(scenario.calls[0], scenario.calls[1] + 1, count)
        width = scenario.calls[1]
        column = np.arange(width)
        share = rng.random((count, width))
        share[:, 0] = 0.0
        share[np.arange(count), k - 1] = 1.0
        share[column >= k[:, None]] = 2.0
        share.sort(axis=1)
        seconds = first[:, None] + (np.minimum(share, 1.0) * span[:, None]).astype(np.int64)
        live = column < k[:, None]
        # Shared: every other call comes from the second account, so neither reaches the count.
        caller = (
            np.where(column % 2 == 1, b[:, None], a[:, None]) if scenario.shared else a[:, None]
        )
        caller_field = np.where(caller == a[:, None], field_a[:, None], field_b[:, None])
        caller = np.broadcast_to(caller, live.shape)[live]
        caller_field = np.broadcast_to(caller_field, live.shape)[live]
        last = seconds[np.arange(count), k - 1]
        bad = np.flatnonzero(DISP_CATEGORY == scenario.bad)
        series = [
            _Calls(
                account=caller,
                field=caller_field,
                seconds=seconds[live],
                disposition=bad[_pick(rng, DISP_WEIGHT[bad], int(live.sum()))],
                dial_template=_dial_templates(rng, int(live.sum())),
            )
        ]
        extra_seconds = []
        extra_disposition = []
        if scenario.extra_wrong:
            wrong = np.flatnonzero(DISP_CATEGORY == WRONG)
            extra_seconds += [first + 3_600, last - 3_600]
            extra_disposition += [wrong[_pick(rng, DISP_WEIGHT[wrong], count)] for _ in range(2)]
        if scenario.contact:
            after = 3_600 + (rng.random(count) * 20 * DAY).astype(np.int64)
            extra_seconds.append(last + (after if scenario.contact == "after" else 0))
            extra_disposition.append(rng.choice(PLANTED_CONTACT, count))
        for extra, disposition in zip(extra_seconds, extra_disposition, strict=True):
            series.append(_Calls(a, field_a, extra, disposition, _dial_templates(rng, count)))
        parts.extend(series)

    planted = {s.name: int(c) for s, c in zip(_SCENARIOS, counts, strict=True)}
    numbers = np.concatenate(planted_numbers) if planted_numbers else np.empty(0, np.int64)
    flagged = {
        k: np.concatenate(v) if v else np.empty((0, 2), dtype=np.int64) for k, v in pairs.items()
    }
    return _Calls.concat([_Calls.empty(), *parts]), planted, numbers, flagged


def _dial_templates(rng: np.random.Generator, n: int) -> np.ndarray:
    """Return per call the template of the dialed number: the stored one (-1) or a dialer format."""
    own = rng.random(n) < 0.6
    return np.where(own, -1, np.asarray(DIAL_FORMATS)[rng.integers(0, len(DIAL_FORMATS), n)])


def _background_calls(
    rng: np.random.Generator,
    phones: _Phones,
    created: np.ndarray,
    as_of: int,
    n_calls: int,
    planted_numbers: np.ndarray,
) -> _Calls:
    """Draw ordinary calls to valid phone cells of accounts older than two days."""
    callable_cells = phones.valid() & (created <= as_of - 2 * DAY)[None, :]
    field, account = np.nonzero(callable_cells)
    if field.size == 0 or n_calls <= 0:
        return _Calls.empty()
    cell = _pick(rng, FIELD_CALL_WEIGHT[field], n_calls)
    field, account = field[cell], account[cell]
    lo = np.maximum(as_of - CALL_DAYS * DAY, created[account] + DAY)
    seconds = lo + (rng.random(n_calls) * (as_of - 1 - lo)).astype(np.int64)
    # Move calls into 13:00-24:00 UTC (US business hours) when that stays inside the window.
    daytime = seconds - seconds % DAY + 13 * 3_600 + rng.integers(0, 11 * 3_600, n_calls)
    seconds = np.where((daytime >= lo) & (daytime < as_of), daytime, seconds)
    disposition = _pick(rng, DISP_WEIGHT, n_calls)
    number = phones.number[field, account]

    def neutral(mask: np.ndarray) -> None:
        disposition[mask] = NEUTRAL_DIAL[_pick(rng, NEUTRAL_DIAL_WEIGHT, int(mask.sum()))]

    # Keep background from reaching a rule's threshold: one bad call per number (or pair) at most.
    category = DISP_CATEGORY[disposition]
    for bad, keys in ((DISCONNECTED, number[:, None]), (WRONG, np.stack([account, number], 1))):
        rows = np.flatnonzero(category == bad)
        if rows.size:
            _, first = np.unique(keys[rows], axis=0, return_index=True)
            repeat = np.ones(rows.size, dtype=bool)
            repeat[first] = False
            mask = np.zeros(n_calls, dtype=bool)
            mask[rows[repeat]] = True
            neutral(mask)
    # Calls to planted numbers must not add bad calls or contacts to the planted series.
    neutral(np.isin(number, planted_numbers))
    return _Calls(account, field, seconds, disposition, _dial_templates(rng, n_calls))


def _account_created(rng: np.random.Generator, n: int, as_of: int) -> np.ndarray:
    """Return sorted creation seconds: a growing book over five years plus a recent share."""
    # Inverse CDF of a density rising linearly to twice its start: the book keeps growing.
    x = np.sqrt(1.0 + 3.0 * rng.random(n)) - 1.0
    span = ACCOUNT_YEARS * 365 * DAY - 2 * DAY
    age = np.where(
        rng.random(n) < RECENT_SHARE,
        1 + rng.random(n) * (2 * DAY - 1),
        2 * DAY + (1.0 - x) * span,
    )
    return np.sort(as_of - age.astype(np.int64))


def _research_requests(
    rng: np.random.Generator, created: np.ndarray, has_phone: np.ndarray, as_of: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (account, seconds, status) of research requests, sorted by time."""
    n = created.size
    # Accounts without a usable phone are the ones researchers get asked about.
    chosen = np.flatnonzero(rng.random(n) < np.where(has_phone, 0.02, 0.5))
    account = np.repeat(chosen, np.where(rng.random(chosen.size) < 0.2, 2, 1))
    lo = np.maximum(created[account] + 3_600, as_of - 3 * 365 * DAY)
    recent = rng.random(account.size) < 0.3
    lo = np.where(recent, np.maximum(lo, as_of - 89 * DAY), lo)
    seconds = lo + (rng.random(account.size) * np.maximum(as_of - 1 - lo, 0)).astype(np.int64)
    seconds = np.clip(seconds, created[account], as_of - 1)
    in_90_days = seconds > as_of - 90 * DAY
    status = np.where(
        in_90_days,
        _pick(rng, (0.4, 0.35, 0.25, 0.0, 0.0), account.size),
        _pick(rng, (0.0, 0.05, 0.65, 0.2, 0.1), account.size),
    )
    order = np.argsort(seconds, kind="stable")
    return account[order], seconds[order], status[order]


RESEARCH_STATUSES = ("New", "In Progress", "Completed", "No Number Found", "Cancelled")


def _generate_chunk(
    rng: np.random.Generator,
    ref: _Reference,
    chunk_index: int,
    n: int,
    n_calls: int,
    as_of: int,
    user_ids: pa.Array,
) -> tuple[dict[str, pa.Table | Iterator[pa.Table]], dict[str, Any]]:
    """Return the tables of one chunk of n accounts and n_calls calls, and its counts.

    Task comes as an iterator of slices, rendered only while it is written.
    """
    created = _account_created(rng, n, as_of)
    never_modified = rng.random(n) < 0.2
    lmd = created + (np.sqrt(rng.random(n)) * (as_of - 1 - created)).astype(np.int64)
    lmd = np.where(never_modified, created, lmd)
    state = _pick(rng, ref.weights, n)
    names = _names(rng, n)
    places = _places(rng, ref, state)
    phones = _phones(rng, ref, state)
    owner = rng.integers(0, len(user_ids), n)
    do_not_call = rng.random(n) < DO_NOT_CALL_SHARE

    order = rng.permutation(n)
    duplicates, used = _plant_duplicates(rng, names, places, phones, lmd, order)
    planted_calls, scenarios, planted_numbers, flagged = _plant_bad_numbers(
        rng, phones, created, order[used:], as_of, n_calls
    )
    background = _background_calls(
        rng, phones, created, as_of, n_calls - planted_calls.account.size, planted_numbers
    )
    calls = _Calls.concat([planted_calls, background])
    call_order = np.argsort(calls.seconds, kind="stable")
    calls = _Calls(*(getattr(calls, f)[call_order] for f in _Calls.__dataclass_fields__))

    account_ids = _salesforce_ids(KEY_PREFIXES["Account"], created, chunk_index)
    address = _render_places(ref, places)
    phone_columns = {
        field: _render(
            PHONE_TEMPLATES,
            phones.template[f],
            _phone_fills(phones.number[f], phones.ext[f]),
            phones.null[f],
        )
        for f, field in enumerate(DEFAULT_PHONE_FIELDS)
    }
    account = {
        "Id": account_ids,
        "Name": _render_names(names),
        "OwnerId": user_ids.take(pa.array(owner)),
        "BillingStreet": address["street"],
        "BillingCity": address["city"],
        "BillingState": address["state"],
        "BillingPostalCode": address["postal"],
        "CreatedDate": _timestamps(created),
        "LastModifiedDate": _timestamps(lmd),
        "Do_Not_Call__c": pa.array(do_not_call),
        **phone_columns,
    }

    valid = phones.valid()
    has_phone = valid.any(axis=0)
    rr_account, rr_seconds, rr_status = _research_requests(rng, created, has_phone, as_of)
    research = {
        "Id": _salesforce_ids(KEY_PREFIXES["Research_Request__c"], rr_seconds, chunk_index),
        "Account__c": account_ids.take(pa.array(rr_account)),
        "CreatedDate": _timestamps(rr_seconds),
        "Status__c": _words(RESEARCH_STATUSES, rr_status),
    }

    history_account, history_seconds, history = _address_history(rng, ref, created, state, as_of)
    history_places = _render_places(ref, history)
    address_history = {
        "Id": _salesforce_ids(KEY_PREFIXES["Address_History__c"], history_seconds, chunk_index),
        "Account__c": account_ids.take(pa.array(history_account)),
        "Street__c": history_places["street"],
        "City__c": history_places["city"],
        "State__c": history_places["state"],
        "PostalCode__c": history_places["postal"],
        "CreatedDate": _timestamps(history_seconds),
    }

    category = DISP_CATEGORY[calls.disposition]
    counts = {
        "duplicates": duplicates,
        "scenarios": scenarios,
        "autoflush_rows": _autoflush_rows(phones, flagged),
        "phones": {
            "valid": int(valid.sum()),
            "malformed": int(
                ((phones.template >= MALFORMED_START) & (phones.template < JUNK_START)).sum()
            ),
            "junk": int(((phones.template >= JUNK_START) & (phones.template < EMPTY)).sum()),
            "empty_string": int(((phones.template == EMPTY) & ~phones.null).sum()),
            "null": int(phones.null.sum()),
        },
        "accounts_without_valid_phone": int((~has_phone).sum()),
        "accounts_created_last_48h": int((created > as_of - 2 * DAY).sum()),
        "do_not_call": int(do_not_call.sum()),
        "calls_by_category": {
            name: int((category == code).sum())
            for code, name in enumerate(
                ("neutral", "contact", "wrong_number", "disconnected", "other")
            )
        },
        "research_requests_last_90_days": int((rr_seconds > as_of - 90 * DAY).sum()),
    }
    tables = {
        "Account": _table("Account", account),
        "Task": _task_slices(calls, phones, account_ids, chunk_index),
        "Research_Request__c": _table("Research_Request__c", research),
        "Address_History__c": _table("Address_History__c", address_history),
    }
    return tables, counts


TASK_SLICE = 1_000_000  # calls rendered and written at a time: one Parquet row group each


def _task_slices(
    calls: _Calls, phones: _Phones, account_ids: pa.Array, chunk_index: int
) -> Iterator[pa.Table]:
    """Yield the Task table of a chunk's calls (sorted by time) slice by slice."""
    rank = _rank_in_second(calls.seconds)
    dispositions = pa.array([s for s, _, _ in DISPOSITIONS], pa.large_string())
    for start in range(0, calls.seconds.size, TASK_SLICE):
        rows = slice(start, start + TASK_SLICE)
        field, account = calls.field[rows], calls.account[rows]
        template = calls.dial_template[rows]
        template = np.where(template < 0, phones.template[field, account], template)
        fills = _phone_fills(phones.number[field, account], phones.ext[field, account])
        seconds = calls.seconds[rows]
        task = {
            "Id": _salesforce_ids(KEY_PREFIXES["Task"], seconds, chunk_index, rank[rows]),
            "AccountId": account_ids.take(pa.array(account)),
            "Dialed_Number__c": _render(PHONE_TEMPLATES, template, fills),
            "CallDisposition": dispositions.take(pa.array(calls.disposition[rows])),
            "CreatedDate": _timestamps(seconds),
        }
        yield _table("Task", task)


def _address_history(
    rng: np.random.Generator, ref: _Reference, created: np.ndarray, state: np.ndarray, as_of: int
) -> tuple[np.ndarray, np.ndarray, _Places]:
    """Return (account, seconds, address) of 1-3 newer addresses for ~5% of accounts."""
    n = created.size
    chosen = np.flatnonzero(rng.random(n) < 0.05)
    account = np.repeat(chosen, _pick(rng, (0.6, 0.3, 0.1), chosen.size) + 1)
    lo = created[account] + DAY
    seconds = lo + (rng.random(account.size) * np.maximum(as_of - 1 - lo, 0)).astype(np.int64)
    seconds = np.clip(seconds, created[account], as_of - 1)
    moved_away = rng.random(account.size) < 0.2
    new_state = np.where(moved_away, _pick(rng, ref.weights, account.size), state[account])
    order = np.argsort(seconds, kind="stable")
    account, seconds, new_state = account[order], seconds[order], new_state[order]
    return account, seconds, _places(rng, ref, new_state)


def _autoflush_rows(phones: _Phones, flagged: dict[str, np.ndarray]) -> dict[str, int]:
    """Count the (account, field) cells the autoflush rules should clear for the planted series."""
    valid = phones.valid()
    # A disconnected number is cleared wherever it is held, planted or not.
    held = valid & np.isin(phones.number, flagged["disconnected"][:, 1])
    # A wrong-number pair clears every field of that account holding the number.
    account, number = flagged["wrong_number"][:, 0], flagged["wrong_number"][:, 1]
    wrong = (valid[:, account] & (phones.number[:, account] == number[None, :])).T
    wrong &= ~held[:, account].T
    return {"disconnected": int(held.sum()), "wrong_number": int(wrong.sum())}


# ---------------------------------------------------------------------------------------------
# Users, schemas, output
# ---------------------------------------------------------------------------------------------


@functools.cache
def _arrow_schema(table: str) -> pa.Schema:
    """Return the Arrow schema, with pandas metadata, that reads back as the canonical dtypes."""
    empty = pd.DataFrame(
        {
            column: pd.Series([], dtype=PANDAS_DTYPES[kind])
            for column, kind in table_columns(table).items()
        }
    )
    return pa.Schema.from_pandas(empty, preserve_index=False)


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """Return the columns as a table with the canonical schema of `name`."""
    schema = _arrow_schema(name)
    # Whole seconds cast losslessly to whatever timestamp unit the canonical dtype uses.
    arrays = [columns[f.name].cast(f.type) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def _users(seed: int, n_users: int, as_of: int) -> pa.Table:
    """Return the User table: names, example.com emails, about a tenth inactive."""
    rng = np.random.default_rng([seed, 62**CHUNK_DIGITS])  # a stream no chunk uses
    first = rng.integers(0, len(PERSON_FIRST), n_users)
    last = rng.integers(0, len(PERSON_LAST), n_users)
    inactive = np.zeros(n_users, dtype=bool)
    # The first user stays active so every demo has an owner the infoflow rule accepts.
    n_inactive = max(1, round(INACTIVE_USER_SHARE * n_users))
    inactive[1 + rng.permutation(n_users - 1)[:n_inactive]] = True
    name = _join([_words(PERSON_FIRST, first), _words(PERSON_LAST, last)], " ")
    local = pc.utf8_lower(_join([_words(PERSON_FIRST, first), _words(PERSON_LAST, last)], "."))
    # Namesakes get a number: jane.doe, jane.doe2, ...
    repeat = pd.Series(first * len(PERSON_LAST) + last).groupby(first * len(PERSON_LAST) + last)
    rank = repeat.cumcount().to_numpy()
    suffix = pc.if_else(
        pa.array(rank > 0),
        pc.cast(pa.array(rank + 1), pa.large_string()),
        pa.scalar("", pa.large_string()),
    )
    email = _join([local, suffix, "@example.com"], "")
    # Users predate the accounts they own: one a minute, ending six years before as_of.
    seconds = as_of - (ACCOUNT_YEARS + 1) * 365 * DAY - (n_users - np.arange(n_users)) * 60
    columns = {
        "Id": _salesforce_ids(KEY_PREFIXES["User"], seconds, 0),
        "Name": name,
        "Email": email,
        "IsActive": pa.array(~inactive),
    }
    return _table("User", columns)


ROW_GROUP_ROWS = 100_000


def _write_part(
    out_dir: Path, table_name: str, index: int, data: pa.Table | Iterator[pa.Table]
) -> int:
    """Write one part file of a table from a table or an iterator of slices; return its rows."""
    slices = [data] if isinstance(data, pa.Table) else data
    rows = 0
    path = out_dir / table_name / f"part-{index:05d}.parquet"
    with pq.ParquetWriter(path, _arrow_schema(table_name)) as writer:
        for table in slices:
            # Small row groups let readers split a part file into several Dask partitions.
            writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
            rows += table.num_rows
    return rows


def _merge_counts(total: dict[str, Any], part: dict[str, Any]) -> None:
    """Add the nested integer counts of `part` into `total`."""
    for key, value in part.items():
        if isinstance(value, dict):
            _merge_counts(total.setdefault(key, {}), value)
        else:
            total[key] = total.get(key, 0) + value


def _check_arguments(
    accounts: int, calls: int, seed: int, as_of: pd.Timestamp, chunk_accounts: int
) -> None:
    """Raise ConfigError naming the first bad argument."""
    if accounts < 1:
        raise ConfigError(f"demo accounts must be at least 1, got {accounts}")
    if calls < 0:
        raise ConfigError(f"demo calls must be 0 or more, got {calls}")
    if seed < 0:
        raise ConfigError(f"demo seed must be 0 or more, got {seed}")
    if chunk_accounts < 1:
        raise ConfigError(f"demo chunk_accounts must be at least 1, got {chunk_accounts}")
    if -(-accounts // chunk_accounts) > 62**CHUNK_DIGITS:
        raise ConfigError(f"demo chunk_accounts {chunk_accounts} makes too many chunks; raise it")
    if as_of < pd.Timestamp("1980-01-01", tz="UTC"):
        raise ConfigError(f"demo as_of must be after 1980-01-01, got {as_of}")


def generate_demo_data(
    out_dir: Path,
    accounts: int = 400_000,
    calls: int = 1_000_000,
    seed: int = 7,
    as_of: pd.Timestamp | None = None,
    chunk_accounts: int = 500_000,
) -> dict:
    """Write deterministic demo tables as Parquet under out_dir and return what was planted.

    Args:
        out_dir: folder that receives `<Table>/part-NNNNN.parquet` and `_demo.json`; earlier part
            files of these tables are removed first.
        accounts: Account rows.
        calls: Task rows, about (planted series can shift the total by a few).
        seed: random seed; the same arguments always give the same files.
        as_of: every date lies before it; default today 00:00 UTC. Naive timestamps are UTC.
        chunk_accounts: accounts generated (and held in memory) at a time, with their calls.

    Returns:
        Counts: rows per table, planted duplicates by kind, planted bad-number series by
        scenario, the autoflush rows they imply, phone-value quality and more.
    """
    if as_of is None:
        as_of = pd.Timestamp.now(tz="UTC").normalize()
    as_of = as_utc(as_of)
    _check_arguments(accounts, calls, seed, as_of, chunk_accounts)
    as_of_seconds = as_of.value // NS

    ref = _load_reference()
    out_dir = Path(out_dir)
    for name in TABLE_NAMES:
        folder = out_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("part-*.parquet"):
            stale.unlink()

    n_users = max(MIN_USERS, round(accounts / ACCOUNTS_PER_USER))
    users = _users(seed, n_users, as_of_seconds)
    _write_part(out_dir, "User", 0, users)
    rows = dict.fromkeys(TABLE_NAMES, 0)
    rows["User"] = users.num_rows
    totals: dict[str, Any] = {}

    n_chunks = -(-accounts // chunk_accounts)
    for index in range(n_chunks):
        start, stop = index * chunk_accounts, min(accounts, (index + 1) * chunk_accounts)
        # Calls split in proportion to accounts, so the total is exact whatever the chunking.
        chunk_calls = calls * stop // accounts - calls * start // accounts
        rng = np.random.default_rng([seed, index])
        tables, counts = _generate_chunk(
            rng, ref, index, stop - start, chunk_calls, as_of_seconds, users.column("Id")
        )
        for name, data in tables.items():
            rows[name] += _write_part(out_dir, name, index, data)
        _merge_counts(totals, counts)

    scenarios = totals.pop("scenarios")
    flagged = {s.name for s in _SCENARIOS if s.flagged}
    duplicates = totals.pop("duplicates")
    result = {
        "rows": rows,
        "duplicates": {
            **duplicates,
            # Records the dedupe job should flag: one per pair, two per chain.
            "flagged": duplicates["phone"] + duplicates["name_postal"] + 2 * duplicates["chain"],
        },
        "disconnected_numbers": sum(
            v for k, v in scenarios.items() if k in flagged and k.startswith("disconnected")
        ),
        "disconnected_shared": scenarios["disconnected_shared"],
        "wrong_number_pairs": sum(
            v for k, v in scenarios.items() if k in flagged and k.startswith("wrong_number")
        ),
        "bad_number_scenarios": scenarios,
        "near_misses": {k: v for k, v in scenarios.items() if k not in flagged},
        "inactive_users": int(pc.sum(pc.invert(users.column("IsActive"))).as_py()),
        **totals,
    }
    manifest = {
        "generator": "dialflow.demo.generate_demo_data",
        "parameters": {
            "accounts": accounts,
            "calls": calls,
            "seed": seed,
            "as_of": as_of.isoformat(),
            "chunk_accounts": chunk_accounts,
            "chunks": n_chunks,
        },
        "counts": result,
    }
    (out_dir / "_demo.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return result
