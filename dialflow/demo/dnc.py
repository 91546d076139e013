"""A synthetic National Do Not Call Registry in the registry's flat-file format (docs/dnc.md):
one full list per area code and one small change list, for `dialflow demo-data --dnc N`.

Numbers use the demo's area codes and the exchanges phonenumbers accepts for them, spread over
area codes by state population. A share of the demo Account table's Phone numbers is put on
the registry (so that a scrub has something to find), and the change list adds and deletes
some of them too. It draws from its own random stream after the tables are written, so the
tables are the same with and without it; the same arguments give the same files.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dialflow.errors import ConfigError

from .places import Reference, load_reference

REGISTRY_FOLDER = "_dnc"
STREAM = 0xD0C  # this generator's random stream: np.random.default_rng([seed, STREAM])
ACCOUNT_SHARE = 0.05  # of the accounts' valid Phone numbers put on the full lists
ACCOUNT_CAP = 0.5  # at most this share of the registry comes from accounts
ADD_SHARE = 0.01  # change list additions, of the full lists' numbers
DELETE_SHARE = 0.005  # change list deletions
FULL_LIST_AGE_DAYS = 10  # full lists are dated as_of - 10 days, the change list as_of - 1
CHANGE_LIST_AGE_DAYS = 1
LINE = 10_000  # numbers per exchange
AREA = 10_000_000


def _account_numbers(out_dir: Path, valid_areas: np.ndarray) -> np.ndarray:
    """Return the distinct ten-digit numbers of the Account table's Phone values that are in
    a plain format with a demo area code, read part by part."""
    found = []
    for part in sorted((out_dir / "Account").glob("part-*.parquet")):
        for batch in pq.ParquetFile(part).iter_batches(columns=["Phone"], batch_size=500_000):
            digits = pc.replace_substring_regex(batch.column(0), r"[^0-9]", "")
            digits = digits.filter(
                pc.fill_null(pc.match_substring_regex(digits, r"^1?[2-9]\d{9}$"), False)
            )
            digits = pc.utf8_slice_codeunits(digits, -10)
            numbers = pc.cast(digits, pa.int64()).to_numpy()
            found.append(numbers[np.isin(numbers // AREA, valid_areas)])
    return np.unique(np.concatenate(found)) if found else np.empty(0, np.int64)


def _draw_new(
    rng: np.random.Generator, area_code: int, exchanges: np.ndarray, n: int, taken: np.ndarray
) -> np.ndarray:
    """Return n distinct numbers of an area code's exchanges, none of them in `taken`."""
    out = np.empty(0, np.int64)
    while out.size < n:
        want = int((n - out.size) * 1.1) + 8
        drawn = (
            area_code * AREA
            + exchanges[rng.integers(0, exchanges.size, want)] * LINE
            + rng.integers(0, LINE, want)
        )
        drawn = drawn[~np.isin(drawn, taken) & ~np.isin(drawn, out)]
        _, first = np.unique(drawn, return_index=True)
        out = np.concatenate([out, drawn[np.sort(first)]])
    return out[:n]


