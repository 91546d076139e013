"""listiq's Do Not Call scrub: pure functions on one pandas partition (docs/dnc.md, "The scrub").

Every candidate number is checked against two lists:

- the internal DNC list: the numbers of the `Internal_DNC` table and every valid number of an
  Account marked `Do_Not_Call__c` (`internal_numbers`, `do_not_call_numbers`). It always wins,
  whatever exemption an account has;
- the National Do Not Call Registry (the store `dialflow dnc import` writes): a listed number is
  dropped unless its account has an established business relationship on the call date
  (`ebr_exempt`, from `listiq.ebr`).

Numbers are compared as ten-digit int64 (`2012345678`), the store's form: a candidate's E.164
`+12012345678` without its `+1`. The Dask wiring (jobs/listiq.py) puts every number in the
partition of its area code range (`area_code_groups`, `group_divisions`): the candidates and
the internal list are sorted into those ranges, the registry is read by area code in the same
ranges, and `scrub_partition` meets them partition by partition.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..phones import is_blank, normalize_e164
from ..schema import empty_frame

if TYPE_CHECKING:
    from ..config import EbrSettings

INTERNAL_DNC = "internal_dnc"
DNC_REGISTRY = "dnc_registry"
NUMBER = "Number"
NUMBER_META = empty_frame({NUMBER: "int64"})
# The registry's numbers plus 16 per candidate row (a row weighs about as much as 16 numbers)
# make one scrub partition: 8 million is 64 MB of registry numbers.
PARTITION_WEIGHT = 8_000_000
CANDIDATE_WEIGHT = 16
AREA_CODE_SPAN = 10**7  # the numbers of one area code: AAA0000000 to AAA9999999
LAST_NUMBER = 10**10
MAX_TABLES = 1000  # is_in: area codes looked up by table at most (the NANP has 800)


def ten_digit_numbers(e164: pd.Series) -> pd.Series:
    """Return the +1 numbers of E.164 text as ten-digit int64 (others and nulls dropped)."""
    text = e164.dropna().astype("string[pyarrow]")
    text = text[text.str.fullmatch(r"\+1[2-9]\d{9}").fillna(False).to_numpy(dtype=bool)]
    return text.str.slice(2).astype("int64")


def internal_numbers(table: pd.DataFrame, region: str) -> pd.DataFrame:
    """Return the numbers of an `Internal_DNC` partition (Phone in any format phones.py reads);
    a value that is not a valid +1 number can match no candidate and is left out."""
    numbers = ten_digit_numbers(normalize_e164(table["Phone"], region))
    return pd.DataFrame({NUMBER: numbers.to_numpy(dtype="int64")})


def written_values(table: pd.DataFrame) -> int:
    """Count an `Internal_DNC` partition's Phone values that are written (not null or blank).

    Those of them `internal_numbers` leaves out are the table's invalid values: counted and
    reported, since a number someone meant to block and mistyped is still called.
    """
    return int((~is_blank(table["Phone"])).sum())


def do_not_call_numbers(
    accounts: pd.DataFrame, phone_fields: tuple[str, ...], region: str
) -> pd.DataFrame:
    """Return every valid +1 number, in any phone field, of the accounts marked Do_Not_Call__c.

    The flag says a person asked not to be called; every number of the account is theirs, so
    another account holding one of them is not called on it either.
    """
    flagged = accounts[accounts["Do_Not_Call__c"].fillna(False).to_numpy(dtype=bool)]
    parts = [ten_digit_numbers(normalize_e164(flagged[field], region)) for field in phone_fields]
    numbers = np.concatenate([part.to_numpy(dtype="int64") for part in parts] or [[]])
    return pd.DataFrame({NUMBER: numbers.astype("int64")})


def ebr_exempt(accounts: pd.DataFrame, ebr: EbrSettings | None, call_date: date) -> np.ndarray:
    """Return, per account, whether an established business relationship exempts its numbers
    from the registry on the call date.

    A date qualifies when its UTC day is before the call date and not earlier than the same day
    `purchase_months` (18) or `inquiry_months` (3) calendar months before it: 2026-11-25 takes
    purchases from 2025-05-25 and inquiries from 2026-08-25 to 2026-11-24. A missing date, or
    one on or after the call date, does not.
    """
    exempt = np.zeros(len(accounts), dtype=bool)
    if ebr is None:
        return exempt
    day = pd.Timestamp(call_date)
    for field, months in (
        (ebr.purchase_field, ebr.purchase_months),
        (ebr.inquiry_field, ebr.inquiry_months),
    ):
        if field is None:
            continue
        days = accounts[field].dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()
        since = day - pd.DateOffset(months=months)
        qualifies = (days >= since) & (days < day)
        exempt |= qualifies.fillna(False).to_numpy(dtype=bool)
    return exempt


def is_in(numbers: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return whether each number is among `values` (any order, repeats allowed), as np.isin.

    Area code by area code (`AREA_CODE_SPAN` numbers), a table of 10 million flags: the area
    code's values set their flags, its numbers read theirs. A scrub partition holds a few area
    codes, each about 700,000 registry numbers and a few thousand to 30,000 candidates: a
    binary search per candidate in the partition's millions of registry numbers missed the
    cache at every step and took ~5x as long (np.isin sorted both together: ~100x). Inputs
    with more distinct area codes than `MAX_TABLES` (not phone numbers) take the sorted search.
    """
    if values.size == 0 or numbers.size == 0:
        return np.zeros(numbers.shape, bool)
    if np.any(values[1:] < values[:-1]):  # the registry arrives sorted; the internal list not
        values = np.sort(values)
    order = np.argsort(numbers, kind="stable")
    ordered = numbers[order]
    codes = ordered // AREA_CODE_SPAN  # floor division: negatives too get a code and an offset
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    if starts.size > MAX_TABLES:
        at = np.searchsorted(values, numbers).clip(max=values.size - 1)
        return values[at] == numbers
    ends = np.r_[starts[1:], ordered.size]
    first = codes[starts] * AREA_CODE_SPAN
    lows = np.searchsorted(values, first)
    highs = np.searchsorted(values, first + AREA_CODE_SPAN)
    table = np.zeros(AREA_CODE_SPAN, bool)
    found = np.zeros(ordered.shape, bool)
    for start, end, base, low, high in zip(starts, ends, first, lows, highs, strict=True):
        if low == high:
            continue
        offsets = values[low:high] - base
        table[offsets] = True
        found[start:end] = table[ordered[start:end] - base]
        table[offsets] = False  # cheaper than a fresh table: only the flags set are cleared
    listed = np.empty(numbers.shape, bool)
    listed[order] = found
    return listed


