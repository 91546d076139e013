"""Time `dialflow run listiq` end to end beside a pandas-seed baseline and listiq_frame.

Run: .venv/bin/python benchmarks/bench_listiq.py --accounts 400000 --calls 1000000 --repeat 3
Each method runs in its own subprocess on the same Parquet files, repeats interleaved; the
table (medians, ratios, peak memory, agreement) replaces this run's part of benchmarks/RESULTS.md.

No dedupe or autoflush run exists in the benchmark's fresh output folder, so every method runs
without exclusions: no dedupe-flagged accounts, no autoflush-cleared numbers (the CLI logs a
warning saying so).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
from collections import Counter
from dataclasses import asdict
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402 - the harness puts the repo on sys.path first
    AS_OF,
    DATA_DIR,
    MB,
    OUT_DIR,
    POLL_SECONDS,
    REPO,
    MethodRuns,
    common_arguments,
    dask_partitions,
    dialflow_failures,
    ensure_data,
    file_source,
    inside_line,
    log_warnings,
    machine,
    mb,
    median,
    memory_limit_target,
    method_rows,
    prefer_oom_kill,
    read_demo,
    run_baseline,
    run_baseline_if_asked,
    run_dialflow,
    seed_e164,
    stage_split,
    update_results,
    worker_peaks_line,
    worst_worker,
    write_baseline_report,
    write_config,
)

SCRIPT = Path(__file__).resolve()
SECTION = "## listiq"
CALL_DATE = "2026-11-25"  # the demo data's as-of day; also gives the default seed 20261125
SEED_SIZE = (400_000, 1_000_000)
SEED_CLAIM_SECONDS = 180.0  # the write-up: List IQ, 400K+ records, < 3 minutes
SEED_SPEEDUP = 20
TARGET_SECONDS_400K = SEED_CLAIM_SECONDS / SEED_SPEEDUP  # 9 s
TARGET_BYTES_400K = 800 * MB  # the write-up: < 800MB
DEFAULT_MAX_RSS = "16GB"
METHODS = ("dialflow", "pandas-seed", "listiq_frame")
# What the lists are compared on, in list order: who is called, on which number, and why there.
# AccountName is carried along from the Id; the windows are dialflow's addition (the seed had none).
COMPARED = ["AccountId", "Phone", "PhoneField", "State", "TimeZone", "Bucket"]
COVERS = {
    "dialflow": "whole job: cluster start, read, phones, pool, shuffle, apportion, pick, "
    "windows, CSV",
    "pandas-seed": "whole job in one pandas process: per-row phonenumbers, filter, apportion, "
    "sample (no calling windows)",
    "listiq_frame": "dialflow's pure pandas reference of the job in one process (vectorised "
    "phones, windows)",
}
INTRO = (
    "`benchmarks/bench_listiq.py` times `dialflow run listiq` as a subprocess (cluster start "
    "included, `--no-sql --as-of 2026-11-25T00:00:00Z --call-date 2026-11-25`) beside two "
    "single-process baselines on the same Parquet files: `pandas-seed`, written the way the "
    "original write-up's List IQ would be (Account and Task read whole with pandas, "
    "phonenumbers per row for the first valid phone field, area code to state from "
    "`dialflow/data/area_codes.csv`, the Do_Not_Call and 30-day filters, one account per "
    "number, then apportionment and sampling; the pure maths, `apportion`, "
    "`pick_state_lists` and `seeded_order`, is imported from `dialflow.jobs.listiq` so that "
    "the lists are comparable), and `listiq_frame`, dialflow's own pandas reference of the "
    "whole job, which the Dask wiring must equal. No dedupe or autoflush result exists in the "
    "benchmark's output folder, so all three run without those exclusions. Lists are compared "
    "row by row, in order, on " + ", ".join(COMPARED) + ". Peak memory: dialflow's workers and "
    "client from its summary.json and from polling the process tree every 0.2 s, the higher of "
    "the two; each baseline's own ru_maxrss or the polled tree, the higher.\n"
)


def load_params(config: Path):  # noqa: ANN201 - dialflow.config.ListiqParams
    """Return the listiq parameters dialflow resolves from the same config, --as-of, --call-date."""
    from dialflow.config import listiq_params, load_settings

    return listiq_params(load_settings(config), pd.Timestamp(AS_OF), date.fromisoformat(CALL_DATE))


def size_label(accounts: int, calls: int) -> str:
    """Return the data folder's name for a size (the same folders as bench_autoflush)."""
    return f"accounts-{accounts}-calls-{calls}"


