"""Where dialflow's fixed cost per run goes: interpreter, imports, cluster start, the reports,
the commit, cluster shutdown, exit; beside the job's own work.

Run: .venv/bin/python benchmarks/fixed_cost.py --accounts 400000 --calls 1000000 --repeat 3
Each run is `dialflow --quiet run <job>` in a subprocess, as the benchmarks run it, but started
through this script (`--child`), which wraps the runner's steps with timers before calling the
CLI: the product code is not changed. `python -X importtime -c 'import dialflow.cli'` gives
the imports' split by package. Prints a markdown block; RESULTS.md's `## same-logic` holds it.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

STARTED = time.time()  # before any import of this script's own: the child's interpreter start
sys.path.insert(0, str(Path(__file__).resolve().parent))

SCRIPT = Path(__file__).resolve()
JOBS = ("dedupe", "autoflush", "infoflow", "listiq")
CALL_DATE = "2026-11-25"
# Events the child stamps (time.time(), so the parent can place its own spawn and exit).
PHASES = [
    ("interpreter start", "spawned", "child_started"),
    ("import dialflow.cli", "child_started", "imported"),
    ("CLI to cluster start (config, plan, lock, table metadata)", "imported", "cluster_start"),
    ("cluster start (LocalCluster, client)", "cluster_start", "cluster_up"),
    ("the job's computes and CSVs (summary.json stages)", None, None),
    ("report.html", "report_start", "report_end"),
    ("Dask performance report (dask-report.html)", "perf_report_start", "perf_report_end"),
    ("summary, commit and the rest of the run", None, None),
    ("cluster shutdown", "cluster_stop", "cluster_down"),
    ("after shutdown to process exit", "cluster_down", "exited"),
]


# ---------------------------------------------------------------------------------------------
# Child: one dialflow run with its steps timed
# ---------------------------------------------------------------------------------------------


def child(job: str, cli_args: list[str], stamps_file: Path) -> None:
    """Run the CLI in this process with timers around the runner's steps; write the stamps."""
    stamps: dict[str, float] = {"child_started": STARTED}
    import dialflow.cli

    stamps["imported"] = time.time()
    import distributed

    import dialflow.cluster
    import dialflow.runner

    open_client = dialflow.cluster.open_client

    @contextmanager
    def timed_client(*args, **kwargs):  # noqa: ANN202 - wraps open_client
        stamps["cluster_start"] = time.time()
        manager = open_client(*args, **kwargs)
        client = manager.__enter__()
        stamps["cluster_up"] = time.time()
        try:
            yield client
        except BaseException:
            if not manager.__exit__(*sys.exc_info()):
                raise
        else:
            stamps["cluster_stop"] = time.time()
            manager.__exit__(None, None, None)
            stamps["cluster_down"] = time.time()

    class TimedReport(distributed.performance_report):
        def __exit__(self, *exc: object) -> None:
            stamps["perf_report_start"] = time.time()
            super().__exit__(*exc)
            stamps["perf_report_end"] = time.time()

    write_report = dialflow.runner._write_report

    def timed_write_report(*args, **kwargs) -> None:  # noqa: ANN002, ANN003
        stamps["report_start"] = time.time()
        write_report(*args, **kwargs)
        stamps["report_end"] = time.time()

    dialflow.cluster.open_client = timed_client
    distributed.performance_report = TimedReport
    dialflow.runner._write_report = timed_write_report
    try:
        dialflow.cli.app(["--quiet", "run", job, *cli_args], standalone_mode=False)
    finally:
        stamps["cli_end"] = time.time()
        stamps_file.write_text(json.dumps(stamps) + "\n", encoding="utf-8")
    if hasattr(dialflow.cli, "exit_now"):  # end as the console script does (dialflow.cli.main)
        dialflow.cli.exit_now(0)


# ---------------------------------------------------------------------------------------------
# Parent
# ---------------------------------------------------------------------------------------------


