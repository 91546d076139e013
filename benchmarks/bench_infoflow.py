"""Time `dialflow run infoflow` end to end beside a pandas-seed baseline and infoflow_frame.

Run: .venv/bin/python benchmarks/bench_infoflow.py --accounts 400000 --calls 1000000 --repeat 3
Each method runs in its own subprocess on the same Parquet files, repeats interleaved; the
table (medians, ratios, peak memory, agreement) replaces this run's part of benchmarks/RESULTS.md.

infoflow reads the latest autoflush cleanup from its output folder and its own earlier request
lists (`<output>/infoflow/*/research_requests.csv`, the 90-day request log). So, before timing,
`dialflow run autoflush` runs once (untimed) into `<work>/autoflush-base/`, and every timed
infoflow run gets a fresh output folder holding a copy of that autoflush run folder and nothing
else: every run sees the same cleanup and no earlier request. The baselines read the same
cleanup CSV.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402 - the harness puts the repo on sys.path first
    AS_OF,
    MB,
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
    run_dialflow,
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
SECTION = "## infoflow"
SEED_SIZE = (400_000, 1_000_000)
SEED_CLAIM_SECONDS = 300.0  # the write-up: InfoFlow IQ, 400K+ accounts, < 5 minutes
SEED_SPEEDUP = 20  # so the target is under 15 s
TARGET_BYTES_400K = 1000 * MB  # the write-up: < 1GB
METHODS = ("dialflow", "pandas-seed", "infoflow_frame", SAMELOGIC)
BASE = "autoflush-base"  # the work folder's untimed autoflush run, beside config.yaml
CSV_NAME = "research_requests.csv"
# What the lists are compared on, in list order (the brief's AccountId order, Priority, Signals),
# then the rest of each row (owner, best address, last call) as a second check.
COMPARED = ["AccountId", "Priority", "Signals"]
DETAIL = ["AccountName", "OwnerName", "OwnerEmail", "Street", "City", "State", "PostalCode",
          "LastCallDate"]  # fmt: skip
COVERS = {
    "dialflow": "whole job: cluster start, read 5 tables, phones, eligibility, call facts, "
    "addresses, priority, top N, CSV",
    "pandas-seed": "whole job in one pandas process: per-row phonenumbers, filters, merges, "
    "signals, top N",
    "infoflow_frame": "dialflow's pure pandas reference of the job in one process (vectorised "
    "phones)",
    SAMELOGIC: SAMELOGIC_COVERS,
}
INTRO = (
    "`benchmarks/bench_infoflow.py` times `dialflow run infoflow` as a subprocess (cluster start "
    "included, `--no-sql --no-email --as-of 2026-11-25T00:00:00Z`) beside two single-process "
    "baselines on the same Parquet files. Before timing, `dialflow run autoflush` runs once, "
    "untimed, with the same options; every timed infoflow run gets a fresh `--output` folder "
    "holding a copy of that autoflush run and nothing else, so all runs see the same cleanup "
    "and no earlier research request (infoflow's own request log is empty: summary.json's "
    "`logged_requests_in_window` is checked to be 0). `pandas-seed` is written the way the "
    "original write-up's InfoFlow IQ would be: the five tables read whole with pandas, "
    "phonenumbers per row over the phone fields in order (a number the autoflush cleanup "
    "cleared from that field does not count), Research_Request__c within 90 days, active "
    "owners, call facts and the newest address history by groupby, the four signals and "
    "weights, the top 500 by Priority then AccountId, the newer of Billing and history address; "
    "nothing is imported from `dialflow.jobs`. `infoflow_frame` is dialflow's own pandas "
    "reference of the whole job, which the Dask wiring must equal. Lists are compared row by "
    "row, in order, on " + ", ".join(COMPARED) + ", then on " + ", ".join(DETAIL) + ". Peak "
    "memory: dialflow's workers and client from its summary.json and from polling the process "
    "tree every 0.2 s, the higher of the two; each baseline's own ru_maxrss or the polled tree, "
    "the higher.\n"
)


def load_params(config: Path):  # noqa: ANN201 - dialflow.config.InfoflowParams
    """Return the infoflow parameters dialflow resolves from the same config and --as-of."""
    from dialflow.config import load_settings
    from dialflow.jobs.infoflow import InfoflowParams

    return InfoflowParams.from_settings(load_settings(config), pd.Timestamp(AS_OF))


def autoflush_run(work: Path) -> Path | None:
    """Return the untimed autoflush run folder of a work folder, or None."""
    runs = sorted(p for p in (work / BASE / "autoflush").glob("*") if not p.name.startswith("."))
    return runs[-1] if runs else None


def fresh_output(work: Path, tag: str, base_run: Path) -> Path:
    """Return an empty output folder for one infoflow run, holding a copy of the autoflush run."""
    out = work / f"dialflow-{tag}"
    shutil.rmtree(out, ignore_errors=True)
    shutil.copytree(base_run, out / "autoflush" / base_run.name)
    return out


# ---------------------------------------------------------------------------------------------
# Baseline 1: pandas-seed, the way the original write-up's InfoFlow IQ would be written
# ---------------------------------------------------------------------------------------------


def pandas_seed(data: Path, config: Path) -> tuple[pd.DataFrame, dict[str, float]]:
    """Build the research requests in one pandas process; return them and seconds per step."""
    params = load_params(config)
    as_of = params.as_of
    steps: dict[str, float] = {}
    lap = stopwatch(steps)

    fields = list(params.phone_fields)
    accounts = pd.read_parquet(
        data / "Account",
        columns=["Id", "Name", "OwnerId", "BillingStreet", "BillingCity", "BillingState",
                 "BillingPostalCode", "CreatedDate", "LastModifiedDate", *fields],
    )  # fmt: skip
    calls = pd.read_parquet(data / "Task", columns=["AccountId", "CallDisposition", "CreatedDate"])
    research = pd.read_parquet(data / "Research_Request__c", columns=["Account__c", "CreatedDate"])
    history = pd.read_parquet(data / "Address_History__c")
    users = pd.read_parquet(data / "User")
    base_run = autoflush_run(config.parent)
    cleanup = (
        pd.read_csv(
            base_run / "autoflush_cleanup.csv", dtype=str, keep_default_na=False, na_values=[""]
        )
        if base_run
        else pd.DataFrame(columns=["AccountId", "Field", "PhoneE164"], dtype=str)
    )
    lap("read")

    # Needs research: no field holds a valid number autoflush has not cleared from that field.
    cleared = set(zip(cleanup["AccountId"], cleanup["Field"], cleanup["PhoneE164"], strict=True))
    has_phone = pd.Series(False, index=accounts.index)
    for field in fields:
        todo = ~has_phone & accounts[field].notna()
        rows = accounts.loc[todo, ["Id", field]]
        usable = [
            e164 is not None and (account_id, field, e164) not in cleared
            for account_id, e164 in zip(
                rows["Id"], (seed_e164(v, params.region) for v in rows[field]), strict=True
            )
        ]
        has_phone[rows.index[usable]] = True
    needs = accounts[~has_phone]
    lap("phones (per row)")

    owners = users[users["IsActive"].fillna(False).astype(bool)][["Id", "Name", "Email"]]
    owners = owners.rename(columns={"Id": "OwnerId", "Name": "OwnerName", "Email": "OwnerEmail"})
    needs = needs.merge(owners, on="OwnerId", how="inner")
    window = as_of - pd.Timedelta(days=params.research_frequency_days)
    asked = research.loc[research["CreatedDate"] > window, "Account__c"].dropna()
    eligible = needs[~needs["Id"].isin(asked)]
    lap("eligibility")

    calls = calls[calls["AccountId"].isin(eligible["Id"])]
    category = calls["CallDisposition"].str.strip().str.lower().map(params.categories)
    lookback = as_of - pd.Timedelta(days=params.contact_lookback_days)
    calls = calls.assign(Contact=((category == "contact") & (calls["CreatedDate"] > lookback)))
    facts = calls.groupby("AccountId").agg(
        LastCallDate=("CreatedDate", "max"), ContactCalls=("Contact", "sum")
    )
    history = history[history["Account__c"].isin(eligible["Id"])]
    newest = history.sort_values(["Account__c", "CreatedDate", "Id"], na_position="first")
    newest = newest.drop_duplicates("Account__c", keep="last").set_index("Account__c")
    flushed = cleanup.groupby("AccountId").size()
    rows = eligible.join(facts, on="Id").join(newest.add_prefix("History_"), on="Id")
    lap("call facts and addresses")

    moved = rows["History_CreatedDate"] > as_of - pd.Timedelta(days=params.address_change_days)
    signals = pd.DataFrame(
        {
            "address_changed": moved.fillna(False).astype(int),
            "reached_before": (rows["ContactCalls"].fillna(0) > 0).astype(int),
            "numbers_flushed": rows["Id"]
            .map(flushed)
            .fillna(0)
            .clip(upper=params.numbers_flushed_cap)
            .astype(int),
            "new_account": (
                rows["CreatedDate"] > as_of - pd.Timedelta(days=params.new_account_days)
            )
            .fillna(False)
            .astype(int),
        }
    )
    priority = sum(signals[name] * weight for name, weight in params.weights.items())
    rows = rows.assign(Priority=priority.astype(float).round(6))
    top = rows.sort_values(["Priority", "Id"], ascending=[False, True]).head(params.max_requests)

    def describe(row: pd.Series) -> str:
        fired = []
        for name in signals.columns:
            if row[name] > 0:
                fired.append(f"{name}={row[name]}" if name == "numbers_flushed" else name)
        return ";".join(fired)

    # The history address when it is newer than the account's last change (or that is unknown).
    use_history = (top["History_CreatedDate"] > top["LastModifiedDate"]).fillna(False) | (
        top["LastModifiedDate"].isna() & top["History_CreatedDate"].notna()
    )

    def address(history_column: str, billing_column: str) -> pd.Series:
        return top[history_column].where(use_history, top[billing_column])

    requests = pd.DataFrame(
        {
            "AccountId": top["Id"],
            "AccountName": top["Name"],
            "OwnerName": top["OwnerName"],
            "OwnerEmail": top["OwnerEmail"],
            "Street": address("History_Street__c", "BillingStreet"),
            "City": address("History_City__c", "BillingCity"),
            "State": address("History_State__c", "BillingState"),
            "PostalCode": address("History_PostalCode__c", "BillingPostalCode"),
            "Priority": top["Priority"],
            "Signals": signals.loc[top.index].apply(describe, axis=1),
            "LastCallDate": top["LastCallDate"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    )
    lap("signals, priority and top N")
    steps["count_without_usable_phone"] = int((~has_phone).sum())
    steps["count_eligible"] = len(eligible)
    return requests.reset_index(drop=True), steps


# ---------------------------------------------------------------------------------------------
# Baseline 2: infoflow_frame, dialflow's own pandas reference of the whole job
# ---------------------------------------------------------------------------------------------


def reference(data: Path, config: Path) -> tuple[pd.DataFrame, dict]:
    """Run infoflow_frame on the whole data in one process, read by dialflow's FileSource."""
    from dialflow.jobs.infoflow import account_columns, flushed_by_account, infoflow_frame
    from dialflow.jobs.usable_phone import cleared_keys
    from dialflow.schema import STRING
    from dialflow.sources.previous import latest_result

    params = load_params(config)
    source = file_source(config, data)

    def read(table: str, columns: list[str] | None = None) -> pd.DataFrame:
        # The same reader (canonical dtypes) as the job, computed in this process only.
        return source.read(table, columns).compute(scheduler="sync")

    cleanup = latest_result(
        config.parent / BASE, "autoflush", "autoflush_cleanup.csv", None, "autoflush_cleanup",
        ["AccountId", "Field", "PhoneE164"],
    )  # fmt: skip
    result = infoflow_frame(
        read("Account", account_columns(params)),
        read("Task", ["AccountId", "CallDisposition", "CreatedDate"]),
        read("Research_Request__c", ["Account__c", "CreatedDate"]),
        read("Address_History__c"),
        read("User"),
        cleared_keys(cleanup.rows) if cleanup else pd.Index([], dtype=str),
        flushed_by_account(cleanup.rows) if cleanup else pd.Series(dtype="int64"),
        pd.Series([], dtype=STRING),  # a fresh output folder: no earlier request logged
        params,
    )
    return result.requests, result.counts