# ---------------------------------------------------------------------------------------------
# dialflow through the CLI
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Baseline 1: pandas-seed, the way the original write-up's List IQ would be written
# ---------------------------------------------------------------------------------------------


def pandas_seed(data: Path, config: Path) -> tuple[pd.DataFrame, dict[str, float]]:
    """Build the call list in one pandas process; return it and seconds per step."""
    # Borrowed from dialflow: only the pure maths, so the lists are comparable draw for draw.
    # apportion (largest remainder, shortfalls passed on), pick_state_lists (70/30 split, newest
    # first, hashed sample), seeded_order (the seeded shuffle). Everything else is written here.
    from dialflow.jobs.listiq import SHUFFLE, apportion, pick_state_lists, seeded_order

    params = load_params(config)
    steps: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        steps[name] = round(now - clock[0], 3)
        clock[0] = now
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(f"pandas-seed: {name} done in {steps[name]:.1f} s, peak RSS {mb(peak)}",
              file=sys.stderr, flush=True)  # fmt: skip

    fields = list(params.phone_fields)
    accounts = pd.read_parquet(
        data / "Account", columns=["Id", "Name", "CreatedDate", "Do_Not_Call__c", *fields]
    )
    calls = pd.read_parquet(data / "Task", columns=["AccountId", "CreatedDate"])
    area_codes = pd.read_csv(REPO / "dialflow" / "data" / "area_codes.csv", dtype=str)
    population = pd.read_csv(REPO / "dialflow" / "data" / "census_population.csv",
                             dtype={"state": str, "population": "int64"})  # fmt: skip
    lap("read")

    # The phone: the first field, in order, whose value phonenumbers parses as valid. Each field
    # is parsed only for the accounts that have no phone yet (the rule needs no more).
    phone = pd.Series(None, index=accounts.index, dtype=object)
    phone_field = pd.Series(None, index=accounts.index, dtype=object)
    for field in fields:
        todo = phone.isna() & accounts[field].notna()
        parsed = accounts.loc[todo, field].map(lambda v: seed_e164(v, params.region))
        found = parsed.dropna()
        phone[found.index] = found
        phone_field[found.index] = field
    accounts["Phone_E164"] = phone
    accounts["PhoneField"] = phone_field
    lap("phones (per row)")

    codes = area_codes.set_index("area_code")
    area = accounts["Phone_E164"].where(accounts["Phone_E164"].str.startswith("+1", na=False))
    area = area.str[2:5]
    accounts["State"] = area.map(codes["state"])
    accounts["TimeZone"] = area.map(codes["time_zone"])
    since = params.as_of - pd.Timedelta(days=params.contact_days_threshold)
    called = calls.loc[calls["CreatedDate"] > since, "AccountId"].dropna().unique()
    pool = accounts[
        ~accounts["Do_Not_Call__c"].fillna(False).astype(bool)
        & accounts["Phone_E164"].notna()
        & accounts["State"].notna()
        & ~accounts["Id"].isin(called)
    ]
    # One account per number: the newest record (CreatedDate, then the greater Id).
    pool = pool.sort_values(
        ["Phone_E164", "CreatedDate", "Id"], ascending=[True, False, False], na_position="last"
    ).drop_duplicates("Phone_E164")
    recent_since = params.as_of - pd.Timedelta(hours=params.recent_window_hours)
    pool = pd.DataFrame(
        {
            "AccountId": pool["Id"],
            "AccountName": pool["Name"],
            "Phone": pool["Phone_E164"],
            "PhoneField": pool["PhoneField"],
            "State": pool["State"],
            "TimeZone": pool["TimeZone"],
            "CreatedDate": pool["CreatedDate"],
            "Bucket": np.where(pool["CreatedDate"] > recent_since, "recent", "historical"),
        }
    )
    lap("filter")

    plan = apportion(
        population.set_index("state")["population"],
        pool.groupby("State").size(),
        params.target_total_records,
    )
    chosen = pick_state_lists(pool, plan, params.recent_share, params.seed)
    chosen = chosen.assign(_order=seeded_order(chosen["AccountId"], params.seed, SHUFFLE))
    call_list = chosen.sort_values(["_order", "AccountId"]).drop(columns=["_order", "CreatedDate"])
    lap("apportion and sample")
    return call_list.reset_index(drop=True), steps


