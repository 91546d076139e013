"""What the end-to-end benchmarks share: data, config, measured subprocesses and the report.

A benchmark script times `dialflow run <job>` as a subprocess beside baselines that the script
runs as subprocesses of itself (`--baseline KIND`), so every method is measured the same way:
wall time, exit, and the peak RSS of its process tree polled every POLL_SECONDS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
# Run as a script from anywhere: make the repo's package importable without installing it.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DATA_DIR = REPO / "benchmarks" / "data"
OUT_DIR = REPO / "benchmarks" / "out"
RESULTS = REPO / "benchmarks" / "RESULTS.md"
AS_OF = "2026-11-25T00:00:00Z"
DEMO_AS_OF = pd.Timestamp("2026-11-25", tz="UTC")
MB = 1_000_000  # the targets say MB; memory is reported in 10^6 bytes to compare directly
POLL_SECONDS = 0.2
TABLE_HEADER = [
    "| method | covers | median s | every run (s) | time vs dialflow | peak memory "
    "(median) | rows out | output agrees with dialflow |",
    "|---|---|---:|---|---:|---|---:|---|",
]


# ---------------------------------------------------------------------------------------------
# Data and config
# ---------------------------------------------------------------------------------------------


def ensure_data(folder: Path, accounts: int, calls: int, wait_seconds: float) -> Path:
    """Return a demo data folder, generating it (seed 7, as of DEMO_AS_OF) when absent."""
    # A folder without `_demo.json` is being written by someone else: wait, never rewrite it.
    marker = folder / "_demo.json"
    if folder.exists() and not marker.exists():
        deadline = time.monotonic() + wait_seconds
        print(f"waiting for {marker} (another process is generating it)", file=sys.stderr)
        while not marker.exists():
            if time.monotonic() > deadline:
                raise SystemExit(f"{marker} did not appear within {wait_seconds:.0f}s")
            time.sleep(10)
    if not marker.exists():
        from dialflow.demo import generate_demo_data

        print(f"generating {folder}", file=sys.stderr)
        generate_demo_data(folder, accounts=accounts, calls=calls, seed=7, as_of=DEMO_AS_OF)
    return folder


def read_demo(folder: Path) -> dict[str, Any]:
    """Return the generator's manifest (`_demo.json`) of a demo data folder."""
    return json.loads((folder / "_demo.json").read_text(encoding="utf-8"))


def exact_config(work: Path, memory_limit: str) -> Path:
    """Write the generated config with `dedupe.method: exact` (the CLI has no override)."""
    path = work / "config-exact.yaml"
    write_config(path, memory_limit)
    with open(path, "a", encoding="utf-8") as config:
        config.write("dedupe:\n  method: exact\n")
    return path


def write_config(path: Path, memory_limit: str) -> None:
    """Write the benchmark's config: 2 workers x 1 thread, any dashboard port, no SQL."""
    path.write_text(
        "cluster:\n"
        "  n_workers: 2\n"
        "  threads_per_worker: 1\n"
        f"  memory_limit: {memory_limit}\n"
        '  dashboard_address: ":0"\n'
        "sql:\n"
        "  enabled: false\n",
        encoding="utf-8",
    )


def file_source(config: Path, data: Path):  # noqa: ANN201 - dialflow.sources.FileSource
    """Return the source dialflow builds from this config for this data folder."""
    from dialflow.config import load_settings
    from dialflow.sources import FileSource

    return FileSource.from_settings(load_settings(config, {"source.path": str(data)}))


def dask_partitions(
    data: Path, config: Path, table: str, columns: list[str]
) -> tuple[int | None, int | None]:
    """Return a table's Dask partitions as dialflow reads it and after the optimiser (None: ?)."""
    try:
        frame = file_source(config, data).read(table, columns=columns)
        return frame.npartitions, frame.optimize().npartitions
    except Exception:  # a report detail only: never stop the benchmark for it
        return None, None


# ---------------------------------------------------------------------------------------------
# Running and measuring a subprocess
# ---------------------------------------------------------------------------------------------


@dataclass
class Measured:
    """One subprocess run: wall time, exit, and peak RSS seen by polling its process tree."""

    seconds: float
    returncode: int | None
    timed_out: bool
    tree_peak_bytes: int
    process_peak_bytes: int
    stderr_tail: str = ""
    # The root process's peak, and each descendant's (Dask workers; helpers left out).
    root_peak_bytes: int = 0
    children_peak_bytes: list[int] = field(default_factory=list)
    killed_for_memory: bool = False


# Descendants that are not doing the job's work: multiprocessing's bookkeeping processes.
_HELPER = re.compile(r"resource_tracker|semaphore_tracker|forkserver")