def dnc_reasons(
    numbers: np.ndarray, ebr: np.ndarray, registry: np.ndarray, internal: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return each candidate's scrub status and whether the EBR exemption kept it.

    Args:
        numbers: the candidates' ten-digit numbers.
        ebr: per candidate, whether its account has an established business relationship.
        registry: registry numbers (any order, repeats allowed).
        internal: internal DNC numbers (any order, repeats allowed).

    Returns:
        Status per candidate, `internal_dnc` (always, exemption or not), `dnc_registry` (listed
        and not exempt) or `callable`; and `exempted`: listed, exempt and not internal.
    """
    on_internal = is_in(numbers, internal)
    on_registry = is_in(numbers, registry)
    status = np.where(
        on_internal, INTERNAL_DNC, np.where(on_registry & ~ebr, DNC_REGISTRY, "callable")
    )
    return status, on_registry & ebr & ~on_internal


def scrub_partition(
    candidates: pd.DataFrame, registry: pd.DataFrame, internal: pd.DataFrame
) -> pd.DataFrame:
    """Give the candidates of one number range their scrub status.

    Args:
        candidates: pool rows indexed by their ten-digit number, with the boolean column Ebr.
        registry: the registry numbers of the same range (column Number).
        internal: the internal DNC numbers of the same range (indexed by Number).

    Returns:
        The candidates (index dropped) with Status and EbrExempted.
    """
    status, exempted = dnc_reasons(
        candidates.index.to_numpy(dtype="int64"),
        candidates["Ebr"].to_numpy(dtype=bool),
        registry[NUMBER].to_numpy(dtype="int64"),
        internal.index.to_numpy(dtype="int64"),
    )
    return candidates.reset_index(drop=True).assign(Status=status, EbrExempted=exempted)


def area_code_groups(
    registry_numbers: pd.Series, candidates: pd.Series, weight: int = PARTITION_WEIGHT
) -> list[tuple[str, ...]]:
    """Group the area codes the candidates use, in order, into runs of about `weight`.

    Args:
        registry_numbers: the registry's numbers per area code (its manifest; empty: none).
        candidates: candidate rows per area code (codes with none are left out, and so their
            registry numbers are never read).
        weight: a run's registry numbers plus CANDIDATE_WEIGHT per candidate, at most (a
            heavier area code is a run of its own).

    Returns:
        Runs of area codes, in area code order; at least one run (empty when no candidate).
    """
    used = sorted(code for code, count in candidates.items() if count > 0)
    groups: list[tuple[str, ...]] = []
    current: list[str] = []
    total = 0
    for code in used:
        size = int(registry_numbers.get(code, 0)) + CANDIDATE_WEIGHT * int(candidates[code])
        if current and total + size > weight:
            groups.append(tuple(current))
            current, total = [], 0
        current.append(code)
        total += size
    groups.append(tuple(current))
    return groups


def group_divisions(groups: Sequence[tuple[str, ...]]) -> tuple[int, ...]:
    """Return the Dask divisions of the number ranges: the first range starts at 0, each next
    one at its first area code's first number, the last ends at 9999999999; so every number
    has a range, and a group's area codes lie inside its own."""
    starts = [int(group[0]) * AREA_CODE_SPAN for group in groups[1:]]
    return (0, *starts, LAST_NUMBER)