# ---------------------------------------------------------------------------------------------
# Baseline 2: listiq_frame, dialflow's own pandas reference of the whole job
# ---------------------------------------------------------------------------------------------


def reference(data: Path, config: Path) -> pd.DataFrame:
    """Run listiq_frame on the whole data in one process, read by dialflow's FileSource."""
    from dialflow.jobs.listiq import account_columns, listiq_frame
    from dialflow.sources.reference import load_reference_tables

    params = load_params(config)
    source = file_source(config, data)
    # The same reader (canonical dtypes) as the job, computed in this process only.
    accounts = source.read("Account", account_columns(params)).compute(scheduler="sync")
    calls = source.read("Task", ["AccountId", "CreatedDate"]).compute(scheduler="sync")
    tables = load_reference_tables(None)
    result = listiq_frame(
        accounts,
        calls,
        pd.Index([], dtype=str),
        pd.Index([], dtype=str),
        tables.area_codes,
        tables.census_population.set_index("state")["population"],
        params,
    )
    return result.call_list


def baseline_main(kind: str, data: Path, out_file: Path, config: Path) -> None:
    """Run one baseline in this process; write its call list and a JSON self-report."""
    start = time.perf_counter()
    prefer_oom_kill()
    if kind == "pandas":
        call_list, steps = pandas_seed(data, config)
        call_list.to_csv(out_file, index=False, lineterminator="\n")
        write_baseline_report(out_file, kind, len(call_list), start, steps=steps)
    else:
        call_list = reference(data, config)
        call_list.to_csv(out_file, index=False, lineterminator="\n")
        write_baseline_report(out_file, kind, len(call_list), start)


# ---------------------------------------------------------------------------------------------
# Comparing outputs
# ---------------------------------------------------------------------------------------------


def read_list(path: Path) -> pd.DataFrame:
    """Return a call list's compared columns as text, in list order."""
    return pd.read_csv(path, usecols=COMPARED, dtype=str, keep_default_na=False)[COMPARED]


def compare_lists(mine: pd.DataFrame, theirs: pd.DataFrame) -> str:
    """Say whether two call lists are the same rows in the same order, or how they differ."""
    size = f"{len(mine):,} vs {len(theirs):,} rows"
    if len(mine) == len(theirs) and mine.reset_index(drop=True).equals(
        theirs.reset_index(drop=True)
    ):
        return f"yes, identical ({len(mine):,} rows, same order)"
    mine_rows = set(mine.itertuples(index=False, name=None))
    their_rows = set(theirs.itertuples(index=False, name=None))
    if mine_rows == their_rows:
        return f"same rows, other order ({size})"
    ids = set(mine["AccountId"]) & set(theirs["AccountId"])
    return (
        f"NO ({size}, {'same' if len(mine) == len(theirs) else 'different'} size): "
        f"{len(mine_rows - their_rows):,} rows only here, {len(their_rows - mine_rows):,} only "
        f"in dialflow; {len(ids):,} AccountIds in both"
    )


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def dialflow_memory(runs: MethodRuns) -> tuple[list[int], list[int], list[int]]:
    """Return per run: largest worker, client and whole tree, the higher of the two readings."""
    workers = [
        max(s, p) for s, p in zip(runs.max_worker_peaks(), runs.polled_worker_peaks(), strict=True)
    ]
    clients = [
        max(r["summary"]["memory"]["client_peak_bytes"], r["measured"]["root_peak_bytes"])
        for r in runs.ok_runs
    ]
    trees = [
        max(
            r["measured"]["tree_peak_bytes"],
            sum(r["summary"]["memory"]["workers_peak_bytes"].values())
            + r["summary"]["memory"]["client_peak_bytes"],
        )
        for r in runs.ok_runs
    ]
    return workers, clients, trees


