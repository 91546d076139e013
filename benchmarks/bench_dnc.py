"""Time the DNC registry's import and listiq's scrub beside DuckDB doing the same in one process.

Run: .venv/bin/python benchmarks/bench_dnc.py --accounts 1000000 --registry 25000000 --repeat 1
`--part import` times the import alone; `--part scrub` the scrub alone, with the store the last
`--part import` (or full) run of the same sizes left (each writes its own `###` block).
The issue's goal (issue 15) is --accounts 10000000 --registry 250000000: under 5 minutes end to
end with no worker over its limit.

Four methods, each in its own subprocess, repeats interleaved (import, DuckDB import, listiq,
DuckDB scrub):

- `dialflow dnc import` of the registry's flat files (the full lists and the change list) into a
  fresh store, beside `duckdb-import`: DuckDB reading the same files, applying the change list
  (additions, then deletions) and writing the numbers as Parquet partitioned by area code. The
  two stores are compared number for number (untimed, after the runs).
- `dialflow run listiq` with that store (the whole job: the scrub is one part of it; its own
  stage split comes from summary.json and run.log) beside `duckdb-scrub`: DuckDB anti-joining
  the same candidate numbers against the internal list and the registry (dialflow's Parquet
  store) in one process. The candidates are made once per data set, untimed, by dialflow's own
  pandas reference (`listiq_frame`, the numbers it hands to the scrub), so DuckDB times only the
  join. Every run's count of registry-listed candidates must equal listiq's
  `counts.dnc.excluded.registry`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402 - the harness puts the repo on sys.path first
    AS_OF,
    DATA_DIR,
    DEMO_AS_OF,
    OUT_DIR,
    REPO,
    RESULTS,
    MethodRuns,
    baseline_memory_cell,
    dialflow_command,
    dialflow_detail,
    dialflow_memory_cell,
    ensure_data,
    mb,
    median,
    memory_limit_target,
    method_rows,
    methods_json,
    prefer_oom_kill,
    publish,
    repeats_text,
    run_dialflow,
    run_measured,
    save_results,
    write_baseline_report,
    write_config,
)

SCRIPT = Path(__file__).resolve()
SECTION = "## dnc"
CALL_DATE = "2026-11-25"
GOAL = (10_000_000, 250_000_000)
GOAL_SECONDS = 300.0  # issue 15: under 5 minutes end to end
METHODS = ("dialflow", "duckdb-scrub", "dnc import", "duckdb-import")
COVERS = {
    "dialflow": "`dialflow run listiq` whole job: cluster start, read, phones, pool, the "
    "scrub (internal list and registry), plan, pick, windows, CSV",
    "duckdb-scrub": "one DuckDB process (2 threads): the same candidate numbers (made "
    "beforehand, untimed) anti-joined against the internal list and the registry's Parquet "
    "store, counts out",
    "dnc import": "`dialflow dnc import` of every registry file into a fresh store (one "
    "process, no Dask)",
    "duckdb-import": "one DuckDB process (2 threads): the same files read, the change list "
    "applied, Parquet written partitioned by area code",
}
INTRO = (
    "`benchmarks/bench_dnc.py` times the National Do Not Call Registry's two heavy steps beside "
    "DuckDB in one process: `dialflow dnc import` of the registry's flat files (a synthetic "
    "registry written by `dialflow demo-data --dnc N`'s generator, in the real file format: one "
    "full list per area code and one change list) against DuckDB reading the same files into "
    "Parquet, and `dialflow run listiq` with that registry (scrub included) against a DuckDB "
    "anti-join of the same candidate numbers. Each method runs in its own subprocess, repeats "
    "interleaved; figures are medians, peak memory is the polled process tree (and, for "
    "dialflow's listiq, its summary.json's worker and client peaks, the higher).\n"
)


# ---------------------------------------------------------------------------------------------
# Data: accounts, a registry, and the candidates listiq hands to the scrub
# ---------------------------------------------------------------------------------------------


def accounts_data(accounts: int, wait: float) -> Path:
    """Return the demo data folder bench_dedupe.py uses for this size (generated if absent)."""
    return ensure_data(DATA_DIR / f"accounts-{accounts}", accounts, max(accounts // 4, 1000), wait)


def registry_data(data: Path, numbers: int, synthetic: bool = False) -> tuple[Path, dict[str, Any]]:
    """Return the registry folder's files (`_dnc/`) for this data set and size, and what the
    generator said; write them with `generate_demo_registry` (or, `synthetic`, with
    dnc_synthetic_registry.py, shared by every data set) when absent."""
    from dialflow.demo import generate_demo_registry

    if synthetic:
        folder = DATA_DIR / f"synthetic-{numbers}"
        if not (folder / "_registry.json").exists():
            print(f"generating {folder}/_dnc ({numbers:,} numbers)", file=sys.stderr, flush=True)
            subprocess.run([sys.executable, str(SCRIPT.with_name("dnc_synthetic_registry.py")),
                            str(folder / "_dnc"), str(numbers)], check=True)  # fmt: skip
        return folder / "_dnc", json.loads((folder / "_registry.json").read_text("utf-8"))
    folder = DATA_DIR / f"dnc-{numbers}-{data.name}"
    marker = folder / "_registry.json"
    if not marker.exists():
        folder.mkdir(parents=True, exist_ok=True)
        # The generator puts some of the accounts' numbers on the registry: lend it the table.
        link = folder / "Account"
        if not link.exists():
            link.symlink_to(Path("..") / data.name / "Account")
        print(f"generating {folder}/_dnc ({numbers:,} numbers)", file=sys.stderr, flush=True)
        started = time.perf_counter()
        said = generate_demo_registry(folder, numbers, seed=7, as_of=DEMO_AS_OF)
        said["seconds"] = round(time.perf_counter() - started, 1)
        marker.write_text(json.dumps(said, indent=2) + "\n", encoding="utf-8")
    return folder / "_dnc", json.loads(marker.read_text(encoding="utf-8"))


def candidates_data(data: Path, config: Path) -> Path:
    """Return a folder with `candidates.parquet` (one Number per candidate account, as listiq's
    pandas reference hands them to the scrub) and `internal.parquet` (the internal list)."""
    folder = DATA_DIR / f"dnc-candidates-{data.name}"
    if (folder / "candidates.parquet").exists():
        return folder
    import numpy as np

    import dialflow.jobs.listiq as listiq
    from dialflow.config import load_settings
    from dialflow.jobs.listiq import ListiqParams, account_columns, listiq_frame
    from dialflow.sources import FileSource
    from dialflow.sources.reference import load_reference_tables

    print(f"making {folder} with listiq_frame (untimed)", file=sys.stderr, flush=True)
    settings = load_settings(config, {"source.path": str(data)})
    params = ListiqParams.from_settings(
        settings, pd.Timestamp(AS_OF), pd.Timestamp(CALL_DATE).date()
    )
    source = FileSource.from_settings(settings)
    accounts = source.read("Account", account_columns(params)).compute(scheduler="sync")
    accounts = accounts.reset_index(drop=True)  # one label per row: listiq_frame sets by label
    calls = source.read("Task", ["AccountId", "CreatedDate"]).compute(scheduler="sync")
    tables = load_reference_tables(None)
    seen: dict[str, np.ndarray] = {}
    original = listiq.dnc_reasons

    def recording(numbers, ebr, registry, listed):  # noqa: ANN001, ANN202 - dnc_reasons' own
        seen.update(numbers=numbers, listed=listed)
        return original(numbers, ebr, registry, listed)

    listiq.dnc_reasons = recording
    try:
        listiq_frame(
            accounts, calls, pd.Index([], dtype=str), pd.Index([], dtype=str),
            tables.area_codes, tables.census_population.set_index("state")["population"], params,
        )  # fmt: skip
    finally:
        listiq.dnc_reasons = original
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    pd.DataFrame({"Number": seen["numbers"].astype("int64")}).to_parquet(
        tmp / "candidates.parquet", index=False
    )
    pd.DataFrame({"Number": np.unique(seen["listed"]).astype("int64")}).to_parquet(
        tmp / "internal.parquet", index=False
    )
    tmp.rename(folder)
    return folder


def write_dnc_config(path: Path, memory_limit: str, store: Path) -> None:
    """The harness's config (2 workers x 1 thread, any dashboard port, no SQL) with the DNC
    store."""
    write_config(path, memory_limit)
    with path.open("a", encoding="utf-8") as config:
        config.write(f"dnc:\n  path: {store}\n")


def current_version(store: Path) -> Path:
    """Return the store's current version: the greatest import id with a manifest."""
    versions = sorted(p.parent for p in store.glob("*/manifest.json"))
    if not versions:
        raise SystemExit(f"no imported version in {store}")
    return versions[-1]


