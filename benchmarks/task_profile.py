"""Where a job's worker time goes: its Dask tasks' seconds per task prefix.

Run: .venv/bin/python benchmarks/task_profile.py CONFIG DATA OUT --call-date 2026-11-25

Starts a LocalCluster of 2 worker processes x 1 thread (the benchmarks' cluster, the config's
memory limit), runs `dialflow --quiet run listiq` (or `--job`) as a subprocess on it
(`cluster.scheduler` set to the cluster's address in a copy of CONFIG), then reads the
scheduler's task stream and prints, per task prefix, the tasks' compute seconds, their
transfer seconds (waiting for inputs from the other worker) and the count; written also as
OUT/task-profile.json. The same figures as the Dask performance report's task stream, summed.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import AS_OF, dialflow_command  # noqa: E402


def prefix_of(key: object) -> str:
    """Return a task key's prefix (its name without the token and partition)."""
    name = key[0] if isinstance(key, tuple) else key
    return re.sub(r"-[0-9a-f]{32}$", "", str(name))


def summarise(stream: list[dict]) -> dict[str, dict[str, float]]:
    """Return compute and transfer seconds and task counts per prefix, largest compute first."""
    out: dict[str, dict[str, float]] = defaultdict(lambda: {"compute": 0.0, "transfer": 0.0,
                                                            "tasks": 0})  # fmt: skip
    for task in stream:
        row = out[prefix_of(task["key"])]
        row["tasks"] += 1
        for part in task.get("startstops", ()):
            action = part["action"]
            seconds = part["stop"] - part["start"]
            if action == "compute":
                row["compute"] += seconds
            elif action == "transfer":
                row["transfer"] += seconds
    return dict(sorted(out.items(), key=lambda item: -item[1]["compute"]))


def main() -> None:
    """Start the cluster, run the job on it, print the task stream per prefix."""
    from dask.distributed import Client, LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--job", default="listiq")
    parser.add_argument("--memory-limit", default="4GiB")
    args, extra = parser.parse_known_args()  # the rest: more `dialflow run` options
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            memory_limit=args.memory_limit,
            dashboard_address=":0",
        ) as cluster,  # fmt: skip
        Client(cluster) as client,
    ):
        config = args.out / "config.yaml"
        text = args.config.read_text(encoding="utf-8")
        text = text.replace("cluster:\n", f"cluster:\n  scheduler: {cluster.scheduler_address}\n")
        config.write_text(text, encoding="utf-8")
        cmd = [dialflow_command(), "--quiet", "run", args.job, "--input", str(args.data),
               "--output", str(args.out / "dialflow"), "--no-sql", "--as-of", AS_OF,
               "--config", str(config), *(a for a in extra if a != "--")]  # fmt: skip
        started = time.time()
        done = subprocess.run(cmd, check=False)
        wall = time.time() - started
        stream = client.get_task_stream(start=started)
    rows = summarise(stream)
    total = sum(row["compute"] for row in rows.values())
    print(f"exit {done.returncode}, wall {wall:.1f} s, worker compute {total:.1f} s")
    for prefix, row in rows.items():
        print(f"{row['compute']:8.1f} s compute {row['transfer']:7.1f} s transfer "
              f"{int(row['tasks']):6d} tasks  {prefix}")  # fmt: skip
    (args.out / "task-profile.json").write_text(
        json.dumps({"wall": wall, "returncode": done.returncode, "prefixes": rows}, indent=1),
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
