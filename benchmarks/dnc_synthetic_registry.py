"""Write a large synthetic DNC registry in the real flat format, fast: for timing the import.

Run: .venv/bin/python benchmarks/dnc_synthetic_registry.py \
         benchmarks/data/synthetic-250000000/_dnc 250000000

`generate_demo_registry` (bench_dnc.py's generator) draws realistic exchanges and lends the
accounts' phones; on a loaded 2-core host it wrote about 4 files a minute at 250M numbers (over
an hour). This one writes `total` numbers over the first 359 area codes of
dialflow/data/area_codes.csv, the same count in each (`dnc-full-<AAA>-2026-11-15.txt`,
`AAA,NNNNNNN` lines, sorted: the lowest distinct draws), and one change list
`dnc-change-2026-11-24.txt` adding 1% (uniform draws, some already listed) and deleting 0.5%,
seed 7. Its numbers match no demo account by design (a scrub's registry hits are chance
matches); bench_dnc.py's `--synthetic` scrubs against it all the same, since at 250M numbers it
is the only registry this host writes in minutes. `_registry.json` beside `_dnc/` says what was
written (bench_dnc.py reads it).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

AREA = 10_000_000


def lines(numbers: np.ndarray, suffix: bytes = b"") -> bytes:
    """Return `AAA,NNNNNNN<suffix>\\n` for each ten-digit number, as one bytes object."""
    width = 11 + len(suffix) + 1
    out = np.empty((numbers.size, width), np.uint8)
    rest = numbers.copy()
    for place in (10, 9, 8, 7, 6, 5, 4, 2, 1, 0):
        out[:, place] = rest % 10 + 48
        rest //= 10
    out[:, 3] = ord(",")
    for i, byte in enumerate(suffix):
        out[:, 11 + i] = byte
    out[:, -1] = ord("\n")
    return out.tobytes()


def write_registry(out: Path, total: int) -> dict:
    """Write the files into `out`; return what bench_dnc.py's `_registry.json` records."""
    out.mkdir(parents=True, exist_ok=True)
    table = pd.read_csv(Path(__file__).parents[1] / "dialflow/data/area_codes.csv", dtype=str)
    codes = sorted({int(c) for c in table["area_code"] if c[0] in "23456789"})[:359]
    rng = np.random.default_rng(7)
    per = total // len(codes)
    added, deleted = [], []
    started = time.perf_counter()
    for code in codes:
        drawn = np.sort(rng.integers(0, AREA, int(per * 1.08)), kind="stable")
        local = drawn[np.r_[True, drawn[1:] != drawn[:-1]]][:per]
        numbers = code * AREA + local
        (out / f"dnc-full-{code}-2026-11-15.txt").write_bytes(lines(numbers))
        deleted.append(numbers[rng.random(numbers.size) < 0.005])
        added.append(code * AREA + rng.integers(0, AREA, int(numbers.size * 0.01)))
    added_numbers, deleted_numbers = np.concatenate(added), np.concatenate(deleted)
    with open(out / "dnc-change-2026-11-24.txt", "wb") as change:
        change.write(lines(added_numbers, b",A"))
        change.write(lines(deleted_numbers, b",D"))
    return {
        "generator": "benchmarks/dnc_synthetic_registry.py",
        "full_lists": len(codes),
        "numbers": per * len(codes),
        "from_accounts": 0,
        "change_added": int(added_numbers.size),
        "change_deleted": int(deleted_numbers.size),
        "full_list_date": "2026-11-15",
        "change_list_date": "2026-11-24",
        "folder": str(out),
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> None:
    """Write the files and `_registry.json` beside them."""
    out, total = Path(sys.argv[1]), int(sys.argv[2])
    said = write_registry(out, total)
    (out.parent / "_registry.json").write_text(json.dumps(said, indent=2) + "\n", encoding="utf-8")
    print(f"{said['full_lists']} full lists, {said['numbers']:,} numbers, in "
          f"{said['seconds']:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