def baseline_main(kind: str, data: Path, out_file: Path, config: Path) -> None:
    """Run one baseline in this process; write its request list and a JSON self-report."""
    from dialflow.sinks.csv import write_csv

    start = time.perf_counter()
    prefer_oom_kill()
    if kind == "pandas":
        requests, steps = pandas_seed(data, config)
        requests.to_csv(out_file, index=False, lineterminator="\n")
        write_baseline_report(out_file, kind, len(requests), start, steps=steps)
    elif kind == "samelogic":
        import samelogic

        base_run = autoflush_run(config.parent)
        cleanup = base_run / "autoflush_cleanup.csv" if base_run is not None else None
        done = samelogic.infoflow(data, config, out_file, pd.Timestamp(AS_OF), cleanup)
        write_baseline_report(out_file, kind, done.pop("rows"), start, **done)
    else:
        requests, counts = reference(data, config)
        write_csv(requests, out_file)  # the job's own CSV writer, so the text compares as is
        write_baseline_report(out_file, kind, len(requests), start, counts=counts)


# ---------------------------------------------------------------------------------------------
# Comparing outputs
# ---------------------------------------------------------------------------------------------


def read_list(path: Path, columns: list[str]) -> pd.DataFrame:
    """Return a request list's chosen columns as text, in list order (Priority as a number)."""
    frame = pd.read_csv(path, usecols=columns, dtype=str, keep_default_na=False)[columns]
    if "Priority" in frame:
        # 4.0 and 4 are the same priority: compare the number, printed one way.
        frame["Priority"] = pd.to_numeric(frame["Priority"]).round(6).map(repr)
    return frame