def duckdb_memory(config: Path) -> str:
    """Return DuckDB's memory limit: the two workers' limits together (cluster.memory_limit of
    a config this script wrote), so that both sides get the same memory."""
    from dask.utils import parse_bytes

    found = re.search(r"^  memory_limit: (.+)$", config.read_text(encoding="utf-8"), re.M)
    assert found, config
    return f"{2 * parse_bytes(found[1]) // 2**20}MiB"


def store_of(config: Path) -> Path:
    """Return the dnc.path of a config this script wrote."""
    found = re.search(r"^  path: (.+)$", config.read_text(encoding="utf-8"), re.M)
    assert found, config
    return Path(found[1])


# ---------------------------------------------------------------------------------------------
# Baselines (run as `--baseline KIND` subprocesses of this script)
# ---------------------------------------------------------------------------------------------


def duckdb_connect(memory_limit: str):  # noqa: ANN201 - duckdb.DuckDBPyConnection
    """Return an in-memory DuckDB connection with 2 threads and a memory limit."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET preserve_insertion_order = false")
    return con


def duckdb_import(files: Path, out_dir: Path, memory: str) -> dict[str, Any]:
    """Read the registry files, apply the change list, write Parquet by area code; count."""
    shutil.rmtree(out_dir, ignore_errors=True)
    con = duckdb_connect(memory)
    full = sorted(str(p) for p in files.glob("dnc-full-*.txt"))
    change = sorted(str(p) for p in files.glob("dnc-change-*.txt"))
    con.execute(
        "CREATE TABLE full_list AS SELECT DISTINCT CAST(a || n AS BIGINT) AS number "
        "FROM read_csv(?, header = false, columns = {'a': 'VARCHAR', 'n': 'VARCHAR'})",
        [full],
    )
    con.execute(
        "CREATE TABLE changes AS SELECT CAST(a || n AS BIGINT) AS number, upper(t) AS t "
        "FROM read_csv(?, header = false, "
        "columns = {'a': 'VARCHAR', 'n': 'VARCHAR', 't': 'VARCHAR'})",
        [change],
    )
    con.execute(
        f"""
        COPY (
            SELECT number, number // 10000000 AS area_code FROM (
                SELECT number FROM full_list
                UNION
                SELECT number FROM changes WHERE t = 'A'
                EXCEPT
                SELECT number FROM changes WHERE t = 'D'
            )
        ) TO '{out_dir}' (FORMAT parquet, PARTITION_BY (area_code))
        """
    )
    stored = f"read_parquet('{out_dir}/*/*.parquet')"
    numbers = con.execute(f"SELECT count(*) FROM {stored}").fetchone()[0]
    return {"numbers": int(numbers), "files": len(full) + len(change)}


def duckdb_scrub(candidates: Path, store: Path, memory: str) -> dict[str, Any]:
    """Anti-join the candidate numbers against the internal list and the registry; count."""
    version = current_version(store)
    con = duckdb_connect(memory)
    registry = f"read_parquet('{version}/numbers/*/*.parquet')"
    counts = con.execute(
        f"""
        WITH c AS (SELECT Number FROM read_parquet('{candidates}/candidates.parquet')),
             i AS (SELECT Number FROM read_parquet('{candidates}/internal.parquet')),
             r AS (SELECT number AS Number FROM {registry}),
             not_internal AS (SELECT Number FROM c ANTI JOIN i USING (Number)),
             listed AS (SELECT Number FROM not_internal SEMI JOIN r USING (Number))
        SELECT (SELECT count(*) FROM c),
               (SELECT count(*) FROM c) - (SELECT count(*) FROM not_internal),
               (SELECT count(*) FROM listed),
               (SELECT count(*) FROM (SELECT Number FROM not_internal
                                      ANTI JOIN r USING (Number)))
        """
    ).fetchone()
    return {
        "candidates": int(counts[0]),
        "internal_dnc": int(counts[1]),
        "registry": int(counts[2]),
        "kept": int(counts[3]),
        "version": version.name,
    }


def baseline_main(kind: str, data: Path, out_file: Path, config: Path) -> None:
    """Run one baseline in this process; write its JSON self-report beside out_file."""
    start = time.perf_counter()
    prefer_oom_kill()
    if kind == "duckdb-import":
        said = duckdb_import(data, out_file, duckdb_memory(config))
        write_baseline_report(out_file, kind, said["numbers"], start, **said)
    else:
        said = duckdb_scrub(data, store_of(config), duckdb_memory(config))
        write_baseline_report(out_file, kind, said["registry"], start, **said)


# ---------------------------------------------------------------------------------------------
# Timed methods
# ---------------------------------------------------------------------------------------------


def timed(methods: dict[str, MethodRuns], name: str, tag: str, run: dict[str, Any]) -> None:
    """Add a run to its method and say so on stderr."""
    methods[name].runs.append(run)
    print(f"[{tag}] {name} {run['measured']['seconds']:.1f}s ok={run['ok']}", file=sys.stderr,
          flush=True)  # fmt: skip


def dialflow_import(files: Path, config: Path, work: Path, tag: str, timeout: float) -> dict:
    """Run `dialflow dnc import` of every file into the config's (fresh) store."""
    store = store_of(config)
    shutil.rmtree(store, ignore_errors=True)
    cmd = [dialflow_command(), "--quiet", "dnc", "import", "--config", str(config),
           *sorted(str(p) for p in files.glob("dnc-*.txt"))]  # fmt: skip
    measured, stdout = run_measured(cmd, timeout, work / f"import-{tag}.stderr.txt")
    run: dict[str, Any] = {"measured": asdict(measured), "ok": False}
    if measured.returncode == 0:
        version = current_version(store)
        manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
        numbers = int(manifest["numbers"])
        run.update(ok=True, version=str(version), numbers=numbers,
                   report={"rows": numbers, "peak_rss_bytes": 0})  # fmt: skip
    return run


