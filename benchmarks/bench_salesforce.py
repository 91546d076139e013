"""Time dialflow's partitioned Salesforce extraction against simple-salesforce's serial query_all.

Run: .venv/bin/python benchmarks/bench_salesforce.py --accounts 400000 --calls 1000000 \
         --latency 0.1 --repeat 3 --baseline-repeat 2 --partitions 16

Against the test server (`python -m tests.salesforce_server`, its own process, so its CPU does
not share this process's GIL; `--latency` seconds slept before answering every request, REST
page 2000 records, Bulk API 2.0 result page `maxRecords` or 50,000) serving only the demo data's
Account and Task Parquet folders (`benchmarks/data/accounts-<A>-calls-<C>/`, generated on first
use), in one session:

- dialflow: `SalesforceSource.read("Account")` and `read("Task")` (login, COUNT() and the
  first/last CreatedDate queries) then, like `_extract` in `dialflow/cli.py`,
  `frame.to_parquet(folder, write_index=False, compute=False)` computed on a
  `distributed.LocalCluster` of `--workers` x `--threads` (started before the clock, reused by
  every run; the workers import dialflow, simple-salesforce and pyarrow once, untimed). Objects
  with at least `bulk_min_records` records are read with Bulk API 2.0 query jobs, one per
  CreatedDate range.
- simple-salesforce: `Salesforce(username, password, security_token, domain, session)` with a
  `requests.Session` trusting the server's CA, `sf.query_all("SELECT <fields> FROM Account")`
  then Task, serially, each made a pandas DataFrame (`pd.DataFrame(records)` less `attributes`),
  in this process.

Both select every column of `dialflow.schema.TABLES[table]`. Each run gets a fresh server (its
start is not timed), so its `Sforce-Limit-Info` api-usage, read with one call after the clock
stops, is that run's REST/Bulk request count (logins are not API calls; counted apart). The
baseline's requests are also counted by a requests adapter. The server's CPU seconds per run come
from psutil. Rows per table must equal the Parquet row counts, and the Ids must be the Parquet's.
Repeats are interleaved (dialflow, then the baseline, per round); figures are medians of every
run. The `## salesforce` section of RESULTS.md gets this run's `###` block.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The harness puts the repo on sys.path, for dialflow and tests.salesforce_server.
from harness import (  # noqa: E402
    DATA_DIR,
    OUT_DIR,
    REPO,
    RESULTS,
    ensure_data,
    machine,
    mb,
    median,
    size_label,
    update_results,
)

from dialflow.schema import TABLES  # noqa: E402

OBJECTS = ("Account", "Task")
TARGET = 8.0
SECTION = "## salesforce"
INTRO = (
    "`benchmarks/bench_salesforce.py`: extraction of the demo data's Account and Task from the "
    "test Salesforce server (`tests/salesforce_server.py`, its own process, a fixed latency per "
    "request) with dialflow's `SalesforceSource` (partitioned by CreatedDate, Bulk API 2.0 query "
    "jobs read by Dask workers, written as a Parquet snapshot like `_extract`) against "
    "simple-salesforce's serial `query_all` into pandas, in one session. The machine is small "
    "and shared: compare medians and ratios of one session, not absolute seconds across sessions."
)


# ---------------------------------------------------------------------------------------------
# The test server, one fresh process per run
# ---------------------------------------------------------------------------------------------


class Server:
    """`python -m tests.salesforce_server` in its own process group; stopped with SIGTERM."""

    def __init__(self, data: Path, args: argparse.Namespace, log: Path) -> None:
        cmd = [
            sys.executable, "-m", "tests.salesforce_server", "--data", str(data),
            "--latency", str(args.latency), "--page-size", str(args.page_size),
            "--bulk-page-size", str(args.server_bulk_page_size), "--api-limit", "10000000",
        ]  # fmt: skip
        self._log = open(log, "a", encoding="utf-8")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=self._log, text=True,
            start_new_session=True,
        )  # fmt: skip
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            raise SystemExit(f"the test server did not start; see {log}")
        self.info: dict[str, Any] = json.loads(line)

    def cpu_seconds(self) -> float:
        import psutil

        times = psutil.Process(self.proc.pid).cpu_times()
        return times.user + times.system

    def rss(self) -> int:
        import psutil

        return psutil.Process(self.proc.pid).memory_info().rss

    def session(self):  # noqa: ANN201 - requests.Session
        import requests

        session = requests.Session()
        session.verify = self.info["ca_path"]
        session.trust_env = False
        return session

    def login(self, session=None):  # noqa: ANN001, ANN201 - simple_salesforce.Salesforce
        from simple_salesforce import Salesforce

        return Salesforce(
            username=self.info["username"],
            password=self.info["password"],
            security_token=self.info["token"],
            domain=self.info["domain"],
            version="59.0",
            session=session or self.session(),
        )

    def api_used(self) -> int:
        """Return the API calls answered so far, less the one call that reads it."""
        sf = self.login()
        sf.describe()
        return sf.api_usage["api-usage"].used - 1

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()


def serve_folder(data: Path, work: Path) -> Path:
    """Return a folder holding only Account and Task (symlinks to the demo data's folders)."""
    folder = work / "serve"
    folder.mkdir(parents=True, exist_ok=True)
    for obj in OBJECTS:
        link = folder / obj
        if not link.is_symlink():
            link.symlink_to((data / obj).resolve(), target_is_directory=True)
    return folder


# ---------------------------------------------------------------------------------------------
# Memory: this process and the workers, polled
# ---------------------------------------------------------------------------------------------


class PeakPoller:
    """Poll the RSS of some processes every 0.2 s while a method runs; keep each one's peak."""

    def __init__(self, pids: dict[str, int]) -> None:
        import psutil

        self._procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peaks = {name: 0 for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while True:
            for name, proc in self._procs.items():
                try:
                    self.peaks[name] = max(self.peaks[name], proc.memory_info().rss)
                except Exception:  # noqa: BLE001 - a report detail only
                    pass
            if self._stop.wait(0.2):
                break

    def __enter__(self) -> PeakPoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------------------------------------
# Methods
# ---------------------------------------------------------------------------------------------


def dialflow_settings(server: Server, args: argparse.Namespace):  # noqa: ANN201 - Settings
    from dialflow.config import Settings

    return Settings.model_validate(
        {
            "salesforce": {
                "username": server.info["username"],
                "password": server.info["password"],
                "security_token": server.info["token"],
                "domain": server.info["domain"],
                "ca_bundle": server.info["ca_path"],
                "partitions": args.partitions,
                "bulk_min_records": args.bulk_min_records,
                "bulk_page_records": args.bulk_page_records,
                "bulk_poll_seconds": args.poll_seconds,
                "retries": 3,
            }
        }
    )


def run_dialflow(server: Server, args: argparse.Namespace, client, folder: Path) -> dict:  # noqa: ANN001
    """Read both objects with SalesforceSource and write them as Parquet on the cluster."""
    from dialflow.sources import SalesforceSource

    shutil.rmtree(folder, ignore_errors=True)
    source = SalesforceSource.from_settings(dialflow_settings(server, args))
    start = time.perf_counter()
    frames = {obj: source.read(obj, list(TABLES[obj])) for obj in OBJECTS}
    planned = time.perf_counter()
    writes = [
        frame.to_parquet(folder / obj, write_index=False, compute=False)
        for obj, frame in frames.items()
    ]
    futures = client.compute(writes)
    client.gather(futures)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "read_seconds": planned - start,
        "partitions": {obj: frame.npartitions for obj, frame in frames.items()},
        "logins": 1,
    }


class CountingAdapter:
    """A requests HTTPAdapter that counts the requests it sends."""

    def __new__(cls):  # noqa: ANN204 - built lazily so requests is imported on use
        from requests.adapters import HTTPAdapter

        class Counting(HTTPAdapter):
            sent = 0

            def send(self, request, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
                Counting.sent += 1
                return super().send(request, *a, **k)

        return Counting()


def run_baseline(server: Server) -> tuple[dict, dict[str, pd.DataFrame]]:
    """Log in, query_all Account then Task, make each a DataFrame; return timing and frames."""
    session = server.session()
    adapter = CountingAdapter()
    session.mount("https://", adapter)
    start = time.perf_counter()
    sf = server.login(session)
    frames: dict[str, pd.DataFrame] = {}
    for obj in OBJECTS:
        result = sf.query_all(f"SELECT {', '.join(TABLES[obj])} FROM {obj}")
        frames[obj] = pd.DataFrame(result["records"]).drop(columns="attributes")
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "http_requests": type(adapter).sent, "logins": 1}, frames


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def expected_ids(data: Path) -> dict[str, np.ndarray]:
    """Return each object's sorted Ids in the demo Parquet."""
    return {
        obj: np.sort(pd.read_parquet(data / obj, columns=["Id"])["Id"].to_numpy(dtype=object))
        for obj in OBJECTS
    }


def same_ids(ids: pd.Series, want: np.ndarray) -> bool:
    got = np.sort(ids.to_numpy(dtype=object))
    return len(got) == len(want) and bool((got == want).all())


def check_snapshot(folder: Path, want: dict[str, np.ndarray]) -> dict[str, Any]:
    """Rows, Ids and rows per file (one file per Dask partition) of a dialflow snapshot."""
    import pyarrow.parquet as pq

    out: dict[str, Any] = {}
    for obj in OBJECTS:
        files = sorted((folder / obj).glob("*.parquet"))
        sizes = [pq.ParquetFile(f).metadata.num_rows for f in files]
        ids = pd.read_parquet(folder / obj, columns=["Id"])["Id"]
        out[obj] = {"rows": int(sum(sizes)), "ids_ok": same_ids(ids, want[obj]), "files": sizes}
    return out


def compare_values(folder: Path, data: Path) -> dict[str, dict[str, int]]:
    """Per column, the cells of the dialflow snapshot that differ from the demo Parquet, by Id
    (missing = missing; "" and missing are told apart)."""
    out: dict[str, dict[str, int]] = {}
    for obj in OBJECTS:
        mine = pd.read_parquet(folder / obj).set_index("Id").sort_index()
        theirs = pd.read_parquet(data / obj, columns=list(TABLES[obj])).set_index("Id")
        theirs = theirs.reindex(mine.index)
        diffs = {}
        for column in mine.columns:
            a, b = mine[column], theirs[column]
            if isinstance(b.dtype, pd.DatetimeTZDtype):
                a = pd.to_datetime(a, utc=True)
            both_na = a.isna().to_numpy() & b.isna().to_numpy()
            equal = (a.astype(object) == b.astype(object)).fillna(False).to_numpy(dtype=bool)
            count = int((~(both_na | equal)).sum())
            if count:
                diffs[column] = count
        out[obj] = diffs
    return out


# ---------------------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------------------


def start_cluster(args: argparse.Namespace):  # noqa: ANN201 - (LocalCluster, Client)
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=args.workers,
        threads_per_worker=args.threads,
        processes=True,
        memory_limit=args.memory_limit,
        dashboard_address=":0",
    )
    client = Client(cluster)

    def warm() -> int:
        import pyarrow.parquet  # noqa: F401
        import simple_salesforce  # noqa: F401

        import dialflow.sources.salesforce  # noqa: F401

        return os.getpid()

    pids = client.run(warm)
    return cluster, client, {f"worker {i + 1}": pid for i, pid in enumerate(pids.values())}