def compare_requests(mine: Path, theirs: Path, other: str = "dialflow") -> str:
    """Say whether two request lists agree on COMPARED (in order), and then on DETAIL."""
    said = compare_lists(read_list(mine, COMPARED), read_list(theirs, COMPARED))
    detail = compare_lists(read_list(mine, COMPARED + DETAIL), read_list(theirs, COMPARED + DETAIL))
    if detail.startswith("yes"):
        said += "; owner, address, last call identical too"
    else:
        said += f"; with owner, address, last call: {detail}"
    return said.replace("dialflow", other)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def describe_method(name: str, runs: MethodRuns) -> tuple[str, str]:
    """Return a method's peak memory and rows-out cells."""
    if name == "dialflow":
        counts = runs.ok_runs[0]["summary"]["counts"]
        return (
            dialflow_memory_cell(runs),
            f"{counts['requested']:,} requested (eligible {counts['eligible']:,})",
        )
    report = runs.ok_runs[0]["report"]
    # infoflow_frame reports dialflow's counts; pandas-seed its own, among its steps.
    counts = report.get("counts") or {"eligible": report.get("steps", {}).get("count_eligible")}
    eligible = counts.get("eligible")
    extra = f" (eligible {eligible:,})" if eligible is not None else ""
    return baseline_memory_cell(runs), f"{report['rows']:,} requested{extra}"


