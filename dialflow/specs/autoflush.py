"""The autoflush job's spec: find the phone numbers call outcomes show are bad."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..jobs.autoflush import AutoflushParams
from ..runner import JobContext, JobOption, JobOutput, JobPlan, JobSpec

if TYPE_CHECKING:
    import dask.dataframe as dd

    from ..progress import ProgressCompute
    from ..run import Run
    from ..sources.previous import PreviousResult


DNC_FILE = "dnc_numbers.csv"  # the disconnected numbers, for a dialer's do-not-dial import


def plan(context: JobContext) -> JobPlan:
    """Read Task and the Account phone fields; one cleanup row per (account, field) to clear."""
    from ..jobs.autoflush import CALL_COLUMNS, dnc_numbers, run_autoflush
    from ..times import parse_since
    from ..writeback import apply_cleanup

    settings = context.settings
    since = context.request.options.get("since")
    since_stamp = parse_since(since, context.as_of) if since is not None else None
    params = AutoflushParams.from_settings(settings, context.as_of, since_stamp)

    def compute(run: Run, compute: ProgressCompute, tables: dict[str, dd.DataFrame]) -> JobOutput:
        with run.stage("autoflush") as stage:
            result = run_autoflush(tables["Task"], tables["Account"], params, compute=compute)
            stage["bad_numbers"] = len(result.verdicts)
            stage["cleanup_rows"] = len(result.cleanup)
        run.counts.update(result.counts)
        run.inputs["Task"] = sum(result.counts["calls_by_category"].values())
        run.inputs["Account"] = result.accounts_read
        # In the run folder, so it is committed (or not) together with the cleanup.
        return JobOutput(
            result.cleanup,
            "autoflush_cleanup",
            settings.autoflush.sql_table,
            files={DNC_FILE: dnc_numbers(result.verdicts)},
        )

    reads = {"Task": CALL_COLUMNS, "Account": ["Id", *params.phone_fields]}
    return JobPlan(params, reads, compute, write_back=apply_cleanup)


def latest_cleanup(context: JobContext) -> PreviousResult | None:
    """Return the latest autoflush run's cleared (account, field, number) keys, or None."""
    return context.latest(
        "autoflush",
        "autoflush_cleanup.csv",
        context.settings.autoflush.sql_table,
        ["AccountId", "Field", "PhoneE164"],
    )


SPEC = JobSpec(
    name="autoflush",
    help="Find phone numbers that call outcomes show are bad; write one row per field to clear.",
    plan=plan,
    options=(
        JobOption(
            "since",
            "Count only calls after this time, ISO-8601 like --as-of. Default: autoflush.since "
            "(null: every call).",
            metavar="TIMESTAMP",
        ),
    ),
    apply_help="Clear the flagged fields in Salesforce (Bulk API 2.0).",
)
