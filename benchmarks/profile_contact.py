"""One partition's pure functions of the contact model's fit, timed and profiled (cProfile).

Run:
    .venv/bin/python benchmarks/profile_contact.py --accounts 200000

Plants a reachability world (`calls_per_number` 3.1: about 5 calls per account, 990,079 calls at
200,000 accounts), then runs the steps the Dask wiring runs per partition on all of it, in one
process: `dialled_calls`, `account_phones`, `number_holders`, `joined_calls`, `call_stats`, the
cell table and levels, `number_moments`, `number_evidence`. Prints each step's seconds and
cProfile's cumulative table (`--top` rows).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialflow.config import Settings  # noqa: E402
from dialflow.demo.reachability import (  # noqa: E402
    Reachability,
    draw_history,
    plant_world,
    world_accounts,
)
from dialflow.jobs import contact  # noqa: E402
from dialflow.jobs.autoflush import account_phones  # noqa: E402
from dialflow.sources.reference import shipped_table  # noqa: E402
from tests.conftest import accounts_frame  # noqa: E402

AS_OF = pd.Timestamp("2026-11-25T06:00:00Z")


def steps(calls: pd.DataFrame, accounts: pd.DataFrame) -> dict[str, float]:
    """Run the fit's per-partition steps on the whole frames; seconds per step."""
    params = contact.ContactParams.from_settings(Settings(), AS_OF)
    seconds: dict[str, float] = {}

    def timed(name: str, action):  # noqa: ANN001, ANN202 - a step's callable
        began = time.perf_counter()
        out = action()
        seconds[name] = time.perf_counter() - began
        return out

    places = contact.Places.of(shipped_table("area_codes"))
    dialled = timed("dialled_calls", lambda: contact.dialled_calls(calls, places, params))
    phones = timed("account_phones", lambda: account_phones(accounts, params))
    holders = timed("number_holders", lambda: contact.number_holders(phones, params))
    joined = timed("joined_calls", lambda: contact.joined_calls(dialled, holders, places, params))
    stats = timed("call_stats", lambda: contact.call_stats(joined))
    model = timed("cell levels", lambda: contact.fit_cell_levels(contact.cell_table(stats)))
    model = timed(
        "number_moments",
        lambda: contact.with_number_strength(model, contact.number_moments(stats, model)),
    )
    timed("number_evidence", lambda: contact.number_evidence(stats, model))
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    world = plant_world(
        args.accounts, seed=args.seed, as_of=AS_OF, params=Reachability(calls_per_number=3.1)
    )
    accounts = accounts_frame(world_accounts(world).to_dict("records"))
    calls = draw_history(world, seed=args.seed)
    print(f"{len(accounts):,} accounts, {len(calls):,} calls", flush=True)
    profile = cProfile.Profile()
    profile.enable()
    seconds = steps(calls, accounts)
    profile.disable()
    print({k: round(v, 2) for k, v in seconds.items()}, f"in all {sum(seconds.values()):.1f} s")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
