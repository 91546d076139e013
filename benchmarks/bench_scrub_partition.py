"""Time listiq's scrub on real number ranges, before and after 2026-11-30's changes, beside DuckDB.

Run: .venv/bin/python benchmarks/bench_scrub_partition.py STORE_VERSION CANDIDATES_DIR \
         --groups 4 --repeat 3

One scrub partition is what a `listiq-dnc-scrub` task does: the registry numbers of a run of
area codes (`area_code_groups`, `listiq.scrub_partition_numbers` 8,000,000, on the manifest's
counts and the candidates' counts by area code) and the candidates of those area codes (the
numbers bench_dnc.py recorded from `listiq_frame`, as pool rows: AccountId, Phone, a
CreatedDate, Ebr false; a few of them sharing a number). Three methods, interleaved, on the
first `--groups` partitions:

- `before` (54be183): the registry read as its own frame (`dnc-registry`), the binary search
  per candidate (`is_in` then), Status, then `one_per_number`'s three-key sort of every row;
- `after`: `_scrub_reading` (the task reads its area codes) with the area code tables, then
  `one_per_number` sorting only the shared numbers;
- `duckdb`: one DuckDB process-local connection (2 threads), the same candidates anti-joined
  against the same area codes' Parquet files, counts out.

Registry-listed counts must agree between the three. Times are per partition, medians.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialflow.jobs.listiq import _scrub_reading, one_per_number  # noqa: E402
from dialflow.jobs.scrub import NUMBER, area_code_groups  # noqa: E402
from dialflow.sources.dnc import RegistryPart, RegistryReader, read_registry_part  # noqa: E402


def is_in_before(numbers: np.ndarray, values: np.ndarray) -> np.ndarray:
    """`is_in` as of 54be183: a stable sort of the values, a binary search per number."""
    if values.size == 0:
        return np.zeros(numbers.shape, bool)
    values = np.sort(values, kind="stable")
    at = np.searchsorted(values, numbers).clip(max=values.size - 1)
    return values[at] == numbers


def scrub_before(candidates: pd.DataFrame, registry: pd.DataFrame) -> pd.DataFrame:
    """`scrub_partition` then `one_per_number` as of 54be183 (no internal list: as `after`)."""
    numbers = candidates.index.to_numpy(dtype="int64")
    on_registry = is_in_before(numbers, registry[NUMBER].to_numpy(dtype="int64"))
    ebr = candidates["Ebr"].to_numpy(dtype=bool)
    status = np.where(on_registry & ~ebr, "dnc_registry", "callable")
    scrubbed = candidates.reset_index(drop=True).assign(
        Status=status, EbrExempted=on_registry & ebr
    )
    clean = scrubbed[scrubbed["Status"] == "callable"].drop(columns=["Status", "EbrExempted"])
    ordered = clean.sort_values(
        ["Phone", "CreatedDate", "AccountId"], ascending=[True, False, False], na_position="last"
    )
    return scrubbed, ordered.drop_duplicates("Phone", keep="first")


def scrub_after(
    candidates: pd.DataFrame, groups: list, reader: RegistryReader, number: int
) -> pd.DataFrame:
    """The task of 2026-11-30: read the area codes, table lookups, then one_per_number."""
    internal = pd.DataFrame(index=pd.Index([], dtype="int64", name=NUMBER))
    scrubbed = _scrub_reading(candidates, internal, groups, reader, {"number": number})
    clean = scrubbed[scrubbed["Status"] == "callable"].drop(columns=["Status", "EbrExempted"])
    return scrubbed, one_per_number(clean)


def pool_rows(numbers: np.ndarray, seed: int) -> pd.DataFrame:
    """The candidates as the scrub gets them: pool rows indexed by Number, sorted."""
    rng = np.random.default_rng(seed)
    numbers = np.sort(numbers)
    n = numbers.size
    dates = pd.Timestamp("2020-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 2000, n), unit="D"
    )
    return pd.DataFrame(
        {
            "AccountId": pd.array([f"001{i:015d}" for i in rng.permutation(n)], dtype="str"),
            "Phone": pd.array(["+1" + str(x) for x in numbers], dtype="str"),
            "CreatedDate": dates,
            "Ebr": np.zeros(n, bool),
        },
        index=pd.Index(numbers, name=NUMBER),
    )


def main() -> None:
    """Pick the partitions, time the three methods interleaved, print a JSON summary."""
    import duckdb

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", type=Path, help="a store version folder (has manifest.json)")
    parser.add_argument("candidates", type=Path, help="bench_dnc.py's candidates folder")
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--weight", type=int, default=8_000_000)
    args = parser.parse_args()

    manifest = json.loads((args.version / "manifest.json").read_text(encoding="utf-8"))
    registry_numbers = pd.Series(
        {c: int(e["numbers"]) for c, e in manifest["area_codes"].items()}, dtype="int64"
    )
    every = pd.read_parquet(args.candidates / "candidates.parquet")[NUMBER].to_numpy()
    by_code = pd.Series(every // 10**7).astype(str).value_counts()
    groups = area_code_groups(registry_numbers, by_code, args.weight)
    print(f"{every.size:,} candidates, {len(groups)} scrub partitions; timing the first "
          f"{args.groups}", flush=True)  # fmt: skip
    reader = RegistryReader(str(args.version))
    con = duckdb.connect()
    con.execute("SET threads = 2")
    times: dict[str, list[float]] = {"before": [], "after": [], "duckdb": []}
    rows = []
    for number, codes in enumerate(groups[: args.groups]):
        mine = every[np.isin(every // 10**7, np.array([int(c) for c in codes]))]
        candidates = pool_rows(mine, seed=number)
        folders = [args.version / "numbers" / f"area_code={code}" for code in codes]
        files = [str(f) for folder in folders for f in sorted(folder.glob("*.parquet"))]
        counts = {}
        for _ in range(args.repeat):
            for method in ("before", "after", "duckdb"):
                started = time.perf_counter()
                if method == "before":
                    registry = read_registry_part(RegistryPart(str(args.version), codes))
                    scrubbed, pool = scrub_before(candidates, registry)
                    listed = int((scrubbed["Status"] == "dnc_registry").sum())
                elif method == "after":
                    scrubbed, pool = scrub_after(candidates, groups, reader, number)
                    listed = int((scrubbed["Status"] == "dnc_registry").sum())
                else:
                    con.register("c", pd.DataFrame({"n": mine}))
                    listed = con.execute(
                        "SELECT count(*) FROM c SEMI JOIN read_parquet(?) r ON c.n = r.number",
                        [files],
                    ).fetchall()[0][0]
                    con.unregister("c")
                seconds = time.perf_counter() - started
                times[method].append(seconds)
                counts[method] = listed
                if method != "duckdb":
                    counts[f"{method}_pool"] = len(pool)
        registry_n = int(registry_numbers[list(codes)].sum())
        rows.append({"codes": len(codes), "registry": registry_n, "candidates": int(mine.size),
                     **counts})  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
        assert counts["before"] == counts["after"] == counts["duckdb"], counts
        assert counts["before_pool"] == counts["after_pool"], counts
    med = {m: float(np.median(v)) for m, v in times.items()}
    print(json.dumps({"median_seconds_per_partition": med, "every_run": times,
                      "load": os.getloadavg()}, indent=1))  # fmt: skip
    print(f"after / before {med['after'] / med['before']:.2f}x; "
          f"before / duckdb {med['before'] / med['duckdb']:.2f}x; "
          f"after / duckdb {med['after'] / med['duckdb']:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