def counts_line(counts: dict) -> str:
    """Return dialflow's counts from summary.json: who needs research, who is eligible, why."""
    return (
        f"Counts (summary.json): {counts['accounts']:,} accounts, "
        f"{counts['without_usable_phone']:,} without a usable phone, "
        f"{counts['owner_inactive_or_unknown']:,} of them with an inactive or unknown owner, "
        f"{counts['recently_requested']:,} requested in the last 90 days, "
        f"{counts['eligible']:,} eligible, {counts['requested']:,} requested; signals fired "
        + ", ".join(f"{k} {v:,}" for k, v in counts["signals_fired"].items())
        + f"; request log rows in the window {counts.get('logged_requests_in_window', '?')}."
        "  "
    )


def render_targets(args: argparse.Namespace, methods: dict[str, MethodRuns]) -> list[str]:
    """Return the issue's targets for this size and whether this run meets them."""
    dialflow = methods["dialflow"]
    lines = ["Targets:", ""]
    if (args.accounts, args.calls) == SEED_SIZE:
        claim = "(the write-up: < 5 minutes for 400K+ accounts)"
        lines.append(speed_target(methods, SEED_SPEEDUP, SEED_CLAIM_SECONDS, claim, "5 minutes"))
        lines += memory_targets(dialflow, "1 GB", "1GB", TARGET_BYTES_400K)
    lines.append(memory_limit_target(dialflow, args.memory_limit))
    return lines + [""]


