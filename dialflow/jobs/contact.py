"""The contact model: who answers, at which local hour, learned from the Task history.

Pure functions on pandas frames, as every job's logic (docs/contact-model.md has the formula and
why); `contact_frame` runs them in pandas (the reference) and `run_contact_model` wires them on
Dask: each Task partition cut down to the calls the model reads (`dialled_calls`, the number as
int64) and the account phones to their numbers (`number_holders`), both shuffled by the number,
so that `joined_calls` per partition gives every call its account's field and each number's
calls meet; `call_stats` per partition persisted, the cell tables and the number level's moment
sums gathered (small), and `number_evidence` per partition.

- `contact_calls`: each call's number (E.164), the account field that holds it, the number's
  state and local hour and weekday (time zone from its area code), and whether it was a contact
  (autoflush's `contact` dispositions): `dialled_calls` then `joined_calls`.
- `call_stats`: calls and contacts per (number, field, state, local hour, weekday): partial
  aggregates that add up across partitions. `recency` and `attempts_since_contact` give the last
  attempt, the last contact and the attempts after it.
- `fit_contact_model`: empirical-Bayes rates per (field, state, hour), weekday factors per
  state, and each field's prior strength for numbers; `ContactModel` estimates P(contact |
  number, local hour, weekday) and the best hour inside a calling window.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..phones import normalize_e164
from ..schema import STRING, TIMESTAMP, empty_frame
from . import Compute, Persist, dask_compute, dask_persist
from .dispositions import categorise, category_map
from .params import JobParams
from .rows import lacks_id

if TYPE_CHECKING:
    import dask.dataframe as dd

    from ..config import Settings

CONTACT = "contact"  # the dispositions category that reached a person (autoflush's)
HOURS = np.arange(24)
WEEKDAYS = np.arange(7)  # Monday = 0, as pandas counts
MAX_STRENGTH = 1e6
"""Prior strength (in contacts) standing for "no spread at all": a unit's own evidence is
ignored. Finite, so model.json stays valid JSON."""

STATS_KEYS = ["PhoneE164", "Field", "State", "LocalHour", "Weekday"]
NUMBER_KEYS = ["PhoneE164", "Field"]

CONTACT_CALLS_META = empty_frame(
    {
        "PhoneE164": STRING,
        "Field": STRING,
        "State": STRING,
        "LocalHour": "int8",
        "Weekday": "int8",
        "Contact": "bool",
        "CreatedDate": TIMESTAMP,
    }
)
STATS_META = empty_frame(
    {
        "PhoneE164": STRING,
        "Field": STRING,
        "State": STRING,
        "LocalHour": "int8",
        "Weekday": "int8",
        "Calls": "int64",
        "Contacts": "int64",
    }
)
RECENCY_META = empty_frame(
    {
        "PhoneE164": STRING,
        "Field": STRING,
        "FirstCall": TIMESTAMP,
        "LastCall": TIMESTAMP,
        "LastContact": TIMESTAMP,
    }
)
ATTEMPTS_META = empty_frame({"PhoneE164": STRING, "Field": STRING, "AttemptsSinceContact": "int64"})
# A number's evidence (what the model reads), then its facts (the evidence and its history).
_EVIDENCE_COLUMNS = {
    "PhoneE164": STRING,
    "Field": STRING,
    "State": STRING,
    "Calls": "int64",
    "Contacts": "int64",
    "Expected": "float64",
    "Ratio": "float64",
}
EVIDENCE_META = empty_frame(_EVIDENCE_COLUMNS)
FACTS_META = empty_frame(
    {
        **_EVIDENCE_COLUMNS,
        "LastCall": TIMESTAMP,
        "LastContact": TIMESTAMP,
        "AttemptsSinceContact": "int64",
        "DaysSinceLastAttempt": "float64",
    }
)


class ContactParams(JobParams):
    """What the contact model needs, resolved from the settings."""

    phone_fields: tuple[str, ...]
    region: str
    categories: dict[str, str]  # autoflush's disposition map: which calls were contacts
    as_of: pd.Timestamp

    @classmethod
    def from_settings(cls, settings: Settings, as_of: pd.Timestamp) -> ContactParams:
        """Contacts are autoflush's `contact` dispositions, as infoflow reads them."""
        return cls(
            phone_fields=settings.phones.fields,
            region=settings.phones.region,
            categories=category_map(settings.autoflush.dispositions),
            as_of=as_of,
        )


def _first_zones(area_codes: pd.DataFrame) -> pd.DataFrame:
    """The area-code table as State and TimeZone (the first zone it lists) by area_code: a few
    hundred rows, split once here rather than once per call."""
    return pd.DataFrame(
        {
            "State": area_codes["state"].astype(STRING).to_numpy(),
            "TimeZone": area_codes["time_zone"].astype(STRING).str.split("|").str[0].to_numpy(),
        },
        index=pd.Index(area_codes["area_code"].astype(str), name="area_code"),
    ).astype(STRING)


def number_places(e164: pd.Series, area_codes: pd.DataFrame) -> pd.DataFrame:
    """Return each +1 number's State and time zone (the first zone its area code lists: the one
    listiq writes a window's offset in); missing where the area code maps to no state."""
    code = e164.where(e164.str.startswith("+1").fillna(False)).str.slice(2, 5)
    by_code = _first_zones(area_codes)
    return pd.DataFrame(
        {
            "State": code.map(by_code["State"]).astype(STRING),
            "TimeZone": code.map(by_code["TimeZone"]).astype(STRING),
        },
        index=e164.index,
    )


