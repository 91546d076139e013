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
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402 - the harness puts the repo on sys.path first
    AS_OF,
    MB,
    REPO,
    SAMELOGIC,
    SAMELOGIC_COVERS,
    MethodRuns,
    baseline_memory_cell,
    common_arguments,
    compare_lists,
    dask_partitions,
    dialflow_detail,
    dialflow_memory_cell,
    file_source,
    inside_line,
    memory_limit_target,
    memory_targets,
    method_rows,
    methods_json,
    prefer_oom_kill,
    publish,
    read_demo,
    repeats_text,
    report_head,
    run_baseline_if_asked,
    samelogic_lines,
    save_results,
    seed_e164,
    seed_steps_text,
    size_arguments,
    sized_work,
    speed_target,
    stopwatch,
    timed_baseline,
    timed_dialflow,
    timed_samelogic,
    write_baseline_report,
)

SCRIPT = Path(__file__).resolve()
SECTION = "## listiq"
CALL_DATE = "2026-11-25"  # the demo data's as-of day; also gives the default seed 20261125
SEED_SIZE = (400_000, 1_000_000)
SEED_CLAIM_SECONDS = 180.0  # the write-up: List IQ, 400K+ records, < 3 minutes
SEED_SPEEDUP = 20  # so the target is under 9 s
TARGET_BYTES_400K = 800 * MB  # the write-up: < 800MB
METHODS = ("dialflow", "pandas-seed", "listiq_frame", SAMELOGIC)
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
    SAMELOGIC: SAMELOGIC_COVERS,
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
    from dialflow.config import load_settings
    from dialflow.jobs.listiq import ListiqParams

    settings = load_settings(config)
    return ListiqParams.from_settings(settings, pd.Timestamp(AS_OF), date.fromisoformat(CALL_DATE))


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
    lap = stopwatch(steps)

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
    elif kind == "samelogic":
        import samelogic

        # The benchmark's output folder holds no dedupe or autoflush run: nothing excluded.
        done = samelogic.listiq(
            data, config, out_file, pd.Timestamp(AS_OF), date.fromisoformat(CALL_DATE)
        )
        write_baseline_report(out_file, kind, done.pop("rows"), start, **done)
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


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def describe_method(name: str, runs: MethodRuns) -> tuple[str, str]:
    """Return a method's peak memory and rows-out cells."""
    if name == "dialflow":
        counts = runs.ok_runs[0]["summary"]["counts"]
        return (
            dialflow_memory_cell(runs),
            f"{counts['delivered']:,} listed (pool {counts['pool']:,})",
        )
    return baseline_memory_cell(runs), f"{runs.ok_runs[0]['report']['rows']:,} listed"


def render_targets(args: argparse.Namespace, methods: dict[str, MethodRuns]) -> list[str]:
    """Return the issue's targets for this size and whether this run meets them."""
    dialflow = methods["dialflow"]
    lines = ["Targets:", ""]
    if (args.accounts, args.calls) == SEED_SIZE:
        claim = "(the write-up: < 3 minutes for 400K+ records)"
        failed = "dialflow failed, see above"
        lines.append(
            speed_target(methods, SEED_SPEEDUP, SEED_CLAIM_SECONDS, claim, "3 minutes", failed)
        )
        lines += memory_targets(dialflow, "800 MB", "800MB", TARGET_BYTES_400K)
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
    lines = report_head(
        args,
        "bench_listiq.py",
        f"{args.accounts:,} accounts, {args.calls:,} calls",
        f"--accounts {args.accounts} --calls {args.calls}",
        ("skip-baselines", "no-pandas", "no-reference"),
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
        f"{CALL_DATE.replace('-', '')}). "
        + repeats_text("dialflow, pandas-seed, listiq_frame, same-logic DuckDB", args.repeat),
    )
    timeouts = {"dialflow": args.timeout, "pandas-seed": args.pandas_timeout,
                "listiq_frame": args.pandas_timeout, SAMELOGIC: args.timeout}  # fmt: skip
    lines += method_rows(methods, COVERS, checks, timeouts, describe_method) + inside_line(methods)
    if methods["pandas-seed"].ok_runs:
        lines[-1] += seed_steps_text(methods["pandas-seed"])
    stages = [("listiq", "read, phones, pool, shuffle, plan, pick, windows", 1), ("write", "", 2)]
    lines += samelogic_lines(methods)
    lines += ["", *dialflow_detail(methods["dialflow"], "listiq", work, args.timeout, stages)]
    lines += render_targets(args, methods)
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size_arguments(parser, SEED_SIZE)
    parser.add_argument("--no-reference", action="store_true", help="skip listiq_frame")
    common_arguments(parser, pandas_timeout=1200, baselines=["pandas", "reference", "samelogic"])
    return parser.parse_args()


def main() -> None:
    """Prepare data and config, run every method --repeat times interleaved, report."""
    from dask.utils import parse_bytes

    args = parse_args()
    if run_baseline_if_asked(args, baseline_main):
        return

    data, work, config = sized_work("listiq", args)
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
        SAMELOGIC: not (args.skip_baselines or args.no_samelogic),
    }
    checks: dict[str, list[str]] = {}
    reference_list: pd.DataFrame | None = None
    for repeat in range(args.repeat):
        tag = f"run{repeat + 1}"
        run = timed_dialflow(
            methods, tag, "listiq", data, config, work / "dialflow", args.timeout,
            ("--call-date", CALL_DATE),
        )  # fmt: skip
        if run["ok"]:
            mine = read_list(Path(run["folder"]) / f"call_list_{CALL_DATE}.csv")
            if reference_list is None:
                reference_list = mine
            else:
                # dialflow must agree with itself across runs too (determinism).
                said = compare_lists(mine, reference_list)
                checks.setdefault("dialflow", []).append(f"{said} (between its own runs)")
        timed_samelogic(
            methods, checks, tag, wanted[SAMELOGIC], SCRIPT, data, config, work, args.timeout,
            (lambda ours, theirs=Path(run["folder"]) / f"call_list_{CALL_DATE}.csv":
             [(ours, theirs)]) if run["ok"] else None,
        )  # fmt: skip
        for name, kind in (("pandas-seed", "pandas"), ("listiq_frame", "reference")):
            out_file = timed_baseline(
                methods, name, kind, tag, wanted[name], SCRIPT, data, config, work,
                args.pandas_timeout, max_rss,
            )  # fmt: skip
            if out_file is None:
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
    save_results(work, {"methods": methods_json(methods)})
    publish(args, render(args, data, work, methods, checks, partitions), SECTION, INTRO)


if __name__ == "__main__":
    main()