def baseline_peaks(runs: MethodRuns) -> list[int]:
    """Return per successful baseline run its peak: own ru_maxrss or the polled tree, higher."""
    return [
        max(r["report"]["peak_rss_bytes"], r["measured"]["tree_peak_bytes"]) for r in runs.ok_runs
    ]


def describe_method(name: str, runs: MethodRuns) -> tuple[str, str]:
    """Return a method's peak memory and rows-out cells."""
    if name == "dialflow":
        workers, clients, trees = dialflow_memory(runs)
        memory = (
            f"max worker {mb(median(workers))} / client {mb(median(clients))}; "
            f"whole tree {mb(median(trees))}"
        )
        counts = runs.ok_runs[0]["summary"]["counts"]
        return memory, f"{counts['delivered']:,} listed (pool {counts['pool']:,})"
    memory = f"process {mb(median(baseline_peaks(runs)))}"
    return memory, f"{runs.ok_runs[0]['report']['rows']:,} listed"


# A finished rich progress bar: "listiq: build the pool ━━━━ 143/143 tasks 0:00:09".
PROGRESS = re.compile(
    r"listiq: (?P<stage>[a-z][a-z ]*[a-z]) [^\x00-\x7f].*?(?P<done>\d+)/(?P<all>\d+) tasks "
    r"(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d)"
)


def progress_stages(log_path: Path) -> dict[str, tuple[int, int, int]]:
    """Return each compute stage's (tasks done, tasks, whole seconds) from the progress bars."""
    found: dict[str, tuple[int, int, int]] = {}
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return found
    for match in PROGRESS.finditer(text):
        seconds = int(match["h"]) * 3600 + int(match["m"]) * 60 + int(match["s"])
        found[match["stage"]] = (int(match["done"]), int(match["all"]), seconds)
    return found


def render_dialflow_detail(args: argparse.Namespace, work: Path, dialflow: MethodRuns) -> list[str]:
    """Return where dialflow's time and memory went: summary.json, progress bars, logs."""
    if not dialflow.ok_runs:
        lines = dialflow_failures(dialflow, args.timeout)
        for i in range(1, len(dialflow.runs) + 1):
            bars = progress_stages(work / f"dialflow-run{i}.stderr.txt")
            if bars:
                seen = "; ".join(f"`{stage}` {done:,}/{total:,} tasks, {secs} s"
                                 for stage, (done, total, secs) in bars.items())  # fmt: skip
                lines.append(f"Run {i}'s progress bars before it stopped: {seen}.  ")
    else:
        split = [("listiq", "read, phones, pool, shuffle, plan, pick, windows", 1),
                 ("write", "", 2)]  # fmt: skip
        lines = [stage_split(dialflow, split)]
        bars: dict[str, list[tuple[int, int, int]]] = {}
        for i, run in enumerate(dialflow.runs, start=1):
            if run["ok"]:
                for stage, seen in progress_stages(work / f"dialflow-run{i}.stderr.txt").items():
                    bars.setdefault(stage, []).append(seen)
        if bars:
            parts = [
                f"`{stage}` {median(s for _, _, s in seen):.0f} s ({seen[0][1]:,} tasks)"
                for stage, seen in bars.items()
            ]
            lines.append(
                "Inside `listiq`, by the CLI's progress bars (whole seconds, medians): "
                + "; ".join(parts)
                + ".  "
            )
        workers, clients, trees = dialflow_memory(dialflow)
        polled = [
            " + ".join(mb(p) for p in r["measured"]["children_peak_bytes"])
            for r in dialflow.ok_runs
        ]
        lines += [
            worker_peaks_line(dialflow) + "  ",
            f"Worker processes by the {POLL_SECONDS} s poll, per run: {'; '.join(polled)}. "
            f"Client process (summary.json or poll, higher), median {mb(median(clients))}. "
            f"Whole process tree (client with scheduler, 2 workers; the poll's total or the "
            f"sum of each process's peak, higher), median {mb(median(trees))}, at most "
            f"{mb(max(trees))}.",
        ]
    warnings: Counter[str] = Counter()
    for i in range(1, len(dialflow.runs) + 1):
        for message, count in log_warnings(work / f"dialflow-run{i}.stderr.txt", limit=20):
            warnings[message] += count
    if warnings:
        lines += ["", "Warnings in dialflow's stderr (workers included), all runs, numbers as N:",
                  ""]  # fmt: skip
        lines += [f"- {count} x `{message}`" for message, count in warnings.most_common(8)]
    else:
        lines += ["", "No WARNING or ERROR line in dialflow's stderr (workers included)."]
    return lines + [""]


