"""Time normalize_e164 against a naive per-row reference_e164 loop on a realistic phone mix.

Run: .venv/bin/python benchmarks/bench_phones.py --rows 1000000 --seed 7
The naive loop runs on a 100,000-row slice and is extrapolated linearly to --rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

# Run as a script from anywhere: make the repo's package importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialflow.phones import _fast_e164, normalize_e164, reference_e164  # noqa: E402

NAIVE_ROWS = 100_000
REPEATS = 3
# Area codes phonenumbers accepts (US, Canada, Caribbean, toll-free) so most rows are valid.
AREA_CODES = np.array(
    [
        "415",
        "212",
        "312",
        "646",
        "213",
        "305",
        "617",
        "702",
        "206",
        "404",
        "613",
        "604",
        "416",
        "514",
        "787",
        "876",
        "800",
        "888",
    ]
)
FORMATS = [
    "({a}) {e}-{l}",
    "{a}-{e}-{l}",
    "{a}.{e}.{l}",
    "{a}{e}{l}",
    "+1 {a} {e} {l}",
    "+1{a}{e}{l}",
    "1-{a}-{e}-{l}",
    "{a} {e} {l}",
    "({a}){e}-{l}",
    "{a}-{e}-{l} x{x}",
    "+1 ({a}) {e}-{l}",
]
JUNK = [
    "n/a",
    "unknown",
    "(555) 555-0100",
    "123-456-7890",
    "415-555-010",
    "0000000000",
    "1-800-FLOWERS",
    "+44 20 7946 0958",
    "+33 1 42 68 53 00",
    "call back",
    "415 555 0100 / 0101",
    "ext 12",
]
BLANKS = ["", " ", "   ", None]


def build_values(rows: int, seed: int) -> pd.Series:
    """Return ~85% valid NANP numbers in varied formats, ~10% blank, ~5% junk, with repeats."""
    rng = np.random.default_rng(seed)
    area = rng.choice(AREA_CODES, rows)
    exchange = rng.integers(200, 1000, rows)
    line = rng.integers(0, 10_000, rows)
    ext = rng.integers(1, 1000, rows)
    fmt = rng.integers(0, len(FORMATS), rows)
    kind = rng.random(rows)
    values: list[str | None] = [
        FORMATS[f].format(a=a, e=e, l=f"{ln:04d}", x=x)
        for f, a, e, ln, x in zip(fmt, area, exchange, line, ext, strict=True)
    ]
    blank_rows = np.flatnonzero(kind < 0.10)
    junk_rows = np.flatnonzero((kind >= 0.10) & (kind < 0.15))
    for i, b in zip(blank_rows, rng.integers(0, len(BLANKS), blank_rows.size), strict=True):
        values[i] = BLANKS[b]
    for i, j in zip(junk_rows, rng.integers(0, len(JUNK), junk_rows.size), strict=True):
        values[i] = JUNK[j]
    # Real call logs repeat numbers: copy ~20% of rows from a small pool of earlier rows.
    pool = rng.integers(0, max(1, rows // 50), rows)
    for i in np.flatnonzero(rng.random(rows) < 0.20):
        values[i] = values[pool[i]]
    return pd.Series(values, dtype="str")


def median_seconds(func: Callable[[], object]) -> float:
    """Return the median wall time of REPEATS calls."""
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Build the mix, check both paths agree on the slice, time them and print a table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    values = build_values(args.rows, args.seed)
    naive_slice = values.iloc[: min(NAIVE_ROWS, args.rows)]
    naive_list = naive_slice.tolist()

    def naive() -> list[str | None]:
        return [reference_e164(v) for v in naive_list]

    expected = naive()
    got = normalize_e164(naive_slice)
    mismatches = sum((None if pd.isna(g) else g) != e for g, e in zip(got, expected, strict=True))
    if mismatches:
        raise SystemExit(f"normalize_e164 disagrees with reference_e164 on {mismatches} rows")

    vec_s = median_seconds(lambda: normalize_e164(values))
    naive_slice_s = median_seconds(naive)
    naive_s = naive_slice_s * args.rows / len(naive_slice)
    _, handled = _fast_e164(values)
    result = normalize_e164(values)
    distinct = values[~handled & values.notna()].nunique()

    print(
        f"rows={args.rows:,} seed={args.seed} input dtype={values.dtype} "
        f"python={sys.version.split()[0]} pandas={pd.__version__}"
    )
    print(
        f"fast path handled {handled.mean():.1%} of rows; slow path saw {distinct:,} distinct "
        f"values; valid {result.notna().mean():.1%}; slice check: 0 mismatches"
    )
    print()
    print("| method | rows | median of 3 (s) | rows/s | speed-up |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| normalize_e164 (vectorised) | {args.rows:,} | {vec_s:.3f} | "
        f"{args.rows / vec_s:,.0f} | {naive_s / vec_s:.1f}x |"
    )
    print(
        f"| reference_e164 per row | {len(naive_slice):,} | {naive_slice_s:.3f} | "
        f"{len(naive_slice) / naive_slice_s:,.0f} | 1.0x |"
    )
    print(
        f"| reference_e164 per row, extrapolated | {args.rows:,} | {naive_s:.3f} | "
        f"{args.rows / naive_s:,.0f} | 1.0x |"
    )


if __name__ == "__main__":
    main()
