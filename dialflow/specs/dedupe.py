"""The dedupe job's spec: flag duplicate accounts; the newest record of each cluster survives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..jobs.dedupe import DedupeParams
from ..runner import JobContext, JobOutput, JobPlan, JobSpec

if TYPE_CHECKING:
    import dask.dataframe as dd

    from ..progress import ProgressCompute
    from ..run import Run


def plan(context: JobContext) -> JobPlan:
    """Read the Account match-key columns; flag every non-survivor of a duplicate cluster."""
    from ..jobs.dedupe import account_columns, run_dedupe

    settings = context.settings
    params = DedupeParams.from_settings(settings)

    def compute(run: Run, compute: ProgressCompute, tables: dict[str, dd.DataFrame]) -> JobOutput:
        with run.stage("dedupe") as stage:
            result = run_dedupe(tables["Account"], params, compute=compute)
            stage["flagged"] = len(result.flagged)
        run.counts.update(result.counts)
        run.inputs["Account"] = sum(result.counts["keys"][params.match_keys[0]].values())
        return JobOutput(result.flagged, "dedupe_flagged", settings.dedupe.sql_table)

    return JobPlan(params, {"Account": account_columns(params)}, compute)


SPEC = JobSpec(
    name="dedupe",
    help="Flag duplicate accounts; the newest record of each cluster survives.",
    plan=plan,
)