def run_duckdb(kind: str, data: Path, config: Path, out: Path, timeout: float) -> dict:
    """Run `--baseline kind` of this script as a subprocess; return measurements and report."""
    report = out.with_suffix(".json")
    report.unlink(missing_ok=True)
    cmd = [sys.executable, str(SCRIPT), "--baseline", kind, "--input", str(data),
           "--out", str(out), "--config", str(config)]  # fmt: skip
    measured, _ = run_measured(cmd, timeout, out.with_suffix(".stderr.txt"))
    run: dict[str, Any] = {"measured": asdict(measured), "ok": False}
    if measured.returncode == 0 and report.exists():
        run.update(ok=True, report=json.loads(report.read_text(encoding="utf-8")))
    return run


def compare_stores(dialflow_version: Path, duckdb_out: Path) -> str:
    """Say whether dialflow's store and DuckDB's Parquet hold the same numbers."""
    con = duckdb_connect("8GB")
    mine = f"read_parquet('{dialflow_version}/numbers/*/*.parquet')"
    theirs = f"read_parquet('{duckdb_out}/*/*.parquet')"
    only_d, only_k = con.execute(
        f"SELECT (SELECT count(*) FROM (SELECT number FROM {mine} EXCEPT SELECT number FROM "
        f"{theirs})), (SELECT count(*) FROM (SELECT number FROM {theirs} EXCEPT SELECT number "
        f"FROM {mine}))"
    ).fetchone()
    if only_d == 0 and only_k == 0:
        return "yes, the same numbers"
    return f"NO: {only_k:,} numbers only here, {only_d:,} only in dialflow's store"


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def run_log_stages(folder: Path) -> dict[str, float]:
    """Return listiq's computes and their seconds from its run.log's progress lines."""
    pattern = re.compile(r"dialflow\.progress: listiq: (.+?) (?:persisted|computed) in ([\d.]+)s")
    text = (folder / "run.log").read_text(encoding="utf-8", errors="replace")
    return {m[1]: float(m[2]) for m in pattern.finditer(text)}