def run_measured(
    cmd: list[str], timeout: float, log_path: Path, max_tree_bytes: int | None = None
) -> tuple[Measured, str]:
    """Run cmd, poll its process tree's RSS, kill its process group after timeout.

    Args:
        cmd: the command; its stdout is returned, its stderr goes to log_path.
        timeout: seconds before the whole process group is killed.
        log_path: file receiving stderr.
        max_tree_bytes: kill the group as soon as the tree's total RSS passes this (a guard
            for a shared machine); None means no guard.
    """
    import psutil

    stop = threading.Event()
    peaks: dict[int, int] = {}
    helpers: set[int] = set()
    tree_peak = [0]
    over_memory = threading.Event()

    with open(log_path, "w", encoding="utf-8") as err:
        start = time.perf_counter()
        # Own session, so a timeout kills the job's whole group (Dask workers too) and nothing else.
        proc = subprocess.Popen(
            cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True
        )

        def poll() -> None:
            """Record each process's and the whole tree's largest RSS until stopped."""
            root = psutil.Process(proc.pid)
            while not stop.is_set():
                try:
                    members = [root, *root.children(recursive=True)]
                except psutil.Error:
                    break
                total = 0
                for member in members:
                    try:
                        rss = member.memory_info().rss
                        if member.pid not in peaks and member.pid != proc.pid:
                            if _HELPER.search(" ".join(member.cmdline())):
                                helpers.add(member.pid)
                    except psutil.Error:
                        continue
                    peaks[member.pid] = max(peaks.get(member.pid, 0), rss)
                    total += rss
                tree_peak[0] = max(tree_peak[0], total)
                if max_tree_bytes is not None and total > max_tree_bytes:
                    over_memory.set()
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
                stop.wait(POLL_SECONDS)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        timed_out = False
        try:
            stdout, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, _ = proc.communicate()
        seconds = time.perf_counter() - start
        stop.set()
        poller.join()
    tail = "\n".join(log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-15:])
    failed = timed_out or proc.returncode != 0
    measured = Measured(
        seconds=seconds,
        returncode=None if timed_out else proc.returncode,
        timed_out=timed_out,
        tree_peak_bytes=tree_peak[0],
        process_peak_bytes=max(peaks.values(), default=0),
        stderr_tail=tail if failed else "",
        root_peak_bytes=peaks.get(proc.pid, 0),
        children_peak_bytes=sorted(
            (p for pid, p in peaks.items() if pid != proc.pid and pid not in helpers), reverse=True
        ),
        killed_for_memory=over_memory.is_set(),
    )
    return measured, stdout


def dialflow_command() -> str:
    """Return the dialflow console script of this virtualenv."""
    candidate = Path(sys.executable).parent / "dialflow"
    return str(candidate if candidate.exists() else REPO / ".venv" / "bin" / "dialflow")


def run_dialflow(
    job: str,
    data: Path,
    config: Path,
    out: Path,
    timeout: float,
    tag: str,
    extra_args: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run `dialflow run <job>` once as a subprocess; return its timings, memory and summary."""
    cmd = [
        dialflow_command(), "--quiet", "run", job, "--input", str(data), "--output", str(out),
        "--no-sql", "--as-of", AS_OF, "--config", str(config), *extra_args,
    ]  # fmt: skip
    measured, stdout = run_measured(cmd, timeout, out.parent / f"{tag}.stderr.txt")
    result: dict[str, Any] = {"measured": asdict(measured), "ok": False}
    lines = stdout.strip().splitlines()
    folder = Path(lines[-1]) if lines else None
    if measured.returncode == 0 and folder and (folder / "summary.json").exists():
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        result.update(ok=True, folder=str(folder), summary=summary)
    return result


def run_baseline(
    script: Path,
    kind: str,
    data: Path,
    config: Path,
    out_file: Path,
    timeout: float,
    max_tree_bytes: int | None = None,
) -> dict[str, Any]:
    """Run `script --baseline kind` in its own subprocess; return measurements and self-report."""
    report = out_file.with_suffix(".json")
    report.unlink(missing_ok=True)
    cmd = [
        sys.executable, str(script), "--baseline", kind, "--input", str(data),
        "--out", str(out_file), "--config", str(config),
    ]  # fmt: skip
    log_path = out_file.parent / f"{out_file.stem}.stderr.txt"
    measured, _ = run_measured(cmd, timeout, log_path, max_tree_bytes)
    result: dict[str, Any] = {"measured": asdict(measured), "ok": False}
    if measured.returncode == 0 and report.exists():
        result.update(ok=True, report=json.loads(report.read_text(encoding="utf-8")))
        result["output"] = str(out_file)
    return result


def write_baseline_report(
    out_file: Path, kind: str, rows: int, started: float, **extra: Any
) -> None:
    """Write a baseline's JSON self-report beside its output: rows, seconds inside, peak RSS."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = {
        "kind": kind,
        "rows": rows,
        "seconds_inside": round(time.perf_counter() - started, 3),
        "peak_rss_bytes": peak if sys.platform == "darwin" else peak * 1024,
        **extra,
    }
    out_file.with_suffix(".json").write_text(json.dumps(report) + "\n", encoding="utf-8")


def prefer_oom_kill() -> None:
    """Make this process the kernel's first choice when memory runs out (a shared machine)."""
    try:
        Path("/proc/self/oom_score_adj").write_text("1000", encoding="ascii")
    except OSError:
        pass  # not Linux, or not allowed: the memory guard still applies


# ---------------------------------------------------------------------------------------------
# Phones, the way the baselines see them
# ---------------------------------------------------------------------------------------------


