"""The contact model's fit time at scale (issue 18: under 2 minutes at 10M accounts, 100M calls).

Run:
    .venv/bin/python benchmarks/bench_contact_fit.py --step generate --accounts 10000000 \
        --calls 30000000 --subset 10000000
    .venv/bin/python benchmarks/bench_contact_fit.py --step fit --accounts 10000000 --calls 10000000
    .venv/bin/python benchmarks/bench_contact_fit.py --step fit --accounts 10000000 --calls 30000000

`generate` plants the simulator's world (`dialflow.demo.reachability`) in chunks of accounts
(each chunk its own seed and Id range, so memory is one chunk's) and writes Account and Task as
Parquet parts: `Account/`, `Task-<calls>/`, and with `--subset` a `Task-<subset>/` holding each
call with probability subset / calls (the same accounts, fewer calls). The calls per number are
set to give `--calls` in all (the simulator's 3.5 a number would give 56M at 10M accounts); this
is a timing set, not the contact-rate measurement (`bench_contact.py`).

`fit` times, on a LocalCluster of 2 workers x 1 thread (`--memory-limit` each), what listiq's
`contact_rate` adds: `run_contact_model` (the calls it can use, and the account phones, each
shuffled by the number as int64; the stats persisted; the cell tables and the number moments
gathered and fitted), then each number's evidence (one task per partition: what listiq's
scoring reads). Beside it, in the same script and on the same data, `dialflow run listiq` with
`selection: random` (the real CLI, a subprocess with the same cluster settings): the job without
the model, for the ratio. `--profile` adds the workers' seconds by task prefix (compute and
transfer, from the task stream) and writes a Dask performance report beside the data.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_contact import canonical  # noqa: E402 - benchmarks on sys.path
from harness import AS_OF, OUT_DIR, file_source, machine, run_dialflow, write_config  # noqa: E402

from dialflow.demo.reachability import Reachability, draw_history, plant_world  # noqa: E402
from dialflow.schema import TIMESTAMP  # noqa: E402

NUMBERS_PER_ACCOUNT = 1.6  # Phone always, Mobile_Phone__c 45%, Home_Phone__c 15%
CREATED_YEARS = 5


def renumbered(ids: pd.Series, offset: int) -> pd.Series:
    """The simulator's Ids (001SIM + 12 digits from 0) moved up by `offset` (a chunk's start)."""
    number = ids.str.slice(6).astype("int64") + offset
    return number.astype(str).str.zfill(12).radd("001SIM").astype("string[pyarrow]")


def generate(work: Path, accounts: int, calls: int, subset: int, chunk: int, seed: int) -> None:
    """Write Account/ and Task-<calls>/ (and Task-<subset>/) parts, one chunk of accounts each."""
    as_of = pd.Timestamp(AS_OF)
    params = Reachability(calls_per_number=calls / (accounts * NUMBERS_PER_ACCOUNT))
    folders = {"Account": work / "Account", calls: work / f"Task-{calls}"}
    if subset:
        folders[subset] = work / f"Task-{subset}"
    for folder in folders.values():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    written = {key: 0 for key in folders}
    for part, start in enumerate(range(0, accounts, chunk)):
        size = min(chunk, accounts - start)
        began = time.perf_counter()
        world = plant_world(size, seed * 10_000 + part, as_of, params)
        history = draw_history(world, seed * 10_000 + part)
        wide = world.numbers.pivot(index="AccountId", columns="Field", values="PhoneE164")
        wide = wide.reindex(columns=list(params.field_share)).rename_axis(index="Id").reset_index()
        rng = np.random.default_rng([seed, part, 9])
        days = rng.uniform(0, 365 * CREATED_YEARS, len(wide))
        wide = wide.assign(
            Id=renumbered(wide["Id"], start),
            Name="Account",
            CreatedDate=(as_of - pd.to_timedelta(days, unit="D")).astype(TIMESTAMP),
            LastModifiedDate=as_of,
            Do_Not_Call__c=False,
        )
        canonical(wide, "Account").to_parquet(folders["Account"] / f"part-{part:04d}.parquet")
        written["Account"] += len(wide)
        task = history.assign(
            AccountId=renumbered(history["AccountId"], start),
            Id=[f"00TSIM{part:04d}{i:08d}" for i in range(len(history))],
        )
        task = canonical(task, "Task")
        task.to_parquet(folders[calls] / f"part-{part:04d}.parquet", index=False)
        written[calls] += len(task)
        if subset:
            kept = task[rng.random(len(task)) < subset / calls]
            kept.to_parquet(folders[subset] / f"part-{part:04d}.parquet", index=False)
            written[subset] += len(kept)
        print(
            f"part {part}: {size:,} accounts, {len(task):,} calls, "
            f"{time.perf_counter() - began:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    print({str(k): v for k, v in written.items()})


def data_folder(work: Path, calls: int, parts: int) -> tuple[Path, int]:
    """A source folder holding Account/ and Task/ with links to the first `parts` generated
    parts (0: all): each part is whole (its accounts and all their calls), so a prefix of the
    parts is a smaller world of the same shape. Returns it and its accounts' count."""
    task_parts = sorted((work / f"Task-{calls}").glob("part-*.parquet"))
    task_parts = task_parts[:parts] if parts else task_parts
    folder = work / f"data-{calls}-{len(task_parts)}"
    accounts = 0
    for name in ("Account", "Task"):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for task_part in task_parts:
            source = task_part if name == "Task" else work / "Account" / task_part.name
            link = folder / name / task_part.name
            if not link.exists():
                link.symlink_to(source)
            if name == "Account":
                accounts += pq.ParquetFile(source).metadata.num_rows
    return folder, accounts