def describe_method(name: str, runs: MethodRuns) -> tuple[str, str]:
    """Return a method's peak memory and rows-out cells."""
    first = runs.ok_runs[0]
    if name == "dialflow":
        dnc = first["summary"]["counts"]["dnc"]["excluded"]
        rows = f"{dnc['registry']:,} registry / {dnc['internal_dnc']:,} internal excluded"
        return dialflow_memory_cell(runs), rows
    report = first["report"]
    rows = f"{report['registry']:,} registry / {report['internal_dnc']:,} internal excluded"
    return baseline_memory_cell(runs), rows


def import_rows(methods: dict[str, MethodRuns], checks: dict[str, list[str]]) -> list[str]:
    """Return the import table: dnc import and duckdb-import, ratios to dnc import's median."""
    mine = methods["dnc import"]
    base = median(mine.seconds()) if mine.ok_runs else None
    lines = [
        "| method | covers | median s | every run (s) | time vs dnc import | peak memory "
        "(median, polled process tree) | numbers stored | agrees with dnc import |",
        "|---|---|---:|---|---:|---|---:|---|",
    ]
    for name in ("dnc import", "duckdb-import"):
        runs = methods[name]
        if not runs.ok_runs:
            lines.append(f"| {name} | {COVERS[name]} | failed or skipped | | | | | |")
            continue
        secs = runs.seconds()
        peaks = [r["measured"]["tree_peak_bytes"] for r in runs.ok_runs]
        numbers = runs.ok_runs[0]["numbers" if name == "dnc import" else "report"]
        numbers = numbers if isinstance(numbers, int) else numbers["numbers"]
        ratio = f"{median(secs) / base:.2f}x" if base else "n/a"
        agrees = "; ".join(dict.fromkeys(checks.get(name, []))) or (
            "reference" if name == "dnc import" else "n/a"
        )
        lines.append(
            f"| {name} | {COVERS[name]} | {median(secs):.1f} | "
            f"{', '.join(f'{s:.1f}' for s in secs)} | {ratio} | {mb(median(peaks))} | "
            f"{numbers:,} | {agrees} |"
        )
    return lines