def _lines(numbers: np.ndarray, suffix: str = "") -> pa.Array:
    """Return registry lines `AAA,NNNNNNN` (plus a suffix like `,A`) for ten-digit numbers."""
    area = pc.cast(pa.array(numbers // AREA), pa.string())
    local = pc.utf8_slice_codeunits(pc.cast(pa.array(numbers % AREA + AREA), pa.string()), 1)
    parts = [area, local] + ([pa.scalar(suffix)] if suffix else [])
    return pc.binary_join_element_wise(*parts, ",")


def _write_lines(path: Path, lines: pa.Array) -> None:
    """Write one value per line: the values' bytes, each ended by a newline, in one write."""
    ended = pc.binary_join_element_wise(lines, pa.scalar("\n"), "").cast(pa.large_string())
    if len(ended) == 0:
        path.write_bytes(b"")
        return
    offsets = np.frombuffer(ended.buffers()[1], np.int64)[
        ended.offset : ended.offset + len(ended) + 1
    ]
    path.write_bytes(memoryview(ended.buffers()[2])[offsets[0] : offsets[-1]])


def _area_weights(ref: Reference) -> np.ndarray:
    """Return each area code's share: its state's population split over the state's codes."""
    state = np.repeat(np.arange(ref.states.size), ref.area_count)
    return ref.weights[state] / ref.area_count[state]


def generate_demo_registry(
    out_dir: Path, numbers: int, seed: int = 7, as_of: pd.Timestamp | None = None
) -> dict:
    """Write `<out_dir>/_dnc/`: full lists `dnc-full-<AAA>-<YYYY-MM-DD>.txt` holding `numbers`
    numbers in all, and `dnc-change-<YYYY-MM-DD>.txt`; return what was written.

    Args:
        out_dir: the demo folder; its Account table, if written, lends numbers to the registry.
        numbers: numbers in the full lists (fewer only if an area code's exchanges run out).
        seed: random seed; the same arguments always give the same files.
        as_of: the demo's date; full lists are dated 10 days before it, the change list 1 day.
    """
    if numbers < 1:
        raise ConfigError(f"demo dnc numbers must be at least 1, got {numbers}")
    as_of = (as_of or pd.Timestamp.now(tz="UTC")).normalize()
    # Dates with dashes: error lines mask runs of 7+ digits (phones), and would mask 20261110.
    full_day = (as_of - timedelta(days=FULL_LIST_AGE_DAYS)).strftime("%Y-%m-%d")
    change_day = (as_of - timedelta(days=CHANGE_LIST_AGE_DAYS)).strftime("%Y-%m-%d")
    rng = np.random.default_rng([seed, STREAM])
    ref = load_reference()
    folder = Path(out_dir) / REGISTRY_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("dnc-*.txt"):
        stale.unlink()

    pool = _account_numbers(Path(out_dir), ref.area_codes)
    chosen = rng.random(pool.size) < ACCOUNT_SHARE
    listed = pool[chosen][: int(numbers * ACCOUNT_CAP)]
    rest = pool[~chosen]
    codes = ref.area_codes
    from_accounts = np.array([np.count_nonzero(listed // AREA == code) for code in codes])
    targets = rng.multinomial(numbers - listed.size, _area_weights(ref)) + from_accounts
    changes: list[pa.Array] = []
    counts = {"full_lists": 0, "numbers": 0, "from_accounts": int(listed.size)}
    added = deleted = 0
    for i, code in enumerate(codes):
        exchanges = ref.exchanges[
            ref.exchange_start[i] : ref.exchange_start[i] + ref.exchange_count[i]
        ]
        mine = listed[listed // AREA == code]
        room = exchanges.size * LINE // 2
        fresh = _draw_new(
            rng, int(code), exchanges, max(0, min(targets[i], room) - mine.size), mine
        )
        full = np.sort(np.concatenate([mine, fresh]))
        if full.size == 0:
            continue
        _write_lines(folder / f"dnc-full-{code}-{full_day}.txt", _lines(full))
        counts["full_lists"] += 1
        counts["numbers"] += int(full.size)
        # The change list: some new numbers (a few of them accounts' not yet listed), and some
        # listed numbers deleted.
        n_add = int(rng.binomial(full.size, ADD_SHARE))
        n_del = int(rng.binomial(full.size, DELETE_SHARE))
        candidates = rest[rest // AREA == code]
        from_rest = candidates[rng.random(candidates.size) < ACCOUNT_SHARE][: n_add // 4]
        new = np.concatenate(
            [from_rest, _draw_new(rng, int(code), exchanges, n_add - from_rest.size, full)]
        )
        gone = full[np.sort(rng.choice(full.size, size=min(n_del, full.size), replace=False))]
        if new.size:
            changes.append(_lines(np.sort(new), "A"))
        if gone.size:
            changes.append(_lines(gone, "D"))
        added += new.size
        deleted += gone.size
    lines = pa.concat_arrays(changes) if changes else pa.array([], pa.string())
    _write_lines(folder / f"dnc-change-{change_day}.txt", lines)
    return {
        **counts,
        "change_added": int(added),
        "change_deleted": int(deleted),
        "full_list_date": full_day,
        "change_list_date": change_day,
        "folder": str(folder),
    }