def import_split(top: int = 10) -> tuple[float, list[tuple[str, float]]]:
    """Return `import dialflow.cli`'s cumulative seconds and the largest packages under it."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import dialflow.cli"],
        capture_output=True,
        text=True,
        check=True,
    )
    total = 0.0
    packages: dict[str, float] = defaultdict(float)
    pattern = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")
    for line in done.stderr.splitlines():
        match = pattern.match(line)
        if not match:
            continue
        cumulative, name = int(match[2]) / 1e6, match[4]
        if name == "dialflow.cli":
            total = cumulative
        elif "." not in name:  # a package's first import holds all of its own imports
            packages[name] += cumulative
    nested = sorted(packages.items(), key=lambda item: -item[1])
    return total, [(name, secs) for name, secs in nested if name != "dialflow"][:top]


def one_run(job: str, data: Path, config: Path, work: Path, tag: str) -> dict[str, float]:
    """Run one timed dialflow run in a child process; return its phases' seconds."""
    from harness import AS_OF

    stamps_file = work / f"stamps-{job}-{tag}.json"
    out = work / f"out-{job}-{tag}"
    cli = ["--input", str(data), "--output", str(out), "--no-sql", "--no-email",
           "--as-of", AS_OF, "--config", str(config)]  # fmt: skip
    if job == "listiq":
        cli += ["--call-date", CALL_DATE]
    spawned = time.time()
    subprocess.run(
        [sys.executable, str(SCRIPT), "--child", job, "--stamps", str(stamps_file), "--", *cli],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=open(work / f"stderr-{job}-{tag}.txt", "w", encoding="utf-8"),  # noqa: SIM115
    )
    stamps = json.loads(stamps_file.read_text(encoding="utf-8"))
    stamps.update(spawned=spawned, exited=time.time())
    run = max((p for p in (out / job).iterdir() if not p.name.startswith(".")), key=str)
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    stages = summary["stages"]
    # The write stage holds report.html; the job's own work is its stages without it.
    own = sum(stage["seconds"] for stage in stages.values()) - (
        stamps["report_end"] - stamps["report_start"]
    )
    phases: dict[str, float] = {}
    for name, start, end in PHASES:
        if start is not None:
            phases[name] = stamps[end] - stamps[start]
    phases[PHASES[4][0]] = own
    inside = stamps["cluster_stop"] - stamps["cluster_up"]
    phases[PHASES[7][0]] = inside - own - sum(phases[PHASES[i][0]] for i in (5, 6))
    phases["total (wall)"] = stamps["exited"] - stamps["spawned"]
    return phases


def render(results: dict[str, list[dict[str, float]]], imports: tuple, args) -> str:  # noqa: ANN001
    """Return the markdown block: phases by job (medians), and the imports by package."""
    from harness import median

    jobs = list(results)
    header = "| phase | " + " | ".join(jobs) + " |"
    lines = [header, "|---|" + "---:|" * len(jobs)]
    names = [name for name, _, _ in PHASES] + ["total (wall)"]
    for name in names:
        cells = [f"{median(run[name] for run in results[job]):.2f}" for job in jobs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    fixed = [name for name in names if name not in (PHASES[4][0], "total (wall)")]
    cells = [f"{median(sum(run[n] for n in fixed) for run in results[job]):.2f}" for job in jobs]
    lines.append("| **fixed cost (all but the job's work)** | " + " | ".join(cells) + " |")
    total, packages = imports
    split = ", ".join(f"{name} {secs:.2f} s" for name, secs in packages)
    lines += [
        "",
        f"`python -X importtime -c 'import dialflow.cli'`: {total:.2f} s cumulative; the "
        f"largest packages under it (each package's first import, everything it imports "
        f"included, so they overlap): {split}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Parse the command line; run the child, or every job --repeat times and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=JOBS, help=argparse.SUPPRESS)
    parser.add_argument("--stamps", type=Path, help=argparse.SUPPRESS)
    if "--child" in sys.argv:  # nothing else imported first: the child times its own imports
        args, rest = parser.parse_known_args()
        child(args.child, [a for a in rest if a != "--"], args.stamps)
        return
    from harness import exact_config, size_arguments, sized_work

    parser.add_argument("--jobs", nargs="+", choices=JOBS, default=list(JOBS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-limit", default="4GiB")
    parser.add_argument("--wait", type=float, default=3 * 3600)
    size_arguments(parser, (400_000, 1_000_000))
    args = parser.parse_args()
    data, work, _ = sized_work("fixed-cost", args)
    config = exact_config(work, args.memory_limit)  # dedupe's exact method, as bench_dedupe
    imports = import_split()
    results: dict[str, list[dict[str, float]]] = {job: [] for job in args.jobs}
    for repeat in range(args.repeat):  # interleaved, so machine noise hits every job
        for job in args.jobs:
            print(f"[run{repeat + 1}] {job} ...", file=sys.stderr, flush=True)
            results[job].append(one_run(job, data, config, work, f"run{repeat + 1}"))
    results = {job: runs for job, runs in results.items() if runs}
    print(render(results, imports, args))


if __name__ == "__main__":
    main()