def shown(folder: str) -> str:
    """Return a folder relative to the repository when it is inside it."""
    path = Path(folder)
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else folder


def generator_text(registry: dict[str, Any]) -> str:
    """Say which script wrote the registry's files (`_registry.json`'s generator)."""
    if registry.get("generator") == "benchmarks/dnc_synthetic_registry.py":
        return (
            "`benchmarks/dnc_synthetic_registry.py` (`--synthetic`: the same count of numbers in "
            "each of 359 area codes, none of them an account's phone, so the registry hits are "
            "chance matches)"
        )
    return "`generate_demo_registry` (the generator of `dialflow demo-data --dnc N`)"


def render(
    args: argparse.Namespace,
    data: Path,
    registry: dict[str, Any],
    work: Path,
    methods: dict[str, MethodRuns],
    checks: dict[str, list[str]],
) -> str:
    """Return the markdown subsection for this run."""
    from harness import machine

    part = "" if args.part == "both" else f" --part {args.part}"
    lines = [
        f"### {args.accounts:,} accounts, {args.registry:,} registry numbers, 2 workers x 1 "
        f"thread x {args.memory_limit}{f' ({args.part} only)' if part else ''}",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_dnc.py --accounts {args.accounts} "
        f"--registry {args.registry} --repeat {args.repeat} --memory-limit "
        f"{args.memory_limit}{part}{' --synthetic' if args.synthetic else ''}`  ",
        f"Date: {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.  ",
        f"Input: `benchmarks/data/{data.name}/` (the demo accounts bench_dedupe.py uses) and "
        f"`{shown(registry.get('folder', '?'))}/`: "
        f"{registry['full_lists']} full "
        f"lists holding {registry['numbers']:,} numbers ({registry['from_accounts']:,} of them "
        f"accounts' phones), dated {registry['full_list_date']}, and one change list of "
        f"{registry['change_list_date']} (+{registry['change_added']:,} "
        f"-{registry['change_deleted']:,}), written by "
        f"{generator_text(registry)} in {registry.get('seconds', '?')} s. listiq runs "
        f"`--no-sql --as-of {AS_OF} --call-date {CALL_DATE}` without dedupe or autoflush "
        f"results. DuckDB gets 2 threads and a memory limit of the two workers' together "
        f"(2 x {args.memory_limit}). "
        + repeats_text("dnc import, duckdb-import, dialflow listiq, duckdb-scrub", args.repeat),
        "",
    ]
    timeouts = dict.fromkeys(METHODS, args.timeout)
    if args.part != "scrub":
        lines += ["Import of the registry files:", "", *import_rows(methods, checks), ""]
    if args.part == "import":
        return "\n".join(lines).rstrip() + "\n"
    lines += ["Scrub (listiq end to end beside DuckDB's anti-join alone):", ""]
    scrub = {name: methods[name] for name in ("dialflow", "duckdb-scrub")}
    lines += method_rows(scrub, COVERS, checks, timeouts, describe_method)
    dialflow = methods["dialflow"]
    stages = [("listiq", "read, phones, candidates, scrub, pool, plan, pick, windows", 1),
              ("write", "", 2)]  # fmt: skip
    detail = dialflow_detail(dialflow, "listiq", work, args.timeout, stages)
    if dialflow.ok_runs:
        by_stage: dict[str, list[float]] = {}
        for run in dialflow.ok_runs:
            for stage, secs in run_log_stages(Path(run["folder"])).items():
                by_stage.setdefault(stage, []).append(secs)
        counts = dialflow.ok_runs[0]["summary"]["counts"]
        dnc = counts["dnc"]
        # After the stage split, before the memory lines.
        detail[1:1] = [
            "listiq's computes by its run.log (medians): "
            + "; ".join(f"`{s}` {median(v):.1f} s" for s, v in by_stage.items())
            + ". The scrub is `scrub and build the pool` (registry read per run of area codes, "
            "candidates and internal list shuffled into number ranges, one join per range).  ",
            f"Scrub counts (summary.json, first run): candidates dropped by the internal list "
            f"{dnc['excluded']['internal_dnc']:,}, by the registry "
            f"{dnc['excluded']['registry']:,}; internal numbers {dnc['internal_numbers']:,}; "
            f"{dnc['area_codes']} area codes; pool {counts['pool']:,}, delivered "
            f"{counts['delivered']:,}.  ",
        ]
    lines += ["", *detail]
    lines += ["Targets:", ""]
    lines.append(memory_limit_target(dialflow, args.memory_limit))
    if (args.accounts, args.registry) == GOAL and dialflow.ok_runs:
        secs = median(dialflow.seconds())
        met = secs < GOAL_SECONDS and len(dialflow.ok_runs) == len(dialflow.runs)
        lines.append(f"- listiq with the scrub under 5 minutes end to end: median {secs:.1f} s: "
                     f"**{'met' if met else 'not met'}**")  # fmt: skip
    else:
        lines.append(
            f"- the issue's goal (under 5 minutes end to end at {GOAL[0]:,} accounts and "
            f"{GOAL[1]:,} registry numbers, no worker over its limit): not measured at this size"
        )
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


