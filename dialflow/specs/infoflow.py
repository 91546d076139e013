"""The infoflow job's spec: which accounts need a person to research a number, by priority."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pandas as pd

from ..jobs.infoflow import InfoflowParams
from ..runner import JobContext, JobOutput, JobPlan, JobSpec, previous_runs
from .autoflush import latest_cleanup

if TYPE_CHECKING:
    import dask.dataframe as dd

    from ..progress import ProgressCompute
    from ..run import Run

log = logging.getLogger("dialflow")


def plan(context: JobContext) -> JobPlan:
    """Read the latest autoflush result and the request log of the 90-day window before any
    work; find the eligible accounts and their priorities on the cluster."""
    from ..jobs.infoflow import account_columns, flushed_by_account, run_infoflow
    from ..jobs.usable_phone import cleared_keys
    from ..sources.previous import requested_since
    from ..writeback import apply_research_requests

    settings = context.settings
    params = InfoflowParams.from_settings(settings, context.as_of)
    cleanup = latest_cleanup(context)
    if cleanup is None:
        log.warning(
            "no autoflush run found in %s or SQL; no number counts as flushed", context.output_dir
        )
    since = context.as_of - pd.Timedelta(days=params.research_frequency_days)
    logged = requested_since(
        context.output_dir,
        "infoflow",
        "research_requests.csv",
        context.sql_url,
        settings.infoflow.sql_table,
        since,
    )

    def compute(run: Run, compute: ProgressCompute, tables: dict[str, dd.DataFrame]) -> JobOutput:
        with run.stage("infoflow") as stage:
            result = run_infoflow(
                tables["Account"],
                tables["Task"],
                tables["Research_Request__c"],
                tables["Address_History__c"],
                tables["User"],
                cleared_keys(cleanup.rows) if cleanup else pd.Index([], dtype=str),
                flushed_by_account(cleanup.rows) if cleanup else pd.Series(dtype="int64"),
                logged,
                params,
                compute=compute,
                persist=compute.persist,
            )
            stage["eligible"] = result.counts["eligible"]
            stage["requested"] = result.counts["requested"]
        run.counts.update(result.counts)
        run.counts["logged_requests_in_window"] = len(logged)
        run.inputs["Account"] = result.counts["accounts"]
        run.inputs.update(result.rows_read)
        run.inputs["previous_runs"] = previous_runs(autoflush=cleanup)
        # The table is the request log: pruning it would undo the 90-day rule.
        return JobOutput(
            result.requests, "research_requests", settings.infoflow.sql_table, prune=False
        )

    reads = {
        "Account": account_columns(params),
        "Task": ["AccountId", "CallDisposition", "CreatedDate"],
        "Research_Request__c": ["Account__c", "CreatedDate"],
        "Address_History__c": None,
        "User": None,
    }
    return JobPlan(params, reads, compute, write_back=apply_research_requests)


SPEC = JobSpec(
    name="infoflow",
    help="List the accounts whose numbers need research, highest priority first, and email them.",
    plan=plan,
    apply_help="Insert the requests into Salesforce as Research_Request__c.",
)