def stream_by_prefix(stream: list[dict]) -> pd.DataFrame:
    """Worker seconds per task prefix (compute, and transfer before it) of a Dask task stream,
    the largest first: where the fit's time goes."""
    from dask.utils import key_split

    rows = []
    for task in stream:
        for span in task.get("startstops", ()):
            seconds = span["stop"] - span["start"]
            rows.append((key_split(task["key"]), span["action"], seconds))
    frame = pd.DataFrame(rows, columns=["prefix", "action", "seconds"])
    table = frame.pivot_table(
        index="prefix", columns="action", values="seconds", aggfunc="sum", fill_value=0.0
    )
    table["tasks"] = frame[frame["action"] == "compute"].groupby("prefix").size()
    return table.sort_values("compute", ascending=False)


def fit(
    work: Path, calls: int, parts: int, memory_limit: str, listiq: bool, profile: bool = False
) -> None:
    """Time run_contact_model and its facts on a LocalCluster; then listiq random (CLI)."""
    import contextlib

    import dask
    from dask.distributed import Client, LocalCluster, get_task_stream, performance_report, wait

    from dialflow.config import Settings
    from dialflow.jobs.contact import ContactParams, run_contact_model
    from dialflow.sources.reference import load_reference_tables

    data, n_accounts = data_folder(work, calls, parts)
    config = work / "config.yaml"
    write_config(config, memory_limit)
    source = file_source(config, data)
    settings = Settings()
    task = source.read("Task", columns=["AccountId", "Dialed_Number__c", "CallDisposition",
                                        "CreatedDate"])  # fmt: skip
    accounts = source.read("Account", columns=["Id", *settings.phones.fields])
    params = ContactParams.from_settings(settings, pd.Timestamp(AS_OF))
    area_codes = load_reference_tables(None).area_codes
    stages: dict[str, float] = {}

    def timed(name: str, action):  # noqa: ANN001, ANN202 - a stage's callable
        began = time.perf_counter()
        out = action()
        stages[name] = time.perf_counter() - began
        return out

    def persist(*collections, stage: str):  # noqa: ANN002, ANN202
        def run():  # noqa: ANN202
            done = dask.persist(*collections)
            wait(list(done))
            return done

        return timed(stage, run)

    def compute(*collections, stage: str):  # noqa: ANN002, ANN202
        return timed(stage, lambda: dask.compute(*collections))

    task_rows = sum(pq.ParquetFile(f).metadata.num_rows for f in (data / "Task").glob("*.parquet"))
    load = os.getloadavg()[0]
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, memory_limit=memory_limit, dashboard_address=":0"
        ) as cluster,
        Client(cluster),
        performance_report(str(work / f"report-{data.name}.html"))
        if profile
        else contextlib.nullcontext(),
        get_task_stream() if profile else contextlib.nullcontext() as stream,
    ):
        began = time.perf_counter()
        result = run_contact_model(task, accounts, area_codes, params, compute, persist)
        model_seconds = time.perf_counter() - began
        # What listiq's scoring reads: each number's evidence (its shrunk ratio).
        counted = result.evidence.map_partitions(len).sum()
        (numbers,) = timed("evidence", lambda: dask.compute(counted))
        total = time.perf_counter() - began
        partitions = (task.npartitions, accounts.npartitions)
    if profile:
        with pd.option_context("display.width", 200, "display.max_rows", 100):
            print(stream_by_prefix(stream.data).round(1).to_string())
        print(f"performance report: {work / f'report-{data.name}.html'}")
    size = f"{n_accounts:,} accounts, {task_rows:,} calls"
    print(
        f"{size}: run_contact_model {model_seconds:.1f} s, then the evidence "
        f"{stages['evidence']:.1f} s: {total:.1f} s in all for {int(numbers):,} numbers with "
        f"history ({partitions[0]} Task and {partitions[1]} Account partitions; "
        + ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
        + f"); load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    )
    if listiq:
        out = work / f"out-{data.name}"
        run = run_dialflow(
            "listiq", data, config, out, 7_200, f"listiq-{data.name}",
            ("--set", "listiq.selection=random", "--no-email"),
        )  # fmt: skip
        status = "ok" if run["ok"] else "FAILED"
        print(
            f"{size}: dialflow run listiq (selection random) {status} in "
            f"{run['measured']['seconds']:.1f} s; the model's fit and evidence are "
            f"{total / run['measured']['seconds']:.2f}x of it; load average "
            f"{os.getloadavg()[0]:.1f} at the end"
        )
    print(machine())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", choices=["generate", "fit"], required=True)
    parser.add_argument("--accounts", type=int, default=10_000_000)
    parser.add_argument("--calls", type=int, default=30_000_000)
    parser.add_argument("--subset", type=int, default=0, help="generate: also a Task subset")
    parser.add_argument("--chunk", type=int, default=500_000, help="generate: accounts a part")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--parts", type=int, default=0, help="fit: the first N parts (0: all)")
    parser.add_argument("--memory-limit", default="3GiB", help="fit: per worker")
    parser.add_argument("--no-listiq", action="store_true", help="fit: skip the listiq run")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="fit: print worker seconds by task prefix; write a Dask performance report",
    )
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or OUT_DIR / f"contact-fit-{args.accounts}"
    work.mkdir(parents=True, exist_ok=True)
    if args.step == "generate":
        generate(work, args.accounts, args.calls, args.subset, args.chunk, args.seed)
    else:
        fit(work, args.calls, args.parts, args.memory_limit, not args.no_listiq, args.profile)


if __name__ == "__main__":
    main()