def render(
    args: argparse.Namespace,
    data: Path,
    work: Path,
    methods: dict[str, MethodRuns],
    checks: dict[str, list[str]],
    partitions: dict[str, tuple[int | None, int | None]],
    base: dict,
) -> str:
    """Return the markdown subsection for this run."""
    demo = read_demo(data)
    counts = demo.get("counts", {})
    rows = counts.get("rows", {})
    files = {t: len(list((data / t).glob("*.parquet"))) for t in ("Task", "Account")}
    if base.get("ok"):
        cleanup_rows = base["summary"]["stages"].get("write", {}).get("csv_rows", "?")
        base_text = (
            f"The untimed autoflush run ({base['measured']['seconds']:.1f} s, run "
            f"`{Path(base['folder']).name}`) cleared {cleanup_rows:,} (account, field) phones; "
            f"every infoflow run and both baselines read that cleanup."
        )
    else:
        base_text = "The untimed autoflush run FAILED: every method ran without a cleanup."
    lines = report_head(
        args,
        "bench_infoflow.py",
        f"{args.accounts:,} accounts, {args.calls:,} calls",
        f"--accounts {args.accounts} --calls {args.calls}",
        ("skip-baselines", "no-pandas", "no-reference"),
        f"Input: `benchmarks/data/{data.name}/`: Account {rows.get('Account', args.accounts):,} "
        f"rows in {files['Account']} Parquet file(s), Task {rows.get('Task', args.calls):,} rows "
        f"in {files['Task']}, Research_Request__c {rows.get('Research_Request__c', '?'):,}, "
        f"Address_History__c {rows.get('Address_History__c', '?'):,}, User "
        f"{rows.get('User', '?'):,} ({counts.get('inactive_users', '?')} inactive); the generator "
        f"made {counts.get('accounts_without_valid_phone', '?'):,} accounts without a valid "
        f"phone. dialflow reads Account as {partitions['Account'][0] or '?'} Dask partition(s) "
        f"({partitions['Account'][1] or '?'} after the optimiser) and Task as "
        f"{partitions['Task'][0] or '?'} ({partitions['Task'][1] or '?'}), for 2 workers. "
        f"{base_text} "
        + repeats_text("dialflow, pandas-seed, infoflow_frame, same-logic DuckDB", args.repeat),
    )
    timeouts = {"dialflow": args.timeout, "pandas-seed": args.pandas_timeout,
                "infoflow_frame": args.pandas_timeout, SAMELOGIC: args.timeout}  # fmt: skip
    lines += method_rows(methods, COVERS, checks, timeouts, describe_method) + inside_line(methods)
    if methods["pandas-seed"].ok_runs:
        lines[-1] += seed_steps_text(methods["pandas-seed"])
    stages = [("infoflow", "read, phones, eligibility, call facts, addresses, priority, top N",
               1), ("write", "", 2)]  # fmt: skip
    detail = dialflow_detail(methods["dialflow"], "infoflow", work, args.timeout, stages,
                             counts_line)  # fmt: skip
    lines += samelogic_lines(methods) + ["", *detail]
    lines += render_targets(args, methods)
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size_arguments(parser, SEED_SIZE)
    parser.add_argument("--no-reference", action="store_true", help="skip infoflow_frame")
    common_arguments(parser, pandas_timeout=1200, baselines=["pandas", "reference", "samelogic"])
    return parser.parse_args()


