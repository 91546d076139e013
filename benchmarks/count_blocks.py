"""Count the candidate pairs dedupe's default blocking rules make on a demo data set, per rule,
in one pandas process (no cluster, no comparisons): how the pairs grow with the data.

Run: .venv/bin/python benchmarks/count_blocks.py benchmarks/data/accounts-10000000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialflow.config import Settings  # noqa: E402
from dialflow.jobs.dedupe import DedupeParams  # noqa: E402
from dialflow.jobs.linkage.blocking import (  # noqa: E402
    SAMPLE_BLOCK_RECORDS,
    counts_of_sizes,
    keys_of,
    summed_block_counts,
)
from dialflow.jobs.linkage.reference import prepare_records  # noqa: E402

CHUNK = 500_000  # records prepared at a time, so that only the block sizes are held whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a demo data folder (with Account/)")
    args = parser.parse_args()
    params = DedupeParams.from_settings(Settings()).linkage()
    started = time.monotonic()
    # Per rule, block sizes by Block (10 million accounts' keys whole did not fit in memory, nor
    # did one frame of (rule, hash) pairs grouped in pandas).
    sizes_by_rule: dict[str, pd.Series] = {}
    rows = 0
    for path in sorted((args.data / "Account").glob("*.parquet")):
        accounts = pd.read_parquet(path)
        for start in range(0, len(accounts), CHUNK):
            records = prepare_records(accounts.iloc[start : start + CHUNK], params)
            keys = keys_of(records, params.rules)
            rows += len(keys)
            for rule, blocks in keys.groupby("Rule", observed=True)["Block"]:
                counted = blocks.value_counts()
                known = sizes_by_rule.get(rule)
                sizes_by_rule[rule] = (
                    counted if known is None else known.add(counted, fill_value=0).astype("int64")
                )
    sizes = pd.concat(
        [pd.DataFrame({"Rule": rule, "size": s.to_numpy()}) for rule, s in sizes_by_rule.items()],
        ignore_index=True,
    )
    # sampled_blocks keeps SAMPLE_BLOCK_RECORDS records of a sampled rule's block.
    sampled = sizes["Rule"].str.endswith("_sample")
    sizes["size"] = sizes["size"].where(~sampled, sizes["size"].clip(upper=SAMPLE_BLOCK_RECORDS))
    counts = summed_block_counts(counts_of_sizes(sizes[["Rule", "size"]], params.blocks))
    print(f"{rows:,} key rows in {time.monotonic() - started:.0f} s")
    for rule, pairs in sorted(counts["pairs_by_rule"].items(), key=lambda item: -item[1]):
        print(f"{rule}: {pairs:,}")
    print(f"total {sum(counts['pairs_by_rule'].values()):,} pairs before merging")
    print(f"windowed blocks {counts['windowed_blocks']:,}")
    print(f"skipped blocks {counts['skipped_blocks']:,} ({counts['skipped_block_records']:,} rows)")


if __name__ == "__main__":
    main()
