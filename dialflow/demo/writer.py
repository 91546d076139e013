"""Writing the demo: chunk by chunk to Parquet part files, then the counts and `_demo.json`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dialflow.errors import ConfigError
from dialflow.times import as_utc

from .chunk import TRUTH_PAIRS, TRUTH_SCHEMA, generate_chunk
from .columns import CHUNK_DIGITS, arrow_schema
from .places import load_reference
from .plants import SCENARIOS
from .timeline import NS
from .users import user_count, user_table

TABLE_NAMES = ("Account", "Task", "Research_Request__c", "Address_History__c", "User")
ROW_GROUP_ROWS = 100_000


def _write_part(out_dir: Path, folder: str, index: int, data: pa.Table | Iterator[pa.Table]) -> int:
    """Write one part file of a table from a table or an iterator of slices; return its rows."""
    slices = [data] if isinstance(data, pa.Table) else data
    rows = 0
    path = out_dir / folder / f"part-{index:05d}.parquet"
    schema = TRUTH_SCHEMA if folder == TRUTH_PAIRS else arrow_schema(folder)
    with pq.ParquetWriter(path, schema) as writer:
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
        out_dir: folder that receives `<Table>/part-NNNNN.parquet`, the planted duplicate pairs
            in `_truth/duplicate_pairs/part-NNNNN.parquet` and `_demo.json`; earlier part files
            of these are removed first.
        accounts: Account rows.
        calls: Task rows, about (planted series can shift the total by a few).
        seed: random seed; the same arguments always give the same files.
        as_of: every date lies before it; default today 00:00 UTC. Naive timestamps are UTC.
        chunk_accounts: accounts generated (and held in memory) at a time, with their calls.

    Returns:
        Counts: rows per table, planted duplicate pairs by kind, planted bad-number series by
        scenario, the autoflush rows they imply, phone-value quality and more.
    """
    if as_of is None:
        as_of = pd.Timestamp.now(tz="UTC").normalize()
    as_of = as_utc(as_of)
    _check_arguments(accounts, calls, seed, as_of, chunk_accounts)
    as_of_seconds = as_of.value // NS

    ref = load_reference()
    out_dir = Path(out_dir)
    for name in (*TABLE_NAMES, TRUTH_PAIRS):
        folder = out_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("part-*.parquet"):
            stale.unlink()

    n_users = user_count(accounts)
    users = user_table(seed, n_users, as_of_seconds)
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
        tables, counts = generate_chunk(
            rng, ref, index, stop - start, chunk_calls, as_of_seconds, users.column("Id")
        )
        for name, data in tables.items():
            written = _write_part(out_dir, name, index, data)
            if name in rows:
                rows[name] += written
        _merge_counts(totals, counts)

    scenarios = totals.pop("scenarios")
    flagged = {s.name for s in SCENARIOS if s.flagged}
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