def seed_e164(value: object, region: str) -> str | None:
    """Parse, validate and format one phone value with phonenumbers, the naive per-row way."""
    # dialflow's reference is exactly the per-row phonenumbers call the seed made.
    from dialflow.phones import reference_e164

    return reference_e164(value, region)


def sql_digits(expression: str) -> str:
    """Return DuckDB SQL for the digits of a text expression ('' for null)."""
    return f"regexp_replace(coalesce({expression}, ''), '[^0-9]', '', 'g')"


def sql_approx_e164(digits: str) -> str:
    """Return DuckDB SQL approximating E.164 from a digits column: '+1' and the last 10 digits.

    Only for 10 digits, or 11 starting with 1; no validity check (000-000-0000 passes) and no
    extensions (their digits make the value too long): an approximation, never phonenumbers.
    """
    return (
        f"CASE WHEN length({digits}) = 10 THEN '+1' || {digits} "
        f"WHEN length({digits}) = 11 AND {digits}[1] = '1' THEN '+1' || {digits}[2:] END"
    )


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def machine() -> str:
    """Describe the machine: cores, RAM, CPU model, Python and library versions."""
    import dask
    import duckdb
    import psutil

    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} cores ({model}), {ram:.0f} GiB RAM, shared and noisy; "
        f"Python {platform.python_version()}, pandas {pd.__version__}, dask {dask.__version__}, "
        f"duckdb {duckdb.__version__}"
    )


def median(values: Iterable[float]) -> float:
    """Return the median of every value (none dropped)."""
    return float(statistics.median(list(values)))


def mb(value: float) -> str:
    """Format bytes as MB (10^6)."""
    return f"{value / MB:,.0f} MB"


@dataclass
class MethodRuns:
    """Every repeat of one method."""

    name: str
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok_runs(self) -> list[dict[str, Any]]:
        """Return the runs that finished and wrote their output."""
        return [r for r in self.runs if r["ok"]]

    def seconds(self) -> list[float]:
        """Return the wall seconds of every successful run."""
        return [r["measured"]["seconds"] for r in self.ok_runs]

    def max_worker_peaks(self) -> list[int]:
        """Return, per successful dialflow run, the largest worker's peak memory."""
        return [max(r["summary"]["memory"]["workers_peak_bytes"].values()) for r in self.ok_runs]

    def client_peaks(self) -> list[int]:
        """Return, per successful dialflow run, the client's peak memory from summary.json."""
        return [r["summary"]["memory"]["client_peak_bytes"] for r in self.ok_runs]

    def polled_worker_peaks(self) -> list[int]:
        """Return, per successful dialflow run, the largest descendant's RSS seen by polling."""
        return [max(r["measured"]["children_peak_bytes"] or [0]) for r in self.ok_runs]


def failure_text(run: dict[str, Any], timeout: float) -> str:
    """Describe a failed run in one line: timeout, memory guard, or exit code and last error."""
    measured = run["measured"]
    lines = [ln for ln in measured["stderr_tail"].splitlines() if ln.strip()]
    # A killed process leaves no error; its last stderr line says how far it got.
    last_said = f"; its last stderr line: {lines[-1].strip()[:200]}" if lines else ""
    if measured["timed_out"]:
        return (
            f"killed after the {timeout:.0f} s time limit ({measured['seconds']:.0f} s){last_said}"
        )
    if measured.get("killed_for_memory"):
        return (
            f"killed by the benchmark's memory guard after {measured['seconds']:.0f} s, its "
            f"process tree at {mb(measured['tree_peak_bytes'])}{last_said}"
        )
    errors = [ln for ln in lines if "Error" in ln or "Killed" in ln or "error" in ln]
    last = (errors or lines or ["no error output"])[-1].strip()
    return f"exit {measured['returncode']} after {measured['seconds']:.0f} s: {last[:300]}"


def describe_difference(mine: set, theirs: set, unit: str, short: str) -> str:
    """Say whether a method's output set equals dialflow's, or how they differ."""
    if mine == theirs:
        return f"yes, identical ({len(mine):,} {unit})"
    return (
        f"NO: {len(mine - theirs):,} {short} only here, {len(theirs - mine):,} only in dialflow "
        f"({len(mine):,} vs {len(theirs):,})"
    )


def method_rows(
    methods: dict[str, MethodRuns],
    covers: dict[str, str],
    checks: dict[str, list[str]],
    timeouts: dict[str, float],
    describe: Callable[[str, MethodRuns], tuple[str, str]],
) -> list[str]:
    """Return the results table: one row per method, ratios to dialflow's median.

    Args:
        methods: every method's runs; "dialflow" is the reference.
        covers: what each method covers, for the table.
        checks: per method, what the output comparison said (deduplicated, in order).
        timeouts: per method, its time limit (for the failure text).
        describe: (name, runs) -> (peak memory text, rows out text) for a method that ran.
    """
    dialflow = methods["dialflow"]
    base = median(dialflow.seconds()) if dialflow.ok_runs else None
    lines = list(TABLE_HEADER)
    for name, runs in methods.items():
        if not runs.runs:
            lines.append(f"| {name} | {covers[name]} | skipped | | | | | |")
            continue
        if not runs.ok_runs:
            failure = failure_text(runs.runs[-1], timeouts[name])
            lines.append(f"| {name} | {covers[name]} | failed | | | {failure} | | |")
            continue
        secs = runs.seconds()
        every = ", ".join(f"{s:.1f}" for s in secs)
        failed = len(runs.runs) - len(runs.ok_runs)
        if failed:
            every += f" ({failed} failed)"
        ratio = f"{median(secs) / base:.2f}x" if base else "n/a"
        memory, rows_text = describe(name, runs)
        default = "reference" if name == "dialflow" else "n/a"
        agrees = "; ".join(dict.fromkeys(checks.get(name, []))) or default
        lines.append(
            f"| {name} | {covers[name]} | {median(secs):.1f} | {every} | {ratio} | {memory} | "
            f"{rows_text} | {agrees} |"
        )
    return lines


