"""Planted problems: duplicate accounts, bad-number call series and their near misses, and the
autoflush rows the planted series imply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dialflow.schema import DEFAULT_PHONE_FIELDS

from .arrays import copy_fields, pick
from .calls import DISCONNECTED, DISP_CATEGORY, DISP_WEIGHT, DISPOSITIONS, WRONG, Calls
from .names import Names, name_variants
from .phones import N_VALID, Phones, dial_templates, force_valid, valid_format
from .places import Places
from .timeline import CALL_DAYS, DAY

# Where a bad-number plant lives: Phone mostly.
FIELD_PLANT_WEIGHT = np.array([0.5, 0.1, 0.1, 0.1, 0.1, 0.1])
# The contact call after (or at) a planted series says one of these.
PLANTED_CONTACT = np.array(
    [i for i, (s, _, _) in enumerate(DISPOSITIONS) if s in ("Contact", "Connected")]
)


@dataclass(frozen=True)
class Scenario:
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
SCENARIOS = (
    Scenario("disconnected", 0.0030, DISCONNECTED, (3, 5), _SPAN, True),
    Scenario("disconnected_exact_90_days", 0.0003, DISCONNECTED, (3, 3), (90 * DAY,) * 2, True),
    Scenario("disconnected_shared", 0.0010, DISCONNECTED, (3, 4), _SPAN, True, shared=True),
    Scenario("disconnected_contact_same_time", 0.0002, DISCONNECTED, (3, 3), _SPAN, True,
             contact="same_time"),
    Scenario("disconnected_and_wrong", 0.0003, DISCONNECTED, (3, 4), (100 * DAY, 400 * DAY), True,
             extra_wrong=True),
    Scenario("disconnected_two_calls", 0.0010, DISCONNECTED, (2, 2), _SPAN, False),
    Scenario("disconnected_span_89_days", 0.0005, DISCONNECTED, (3, 4), (89 * DAY, 90 * DAY - 1),
             False),
    Scenario("disconnected_contact_after", 0.0010, DISCONNECTED, (3, 4), _SPAN, False,
             contact="after"),
    Scenario("wrong_number", 0.0040, WRONG, (2, 4), _SPAN, True),
    Scenario("wrong_number_exact_90_days", 0.0003, WRONG, (2, 2), (90 * DAY,) * 2, True),
    Scenario("wrong_number_span_89_days", 0.0005, WRONG, (2, 3), (89 * DAY, 90 * DAY - 1), False),
    Scenario("wrong_number_contact_after", 0.0010, WRONG, (2, 3), _SPAN, False, contact="after"),
    Scenario("wrong_number_split_accounts", 0.0005, WRONG, (2, 2), _SPAN, False, shared=True),
)  # fmt: skip
# A planted series needs its first call after the account existed and its last 31 days before as_of.
PLANT_MIN_AGE = 440 * DAY

DUPLICATE_RATES = {"phone": 0.015, "name_postal": 0.015, "chain": 0.004}
DUPLICATE_TIE_SHARE = 0.10  # planted pairs whose LastModifiedDate is exactly equal


def plant_count(rate: float, n: int) -> int:
    """Return how many of a plant a chunk of n accounts gets: at least one from 1,000 accounts."""
    count = int(round(rate * n))
    return max(count, 1) if n >= 1_000 else count


def plant_duplicates(
    rng: np.random.Generator,
    names: Names,
    places: Places,
    phones: Phones,
    lmd: np.ndarray,
    order: np.ndarray,
) -> tuple[dict[str, int], int, dict[str, np.ndarray]]:
    """Plant duplicate accounts on disjoint rows taken from `order`.

    Returns the count per kind, the rows of `order` used, and per kind the planted pairs of rows
    (a chain's three records are three pairs: all of them are one customer).
    """
    n = order.size
    counts = {kind: plant_count(rate, n) for kind, rate in DUPLICATE_RATES.items()}
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
    force_valid(rng, phones, np.zeros(src.size, dtype=np.int64), src)
    phones.number[0, dst] = phones.number[0, src]
    shift = rng.integers(1, N_VALID, dst.size)
    phones.template[0, dst] = (phones.template[0, src] + shift) % N_VALID
    phones.null[0, dst] = False

    # Name and postal code: same name in another spelling, same city and ZIP, ZIP+4 half the time.
    src, dst = name_pairs[:, 0], name_pairs[:, 1]
    name_variants(rng, names, src, dst)
    copy_fields(places, src, dst, ("state", "city", "zip5", "plus4"))
    flip_zip = rng.random(dst.size) < 0.5
    places.plus4[dst[flip_zip]] = ~places.plus4[dst[flip_zip]]
    same_street = rng.random(dst.size) < 0.5
    street_fields = ("street_no", "street_name", "street_type", "unit", "unit_digits")
    copy_fields(places, src[same_street], dst[same_street], street_fields)

    # Some pairs were last modified at the same second: the survivor rule falls to CreatedDate.
    pairs = np.concatenate([groups["phone"], groups["name_postal"]])
    tie = pairs[rng.random(len(pairs)) < DUPLICATE_TIE_SHARE]
    latest = np.maximum(lmd[tie[:, 0]], lmd[tie[:, 1]])
    lmd[tie[:, 0]] = latest
    lmd[tie[:, 1]] = latest
    counts["ties"] = len(tie)
    chain = groups["chain"]
    pairs = {
        "phone": groups["phone"],
        "name_postal": groups["name_postal"],
        "chain": np.stack([chain[:, [0, 1]], chain[:, [1, 2]], chain[:, [0, 2]]], 1).reshape(-1, 2),
    }
    return counts, used, pairs


def plant_bad_numbers(
    rng: np.random.Generator,
    phones: Phones,
    created: np.ndarray,
    pool: np.ndarray,
    as_of: int,
    max_calls: int,
) -> tuple[Calls, dict[str, int], np.ndarray, dict[str, np.ndarray]]:
    """Plant the call series of `SCENARIOS` on accounts from `pool` (old enough, else unused).

    Returns the planted calls, the count per scenario, the planted numbers (to keep background
    calls to them neutral) and, per outcome, the (account, number) pairs the rules should flag.
    """
    pool = pool[created[pool] <= as_of - PLANT_MIN_AGE]
    wanted = np.array([plant_count(s.rate, created.size) for s in SCENARIOS])
    per_series = np.array([s.calls[1] + 2 for s in SCENARIOS])
    accounts_needed = np.array([2 if s.shared else 1 for s in SCENARIOS])
    # Planted calls stay a minority of the chunk's calls, and each series needs its own accounts.
    scale = min(1.0, 0.2 * max_calls / max(1, int((wanted * per_series).sum())))
    scale = min(scale, pool.size / max(1, int((wanted * accounts_needed).sum())))
    counts = np.floor(wanted * scale).astype(np.int64)

    parts: list[Calls] = []
    planted_numbers = []
    pairs: dict[str, list[np.ndarray]] = {"disconnected": [], "wrong_number": []}
    used = 0
    for scenario, count in zip(SCENARIOS, counts, strict=True):
        a = pool[used : used + count]
        used += count
        b = pool[used : used + count] if scenario.shared else a
        used += count if scenario.shared else 0
        if count == 0:
            continue
        field_a = pick(rng, FIELD_PLANT_WEIGHT, count)
        force_valid(rng, phones, field_a, a)
        number = phones.number[field_a, a]
        field_b = field_a
        if scenario.shared:
            field_b = rng.integers(1, len(DEFAULT_PHONE_FIELDS), count)
            phones.number[field_b, b] = number
            phones.template[field_b, b] = valid_format(rng, count)
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
            Calls(
                account=caller,
                field=caller_field,
                seconds=seconds[live],
                disposition=bad[pick(rng, DISP_WEIGHT[bad], int(live.sum()))],
                dial_template=dial_templates(rng, int(live.sum())),
            )
        ]
        extra_seconds = []
        extra_disposition = []
        if scenario.extra_wrong:
            wrong = np.flatnonzero(DISP_CATEGORY == WRONG)
            extra_seconds += [first + 3_600, last - 3_600]
            extra_disposition += [wrong[pick(rng, DISP_WEIGHT[wrong], count)] for _ in range(2)]
        if scenario.contact:
            after = 3_600 + (rng.random(count) * 20 * DAY).astype(np.int64)
            extra_seconds.append(last + (after if scenario.contact == "after" else 0))
            extra_disposition.append(rng.choice(PLANTED_CONTACT, count))
        for extra, disposition in zip(extra_seconds, extra_disposition, strict=True):
            series.append(Calls(a, field_a, extra, disposition, dial_templates(rng, count)))
        parts.extend(series)

    planted = {s.name: int(c) for s, c in zip(SCENARIOS, counts, strict=True)}
    numbers = np.concatenate(planted_numbers) if planted_numbers else np.empty(0, np.int64)
    flagged = {
        k: np.concatenate(v) if v else np.empty((0, 2), dtype=np.int64) for k, v in pairs.items()
    }
    return Calls.concat([Calls.empty(), *parts]), planted, numbers, flagged


def autoflush_rows(phones: Phones, flagged: dict[str, np.ndarray]) -> dict[str, int]:
    """Count the (account, field) cells the autoflush rules should clear for the planted series."""
    valid = phones.valid()
    # A disconnected number is cleared wherever it is held, planted or not.
    held = valid & np.isin(phones.number, flagged["disconnected"][:, 1])
    # A wrong-number pair clears every field of that account holding the number.
    account, number = flagged["wrong_number"][:, 0], flagged["wrong_number"][:, 1]
    wrong = (valid[:, account] & (phones.number[:, account] == number[None, :])).T
    wrong &= ~held[:, account].T
    return {"disconnected": int(held.sum()), "wrong_number": int(wrong.sum())}