@dataclass(frozen=True)
class Places:
    """State and time zone by three-digit area code (0-999), as codes into `states` and
    `zones`, -1 where unmapped: a thousand-entry lookup that a number's area code indexes
    directly, instead of a text join per call."""

    state: np.ndarray  # int16 per area code: index into `states`, -1 for none
    zone: np.ndarray  # int16 per area code: index into `zones`, -1 for none
    states: tuple[str, ...]  # sorted
    zones: tuple[str, ...]

    @classmethod
    def of(cls, area_codes: pd.DataFrame) -> Places:
        """The lookup of the reference table (area_code, state, time_zone)."""
        table = _first_zones(area_codes).dropna()
        table = table[table.index.str.fullmatch(r"\d{3}")]
        states = tuple(sorted(table["State"].unique()))
        zones = tuple(sorted(table["TimeZone"].unique()))
        codes = table.index.astype(int).to_numpy()
        state = np.full(1000, -1, dtype=np.int16)
        zone = np.full(1000, -1, dtype=np.int16)
        state[codes] = pd.Index(states).get_indexer(table["State"])
        zone[codes] = pd.Index(zones).get_indexer(table["TimeZone"])
        return cls(state, zone, states, zones)

    def state_of(self, number: np.ndarray) -> pd.Categorical:
        """The State of ten-digit +1 numbers (categories: all states, sorted)."""
        return pd.Categorical.from_codes(self.state[number // 10**7], categories=self.states)


def local_hour_weekday(created: pd.Series, zones: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return the local hour and weekday (Monday 0) of UTC instants in their IANA zones; -1
    where the zone is missing."""
    hour = np.full(len(created), -1, dtype=np.int8)
    weekday = np.full(len(created), -1, dtype=np.int8)
    values = zones.to_numpy(dtype=object, na_value=None)
    # One conversion per distinct zone (a dozen in the US), each vectorised.
    for zone in pd.unique(zones.dropna()):
        mask = values == zone
        hour[mask], weekday[mask] = _local_clock(created[mask], zone)
    return hour, weekday


def _local_clock(created: pd.Series, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """Local hour and weekday of UTC instants in one zone, from the local wall time's integer
    nanoseconds (the `.dt` accessors of a zoned series cost more than the conversion)."""
    wall = created.dt.tz_convert(zone).dt.tz_localize(None).astype("datetime64[ns]")
    ns = wall.to_numpy().view(np.int64)
    day = ns // 86_400_000_000_000
    hour = (ns - day * 86_400_000_000_000) // 3_600_000_000_000
    # 1970-01-01, day 0, was a Thursday: weekday 3 when Monday is 0.
    return hour.astype(np.int8), ((day + 3) % 7).astype(np.int8)


def national_numbers(e164: pd.Series) -> np.ndarray:
    """The ten digits after +1 of E.164 numbers as int64 (what a +1 number is, as a key that
    hashes, joins and sorts as one machine word); -1 for other and missing numbers."""
    text = pa.array(e164.astype(STRING).array)
    plus_one = pc.fill_null(pc.match_substring_regex(text, r"^\+1[0-9]{10}$"), False)
    digits = pc.utf8_slice_codeunits(pc.if_else(plus_one, text, pa.scalar(None, text.type)), 2)
    return pc.fill_null(pc.cast(digits, pa.int64()), -1).to_numpy(zero_copy_only=False)


def e164_of(numbers: np.ndarray) -> pd.Series:
    """E.164 text of ten-digit +1 numbers (`national_numbers`' inverse)."""
    text = pc.binary_join_element_wise("+1", pc.cast(pa.array(numbers), pa.string()), "")
    return pd.Series(pd.array(text, dtype=STRING))


def _e164_once(values: pd.Series, region: str) -> pd.Series:
    """`normalize_e164` of each distinct value once (a number is dialled several times, and
    parsing is most of the calls' cost); text values only, else every value."""
    if not isinstance(values.dtype, pd.StringDtype):
        return normalize_e164(values, region)
    codes, distinct = pd.factorize(values)
    normalized = normalize_e164(pd.Series(distinct, dtype=values.dtype), region)
    return pd.Series(normalized.array.take(codes, allow_fill=True), index=values.index)


DIALLED_META = empty_frame(
    {
        "AccountId": STRING,
        "Number": "int64",
        "LocalHour": "int8",
        "Weekday": "int8",
        "Contact": "bool",
        "CreatedDate": TIMESTAMP,
    }
)
HOLDERS_META = empty_frame({"AccountId": STRING, "Number": "int64", "FieldOrder": "int8"})


def dialled_calls(calls: pd.DataFrame, places: Places, params: ContactParams) -> pd.DataFrame:
    """The Task rows of a partition the model can learn from, before they meet the account's
    fields (DIALLED_META): dated at or before as-of, with an account, a valid +1 number whose
    area code has a state and zone; the number as its ten digits, the local hour and weekday,
    whether it was a contact. Per call, so it runs before the shuffle: the shuffle moves six
    narrow columns, not the raw text."""
    created = calls["CreatedDate"]
    keep = (created.notna() & (created <= params.as_of)).to_numpy(dtype=bool)
    calls = calls[keep & ~lacks_id(calls["AccountId"])]
    number = national_numbers(_e164_once(calls["Dialed_Number__c"], params.region))
    code = np.where(number >= 0, number // 10**7, 0)
    zone = np.where(number >= 0, places.zone[code], -1)
    mapped = (zone >= 0) & (places.state[code] >= 0)
    calls, number, zone = calls[mapped], number[mapped], zone[mapped]
    created = calls["CreatedDate"].astype(TIMESTAMP)
    hour = np.empty(len(calls), dtype=np.int8)
    weekday = np.empty(len(calls), dtype=np.int8)
    for z in np.unique(zone):  # a dozen zones in the US, each converted in one go
        mask = zone == z
        hour[mask], weekday[mask] = _local_clock(created[mask], places.zones[z])
    frame = pd.DataFrame(
        {
            "AccountId": calls["AccountId"].astype(STRING).to_numpy(),
            "Number": number,
            "LocalHour": hour,
            "Weekday": weekday,
            "Contact": (categorise(calls["CallDisposition"], params.categories) == CONTACT)
            .fillna(False)
            .to_numpy(dtype=bool),
            "CreatedDate": created.array,  # .to_numpy() of zoned stamps: objects
        }
    )
    return frame.astype(DIALLED_META.dtypes.to_dict())


def number_holders(phones: pd.DataFrame, params: ContactParams) -> pd.DataFrame:
    """The accounts' +1 numbers (HOLDERS_META) from autoflush's `account_phones` rows: each
    with the position of its field in `phones.fields` (a one-byte code to shuffle; the first
    field holding a number wins, in `holders_fields`)."""
    number = national_numbers(phones["PhoneE164"])
    order = phones["Field"].map({field: i for i, field in enumerate(params.phone_fields)})
    frame = pd.DataFrame(
        {
            "AccountId": phones["AccountId"].astype(STRING).to_numpy(),
            "Number": number,
            "FieldOrder": order.to_numpy(),
        }
    )
    return frame[number >= 0].astype(HOLDERS_META.dtypes.to_dict())


def joined_calls(
    dialled: pd.DataFrame, holders: pd.DataFrame, places: Places, params: ContactParams
) -> pd.DataFrame:
    """`dialled_calls` rows with the field of their account that holds the number (the first
    in `phones.fields` order; none: the call is dropped) and the number's state: the calls the
    model learns from, keyed by Number (CONTACT_CALLS_META with Number for PhoneE164, Field
    and State categorical). Both inputs hold whole numbers (hashed by Number)."""
    first = holders.sort_values("FieldOrder", kind="stable").drop_duplicates(
        ["AccountId", "Number"]
    )
    # Joined on the number alone (one machine word), then the account checked: the same rows
    # as a join on both, without hashing the Id text.
    merged = dialled.merge(first, on="Number", suffixes=("", "_holder"))
    merged = merged[(merged["AccountId"] == merged["AccountId_holder"]).to_numpy(dtype=bool)]
    return pd.DataFrame(
        {
            "Number": merged["Number"].to_numpy(),
            "Field": pd.Categorical.from_codes(
                merged["FieldOrder"].to_numpy(), categories=list(params.phone_fields)
            ),
            "State": places.state_of(merged["Number"].to_numpy()),
            "LocalHour": merged["LocalHour"].to_numpy(),
            "Weekday": merged["Weekday"].to_numpy(),
            "Contact": merged["Contact"].to_numpy(),
            "CreatedDate": merged["CreatedDate"].array,
        }
    ).astype({"CreatedDate": TIMESTAMP})


def contact_calls(
    calls: pd.DataFrame, phones: pd.DataFrame, area_codes: pd.DataFrame, params: ContactParams
) -> pd.DataFrame:
    """Return the calls of a Task partition that the model learns from (CONTACT_CALLS_META).

    Args:
        calls: Task rows (AccountId, Dialed_Number__c, CallDisposition, CreatedDate).
        phones: the accounts' phone fields (AccountId, Field, PhoneE164), as autoflush's
            `account_phones` gives them, for at least the calls' accounts.
        area_codes: the reference table (area_code, state, time_zone).
        params: resolved parameters.

    A call counts when it is dated at or before as-of, its number is valid and mapped to a
    state, and a field of its account holds that number (the first such field in
    `phones.fields` order): the field is what the model calls the line's type, and a number no
    field holds any more has no type to learn for. `dialled_calls` then `joined_calls`, the
    steps the Dask wiring runs on either side of its shuffle.
    """
    places = Places.of(area_codes)
    joined = joined_calls(
        dialled_calls(calls, places, params), number_holders(phones, params), places, params
    )
    return with_e164(joined)[list(CONTACT_CALLS_META.columns)].astype(
        CONTACT_CALLS_META.dtypes.to_dict()
    )


def with_e164(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame keyed by Number with the PhoneE164 text in its place (the same column order),
    Field and State as text."""
    if "Number" not in frame.columns:
        return frame
    columns = ["PhoneE164" if c == "Number" else c for c in frame.columns]
    e164 = e164_of(frame["Number"].to_numpy()).set_axis(frame.index)
    out = frame.assign(PhoneE164=e164)[columns]
    text = {c: STRING for c in ("Field", "State") if c in out.columns}
    return out.astype(text)


def number_keys(frame: pd.DataFrame) -> list[str]:
    """A number's keys in `frame`: (Number, Field) inside the Dask wiring, (PhoneE164, Field)
    in the frames this module returns."""
    return ["Number", "Field"] if "Number" in frame.columns else NUMBER_KEYS


def _as_meta(frame: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """`frame` cast to `meta`'s dtypes where it has the column; the wiring's Number key and
    categorical Field and State stay as they are (`with_e164` turns them into text)."""
    dtypes = {
        column: dtype
        for column, dtype in meta.dtypes.items()
        if column in frame.columns and not isinstance(frame[column].dtype, pd.CategoricalDtype)
    }
    return frame.astype(dtypes)


def _stats_keys(frame: pd.DataFrame) -> list[str]:
    return [number_keys(frame)[0], *STATS_KEYS[1:]]


def call_stats(calls: pd.DataFrame) -> pd.DataFrame:
    """Calls and contacts per (number, field, state, local hour, weekday) of `contact_calls`
    rows (or of `joined_calls` rows, keyed by Number). Sparse: a handful of calls per number
    make a handful of rows, not 24 x 7."""
    keys = _stats_keys(calls)
    counted = calls[keys].assign(Calls=1, Contacts=calls["Contact"].astype("int64"))
    return combine_stats(counted)


def combine_stats(stats: pd.DataFrame) -> pd.DataFrame:
    """Add up partial `call_stats` (of any partitions) per key; sorted by key."""
    keys = _stats_keys(stats)
    summed = stats.groupby(keys, observed=True, sort=True)[["Calls", "Contacts"]].sum()
    return _as_meta(summed.reset_index(), STATS_META)


def recency(calls: pd.DataFrame) -> pd.DataFrame:
    """First and last attempt, and last contact, per (number, field) of `contact_calls` rows;
    partial results combine with `combine_recency`."""
    frame = calls[[*number_keys(calls), "CreatedDate"]].assign(
        FirstCall=calls["CreatedDate"],
        LastCall=calls["CreatedDate"],
        LastContact=calls["CreatedDate"].where(calls["Contact"].to_numpy(dtype=bool)),
    )
    return combine_recency(frame)


def combine_recency(frame: pd.DataFrame) -> pd.DataFrame:
    """Combine partial `recency` rows: min of the first call, max of the last ones."""
    combined = frame.groupby(number_keys(frame), observed=True, sort=True).agg(
        FirstCall=("FirstCall", "min"),
        LastCall=("LastCall", "max"),
        LastContact=("LastContact", "max"),
    )
    return _as_meta(combined.reset_index(), RECENCY_META)


def attempts_since_contact(calls: pd.DataFrame, last: pd.DataFrame) -> pd.DataFrame:
    """Attempts strictly after each (number, field)'s last contact (all attempts when it was
    never reached), counted in one partition of `contact_calls` rows.

    The count needs the last contact over all partitions first (`combine_recency`), so it is a
    second pass; its partial counts add up (`combine_attempts`).
    """
    keys = number_keys(calls)
    joined = calls[[*keys, "CreatedDate"]].merge(last[[*keys, "LastContact"]], on=keys, how="left")
    after = (joined["CreatedDate"] > joined["LastContact"]).fillna(False) | joined[
        "LastContact"
    ].isna()
    counted = joined[keys].assign(AttemptsSinceContact=after.to_numpy(dtype="int64"))
    return combine_attempts(counted)


def combine_attempts(frame: pd.DataFrame) -> pd.DataFrame:
    """Add up partial `attempts_since_contact` counts per (number, field)."""
    keys = number_keys(frame)
    summed = frame.groupby(keys, observed=True, sort=True)[["AttemptsSinceContact"]].sum()
    return _as_meta(summed.reset_index(), ATTEMPTS_META)


def days_since(stamps: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Elapsed days (fractional) from each stamp to as-of; missing stays missing."""
    return (as_of - stamps).dt.total_seconds() / 86_400


# The model ---------------------------------------------------------------------------------


def prior_strength(contacts: Any, expected: Any, expected_sq: Any) -> float:
    """Method-of-moments strength alpha of a Gamma(alpha, alpha) prior on units' rate ratios.

    Each unit (a cell, a number) has `contacts` K, `expected` E = sum of calls x parent rate
    and `expected_sq` Q = sum of calls x parent rate^2. If its true ratio has mean 1 and
    variance s2 around the parent, binomial calls give E[(K - E)^2] = s2 (E^2 - Q) + E - Q, so
    s2 = sum[(K - E)^2 - E + Q] / sum[E^2 - Q], and alpha = 1 / s2. Units with one call add
    nothing to the denominator: one call cannot show spread. No excess spread: MAX_STRENGTH.
    """
    k, e, q = (np.asarray(v, dtype=np.float64) for v in (contacts, expected, expected_sq))
    return strength_from_moments(
        float(np.sum((k - e) ** 2 - e + q)), float(np.sum(e * e - q)), float(np.sum(e * e))
    )


def strength_from_moments(excess: float, spread: float, scale: float) -> float:
    """alpha = spread / excess from `prior_strength`'s sums (excess: sum[(K - E)^2 - E + Q],
    spread: sum[E^2 - Q], scale: sum[E^2]); sums, so partitions' partial sums add up."""
    # E^2 - Q of one-call units is zero up to rounding: relative to E^2, not exactly.
    if spread <= 1e-9 * scale or excess <= 0:
        return MAX_STRENGTH
    return float(min(spread / excess, MAX_STRENGTH))


def shrunk_ratio(contacts: Any, expected: Any, strength: Any) -> np.ndarray:
    """Posterior mean of a unit's rate ratio to its parent: (K + alpha) / (E + alpha).

    The Gamma-Poisson posterior; alpha is how many expected contacts of evidence move a unit
    halfway from its parent. With no calls (E = 0) it is 1: the parent's rate.
    """
    k, e = np.asarray(contacts, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    return np.where(e > 0, (k + strength) / np.maximum(e + strength, 1e-300), 1.0)


def _level(
    cells: pd.DataFrame, keys: list[str], parent: pd.Series
) -> tuple[pd.Series, float, pd.DataFrame]:
    """Shrink the rates of `keys` units toward their parent rate (aligned with `cells`' rows):
    return the unit ratios, the fitted strength and the unit table (Calls, Contacts, Expected)."""
    units = (
        cells.assign(
            Expected=cells["Calls"] * parent.to_numpy(),
            ExpectedSq=cells["Calls"] * parent.to_numpy() ** 2,
        )
        .groupby(keys, observed=True, sort=True)[["Calls", "Contacts", "Expected", "ExpectedSq"]]
        .sum()
    )
    strength = prior_strength(units["Contacts"], units["Expected"], units["ExpectedSq"])
    ratio = pd.Series(
        shrunk_ratio(units["Contacts"], units["Expected"], strength), index=units.index
    )
    return ratio, strength, units.drop(columns="ExpectedSq")


def _lookup(table: pd.Series, frame: pd.DataFrame, keys: list[str], default: Any) -> np.ndarray:
    """Values of a Series indexed by `keys` for each row of `frame` (default where absent)."""
    if len(keys) == 1:
        index = pd.Index(frame[keys[0]])
    else:
        index = pd.MultiIndex.from_frame(frame[keys])
    positions = table.index.get_indexer(index)
    values = table.to_numpy(dtype=np.float64)
    found = positions >= 0
    out = np.full(len(frame), default, dtype=np.float64)
    out[found] = values[positions[found]]
    return out


@dataclass(frozen=True)
class ContactModel:
    """P(contact | number, local hour, weekday) = min(1, rate(field, state, hour) x
    weekday(state, weekday) x ratio(number)); docs/contact-model.md.

    The rate of a (field, state, hour) cell is field(f) x hour(f, h) x state(f, s) x cell(f, s,
    h): the field's rate, its hour profile, the state's level and the cell's own deviation, each
    a shrunk ratio to the one before. `weekday` is weekday_all(w) x weekday(s, w). A number's
    ratio is shrunk with its field's `number_strength`.
    """

    overall: float  # contacts / calls over everything: the rate of a field with no history
    field: pd.Series  # Field -> rate
    hour: pd.Series  # (Field, LocalHour) -> ratio to the field's rate
    state: pd.Series  # (Field, State) -> ratio
    cell: pd.Series  # (Field, State, LocalHour) -> ratio
    weekday_all: pd.Series  # Weekday -> ratio
    weekday: pd.Series  # (State, Weekday) -> ratio to weekday_all
    strengths: dict[str, float]  # prior strength of each level, in contacts
    number_strength: pd.Series  # Field -> prior strength of a number's ratio

    def cell_rate(self, frame: pd.DataFrame) -> np.ndarray:
        """Rate of each row's (Field, State, LocalHour) cell, weekdays averaged as called."""
        field = _lookup(self.field, frame, ["Field"], self.overall)
        return (
            field
            * _lookup(self.hour, frame, ["Field", "LocalHour"], 1.0)
            * _lookup(self.state, frame, ["Field", "State"], 1.0)
            * _lookup(self.cell, frame, ["Field", "State", "LocalHour"], 1.0)
        )

    def day_factor(self, frame: pd.DataFrame) -> np.ndarray:
        """Weekday factor of each row's (State, Weekday)."""
        return _lookup(self.weekday_all, frame, ["Weekday"], 1.0) * _lookup(
            self.weekday, frame, ["State", "Weekday"], 1.0
        )

    def probability(self, rows: pd.DataFrame, hours: np.ndarray, weekday: int) -> np.ndarray:
        """P(contact) of each row (Field, State, Ratio: `number_evidence`'s, 1 for a number
        without history) at each local hour: a rows x hours matrix."""
        keys = rows[["Field", "State"]].astype(object)
        # The rates depend on (field, state) only: a few hundred pairs, however many rows.
        pair = keys.groupby(["Field", "State"], dropna=False, sort=False).ngroup().to_numpy()
        pairs = keys.drop_duplicates()
        k, m = len(pairs), len(hours)
        grid = pd.DataFrame(
            {
                "Field": np.repeat(pairs["Field"].to_numpy(dtype=object), m),
                "State": np.repeat(pairs["State"].to_numpy(dtype=object), m),
                "LocalHour": np.tile(np.asarray(hours, dtype=np.int64), k),
                "Weekday": weekday,
            }
        )
        rate = (self.cell_rate(grid) * self.day_factor(grid)).reshape(k, m)
        ratio = rows["Ratio"].to_numpy(dtype=np.float64)[:, None]
        return np.minimum(rate[pair] * ratio, 1.0)

    def best_hour(
        self, rows: pd.DataFrame, start: np.ndarray, end: np.ndarray, weekday: int
    ) -> pd.DataFrame:
        """The local hour with the highest estimate inside each row's window [start, end) (whole
        local hours; an hour counts when it starts inside the window), and that estimate.

        Ties go to the earliest hour. A row with no hour in its window gets neither.
        """
        p = self.probability(rows, HOURS, weekday)
        start = np.asarray(start, dtype=np.float64)[:, None]
        end = np.asarray(end, dtype=np.float64)[:, None]
        inside = (HOURS[None, :] >= start) & (HOURS[None, :] < end)
        masked = np.where(inside, p, -1.0)
        best = masked.argmax(axis=1)
        any_hour = inside.any(axis=1)
        chosen = masked[np.arange(len(rows)), best]
        hour = pd.Series(best, index=rows.index, dtype="Int64")
        return pd.DataFrame(
            {
                "BestHourLocal": hour.mask(~any_hour),
                "ContactProbability": np.where(any_hour, chosen, np.nan),
            },
            index=rows.index,
        )

    def to_json(self) -> dict[str, Any]:
        """The model in human-readable form: rates by field and hour, the state and weekday
        factors, and every prior strength (model.json)."""

        def rows(series: pd.Series, value: str) -> list[dict[str, Any]]:
            frame = series.rename(value).reset_index()
            return [
                {k: (v.item() if hasattr(v, "item") else v) for k, v in record.items()}
                for record in frame.to_dict("records")
            ]

        return {
            "model": "contact",
            "version": 1,
            "overall_rate": self.overall,
            "field_rates": {k: float(v) for k, v in self.field.items()},
            "rates_by_field_and_hour": {
                str(field): {
                    str(int(hour)): float(self.field.get(field, self.overall) * ratio)
                    for (f, hour), ratio in self.hour.items()
                    if f == field
                }
                for field in self.field.index
            },
            "hour_ratios": rows(self.hour, "ratio"),
            "state_ratios": rows(self.state, "ratio"),
            "cell_ratios": rows(self.cell, "ratio"),
            "weekday_ratios": {str(int(k)): float(v) for k, v in self.weekday_all.items()},
            "state_weekday_ratios": rows(self.weekday, "ratio"),
            "prior_strengths": dict(self.strengths),
            "number_prior_strengths": {k: float(v) for k, v in self.number_strength.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContactModel:
        """The model `to_json` wrote (`rates_by_field_and_hour` is derived and not read)."""
        if data.get("model") != "contact" or data.get("version") != 1:
            raise ValueError("not a contact model.json of version 1")

        def series(records: list[dict[str, Any]], keys: list[str]) -> pd.Series:
            frame = pd.DataFrame(records, columns=[*keys, "ratio"])
            for key in keys:
                frame[key] = frame[key].astype("int64" if key in _INT_KEYS else object)
            return frame.set_index(keys)["ratio"].astype("float64").sort_index()

        return cls(
            overall=float(data["overall_rate"]),
            field=pd.Series(data["field_rates"], dtype="float64").rename_axis("Field"),
            hour=series(data["hour_ratios"], ["Field", "LocalHour"]),
            state=series(data["state_ratios"], ["Field", "State"]),
            cell=series(data["cell_ratios"], ["Field", "State", "LocalHour"]),
            weekday_all=pd.Series(
                {int(k): float(v) for k, v in data["weekday_ratios"].items()}, dtype="float64"
            ).rename_axis("Weekday"),
            weekday=series(data["state_weekday_ratios"], ["State", "Weekday"]),
            strengths={k: float(v) for k, v in data["prior_strengths"].items()},
            number_strength=pd.Series(data["number_prior_strengths"], dtype="float64").rename_axis(
                "Field"
            ),
        )


_INT_KEYS = frozenset({"LocalHour", "Weekday"})


def save_model(model: ContactModel, path: Path) -> None:
    """Write the model as model.json (sorted keys, so that equal models write equal files)."""
    path.write_text(json.dumps(model.to_json(), indent=2, sort_keys=True) + "\n", "utf-8")


def load_model(path: Path) -> ContactModel:
    """Read a model.json `save_model` wrote (to pin a model for reproducible runs)."""
    return ContactModel.from_json(json.loads(path.read_text(encoding="utf-8")))


CELL_KEYS = ["Field", "State", "LocalHour", "Weekday"]
MOMENTS_META = empty_frame(
    {"Field": STRING, "Excess": "float64", "Spread": "float64", "Scale": "float64"}
)


def cell_table(stats: pd.DataFrame) -> pd.DataFrame:
    """Calls and contacts per (field, state, local hour, weekday) of `call_stats` rows (or of
    partial cell tables): at most fields x states x 24 x 7 rows, whatever the history's size."""
    cells = stats.groupby(CELL_KEYS, observed=True, sort=True)[["Calls", "Contacts"]].sum()
    # Text keys (the wiring's categorical ones too): the model's levels are indexed by text.
    return cells.reset_index().astype({"Field": STRING, "State": STRING})


def fit_contact_model(
    stats: pd.DataFrame, number_stats: pd.DataFrame | None = None
) -> ContactModel:
    """Fit the model from `call_stats` rows (all partitions combined).

    Each level is a shrunk ratio to the one above it, its strength fitted by the method of
    moments over its units (`prior_strength`): field -> (field, hour) -> (field, state) ->
    (field, state, hour) -> weekday -> (state, weekday) -> number. `number_stats` (default:
    `stats`) are the rows the number level is fitted on.
    """
    model = fit_cell_levels(cell_table(stats))
    moments = number_moments(number_stats if number_stats is not None else stats, model)
    return with_number_strength(model, moments)


def fit_cell_levels(cells: pd.DataFrame) -> ContactModel:
    """Fit every level above the number from a `cell_table` (the number strengths left empty:
    `with_number_strength` adds them)."""
    cells = cell_table(cells)
    calls, contacts = int(cells["Calls"].sum()), int(cells["Contacts"].sum())
    if calls == 0:
        raise ValueError("the contact model needs at least one call")
    overall = contacts / calls
    by_field = cells.groupby("Field", observed=True, sort=True)[["Calls", "Contacts"]].sum()
    field = (by_field["Contacts"] / by_field["Calls"]).rename_axis("Field")
    parent = pd.Series(_lookup(field, cells, ["Field"], overall))
    hour, s_hour, _ = _level(cells, ["Field", "LocalHour"], parent)
    parent = parent * _lookup(hour, cells, ["Field", "LocalHour"], 1.0)
    state, s_state, _ = _level(cells, ["Field", "State"], parent)
    parent = parent * _lookup(state, cells, ["Field", "State"], 1.0)
    cell, s_cell, _ = _level(cells, ["Field", "State", "LocalHour"], parent)
    parent = parent * _lookup(cell, cells, ["Field", "State", "LocalHour"], 1.0)
    # Weekday after the hours: the cell rates average the weekdays as they were called.
    weekday_all, s_weekday_all, _ = _level(cells, ["Weekday"], parent)
    parent = parent * _lookup(weekday_all, cells, ["Weekday"], 1.0)
    weekday, s_weekday = _level(cells, ["State", "Weekday"], parent)[:2]
    return ContactModel(
        overall=overall,
        field=field,
        hour=hour,
        state=state,
        cell=cell,
        weekday_all=weekday_all,
        weekday=weekday,
        strengths={
            "hour": s_hour,
            "state": s_state,
            "cell": s_cell,
            "weekday": s_weekday_all,
            "state_weekday": s_weekday,
        },
        number_strength=pd.Series(dtype="float64"),
    )


def number_moments(stats: pd.DataFrame, model: ContactModel) -> pd.DataFrame:
    """Per field, the number level's `prior_strength` sums (MOMENTS_META) over `call_stats`
    rows holding whole numbers; partitions' sums add up (`with_number_strength`)."""
    terms = _number_terms(stats, model)
    k, e, q = (terms[c].to_numpy(dtype=np.float64) for c in ("Contacts", "Expected", "ExpectedSq"))
    frame = pd.DataFrame(
        {
            "Field": terms["Field"],
            "Excess": (k - e) ** 2 - e + q,
            "Spread": e * e - q,
            "Scale": e * e,
        }
    )
    summed = frame.groupby("Field", observed=True, sort=True)[["Excess", "Spread", "Scale"]].sum()
    return summed.reset_index().astype(MOMENTS_META.dtypes.to_dict())


def with_number_strength(model: ContactModel, moments: pd.DataFrame) -> ContactModel:
    """The model with each field's number strength, from `number_moments` of any partitions."""
    summed = moments.groupby("Field", observed=True, sort=True)[["Excess", "Spread", "Scale"]].sum()
    strength = pd.Series(
        [strength_from_moments(*row) for row in summed.itertuples(index=False)],  # a few fields
        index=summed.index,
        dtype="float64",
    )
    return ContactModel(**{**model.__dict__, "number_strength": strength})


def _cell_rates(stats: pd.DataFrame, model: ContactModel) -> np.ndarray:
    """The model's rate (cell rate x weekday factor) of each row's (Field, State, LocalHour,
    Weekday): looked up once per distinct cell (a few thousand), then spread to the rows."""
    grouped = stats[CELL_KEYS].groupby(CELL_KEYS, observed=True, sort=False)
    cell = grouped.ngroup().to_numpy()
    # size() lists the cells in the order ngroup numbers them.
    distinct = grouped.size().index.to_frame(index=False).astype({"Field": STRING, "State": STRING})
    return (model.cell_rate(distinct) * model.day_factor(distinct))[cell]


def _number_terms(stats: pd.DataFrame, model: ContactModel) -> pd.DataFrame:
    """Per (number, field): State, Calls, Contacts and the contacts an average number of its
    cells would have had (Expected; ExpectedSq for the strength's moment)."""
    rate = _cell_rates(stats, model)
    keys = number_keys(stats)
    frame = stats[[*keys, "State", "Calls", "Contacts"]].assign(
        Expected=stats["Calls"].to_numpy() * rate, ExpectedSq=stats["Calls"].to_numpy() * rate**2
    )
    return (
        frame.groupby(keys, observed=True, sort=True)
        .agg(
            State=("State", "first"),
            Calls=("Calls", "sum"),
            Contacts=("Contacts", "sum"),
            Expected=("Expected", "sum"),
            ExpectedSq=("ExpectedSq", "sum"),
        )
        .reset_index()
    )


def _evidence(stats: pd.DataFrame, model: ContactModel) -> pd.DataFrame:
    """`number_evidence` keyed as `stats` are (by Number inside the wiring)."""
    terms = _number_terms(stats, model)
    fields = terms[["Field"]].astype({"Field": object})
    strength = _lookup(model.number_strength, fields, ["Field"], MAX_STRENGTH)
    ratio = shrunk_ratio(terms["Contacts"], terms["Expected"], strength)
    return terms.drop(columns="ExpectedSq").assign(Ratio=ratio)


def number_evidence(stats: pd.DataFrame, model: ContactModel) -> pd.DataFrame:
    """Each (number, field)'s calls, contacts, expected contacts and shrunk Ratio, from
    `call_stats` rows holding whole numbers (EVIDENCE_META)."""
    frame = with_e164(_evidence(stats, model))
    return frame[list(EVIDENCE_META.columns)].astype(EVIDENCE_META.dtypes.to_dict())


@dataclass(frozen=True)
class ContactResult:
    model: ContactModel
    facts: pd.DataFrame  # FACTS_META: one row per (number, field) with history


def number_facts(
    calls: pd.DataFrame, stats: pd.DataFrame, model: ContactModel, as_of: pd.Timestamp
) -> pd.DataFrame:
    """Each (number, field)'s evidence, last attempt and contact, attempts since it and days
    since the last attempt (FACTS_META), from `contact_calls` rows and their `call_stats`
    holding whole numbers."""
    keys = number_keys(stats)
    last = recency(calls)
    facts = (
        _evidence(stats, model)
        .merge(last[[*keys, "LastCall", "LastContact"]], on=keys)
        .merge(attempts_since_contact(calls, last), on=keys)
    )
    facts = with_e164(facts).assign(DaysSinceLastAttempt=days_since(facts["LastCall"], as_of))
    return facts[list(FACTS_META.columns)].astype(FACTS_META.dtypes.to_dict())


def contact_frame(
    calls: pd.DataFrame,
    accounts: pd.DataFrame,
    area_codes: pd.DataFrame,
    params: ContactParams,
    pinned: ContactModel | None = None,
) -> ContactResult:
    """Fit the model (or take `pinned`) and each (number, field)'s facts on pandas frames: the
    reference the Dask wiring (`run_contact_model`) must equal.

    Args:
        calls: Task rows (AccountId, Dialed_Number__c, CallDisposition, CreatedDate).
        accounts: Account rows with Id and the phone fields.
        area_codes: the reference table (area_code, state, time_zone).
        params: resolved parameters.
    """
    from .autoflush import account_phones

    learned = contact_calls(calls, account_phones(accounts, params), area_codes, params)
    stats = call_stats(learned)
    model = pinned if pinned is not None else fit_contact_model(stats)
    return ContactResult(model, number_facts(learned, stats, model, params.as_of))


# The stats summed over numbers: their columns without the number.
CELLS_META = STATS_META.drop(columns=["PhoneE164"])


def _joined_meta(places: Places, params: ContactParams) -> pd.DataFrame:
    """`joined_calls`' meta: Field and State categorical with the categories it gives them."""
    return joined_calls(DIALLED_META, HOLDERS_META, places, params)


@dataclass(frozen=True)
class ContactDask:
    model: ContactModel
    facts: Any  # Dask frame of FACTS_META, hashed by number; recomputes the calls' join
    # EVIDENCE_META, the same partitions: what listiq's scoring reads, without the facts'
    # recency and attempts since the last contact (two more passes per partition).
    evidence: Any = None


def run_contact_model(
    calls: dd.DataFrame,
    accounts: dd.DataFrame,
    area_codes: pd.DataFrame,
    params: ContactParams,
    compute: Compute = dask_compute,
    persist: Persist = dask_persist,
    pinned: ContactModel | None = None,
) -> ContactDask:
    """Wire the model on Dask: the model `contact_frame` fits (or `pinned`) and the facts as a
    lazy frame.

    Each Task partition is reduced first to the calls the model can use, the number as its ten
    digits and the local hour and weekday computed (`dialled_calls`: the parsing, once per
    distinct number); the account phones likewise to (AccountId, Number, field code). Both are
    hash-shuffled by Number, so that a call meets its account's phone fields and every
    number's calls are whole in one partition (the number level needs them together);
    `call_stats` per partition are persisted, not the calls. Only the cell table and the
    number level's moment sums per field come to the client.
    """
    import dask
    import dask.dataframe as dd

    from .autoflush import account_phones

    places = Places.of(area_codes)
    phones = accounts.map_partitions(
        account_phones, params, meta=account_phones(accounts._meta, params), token="contact-phones"
    )
    holders = phones.map_partitions(
        number_holders, params, meta=HOLDERS_META, token="contact-holders"
    )
    dialled = calls.map_partitions(
        dialled_calls, places, params, meta=DIALLED_META, token="contact-dialled"
    )
    partitions = max(calls.npartitions, accounts.npartitions)
    # Both sides hashed by the same int64 column into the same partition count: a call meets
    # its account's phones, and every number's calls are whole in one partition.
    by_number = dd.map_partitions(
        joined_calls,
        dialled.shuffle(on="Number", npartitions=partitions),
        holders.shuffle(on="Number", npartitions=partitions),
        places,
        params,
        meta=_joined_meta(places, params),
        align_dataframes=False,
        token="contact-calls",
    )
    stats = by_number.map_partitions(
        call_stats, meta=call_stats(by_number._meta), token="contact-stats"
    )
    # The stats alone are reused (cells, moments, evidence); the calls are only read again
    # for the facts, which listiq's scoring does not need: holding 100M calls on the workers
    # would cost more memory than recomputing them there.
    (stats,) = persist(stats, stage="learn from the calls")
    model = pinned
    if model is None:
        cells = stats.map_partitions(cell_table, meta=CELLS_META, token="contact-cells")
        # Small by construction: fields x states x 24 hours x 7 weekdays at most, per partition.
        (cells,) = compute(cells, stage="fit the contact model's cells")
        model = fit_cell_levels(cells)
        moments = stats.map_partitions(
            number_moments, dask.delayed(model, pure=True), meta=MOMENTS_META,
            token="contact-number-moments",
        )  # fmt: skip
        # Small by construction: one row per phone field and partition.
        (moments,) = compute(moments, stage="fit the contact model's numbers")
        model = with_number_strength(model, moments)
    facts = dd.map_partitions(
        number_facts,
        by_number,
        stats,
        dask.delayed(model, pure=True),
        params.as_of,
        meta=FACTS_META,
        align_dataframes=False,
        token="contact-facts",
    )
    evidence = stats.map_partitions(
        number_evidence, dask.delayed(model, pure=True), meta=EVIDENCE_META,
        token="contact-evidence",
    )  # fmt: skip
    return ContactDask(model, facts, evidence)