def inside_line(methods: dict[str, MethodRuns]) -> list[str]:
    """Return the baselines' median time inside their process, or nothing when none ran."""
    inside = [
        f"{name} {median([r['report']['seconds_inside'] for r in runs.ok_runs]):.1f} s"
        for name, runs in methods.items()
        if name != "dialflow" and runs.ok_runs
    ]
    if not inside:
        return []
    return ["", "Baselines' time inside their process (after interpreter start and "
            f"imports), medians: {', '.join(inside)}."]  # fmt: skip


def dialflow_failures(dialflow: MethodRuns, timeout: float) -> list[str]:
    """Return every failed dialflow run with its stderr tail."""
    lines = ["dialflow did not finish:", ""]
    for run in dialflow.runs:
        if run["ok"]:
            continue
        lines += [f"- {failure_text(run, timeout)}", "", "```",
                  run["measured"]["stderr_tail"], "```", ""]  # fmt: skip
    return lines


def stage_split(dialflow: MethodRuns, stages: Sequence[tuple[str, str, int]]) -> str:
    """Return where dialflow's wall time went, from summary.json (medians over the runs).

    Args:
        dialflow: the runs (all successful ones are used).
        stages: (summary.json stage name, what it covers or "", decimals) in run order.
    """
    runs = dialflow.ok_runs
    walls = dialflow.seconds()
    in_run = [r["summary"]["seconds"] for r in runs]
    outside = [w - s for w, s in zip(walls, in_run, strict=True)]
    parts = [f"outside the run (interpreter, imports, cluster start and stop) "
             f"{median(outside):.1f} s"]  # fmt: skip
    other = list(in_run)
    for name, covers, decimals in stages:
        secs = [r["summary"]["stages"][name]["seconds"] for r in runs]
        other = [o - s for o, s in zip(other, secs, strict=True)]
        label = f"stage `{name}`" + (f" ({covers})" if covers else "")
        parts.append(f"{label} {median(secs):.{decimals}f} s")
    parts.append(f"rest of the run (summary, performance report) {median(other):.1f} s")
    return "dialflow time split (medians, from summary.json): " + "; ".join(parts) + ".  "


def worker_peaks_line(dialflow: MethodRuns) -> str:
    """Return every run's worker peaks (Dask's monitor) and the largest process RSS polled."""
    per_worker = []
    for run in dialflow.ok_runs:
        peaks = sorted(run["summary"]["memory"]["workers_peak_bytes"].values(), reverse=True)
        per_worker.append(" + ".join(mb(p) for p in peaks))
    tree = [r["measured"]["process_peak_bytes"] for r in dialflow.ok_runs]
    return (
        f"Worker peaks per run (Dask's monitor, largest first): {'; '.join(per_worker)}. "
        f"Largest single process RSS seen by polling the tree every {POLL_SECONDS} s: "
        f"{mb(median(tree))} (median)."
    )


def worst_worker(dialflow: MethodRuns) -> tuple[int, str]:
    """Return the largest worker peak over the runs (either reading) and how it was seen."""
    workers = dialflow.max_worker_peaks()
    # Dask's monitor samples every 0.5 s; the 0.2 s tree poll can see a higher peak, so both count.
    polled = max(r["measured"]["process_peak_bytes"] for r in dialflow.ok_runs)
    seen = f"at most {mb(max(workers))} by Dask's monitor and {mb(polled)} by the 0.2 s poll"
    return max(max(workers), polled), seen


def memory_limit_target(dialflow: MethodRuns, memory_limit: str) -> str:
    """Return the target line: every run finished with every worker under its memory limit."""
    from dask.utils import parse_bytes

    if not dialflow.ok_runs:
        return (
            f"- finishes with every worker under {memory_limit}: **not met** "
            "(the run failed, see above)"
        )
    limit = parse_bytes(memory_limit)
    worst, seen = worst_worker(dialflow)
    met = worst < limit and len(dialflow.ok_runs) == len(dialflow.runs)
    return (
        f"- finishes with every worker under its {memory_limit} limit: "
        f"{len(dialflow.ok_runs)}/{len(dialflow.runs)} runs finished, median "
        f"{median(dialflow.seconds()):.1f} s, largest worker's peak {seen}, limit "
        f"{memory_limit} = {mb(limit)}: **{'met' if met else 'not met'}**"
    )