STEPS: dict[str, Any] = {
    "accounts": lambda a: accounts_data(a.accounts, a.wait),
    "registry": lambda a: registry_data(accounts_data(a.accounts, a.wait), a.registry, a.synthetic)[
        0
    ],
    "candidates": lambda a: candidates_data(a.input, a.config),
    "compare": lambda a: compare_stores(a.input, a.out),
}


def import_round(
    args: argparse.Namespace, files: Path, config: Path, work: Path, tag: str,
    methods: dict[str, MethodRuns], checks: dict[str, list[str]],
) -> dict[str, Any]:  # fmt: skip
    """Time `dnc import` and DuckDB's import once each, compare their stores; return the
    import's run."""
    print(f"[{tag}] dnc import ...", file=sys.stderr, flush=True)
    imported = dialflow_import(files, config, work, tag, args.timeout)
    timed(methods, "dnc import", tag, imported)
    print(f"[{tag}] duckdb-import ...", file=sys.stderr, flush=True)
    out = work / f"duckdb-import-{tag}"
    theirs = run_duckdb("duckdb-import", files, config, out, args.timeout)
    timed(methods, "duckdb-import", tag, theirs)
    if imported["ok"] and theirs["ok"]:
        said = step(args, "compare", "--input", imported["version"], "--out", str(out))
        checks.setdefault("duckdb-import", []).append(said)
    shutil.rmtree(out, ignore_errors=True)
    return imported


