"""Calls: dispositions as dialers spell them, background calls, and the Task table."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .arrays import pick
from .columns import (
    KEY_PREFIXES,
    canonical_table,
    rank_in_second,
    render,
    salesforce_ids,
    timestamps,
)
from .phones import PHONE_TEMPLATES, Phones, dial_templates, phone_fills
from .timeline import CALL_DAYS, DAY

# How often a background call goes to each field, relative to the others.
FIELD_CALL_WEIGHT = np.array([5.0, 2.0, 1.0, 2.0, 1.0, 0.5])

# Dispositions: raw dialer spellings with background frequencies.
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
# What a background call to a planted number, or a repeated bad call, says instead.
NEUTRAL_DIAL = np.array(
    [i for i, (s, _, _) in enumerate(DISPOSITIONS) if s in ("No Answer", "Busy", "Voicemail")]
)
NEUTRAL_DIAL_WEIGHT = np.array([0.65, 0.1, 0.25])


@dataclass
class Calls:
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
    def empty() -> Calls:
        """Return no calls."""
        return Calls(*(np.empty(0, dtype=np.int64) for _ in Calls.__dataclass_fields__))

    @staticmethod
    def concat(parts: Sequence[Calls]) -> Calls:
        """Return the rows of all parts."""
        return Calls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in Calls.__dataclass_fields__)
        )


def background_calls(
    rng: np.random.Generator,
    phones: Phones,
    created: np.ndarray,
    as_of: int,
    n_calls: int,
    planted_numbers: np.ndarray,
) -> Calls:
    """Draw ordinary calls to valid phone cells of accounts older than two days."""
    callable_cells = phones.valid() & (created <= as_of - 2 * DAY)[None, :]
    field, account = np.nonzero(callable_cells)
    if field.size == 0 or n_calls <= 0:
        return Calls.empty()
    cell = pick(rng, FIELD_CALL_WEIGHT[field], n_calls)
    field, account = field[cell], account[cell]
    lo = np.maximum(as_of - CALL_DAYS * DAY, created[account] + DAY)
    seconds = lo + (rng.random(n_calls) * (as_of - 1 - lo)).astype(np.int64)
    # Move calls into 13:00-24:00 UTC (US business hours) when that stays inside the window.
    daytime = seconds - seconds % DAY + 13 * 3_600 + rng.integers(0, 11 * 3_600, n_calls)
    seconds = np.where((daytime >= lo) & (daytime < as_of), daytime, seconds)
    disposition = pick(rng, DISP_WEIGHT, n_calls)
    number = phones.number[field, account]

    def neutral(mask: np.ndarray) -> None:
        disposition[mask] = NEUTRAL_DIAL[pick(rng, NEUTRAL_DIAL_WEIGHT, int(mask.sum()))]

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
    return Calls(account, field, seconds, disposition, dial_templates(rng, n_calls))


# Calls rendered and written at a time: a chunk's Task strings are never all in memory at once.
TASK_SLICE = 1_000_000


def task_slices(
    calls: Calls, phones: Phones, account_ids: pa.Array, chunk_index: int
) -> Iterator[pa.Table]:
    """Yield the Task table of a chunk's calls (sorted by time) slice by slice."""
    rank = rank_in_second(calls.seconds)
    dispositions = pa.array([s for s, _, _ in DISPOSITIONS], pa.large_string())
    for start in range(0, calls.seconds.size, TASK_SLICE):
        rows = slice(start, start + TASK_SLICE)
        field, account = calls.field[rows], calls.account[rows]
        template = calls.dial_template[rows]
        template = np.where(template < 0, phones.template[field, account], template)
        fills = phone_fills(phones.number[field, account], phones.ext[field, account])
        seconds = calls.seconds[rows]
        task = {
            "Id": salesforce_ids(KEY_PREFIXES["Task"], seconds, chunk_index, rank[rows]),
            "AccountId": account_ids.take(pa.array(account)),
            "Dialed_Number__c": render(PHONE_TEMPLATES, template, fills),
            "CallDisposition": dispositions.take(pa.array(calls.disposition[rows])),
            "CreatedDate": timestamps(seconds),
        }
        yield canonical_table("Task", task)