def log_warnings(path: Path, limit: int = 6) -> list[tuple[str, int]]:
    """Return the most frequent WARNING/ERROR lines of a stderr log, numbers folded, counted."""
    counts: Counter[str] = Counter()
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        if not re.search(r"\b(WARNING|ERROR|CRITICAL)\b|Warning:", line):
            continue
        # Drop the timestamp and fold addresses and numbers, so repeats count as one message.
        message = re.sub(r"^\S+ \S+ ", "", line.strip())
        message = re.sub(r"tcp://[\d.:]+", "tcp://*", message)
        message = re.sub(r"\d+(?:\.\d+)?", "N", message)
        counts[message[:200]] += 1
    return counts.most_common(limit)


def replace_block(text: str, heading: str, body: str, level: int) -> str:
    """Replace the block under `heading` (to the next heading of the same or a higher level)."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.strip() == heading), None)
    if start is None:
        return text.rstrip() + ("\n\n" if text.strip() else "") + body
    end = start + 1
    while end < len(lines):
        match = re.match(r"^(#+) ", lines[end])
        if match and len(match.group(1)) <= level:
            break
        end += 1
    tail = "\n".join(lines[end:])
    return (
        "\n".join(lines[:start])
        + ("\n" if start else "")
        + body
        + ("\n" + tail + "\n" if tail else "")
    )


def update_results(path: Path, section: str, intro: str, subsection: str) -> None:
    """Put a run's `###` subsection into its `##` section, leaving every other block intact.

    Args:
        path: the results markdown file (created if missing).
        section: the `## name` heading line.
        intro: the section's first paragraph, written only when the section is new.
        subsection: the run's block; its first line is its `###` heading.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    heading = subsection.splitlines()[0]
    if section not in text.splitlines():
        text = replace_block(text, section, f"{section}\n\n{intro}", 2)
    # Inside the section, replace (or append) this run's subsection only.
    lines = text.splitlines()
    start = lines.index(section)
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^## ", lines[i])), len(lines))
    block = "\n".join(lines[start:end]).rstrip() + "\n"
    block = replace_block(block, heading, subsection, 3).rstrip() + "\n"
    rest = "\n".join(lines[end:])
    text = "\n".join(lines[:start]) + "\n" + block + ("\n" + rest + "\n" if rest else "")
    path.write_text(re.sub(r"\n{3,}", "\n\n", text).lstrip("\n"), encoding="utf-8")