def bench(args: argparse.Namespace, data: Path, work: Path) -> dict[str, Any]:
    serve = serve_folder(data, work)
    want = expected_ids(data)
    rows = {obj: len(ids) for obj, ids in want.items()}
    cluster, client, worker_pids = start_cluster(args)
    runs: dict[str, list[dict[str, Any]]] = {"dialflow": [], "simple-salesforce": []}
    failures: list[str] = []
    values: dict[str, Any] | None = None
    log = work / "server.stderr.txt"
    log.unlink(missing_ok=True)
    try:
        for round_ in range(args.repeat):
            methods = ["dialflow"]
            if round_ < args.baseline_repeat:
                methods.append("simple-salesforce")
            for method in methods:
                server = Server(serve, args, log)
                try:
                    cpu0 = server.cpu_seconds()
                    pids = {"client": os.getpid()}
                    if method == "dialflow":
                        pids.update(worker_pids)
                    folder = work / "snapshot"
                    with PeakPoller(pids) as poller:
                        if method == "dialflow":
                            result = run_dialflow(server, args, client, folder)
                        else:
                            result, frames = run_baseline(server)
                    result["server_cpu"] = server.cpu_seconds() - cpu0
                    result["server_rss"] = server.rss()
                    result["api_calls"] = server.api_used()
                    result["peaks"] = poller.peaks
                    if method == "dialflow":
                        result["check"] = check_snapshot(folder, want)
                        if values is None:
                            values = compare_values(folder, data)
                        shutil.rmtree(folder, ignore_errors=True)
                    else:
                        result["check"] = {
                            obj: {"rows": len(f), "ids_ok": same_ids(f["Id"], want[obj])}
                            for obj, f in frames.items()
                        }
                        del frames
                    runs[method].append(result)
                    print(
                        f"round {round_ + 1} {method}: {result['seconds']:.2f} s, "
                        f"{result['api_calls']} API calls, "
                        f"server CPU {result['server_cpu']:.1f} s, "
                        f"rows {[(o, c['rows'], c['ids_ok']) for o, c in result['check'].items()]}",
                        file=sys.stderr,
                        flush=True,
                    )
                except Exception as exc:  # noqa: BLE001 - reported, not fatal
                    traceback.print_exc()
                    failures.append(f"round {round_ + 1} {method}: {type(exc).__name__}: {exc}")
                finally:
                    server.stop()
    finally:
        client.close()
        cluster.close()
    return {"runs": runs, "failures": failures, "rows": rows, "values": values}


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def runs_text(values: list[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in values)


def report(result: dict[str, Any], args: argparse.Namespace, command: str) -> str:
    from importlib.metadata import version

    runs = result["runs"]
    rows = result["rows"]
    df, base = runs["dialflow"], runs["simple-salesforce"]
    df_median = median(r["seconds"] for r in df) if df else None
    base_median = median(r["seconds"] for r in base) if base else None
    bulk = {obj: rows[obj] >= args.bulk_min_records for obj in OBJECTS}
    lines = [
        f"### {args.accounts:,} accounts, {args.calls:,} tasks, {args.latency * 1000:g} ms "
        f"latency, {args.partitions} partitions, {args.workers} workers x {args.threads} threads",
        "",
        "```",
        command,
        "```",
        "",
        f"Machine: {machine()}; simple-salesforce {version('simple-salesforce')}, requests "
        f"{version('requests')}, distributed {version('distributed')}.  ",
        f"Taken {pd.Timestamp.now(tz='UTC'):%Y-%m-%d %H:%M} UTC. Server: "
        f"`python -m tests.salesforce_server --latency {args.latency:g} --page-size "
        f"{args.page_size} --bulk-page-size {args.server_bulk_page_size} --api-limit 10000000`, "
        f"a fresh process per run, serving only Account ({rows['Account']:,} rows) and Task "
        f"({rows['Task']:,}) of `benchmarks/data/{size_label(args.accounts, args.calls)}/`.  ",
        f"dialflow settings: `partitions: {args.partitions}`, `bulk_min_records: "
        f"{args.bulk_min_records:,}` (Account {'Bulk' if bulk['Account'] else 'REST'}, Task "
        f"{'Bulk' if bulk['Task'] else 'REST'}), `bulk_page_records: {args.bulk_page_records:,}`, "
        f"`bulk_poll_seconds: {args.poll_seconds:g}` (the first wait before polling a job; the "
        "test server completes jobs at once, a real org takes longer), `retries: 3`; "
        f"`distributed.LocalCluster` of {args.workers} worker processes x {args.threads} threads "
        f"(I/O-bound work), memory limit {args.memory_limit} each, started before the clock and "
        "reused by every run.  ",
        f"Repeats interleaved (dialflow, then simple-salesforce, per round); dialflow {len(df)} "
        f"run(s), simple-salesforce {len(base)} run(s); medians of every run, none dropped.",
        "",
        "| method | covers | median s | every run (s) | speed-up vs query_all | HTTP requests "
        "(API + login) | server CPU s (median) | peak memory (median) | rows Account / Task "
        "| same Ids as the Parquet |",
        "|---|---|---:|---|---:|---:|---:|---|---|---|",
    ]

    def rows_cell(method_runs: list[dict]) -> str:
        got = {(r["check"]["Account"]["rows"], r["check"]["Task"]["rows"]) for r in method_runs}
        want = (rows["Account"], rows["Task"])
        if got == {want}:
            return f"{want[0]:,} / {want[1]:,} (all)"
        return "NO: " + "; ".join(f"{a:,} / {t:,}" for a, t in sorted(got))

    def ids_cell(method_runs: list[dict]) -> str:
        ok = all(c["ids_ok"] for r in method_runs for c in r["check"].values())
        return "yes, every run" if ok else "NO"

    def requests_cell(method_runs: list[dict]) -> str:
        calls = sorted({r["api_calls"] for r in method_runs})
        text = "/".join(f"{c:,}" for c in calls) + " + 1"
        sent = sorted({r.get("http_requests") for r in method_runs} - {None})
        if sent:
            text += " (adapter: " + "/".join(f"{s:,}" for s in sent) + ")"
        return text

    if df:
        workers = [max(v for k, v in r["peaks"].items() if k != "client") for r in df]
        clients = [r["peaks"]["client"] for r in df]
        lines.append(
            f"| dialflow | login + planning queries, Bulk API 2.0 jobs per CreatedDate range, "
            f"Parquet snapshot written by the workers | {df_median:.2f} | "
            f"{runs_text([r['seconds'] for r in df])} | "
            f"{f'{base_median / df_median:.1f}x' if base_median else 'n/a'} | "
            f"{requests_cell(df)} | {median(r['server_cpu'] for r in df):.1f} | "
            f"max worker {mb(median(workers))}; client + scheduler {mb(median(clients))} | "
            f"{rows_cell(df)} | {ids_cell(df)} |"
        )
    if base:
        lines.append(
            f"| simple-salesforce | login, `query_all` Account then Task (REST, "
            f"{args.page_size:,} records a page), `pd.DataFrame` of each | {base_median:.2f} | "
            f"{runs_text([r['seconds'] for r in base])} | 1.0x | {requests_cell(base)} | "
            f"{median(r['server_cpu'] for r in base):.1f} | "
            f"{mb(median(r['peaks']['client'] for r in base))} (this process) | "
            f"{rows_cell(base)} | {ids_cell(base)} |"
        )
    lines += [
        "",
        "HTTP requests: the server's `Sforce-Limit-Info` api-usage after the run (REST and Bulk "
        "calls; a fresh server per run), plus the one SOAP login, which is not an API call; the "
        "baseline's requests are also counted by a requests adapter on its session (login "
        "included). Server CPU: user + system seconds of the server process during the run. Peak "
        "memory: RSS polled every 0.2 s (the client process also holds the LocalCluster's "
        "scheduler and, for the baseline, the idle cluster's client).",
    ]
    if df:
        read = median(r["read_seconds"] for r in df)
        files = df[0]["check"]
        part_text = "; ".join(
            f"{obj} {df[0]['partitions'][obj]} partitions ({args.partitions} CreatedDate ranges "
            f"+ the null range), rows per partition {min(files[obj]['files']):,}–"
            f"{max(files[obj]['files']):,}"
            for obj in OBJECTS
        )
        lines += [
            "",
            f"dialflow split (medians): `read()` of both objects (login, COUNT() and first/last "
            f"CreatedDate per object) {read:.2f} s; the cluster's extraction and Parquet write "
            f"{df_median - read:.2f} s. {part_text}.",
        ]
        values = result["values"]
        if values is not None:
            differing = {obj: d for obj, d in values.items() if d}
            if differing:
                text = "; ".join(
                    f"{obj}: " + ", ".join(f"{c} {n:,}" for c, n in d.items())
                    for obj, d in differing.items()
                )
                lines.append(
                    f"Snapshot values against the demo Parquet, by Id (first run): cells that "
                    f"differ: {text}."
                )
            else:
                lines.append(
                    "Snapshot values against the demo Parquet, by Id (first run): every cell "
                    "equal."
                )
    if base:
        calls = median(r["api_calls"] for r in base)
        per_page = median(r["server_cpu"] for r in base) / max(1, calls)
        lines.append(
            f"Server CPU per baseline API call: {per_page * 1000:.0f} ms (median run's CPU / "
            "its calls; the first page of each query also builds every record of the result)."
        )
    if result["failures"]:
        lines += ["", "Failures:", "", *(f"- {f}" for f in result["failures"])]
    lines += ["", f"Target (at least {TARGET:g}x faster than serial `query_all`):", ""]
    if df_median and base_median:
        ratio = base_median / df_median
        verdict = "**met**" if ratio >= TARGET else f"**not met** ({ratio / TARGET:.0%} of it)"
        lines.append(f"- {base_median:.2f} s / {df_median:.2f} s = {ratio:.1f}x: {verdict}")
    else:
        lines.append("- not measured (a method had no successful run)")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=400_000)
    parser.add_argument("--calls", type=int, default=1_000_000, help="Task rows")
    parser.add_argument("--latency", type=float, default=0.1, help="server seconds per request")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (dialflow runs)")
    parser.add_argument(
        "--baseline-repeat", type=int, default=None, help="baseline runs (default --repeat)"
    )
    parser.add_argument("--partitions", type=int, default=16, help="salesforce.partitions")
    parser.add_argument("--bulk-min-records", type=int, default=100_000)
    parser.add_argument("--bulk-page-records", type=int, default=100_000)
    parser.add_argument("--poll-seconds", type=float, default=0.2, help="bulk_poll_seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--memory-limit", default="4GiB", help="per Dask worker")
    parser.add_argument("--page-size", type=int, default=2000, help="server's REST page")
    parser.add_argument("--server-bulk-page-size", type=int, default=50_000)
    parser.add_argument("--wait", type=float, default=3 * 3600, help="seconds to wait for data")
    parser.add_argument("--results", type=Path, default=RESULTS, help="markdown file to update")
    parser.add_argument("--no-results", action="store_true", help="print, do not update it")
    args = parser.parse_args()
    if args.baseline_repeat is None:
        args.baseline_repeat = args.repeat
    label = size_label(args.accounts, args.calls)
    data = ensure_data(DATA_DIR / label, args.accounts, args.calls, args.wait)
    work = OUT_DIR / f"salesforce-{label}"
    work.mkdir(parents=True, exist_ok=True)
    command = ".venv/bin/python benchmarks/bench_salesforce.py " + " ".join(sys.argv[1:])
    result = bench(args, data, work)
    (work / "results.json").write_text(
        json.dumps({"args": vars(args), **result}, default=str, indent=1), encoding="utf-8"
    )
    text = report(result, args, command.replace(" --results " + str(args.results), ""))
    print(text)
    if not args.no_results:
        update_results(args.results, SECTION, INTRO, text)


if __name__ == "__main__":
    main()