def render_targets(args: argparse.Namespace, methods: dict[str, MethodRuns]) -> list[str]:
    """Return the issue's targets for this size and whether this run meets them."""
    dialflow = methods["dialflow"]
    lines = ["Targets:", ""]
    size = (args.accounts, args.calls)
    if size == SEED_SIZE:
        if not dialflow.ok_runs:
            lines += [
                f"- at least {SEED_SPEEDUP}x the seed's speed (the write-up: < 3 minutes for "
                f"400K+ records), i.e. under {TARGET_SECONDS_400K:.0f} s end to end: **not met** "
                "(dialflow failed, see above)",
                "- under 800 MB (the write-up: < 800MB): **not met** (dialflow failed)",
            ]
        else:
            secs = median(dialflow.seconds())
            all_finished = len(dialflow.ok_runs) == len(dialflow.runs)
            workers, _, trees = dialflow_memory(dialflow)
            pandas = methods["pandas-seed"]
            measured = (
                f"; against the pandas-seed measured here: {median(pandas.seconds()) / secs:.1f}x"
                if pandas.ok_runs
                else ""
            )
            _, seen = worst_worker(dialflow)
            lines += [
                f"- at least {SEED_SPEEDUP}x the seed's speed (the write-up: < 3 minutes for "
                f"400K+ records), i.e. under {TARGET_SECONDS_400K:.0f} s end to end on this "
                f"2-core machine, cluster start included: median {secs:.1f} s, every run at most "
                f"{max(dialflow.seconds()):.1f} s ({SEED_CLAIM_SECONDS / secs:.0f}x the claimed 3 "
                f"minutes{measured}): "
                f"**{'met' if secs < TARGET_SECONDS_400K and all_finished else 'not met'}**",
                f"- under 800 MB, per worker (largest worker's peak, Dask's monitor or the 0.2 s "
                f"poll, the higher): median {mb(median(workers))}, at most {mb(max(workers))}; "
                f"{seen}: **{'met' if max(workers) < TARGET_BYTES_400K else 'not met'}**",
                f"- under 800 MB, whole process tree (client with scheduler and both workers, "
                f"the seed's one process being the whole job): median {mb(median(trees))}, at "
                f"most {mb(max(trees))}: "
                f"**{'met' if max(trees) < TARGET_BYTES_400K else 'not met'}**",
            ]
    lines.append(memory_limit_target(dialflow, args.memory_limit))
    return lines + [""]


