"""The Dask workers' warnings and errors land in run.log, masked, from a LocalCluster and from a
remote scheduler's workers (`dask worker` processes whose stderr the run never sees)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from dialflow.jobs.params import JobParams
from dialflow.runner import JobContext, JobOutput, JobPlan, JobSpec, RunRequest, run_job
from dialflow.schema import STRING, empty_frame
from tests.conftest import write_config
from tests.real_cluster import running_cluster

pytestmark = pytest.mark.slow

IDS_META = empty_frame({"Id": STRING})


def plan(context: JobContext) -> JobPlan:
    def compute(run, compute, tables) -> JobOutput:  # noqa: ANN001 - see JobPlan.compute
        # Nested, so that it is pickled by value: a remote worker cannot import tests/.
        def warn_on_the_worker(accounts: pd.DataFrame) -> pd.DataFrame:
            import logging
            import warnings

            warnings.warn("odd value +1 415 867 5309", UserWarning, stacklevel=1)
            logging.getLogger("dialflow.jobs.check").warning("%d rows looked at", len(accounts))
            return accounts[["Id"]]

        frame = tables["Account"].map_partitions(warn_on_the_worker, meta=IDS_META)
        (ids,) = compute(frame, stage="warn")
        return JobOutput(ids, "ids", "ids")

    return JobPlan(JobParams(), {"Account": ["Id"]}, compute)


SPEC = JobSpec(name="warncheck", help="Warn on the workers.", plan=plan)


def worker_lines(run_log: Path) -> list[str]:
    """Return run.log's lines from workers, without their time stamp and worker address."""
    lines = [line.split(" ", 2)[2] for line in run_log.read_text().splitlines()]
    return [
        re.sub(r"worker (tcp|tls)://127\.0\.0\.1:\d+: ", "worker ADDRESS: ", line)
        for line in lines
        if " worker " in line
    ]


EXPECTED = [
    "WARNING distributed.warnings: worker ADDRESS: UserWarning: odd value +* *** *** **09",
    "WARNING dialflow.jobs.check: worker ADDRESS: 2 rows looked at",
]


def test_a_local_cluster_s_worker_warnings_are_in_run_log(tmp_path, two_accounts):
    # Worker processes (a tiny input would run on threads of this process: cluster.processes).
    config = write_config(tmp_path, two_accounts, cluster_extra="  processes: true\n")
    run = run_job(SPEC, RunRequest(job="warncheck", config=config, no_sql=True, no_email=True))
    assert worker_lines(run.final_folder / "run.log") == EXPECTED


def test_a_remote_cluster_s_worker_warnings_are_in_run_log(tmp_path, two_accounts):
    config = write_config(tmp_path, two_accounts)
    with running_cluster(tmp_path / "cluster", workers=1) as cluster:
        request = RunRequest(
            job="warncheck", config=config, scheduler=cluster.address, no_sql=True, no_email=True
        )
        first = run_job(SPEC, request)
        second = run_job(SPEC, request)
    assert worker_lines(first.final_folder / "run.log") == EXPECTED
    # The scheduler still holds the first run's events: the second run.log has only its own.
    assert worker_lines(second.final_folder / "run.log") == EXPECTED