def check_run(run: dict, base_run: Path | None) -> list[str]:
    """Return what is wrong with a finished run's inputs: another cleanup, or logged requests."""
    problems = []
    summary = run["summary"]
    used = summary.get("inputs", {}).get("previous_runs", {}).get("autoflush", {}).get("run_id")
    if base_run is not None and used != base_run.name:
        problems.append(f"used autoflush run {used}, not {base_run.name}")
    logged = summary["counts"].get("logged_requests_in_window")
    if logged:
        problems.append(f"saw {logged} logged requests")
    return problems


def main() -> None:
    """Prepare data, config and the autoflush run, run every method --repeat times, report."""
    from dask.utils import parse_bytes

    args = parse_args()
    if run_baseline_if_asked(args, baseline_main):
        return

    data, work, config = sized_work("infoflow", args)
    params = load_params(config)
    from dialflow.jobs.infoflow import account_columns

    partitions = {
        "Account": dask_partitions(data, config, "Account", account_columns(params)),
        "Task": dask_partitions(
            data, config, "Task", ["AccountId", "CallDisposition", "CreatedDate"]
        ),
    }
    max_rss = parse_bytes(args.baseline_max_rss)

    # Untimed: the autoflush cleanup every method reads.
    shutil.rmtree(work / BASE, ignore_errors=True)
    print("[setup] dialflow run autoflush (untimed) ...", file=sys.stderr, flush=True)
    base = run_dialflow("autoflush", data, config, work / BASE, args.timeout, BASE, ("--no-email",))
    base_run = autoflush_run(work)
    print(f"[setup] autoflush {base['measured']['seconds']:.1f}s ok={base['ok']} -> {base_run}",
          file=sys.stderr)  # fmt: skip

    methods = {name: MethodRuns(name) for name in METHODS}
    wanted = {
        "pandas-seed": not (args.skip_baselines or args.no_pandas),
        "infoflow_frame": not (args.skip_baselines or args.no_reference),
        SAMELOGIC: not (args.skip_baselines or args.no_samelogic),
    }
    checks: dict[str, list[str]] = {}
    first_list: Path | None = None
    for repeat in range(args.repeat):
        tag = f"run{repeat + 1}"
        if base_run is not None:
            out = fresh_output(work, tag, base_run)
        else:
            out = work / f"dialflow-{tag}"
            shutil.rmtree(out, ignore_errors=True)
        run = timed_dialflow(
            methods, tag, "infoflow", data, config, out, args.timeout, ("--no-email",)
        )
        if run["ok"]:
            for problem in check_run(run, base_run):
                checks.setdefault("dialflow", []).append(f"PROBLEM: {problem}")
            mine = Path(run["folder"]) / CSV_NAME
            if first_list is None:
                first_list = mine
            else:
                # dialflow must agree with itself across runs too (determinism).
                said = compare_requests(mine, first_list)
                checks.setdefault("dialflow", []).append(f"{said} (between its own runs)")
        timed_samelogic(
            methods, checks, tag, wanted[SAMELOGIC], SCRIPT, data, config, work, args.timeout,
            (lambda ours, theirs=Path(run["folder"]) / CSV_NAME: [(ours, theirs)])
            if run["ok"] else None,
        )  # fmt: skip
        for name, kind in (("pandas-seed", "pandas"), ("infoflow_frame", "reference")):
            out_file = timed_baseline(
                methods, name, kind, tag, wanted[name], SCRIPT, data, config, work,
                args.pandas_timeout, max_rss,
            )  # fmt: skip
            if out_file is None:
                continue
            if first_list is not None:
                checks.setdefault(name, []).append(compare_requests(out_file, first_list))
            elif name == "infoflow_frame" and methods["pandas-seed"].ok_runs:
                # dialflow gave no list: say at least whether the two pandas lists agree.
                seed = Path(methods["pandas-seed"].ok_runs[-1]["output"])
                checks.setdefault("pandas-seed", []).append(
                    "vs infoflow_frame (dialflow failed): "
                    + compare_requests(seed, out_file, "infoflow_frame")
                )
    save_results(work, {"autoflush": base, "methods": methods_json(methods)})
    publish(args, render(args, data, work, methods, checks, partitions, base), SECTION, INTRO)


if __name__ == "__main__":
    main()
