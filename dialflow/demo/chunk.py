"""One chunk: its accounts, calls, research requests and address history, and its counts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from dialflow.schema import DEFAULT_PHONE_FIELDS

from .arrays import pick
from .calls import DISP_CATEGORY, Calls, background_calls, task_slices
from .columns import KEY_PREFIXES, canonical_table, render, salesforce_ids, take_words, timestamps
from .fuzzy import plant_fuzzy_duplicates
from .names import draw_names, render_names
from .phones import EMPTY, JUNK_START, MALFORMED_START, PHONE_TEMPLATES, draw_phones, phone_fills
from .places import Places, Reference, draw_places, render_places
from .plants import autoflush_rows, plant_bad_numbers, plant_duplicates
from .timeline import ACCOUNT_YEARS, DAY

RECENT_SHARE = 0.03  # accounts created in the 48 hours before as_of, the listiq "recent" bucket
DO_NOT_CALL_SHARE = 0.03
RESEARCH_STATUSES = ("New", "In Progress", "Completed", "No Number Found", "Cancelled")
# The planted duplicate pairs, beside the tables: the file source opens a table by its name only,
# and folder scanners (the test Salesforce server) skip names starting with "_".
TRUTH_PAIRS = "_truth/duplicate_pairs"
TRUTH_SCHEMA = pa.schema(
    [("IdL", pa.large_string()), ("IdR", pa.large_string()), ("Kind", pa.large_string())]
)


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
        pick(rng, (0.4, 0.35, 0.25, 0.0, 0.0), account.size),
        pick(rng, (0.0, 0.05, 0.65, 0.2, 0.1), account.size),
    )
    order = np.argsort(seconds, kind="stable")
    return account[order], seconds[order], status[order]


def _address_history(
    rng: np.random.Generator, ref: Reference, created: np.ndarray, state: np.ndarray, as_of: int
) -> tuple[np.ndarray, np.ndarray, Places]:
    """Return (account, seconds, address) of 1-3 newer addresses for ~5% of accounts."""
    n = created.size
    chosen = np.flatnonzero(rng.random(n) < 0.05)
    account = np.repeat(chosen, pick(rng, (0.6, 0.3, 0.1), chosen.size) + 1)
    lo = created[account] + DAY
    seconds = lo + (rng.random(account.size) * np.maximum(as_of - 1 - lo, 0)).astype(np.int64)
    seconds = np.clip(seconds, created[account], as_of - 1)
    moved_away = rng.random(account.size) < 0.2
    new_state = np.where(moved_away, pick(rng, ref.weights, account.size), state[account])
    order = np.argsort(seconds, kind="stable")
    account, seconds, new_state = account[order], seconds[order], new_state[order]
    return account, seconds, draw_places(rng, ref, new_state)


def truth_pairs(account_ids: pa.Array, pairs: dict[str, np.ndarray]) -> pa.Table:
    """Return the planted duplicate pairs as (IdL, IdR, Kind) rows, IdL < IdR, sorted."""
    rows = np.concatenate([np.empty((0, 2), np.int64), *pairs.values()]).astype(np.int64)
    kind = np.repeat(np.arange(len(pairs)), [len(p) for p in pairs.values()])
    # Ids sort like rows: a chunk's accounts are in creation order, and so are their Ids.
    rows.sort(axis=1)
    order = np.lexsort((rows[:, 1], rows[:, 0]))
    table = {
        "IdL": account_ids.take(pa.array(rows[order, 0])),
        "IdR": account_ids.take(pa.array(rows[order, 1])),
        "Kind": take_words(tuple(pairs), kind[order]),
    }
    return pa.table(table, schema=TRUTH_SCHEMA)


def generate_chunk(
    rng: np.random.Generator,
    ref: Reference,
    chunk_index: int,
    n: int,
    n_calls: int,
    as_of: int,
    user_ids: pa.Array,
) -> tuple[dict[str, pa.Table | Iterator[pa.Table]], dict[str, Any]]:
    """Return the tables of one chunk of n accounts and n_calls calls, and its counts.

    Task comes as an iterator of slices, rendered only while it is written. `TRUTH_PAIRS` holds
    the chunk's planted duplicate pairs.
    """
    created = _account_created(rng, n, as_of)
    never_modified = rng.random(n) < 0.2
    lmd = created + (np.sqrt(rng.random(n)) * (as_of - 1 - created)).astype(np.int64)
    lmd = np.where(never_modified, created, lmd)
    state = pick(rng, ref.weights, n)
    names = draw_names(rng, n)
    places = draw_places(rng, ref, state)
    phones = draw_phones(rng, ref, state)
    owner = rng.integers(0, len(user_ids), n)
    do_not_call = rng.random(n) < DO_NOT_CALL_SHARE

    order = rng.permutation(n)
    duplicates, used, pairs = plant_duplicates(rng, names, places, phones, lmd, order)
    planted_calls, scenarios, planted_numbers, flagged = plant_bad_numbers(
        rng, phones, created, order[used:], as_of, n_calls
    )
    # Every account of a bad-number series places calls: the others are free for fuzzy copies.
    free = order[used:][~np.isin(order[used:], planted_calls.account)]
    # Their own stream (a child of the chunk's), so that adding them left every other draw, and
    # so the rest of the demo, as it was.
    fuzzy = plant_fuzzy_duplicates(rng.spawn(1)[0], names, places, free)
    background = background_calls(
        rng, phones, created, as_of, n_calls - planted_calls.account.size, planted_numbers
    )
    calls = Calls.concat([planted_calls, background])
    call_order = np.argsort(calls.seconds, kind="stable")
    calls = Calls(*(getattr(calls, f)[call_order] for f in Calls.__dataclass_fields__))

    account_ids = salesforce_ids(KEY_PREFIXES["Account"], created, chunk_index)
    address = render_places(ref, places, fuzzy.street_name)
    phone_columns = {
        field: render(
            PHONE_TEMPLATES,
            phones.template[f],
            phone_fills(phones.number[f], phones.ext[f]),
            phones.null[f],
        )
        for f, field in enumerate(DEFAULT_PHONE_FIELDS)
    }
    account = {
        "Id": account_ids,
        "Name": render_names(names, fuzzy.name_base),
        "OwnerId": user_ids.take(pa.array(owner)),
        "BillingStreet": address["street"],
        "BillingCity": address["city"],
        "BillingState": address["state"],
        "BillingPostalCode": address["postal"],
        "CreatedDate": timestamps(created),
        "LastModifiedDate": timestamps(lmd),
        "Do_Not_Call__c": pa.array(do_not_call),
        **phone_columns,
    }

    valid = phones.valid()
    has_phone = valid.any(axis=0)
    rr_account, rr_seconds, rr_status = _research_requests(rng, created, has_phone, as_of)
    research = {
        "Id": salesforce_ids(KEY_PREFIXES["Research_Request__c"], rr_seconds, chunk_index),
        "Account__c": account_ids.take(pa.array(rr_account)),
        "CreatedDate": timestamps(rr_seconds),
        "Status__c": take_words(RESEARCH_STATUSES, rr_status),
    }

    history_account, history_seconds, history = _address_history(rng, ref, created, state, as_of)
    history_places = render_places(ref, history)
    address_history = {
        "Id": salesforce_ids(KEY_PREFIXES["Address_History__c"], history_seconds, chunk_index),
        "Account__c": account_ids.take(pa.array(history_account)),
        "Street__c": history_places["street"],
        "City__c": history_places["city"],
        "State__c": history_places["state"],
        "PostalCode__c": history_places["postal"],
        "CreatedDate": timestamps(history_seconds),
    }

    truth = truth_pairs(account_ids, {**pairs, **fuzzy.pairs})
    category = DISP_CATEGORY[calls.disposition]
    counts = {
        "duplicates": {**duplicates, **fuzzy.counts, "pairs": truth.num_rows},
        "scenarios": scenarios,
        "autoflush_rows": autoflush_rows(phones, flagged),
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
        "Account": canonical_table("Account", account),
        "Task": task_slices(calls, phones, account_ids, chunk_index),
        "Research_Request__c": canonical_table("Research_Request__c", research),
        "Address_History__c": canonical_table("Address_History__c", address_history),
        TRUTH_PAIRS: truth,
    }
    return tables, counts