def render(
    args: argparse.Namespace,
    data: Path,
    work: Path,
    methods: dict[str, MethodRuns],
    checks: dict[str, list[str]],
    partitions: dict[str, tuple[int | None, int | None]],
) -> str:
    """Return the markdown subsection for this run."""
    demo = read_demo(data)
    counts = demo.get("counts", {})
    rows = counts.get("rows", {})
    files = {t: len(list((data / t).glob("*.parquet"))) for t in ("Task", "Account")}
    options = "".join(
        f" --{flag}" for flag in ("skip-baselines", "no-pandas", "no-reference")
        if getattr(args, flag.replace("-", "_"))
    )  # fmt: skip
    lines = [
        f"### {args.accounts:,} accounts, {args.calls:,} calls, 2 workers x 1 thread x "
        f"{args.memory_limit}",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_listiq.py --accounts {args.accounts} "
        f"--calls {args.calls} --repeat {args.repeat} --memory-limit {args.memory_limit}"
        f"{options} --pandas-timeout {args.pandas_timeout:.0f}"
        + (
            f" --baseline-max-rss {args.baseline_max_rss}"
            if args.baseline_max_rss != DEFAULT_MAX_RSS
            else ""
        )
        + "`  ",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.  ",
        f"Input: `benchmarks/data/{data.name}/`: Account {rows.get('Account', args.accounts):,} "
        f"rows in {files['Account']} Parquet file(s), Task {rows.get('Task', args.calls):,} rows "
        f"in {files['Task']}; the generator made "
        f"{counts.get('accounts_created_last_48h', '?'):,} accounts in the last 48 hours, "
        f"{counts.get('do_not_call', '?'):,} Do_Not_Call and "
        f"{counts.get('accounts_without_valid_phone', '?'):,} without a valid phone. dialflow "
        f"reads Account as {partitions['Account'][0] or '?'} Dask partition(s) "
        f"({partitions['Account'][1] or '?'} after the optimiser fuses the column-projected "
        f"reads) and Task as {partitions['Task'][0] or '?'} ({partitions['Task'][1] or '?'}), "
        f"for 2 workers. Target 10,000 records (the default), `--call-date {CALL_DATE}` (seed "
        f"{CALL_DATE.replace('-', '')}). Repeats run interleaved (dialflow, pandas-seed, "
        f"listiq_frame, then again); every number is the median of {args.repeat} run(s), none "
        f"dropped"
        + (" (a single run: no median, noise not averaged)." if args.repeat == 1 else "."),
        "",
    ]
    timeouts = {"dialflow": args.timeout, "pandas-seed": args.pandas_timeout,
                "listiq_frame": args.pandas_timeout}  # fmt: skip
    lines += method_rows(methods, COVERS, checks, timeouts, describe_method)
    lines += inside_line(methods)
    if methods["pandas-seed"].ok_runs:
        seed_runs = methods["pandas-seed"].ok_runs
        split = "; ".join(
            f"{step} {median(r['report']['steps'][step] for r in seed_runs):.1f} s"
            for step in seed_runs[0]["report"]["steps"]
        )
        lines[-1] += f" pandas-seed by step (medians): {split}."
    lines += ["", *render_dialflow_detail(args, work, methods["dialflow"])]
    lines += render_targets(args, methods)
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=SEED_SIZE[0], help="accounts in the data")
    parser.add_argument("--calls", type=int, default=SEED_SIZE[1], help="calls (Task rows)")
    parser.add_argument("--no-reference", action="store_true", help="skip listiq_frame")
    parser.add_argument(
        "--baseline-max-rss",
        default=DEFAULT_MAX_RSS,
        help="kill a baseline whose process tree passes this (protects a shared machine)",
    )
    common_arguments(parser, pandas_timeout=1200, baselines=["pandas", "reference"])
    return parser.parse_args()