def step(args: argparse.Namespace, name: str, *extra: str) -> str:
    """Run `--step name` of this script in a subprocess; return the last line it printed."""
    cmd = [sys.executable, str(SCRIPT), "--step", name, "--accounts", str(args.accounts),
           "--registry", str(args.registry), "--wait", str(args.wait),
           *(["--synthetic"] if args.synthetic else []), *extra]  # fmt: skip
    done = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True, check=True)
    return done.stdout.strip().splitlines()[-1]


def parse_args() -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1_000_000, help="demo accounts")
    parser.add_argument("--registry", type=int, default=25_000_000, help="registry numbers")
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--memory-limit", default="4GiB", help="per Dask worker")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per run")
    parser.add_argument("--wait", type=float, default=3 * 3600, help="seconds to wait for data")
    parser.add_argument("--part", choices=["both", "import", "scrub"], default="both",
                        help="time the import, the scrub (on the store left), or both")  # fmt: skip
    parser.add_argument("--synthetic", action="store_true",
                        help="registry files by dnc_synthetic_registry.py (minutes at 250M; none "
                        "of them an account's phone) instead of the demo generator")  # fmt: skip
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown file to update")
    parser.add_argument("--no-results", action="store_true", help="print, do not update it")
    parser.add_argument("--baseline", choices=["duckdb-import", "duckdb-scrub"],
                        help=argparse.SUPPRESS)  # fmt: skip
    parser.add_argument("--step", choices=list(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    """Prepare data, run every method --repeat times interleaved, check, report."""
    args = parse_args()
    if args.baseline:
        baseline_main(args.baseline, args.input, args.out, args.config)
        return
    if args.step:
        print(STEPS[args.step](args))
        return

    work = OUT_DIR / f"dnc-accounts-{args.accounts}-registry-{args.registry}-{args.memory_limit}"
    work.mkdir(parents=True, exist_ok=True)
    # Every heavy step runs in a subprocess: a child inherits this process's peak RSS in its
    # own ru_maxrss (fork, then exec), so a large parent would inflate every method's peak.
    config = work / "config.yaml"
    write_dnc_config(config, args.memory_limit, work / "store")
    data = Path(step(args, "accounts"))
    step(args, "registry")
    # Written by the step: only read here.
    files, registry = registry_data(data, args.registry, args.synthetic)
    if args.part != "import":
        candidates = Path(step(args, "candidates", "--input", str(data), "--config", str(config)))
    if args.part == "scrub":
        current_version(work / "store")  # stops when no import left a store

    methods = {name: MethodRuns(name) for name in METHODS}
    checks: dict[str, list[str]] = {}
    for repeat in range(args.repeat):
        tag = f"run{repeat + 1}"
        if args.part != "scrub":
            imported = import_round(args, files, config, work, tag, methods, checks)
            if not imported["ok"]:
                print(f"[{tag}] the import failed: no scrub this round", file=sys.stderr)
                continue
        if args.part == "import":
            continue
        print(f"[{tag}] dialflow listiq ...", file=sys.stderr, flush=True)
        run = run_dialflow("listiq", data, config, work / "dialflow", args.timeout,
                           f"dialflow-{tag}", ("--call-date", CALL_DATE))  # fmt: skip
        timed(methods, "dialflow", tag, run)
        print(f"[{tag}] duckdb-scrub ...", file=sys.stderr, flush=True)
        scrub = run_duckdb("duckdb-scrub", candidates, config, work / f"duckdb-scrub-{tag}",
                           args.timeout)  # fmt: skip
        timed(methods, "duckdb-scrub", tag, scrub)
        if run["ok"] and scrub["ok"]:
            want = run["summary"]["counts"]["dnc"]["excluded"]
            got = scrub["report"]
            same = (got["registry"], got["internal_dnc"]) == (
                want["registry"], want["internal_dnc"]
            )  # fmt: skip
            said = (
                f"{'yes' if same else 'NO'}: {got['registry']:,} registry-listed candidates "
                f"(dialflow {want['registry']:,}), {got['internal_dnc']:,} on the internal "
                f"list (dialflow {want['internal_dnc']:,}), of {got['candidates']:,}"
            )
            print(f"[{tag}] agreement: {said}", file=sys.stderr, flush=True)
            checks.setdefault("duckdb-scrub", []).append(said)
    save_results(work, {"methods": methods_json(methods), "registry": registry})
    publish(args, render(args, data, registry, work, methods, checks), SECTION, INTRO)


if __name__ == "__main__":
    main()