def common_arguments(
    parser: argparse.ArgumentParser, pandas_timeout: float, baselines: list[str]
) -> None:
    """Add the options every benchmark script takes, and the hidden ones of a baseline run."""
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--memory-limit", default="4GiB", help="per Dask worker")
    parser.add_argument("--skip-baselines", action="store_true", help="time dialflow only")
    parser.add_argument("--no-duckdb", action="store_true", help="skip the duckdb baseline")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    parser.add_argument(
        "--no-samelogic", action="store_true", help="skip the same-logic DuckDB baseline"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per dialflow run")
    parser.add_argument(
        "--pandas-timeout", type=float, default=pandas_timeout, help="seconds per run"
    )
    parser.add_argument("--wait", type=float, default=3 * 3600, help="seconds to wait for data")
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown file to update")
    parser.add_argument("--no-results", action="store_true", help="print, do not update it")
    # Internal: run one baseline in this process (the benchmark starts these itself).
    parser.add_argument("--baseline", choices=baselines, help=argparse.SUPPRESS)
    parser.add_argument("--input", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--config", type=Path, help=argparse.SUPPRESS)


def run_baseline_if_asked(args: argparse.Namespace, baseline_main: Callable[..., None]) -> bool:
    """Run the one baseline --baseline names, in this process; return whether there was one."""
    if not args.baseline:
        return False
    if not (args.input and args.out and args.config):
        raise SystemExit("--baseline needs --input, --out and --config")
    baseline_main(args.baseline, args.input, args.out, args.config)
    return True


def dialflow_memory(runs: MethodRuns) -> tuple[list[int], list[int], list[int]]:
    """Return per run: largest worker, client and whole tree, the higher of the two readings."""
    workers = [
        max(s, p) for s, p in zip(runs.max_worker_peaks(), runs.polled_worker_peaks(), strict=True)
    ]
    clients = [
        max(r["summary"]["memory"]["client_peak_bytes"], r["measured"]["root_peak_bytes"])
        for r in runs.ok_runs
    ]
    # The tree total by polling; the sum of every process's own peak bounds it from above.
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


# ---------------------------------------------------------------------------------------------
# What every benchmark script's main() and report share
# ---------------------------------------------------------------------------------------------

DEFAULT_MAX_RSS = "16GB"  # the baselines' memory guard unless --baseline-max-rss says otherwise


def size_label(accounts: int, calls: int) -> str:
    """Return the data folder's name for a size (one folder per size, shared by the scripts)."""
    return f"accounts-{accounts}-calls-{calls}"


def size_arguments(parser: argparse.ArgumentParser, seed_size: tuple[int, int]) -> None:
    """Add --accounts and --calls (defaults: the seed's size) and the baselines' memory guard."""
    parser.add_argument("--accounts", type=int, default=seed_size[0], help="accounts in the data")
    parser.add_argument("--calls", type=int, default=seed_size[1], help="calls (Task rows)")
    parser.add_argument(
        "--baseline-max-rss",
        default=DEFAULT_MAX_RSS,
        help="kill a baseline whose process tree passes this (protects a shared machine)",
    )


def prepare_work(job: str, label: str, memory_limit: str) -> tuple[Path, Path]:
    """Return a run's work folder `OUT_DIR/<job>-<label>-<memory_limit>` and its config."""
    work = OUT_DIR / f"{job}-{label}-{memory_limit}"
    work.mkdir(parents=True, exist_ok=True)
    config = work / "config.yaml"
    write_config(config, memory_limit)
    return work, config


def sized_work(job: str, args: argparse.Namespace) -> tuple[Path, Path, Path]:
    """Return the data folder for --accounts and --calls (generated if absent), and the job's
    work folder and config (see prepare_work)."""
    data = ensure_data(
        DATA_DIR / size_label(args.accounts, args.calls), args.accounts, args.calls, args.wait
    )
    return data, *prepare_work(job, size_label(args.accounts, args.calls), args.memory_limit)


def timed_dialflow(
    methods: dict[str, MethodRuns],
    tag: str,
    job: str,
    data: Path,
    config: Path,
    out: Path,
    timeout: float,
    extra_args: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run dialflow once for repeat `tag`, add the run to methods["dialflow"], say so on stderr."""
    print(f"[{tag}] dialflow ...", file=sys.stderr, flush=True)
    run = run_dialflow(job, data, config, out, timeout, f"dialflow-{tag}", extra_args)
    methods["dialflow"].runs.append(run)
    print(f"[{tag}] dialflow {run['measured']['seconds']:.1f}s ok={run['ok']}", file=sys.stderr)
    return run


def timed_baseline(
    methods: dict[str, MethodRuns],
    name: str,
    kind: str,
    tag: str,
    wanted: bool,
    script: Path,
    data: Path,
    config: Path,
    work: Path,
    timeout: float,
    max_tree_bytes: int | None = None,
) -> Path | None:
    """Run baseline `name` once for repeat `tag` unless unwanted or already failed.

    Returns its output file when the run finished and wrote it, else None (skipped or failed).
    """
    earlier = methods[name].runs
    if not wanted or (earlier and not earlier[-1]["ok"]):
        return None  # a baseline that failed or timed out once is not tried again
    print(f"[{tag}] {name} ...", file=sys.stderr, flush=True)
    out_file = work / f"{kind}-{tag}.csv"
    result = run_baseline(script, kind, data, config, out_file, timeout, max_tree_bytes)
    methods[name].runs.append(result)
    print(f"[{tag}] {name} {result['measured']['seconds']:.1f}s ok={result['ok']}",
          file=sys.stderr)  # fmt: skip
    return out_file if result["ok"] else None


SAMELOGIC = "same-logic DuckDB"
SAMELOGIC_COVERS = (
    "the job's exact rules in one DuckDB process (2 threads; `benchmarks/samelogic.py`), "
    "phones by dialflow's `normalize_e164` once per distinct value; its CSVs must be "
    "byte-identical to dialflow's"
)


def timed_samelogic(
    methods: dict[str, MethodRuns],
    checks: dict[str, list[str]],
    tag: str,
    wanted: bool,
    script: Path,
    data: Path,
    config: Path,
    work: Path,
    timeout: float,
    outputs: Callable[[Path], list[tuple[Path, Path]]] | None,
) -> None:
    """Run the same-logic DuckDB baseline once (`--baseline samelogic`) and check its output.

    Args:
        outputs: given the baseline's output file, its (ours, dialflow's) file pairs; None when
            dialflow's run failed (nothing to compare).

    Raises:
        samelogic.OutputMismatch: a file differs from dialflow's by one byte or more; the
            timing means nothing then (the baseline would be doing other work).
    """
    from samelogic import assert_identical

    out_file = timed_baseline(
        methods, SAMELOGIC, "samelogic", tag, wanted, script, data, config, work, timeout
    )
    if out_file is None or outputs is None:
        return
    for ours, theirs in outputs(out_file):
        checks.setdefault(SAMELOGIC, []).append(assert_identical(ours, theirs))


def samelogic_lines(methods: dict[str, MethodRuns]) -> list[str]:
    """Return dialflow against the same-logic baseline: time ratio and peak memory, medians."""
    dialflow, same = methods["dialflow"], methods.get(SAMELOGIC)
    if same is None or not (dialflow.ok_runs and same.ok_runs):
        return []
    mine, theirs = median(dialflow.seconds()), median(same.seconds())
    workers, _, trees = dialflow_memory(dialflow)
    # The poll, not ru_maxrss: a child starts with its parent's peak in ru_maxrss, and this
    # script's process can be larger than DuckDB's.
    duckdb = median(r["measured"]["tree_peak_bytes"] for r in same.ok_runs)
    return [
        "",
        f"dialflow against the {SAMELOGIC} baseline (identical output, checked every run): "
        f"**{mine / theirs:.2f}x** its time (medians {mine:.1f} s / {theirs:.1f} s); peak "
        f"memory: dialflow's largest worker {mb(median(workers))}, whole tree "
        f"{mb(median(trees))}; DuckDB's process {mb(duckdb)} (polled every {POLL_SECONDS} s).",
    ]


def methods_json(methods: dict[str, MethodRuns]) -> dict[str, Any]:
    """Return every method's runs as plain data for results.json."""
    return {name: asdict(runs) for name, runs in methods.items()}


def save_results(work: Path, results: dict[str, Any]) -> None:
    """Write a run's raw results (every method's runs and more) to the work folder."""
    (work / "results.json").write_text(
        json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8"
    )


def publish(args: argparse.Namespace, subsection: str, section: str, intro: str) -> None:
    """Print the subsection and put it in --results (unless --no-results)."""
    print(subsection)
    if not args.no_results:
        update_results(args.results, section, intro, subsection)
        print(f"updated {args.results}", file=sys.stderr)


def stopwatch(steps: dict[str, float], who: str = "pandas-seed") -> Callable[[str], None]:
    """Return lap(name): record the seconds since the last lap in steps, say so on stderr."""
    import resource

    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        steps[name] = round(now - clock[0], 3)
        clock[0] = now
        # Progress on stderr: if the process is killed, its log says how far it got.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(f"{who}: {name} done in {steps[name]:.1f} s, peak RSS {mb(peak)}",
              file=sys.stderr, flush=True)  # fmt: skip

    return lap


def compare_lists(mine: pd.DataFrame, theirs: pd.DataFrame) -> str:
    """Say whether two lists are the same rows in the same order, or how they differ."""
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


def report_head(
    args: argparse.Namespace,
    script: str,
    sizes: str,
    command_sizes: str,
    flags: Sequence[str],
    input_text: str,
) -> list[str]:
    """Return a subsection's heading, command, date and machine, and input paragraph.

    Args:
        args: the benchmark's command line.
        script: the script's file name, e.g. "bench_listiq.py".
        sizes: the heading's size, e.g. "400,000 accounts, 1,000,000 calls".
        command_sizes: the command's size options, e.g. "--accounts 400000 --calls 1000000".
        flags: the switches (without "--") to repeat in the command when given.
        input_text: the paragraph on the input, ending with repeats_text's sentence.
    """
    options = "".join(f" --{flag}" for flag in flags if getattr(args, flag.replace("-", "_")))
    max_rss = getattr(args, "baseline_max_rss", DEFAULT_MAX_RSS)
    guard = f" --baseline-max-rss {max_rss}" if max_rss != DEFAULT_MAX_RSS else ""
    return [
        f"### {sizes}, 2 workers x 1 thread x {args.memory_limit}",
        "",
        f"Command: `.venv/bin/python benchmarks/{script} {command_sizes} --repeat {args.repeat} "
        f"--memory-limit {args.memory_limit}{options} --pandas-timeout {args.pandas_timeout:.0f}"
        f"{guard}`  ",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Machine: {machine()}.  ",
        input_text,
        "",
    ]


def repeats_text(order: str, repeat: int) -> str:
    """Return the sentence on how the repeats ran: `order` is the methods as they interleave."""
    return (
        f"Repeats run interleaved ({order}, then again); every number is the median of {repeat} "
        "run(s), none dropped"
        + (" (a single run: no median, noise not averaged)." if repeat == 1 else ".")
    )


def seed_steps_text(seed: MethodRuns) -> str:
    """Return the pandas-seed's median seconds per step (its `count_*` entries left out)."""
    runs = seed.ok_runs
    split = "; ".join(
        f"{step} {median(r['report']['steps'][step] for r in runs):.1f} s"
        for step in runs[0]["report"]["steps"]
        if not step.startswith("count_")
    )
    return f" pandas-seed by step (medians): {split}."


def dialflow_memory_cell(runs: MethodRuns) -> str:
    """Return dialflow's peak memory cell: largest worker, client and whole tree (medians)."""
    workers, clients, trees = dialflow_memory(runs)
    return (
        f"max worker {mb(median(workers))} / client {mb(median(clients))}; "
        f"whole tree {mb(median(trees))}"
    )


def baseline_memory_cell(runs: MethodRuns) -> str:
    """Return a baseline's peak memory cell: its process (tree), median."""
    return f"process {mb(median(baseline_peaks(runs)))}"


def progress_stages(log_path: Path, job: str) -> dict[str, tuple[int, int, int]]:
    """Return each compute stage's (tasks done, tasks, whole seconds) from the progress bars."""
    # A finished rich progress bar: "listiq: build the pool ━━━━ 143/143 tasks 0:00:09".
    pattern = re.compile(
        rf"{re.escape(job)}: (?P<stage>[a-z][a-z ]*[a-z]) [^\x00-\x7f].*?(?P<done>\d+)/"
        r"(?P<all>\d+) tasks (?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d)"
    )
    found: dict[str, tuple[int, int, int]] = {}
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return found
    for match in pattern.finditer(text):
        seconds = int(match["h"]) * 3600 + int(match["m"]) * 60 + int(match["s"])
        found[match["stage"]] = (int(match["done"]), int(match["all"]), seconds)
    return found


def dialflow_detail(
    dialflow: MethodRuns,
    job: str,
    work: Path,
    timeout: float,
    stages: Sequence[tuple[str, str, int]],
    counts_line: Callable[[dict[str, Any]], str] | None = None,
    partial_bars: bool = True,
) -> list[str]:
    """Return where dialflow's time and memory went: summary.json, progress bars, logs.

    Args:
        dialflow: the runs; each one's stderr is `work/dialflow-run<i>.stderr.txt`.
        job: the job's name, as its progress bars start.
        work: the work folder.
        timeout: dialflow's time limit (for the failure text).
        stages: summary.json's stages for stage_split.
        counts_line: given the first run's summary counts, a line to add after the progress bars.
        partial_bars: when every run failed, also say how far each run's progress bars got.
    """
    logs = [work / f"dialflow-run{i}.stderr.txt" for i in range(1, len(dialflow.runs) + 1)]
    if not dialflow.ok_runs:
        lines = dialflow_failures(dialflow, timeout)
        for i, log in enumerate(logs if partial_bars else [], start=1):
            bars = progress_stages(log, job)
            if bars:
                seen = "; ".join(f"`{stage}` {done:,}/{total:,} tasks, {secs} s"
                                 for stage, (done, total, secs) in bars.items())  # fmt: skip
                lines.append(f"Run {i}'s progress bars before it stopped: {seen}.  ")
    else:
        lines = [stage_split(dialflow, stages)]
        by_stage: dict[str, list[tuple[int, int, int]]] = {}
        for run, log in zip(dialflow.runs, logs, strict=True):
            if run["ok"]:
                for stage, seen in progress_stages(log, job).items():
                    by_stage.setdefault(stage, []).append(seen)
        if by_stage:
            parts = [
                f"`{stage}` {median(s for _, _, s in seen):.0f} s ({seen[0][1]:,} tasks)"
                for stage, seen in by_stage.items()
            ]
            lines.append(
                f"Inside `{job}`, by the CLI's progress bars (whole seconds, medians): "
                + "; ".join(parts)
                + ".  "
            )
        if counts_line is not None:
            lines.append(counts_line(dialflow.ok_runs[0]["summary"]["counts"]))
        _, clients, trees = dialflow_memory(dialflow)
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
    for log in logs:
        for message, count in log_warnings(log, limit=20):
            warnings[message] += count
    if warnings:
        lines += ["", "Warnings in dialflow's stderr (workers included), all runs, numbers as N:",
                  ""]  # fmt: skip
        lines += [f"- {count} x `{message}`" for message, count in warnings.most_common(8)]
    else:
        lines += ["", "No WARNING or ERROR line in dialflow's stderr (workers included)."]
    return lines + [""]


def speed_target(
    methods: dict[str, MethodRuns],
    speedup: int,
    claim_seconds: float,
    claim: str,
    claimed: str,
    failed: str = "dialflow failed",
) -> str:
    """Return the target line: at least `speedup` x the seed's claimed time, end to end.

    Args:
        methods: every method's runs ("dialflow" and, when it ran, "pandas-seed").
        speedup: how many times faster than the seed's claim.
        claim_seconds: the seed's claimed time.
        claim: the claim as the write-up puts it, e.g. "(the write-up: < 3 minutes for ...)".
        claimed: the claimed time in words, e.g. "3 minutes".
        failed: why the target is not met when dialflow never finished.
    """
    dialflow = methods["dialflow"]
    target = claim_seconds / speedup
    head = f"- at least {speedup}x the seed's speed {claim}, i.e. under {target:.0f} s end to end"
    if not dialflow.ok_runs:
        return f"{head}: **not met** ({failed})"
    secs = median(dialflow.seconds())
    all_finished = len(dialflow.ok_runs) == len(dialflow.runs)
    pandas = methods["pandas-seed"]
    measured = (
        f"; against the pandas-seed measured here: {median(pandas.seconds()) / secs:.1f}x"
        if pandas.ok_runs
        else ""
    )
    return (
        f"{head} on this 2-core machine, cluster start included: median {secs:.1f} s, every run "
        f"at most {max(dialflow.seconds()):.1f} s ({claim_seconds / secs:.0f}x the claimed "
        f"{claimed}{measured}): **{'met' if secs < target and all_finished else 'not met'}**"
    )


def memory_targets(dialflow: MethodRuns, size: str, claim: str, target_bytes: int) -> list[str]:
    """Return the target lines: under the seed's claimed memory, per worker and whole tree.

    Args:
        dialflow: the runs.
        size: the target in words, e.g. "800 MB".
        claim: the write-up's words, e.g. "800MB".
        target_bytes: the target in bytes.
    """
    if not dialflow.ok_runs:
        return [f"- under {size} (the write-up: < {claim}): **not met** (dialflow failed)"]
    workers, _, trees = dialflow_memory(dialflow)
    _, seen = worst_worker(dialflow)
    return [
        f"- under {size}, per worker (largest worker's peak, Dask's monitor or the 0.2 s poll, "
        f"the higher): median {mb(median(workers))}, at most {mb(max(workers))}; {seen}: "
        f"**{'met' if max(workers) < target_bytes else 'not met'}**",
        f"- under {size}, whole process tree (client with scheduler and both workers, the "
        f"seed's one process being the whole job): median {mb(median(trees))}, at most "
        f"{mb(max(trees))}: **{'met' if max(trees) < target_bytes else 'not met'}**",
    ]
