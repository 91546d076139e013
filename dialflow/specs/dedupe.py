"""The dedupe job's spec: flag duplicate accounts; the newest record of each cluster survives."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..jobs.dedupe import DedupeParams
from ..runner import JobContext, JobOutput, JobPlan, JobSpec

if TYPE_CHECKING:
    import dask.dataframe as dd

    from ..jobs.linkage.model import FellegiSunter
    from ..progress import ProgressCompute
    from ..run import Run

log = logging.getLogger("dialflow")


def pinned_model(path: Path) -> FellegiSunter:
    """Read a model.json a dedupe run wrote; refuse one this version cannot apply."""
    from ..jobs.linkage.compare import COMPARISONS
    from ..jobs.linkage.model import FellegiSunter
    from ..jobs.linkage.train import n_levels

    try:
        model = FellegiSunter.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path}: dedupe.model is not a model.json of a dedupe run ({exc}); give one, or "
            "leave dedupe.model empty to train the model in the run"
        ) from None
    if model.comparisons != COMPARISONS or model.n_levels != n_levels():
        raise ConfigError(
            f"{path}: dedupe.model has levels {model.n_levels}, this version compares "
            f"{n_levels()}; leave dedupe.model empty for one run and pin its new model.json"
        )
    return model


def _warn_about_limits(counts: dict, params: DedupeParams) -> None:
    """Say in the log what the block and cluster limits left out (summary.json counts it)."""
    # Counts with thousands separators: the log masks runs of seven digits or more as phones.
    blocking = counts["blocking"]
    if blocking["skipped_blocks"]:
        log.warning(
            "dedupe: %s blocks over dedupe.max_block_size (%s records), or for the address "
            "rules over dedupe.whole_block_size (%s) and for postal_street over "
            "dedupe.street_block_size (%s), were skipped (%s key rows); their pairs are "
            "compared only when another rule finds them",
            f"{blocking['skipped_blocks']:,}",
            f"{params.max_block_size:,}",
            f"{params.whole_block_size:,}",
            f"{params.street_block_size:,}",
            f"{blocking['skipped_block_records']:,}",
        )
    if counts["clusters_over_max_size"]:
        log.warning(
            "dedupe: %s clusters over dedupe.max_cluster_size (%s records) were not merged; "
            "their pairs are in dedupe_review.csv with the reason cluster_too_large",
            f"{counts['clusters_over_max_size']:,}",
            f"{params.max_cluster_size:,}",
        )


def plan(context: JobContext) -> JobPlan:
    """Read the Account columns the method compares; flag every non-survivor of a duplicate
    cluster (probabilistic: also the pairs for review and the model)."""
    from ..jobs.dedupe import account_columns

    settings = context.settings
    params = DedupeParams.from_settings(settings)
    probabilistic = params.method == "probabilistic"
    # Read before any work, so that a bad file stops the run at once.
    pinned = pinned_model(params.model) if probabilistic and params.model else None

    def compute(run: Run, compute: ProgressCompute, tables: dict[str, dd.DataFrame]) -> JobOutput:
        if probabilistic:
            return _probabilistic(run, compute, tables["Account"])
        from ..jobs.dedupe import run_dedupe

        with run.stage("dedupe") as stage:
            result = run_dedupe(tables["Account"], params, compute=compute)
            stage["flagged"] = len(result.flagged)
        run.counts.update(result.counts)
        run.inputs["Account"] = sum(result.counts["keys"][params.match_keys[0]].values())
        return JobOutput(result.flagged, "dedupe_flagged", settings.dedupe.sql_table)

    def _probabilistic(run: Run, compute: ProgressCompute, accounts: dd.DataFrame) -> JobOutput:
        from ..jobs.linkage.compare import level_labels
        from ..jobs.linkage.on_dask import run_matcher

        with run.stage("dedupe") as stage:
            result = run_matcher(
                accounts, params.linkage(), pinned, compute=compute, persist=compute.persist
            )
            stage["flagged"] = len(result.flagged)
        run.counts.update(result.counts)
        run.counts["model"] = str(params.model) if pinned is not None else "trained"
        _warn_about_limits(result.counts, params)
        run.inputs["Account"] = result.counts["accounts"]
        return JobOutput(
            result.flagged,
            "dedupe_flagged",
            settings.dedupe.sql_table,
            files={
                "dedupe_review.csv": result.review,
                "model.json": result.model.to_json(level_labels()),
            },
        )

    return JobPlan(params, {"Account": account_columns(params)}, compute)


SPEC = JobSpec(
    name="dedupe",
    help="Flag duplicate accounts; the newest record of each cluster survives.",
    plan=plan,
)