def main() -> None:
    """Prepare data and config, run every method --repeat times interleaved, report."""
    from dask.utils import parse_bytes

    args = parse_args()
    if run_baseline_if_asked(args, baseline_main):
        return

    data = ensure_data(
        DATA_DIR / size_label(args.accounts, args.calls), args.accounts, args.calls, args.wait
    )
    work = OUT_DIR / f"listiq-{size_label(args.accounts, args.calls)}-{args.memory_limit}"
    work.mkdir(parents=True, exist_ok=True)
    config = work / "config.yaml"
    write_config(config, args.memory_limit)
    params = load_params(config)
    from dialflow.jobs.listiq import account_columns

    partitions = {
        "Account": dask_partitions(data, config, "Account", account_columns(params)),
        "Task": dask_partitions(data, config, "Task", ["AccountId", "CreatedDate"]),
    }
    max_rss = parse_bytes(args.baseline_max_rss)

    methods = {name: MethodRuns(name) for name in METHODS}
    wanted = {
        "pandas-seed": not (args.skip_baselines or args.no_pandas),
        "listiq_frame": not (args.skip_baselines or args.no_reference),
    }
    checks: dict[str, list[str]] = {}
    reference_list: pd.DataFrame | None = None
    for repeat in range(args.repeat):
        tag = f"run{repeat + 1}"
        print(f"[{tag}] dialflow ...", file=sys.stderr, flush=True)
        run = run_dialflow(
            "listiq", data, config, work / "dialflow", args.timeout, f"dialflow-{tag}",
            ("--call-date", CALL_DATE),
        )  # fmt: skip
        methods["dialflow"].runs.append(run)
        print(f"[{tag}] dialflow {run['measured']['seconds']:.1f}s ok={run['ok']}", file=sys.stderr)
        if run["ok"]:
            mine = read_list(Path(run["folder"]) / f"call_list_{CALL_DATE}.csv")
            if reference_list is None:
                reference_list = mine
            else:
                # dialflow must agree with itself across runs too (determinism).
                said = compare_lists(mine, reference_list)
                checks.setdefault("dialflow", []).append(f"{said} (between its own runs)")
        for name, kind in (("pandas-seed", "pandas"), ("listiq_frame", "reference")):
            earlier = methods[name].runs
            if not wanted[name] or (earlier and not earlier[-1]["ok"]):
                continue  # a baseline that failed or timed out once is not tried again
            print(f"[{tag}] {name} ...", file=sys.stderr, flush=True)
            out_file = work / f"{kind}-{tag}.csv"
            result = run_baseline(
                SCRIPT, kind, data, config, out_file, args.pandas_timeout, max_rss
            )
            methods[name].runs.append(result)
            print(f"[{tag}] {name} {result['measured']['seconds']:.1f}s ok={result['ok']}",
                  file=sys.stderr)  # fmt: skip
            if not result["ok"]:
                continue
            if reference_list is not None:
                checks.setdefault(name, []).append(
                    compare_lists(read_list(out_file), reference_list)
                )
            elif name == "pandas-seed" and methods["listiq_frame"].ok_runs:
                # dialflow gave no list: say at least whether the two pandas lists agree.
                theirs = read_list(Path(methods["listiq_frame"].ok_runs[-1]["output"]))
                said = compare_lists(read_list(out_file), theirs).replace(
                    "dialflow", "listiq_frame"
                )
                checks.setdefault(name, []).append(f"vs listiq_frame (dialflow failed): {said}")
        if (
            reference_list is None
            and methods["pandas-seed"].ok_runs
            and methods["listiq_frame"].ok_runs
            and not checks.get("pandas-seed")
        ):
            mine = read_list(Path(methods["pandas-seed"].ok_runs[-1]["output"]))
            theirs = read_list(Path(methods["listiq_frame"].ok_runs[-1]["output"]))
            said = compare_lists(mine, theirs).replace("dialflow", "listiq_frame")
            checks.setdefault("pandas-seed", []).append(
                f"vs listiq_frame (dialflow failed): {said}"
            )
    (work / "results.json").write_text(
        json.dumps({"methods": {k: asdict(v) for k, v in methods.items()}}, indent=2, default=str)
        + "\n",
        encoding="utf-8",
    )
    subsection = render(args, data, work, methods, checks, partitions)
    print(subsection)
    if not args.no_results:
        update_results(args.results, SECTION, INTRO, subsection)
        print(f"updated {args.results}", file=sys.stderr)


if __name__ == "__main__":
    main()
