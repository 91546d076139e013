"""The listiq job's spec: today's call list, balanced by state population and record age."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import ConfigError
from ..jobs.listiq import ListiqParams
from ..runner import JobContext, JobOption, JobOutput, JobPlan, JobSpec, previous_runs
from .autoflush import latest_cleanup

if TYPE_CHECKING:
    import dask.dataframe as dd

    from ..jobs.contact import ContactModel
    from ..progress import ProgressCompute
    from ..run import Run

log = logging.getLogger("dialflow")
INTERNAL = "Internal_DNC"  # the internal do-not-call list's table (optional)


def pinned_contact_model(path: Path | None) -> ContactModel | None:
    """Read a contact_model.json a listiq run wrote (None: fit one in the run)."""
    from ..jobs.contact import load_model

    if path is None:
        return None
    try:
        return load_model(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path}: listiq.contact_model is not a contact_model.json of a listiq run ({exc}); "
            "give one, or leave listiq.contact_model empty to fit the model in the run"
        ) from None


def plan(context: JobContext) -> JobPlan:
    """Read the reference tables and the latest dedupe and autoflush results before any work;
    build the pool, apportion, pick and window the list on the cluster."""
    from ..jobs.contact import ContactParams
    from ..jobs.exports import BILLING, build_exports, fetch_details, needs_details
    from ..jobs.listiq import (
        CONTACT_RATE,
        account_columns,
        closed_states,
        ebr_columns,
        run_listiq,
        state_day_rules,
        without_listed_alt_phones,
    )
    from ..jobs.usable_phone import cleared_keys
    from ..runner import make_source
    from ..sources.dnc import registry_for_call_date
    from ..sources.reference import load_reference_tables
    from ..times import parse_call_date

    settings = context.settings
    call_date = context.request.options.get("call_date")
    day = parse_call_date(call_date, context.as_of) if call_date is not None else None
    params = ListiqParams.from_settings(settings, context.as_of, day)
    by_contact = params.selection == CONTACT_RATE
    # Read before any work, so that a bad file stops the run at once.
    pinned = pinned_contact_model(params.contact_model) if by_contact else None
    contact = ContactParams.from_settings(settings, context.as_of) if by_contact else None
    # First, before anything is written (the reference tables may be created in SQL): a
    # registry too old on the call date stops the run here, exit code 2.
    registry = registry_for_call_date(
        settings.dnc.path,
        params.call_date,
        required=settings.dnc.required,
        allow_stale_until=settings.dnc.allow_stale_until,
    )
    has_internal = make_source(settings, context.request.from_snapshot).has_table(INTERNAL)
    reference = load_reference_tables(context.sql_url)
    rules = reference.calling_rules
    closed = closed_states(
        state_day_rules(
            reference.census_population["state"],
            params.call_date,
            params.hours,
            params.state_hours,
            rules,
        )
    )
    flagged = context.latest("dedupe", "dedupe_flagged.csv", settings.dedupe.sql_table, ["Id"])
    cleanup = latest_cleanup(context)
    for job_name, found in (("dedupe", flagged), ("autoflush", cleanup)):
        if found is None:
            log.warning(
                "no %s run found in %s or SQL; nothing is excluded by it",
                job_name,
                context.output_dir,
            )
    cleared = cleared_keys(cleanup.rows) if cleanup else pd.Index([], dtype=str)

    def compute(run: Run, compute: ProgressCompute, tables: dict[str, dd.DataFrame]) -> JobOutput:
        if closed:  # inside the run, so that run.log has it as well as the console
            log.warning(
                "call date %s: no calls in %s; their quota goes to the open states",
                params.call_date.isoformat(),
                ", ".join(f"{state} ({why})" for state, why in closed.items()),
            )
        if registry.warning:
            log.warning("%s", registry.warning)
        if not has_internal:
            log.info(
                "no %s table in the source: the internal DNC list holds the Do_Not_Call__c "
                "accounts' numbers only",
                INTERNAL,
            )
        with run.stage("listiq") as stage:
            result = run_listiq(
                tables["Account"],
                tables["Task"],
                pd.Index(flagged.rows["Id"]) if flagged else pd.Index([], dtype=str),
                cleared,
                reference.area_codes,
                reference.census_population.set_index("state")["population"],
                params,
                compute=compute,
                persist=compute.persist,
                rules=rules,
                registry_numbers=registry.numbers,
                read_registry=registry.reader(),
                internal=tables.get(INTERNAL),
                contact=contact,
                pinned=pinned,
            )
            stage["pool"] = result.counts["pool"]
            stage["delivered"] = result.counts["delivered"]
            details = None
            if needs_details(params.exports):
                details = fetch_details(
                    tables["Account"], result.call_list, cleared, reference.area_codes, params,
                    compute,
                )  # fmt: skip
                details, dropped_alt = without_listed_alt_phones(details, result.dnc, compute)
                result.counts["dnc"]["alt_phones_dropped"] = dropped_alt
            files, exported = build_exports(result.call_list, details, params)
        invalid = result.counts["dnc"]["internal_invalid"]
        if invalid:
            log.warning(
                "%s: %d Phone value(s) are not valid +1 phone numbers and can match no "
                "candidate: those numbers are NOT blocked; correct them in the table",
                INTERNAL,
                invalid,
            )
        run.counts.update(result.counts)
        if result.contact_model is not None:
            run.counts["contact_model"] = str(params.contact_model) if pinned else "fitted"
            files = {**files, "contact_model.json": result.contact_model.to_json()}
        run.counts["dnc"] = {
            **registry.summary,
            "internal_table": INTERNAL if has_internal else "none",
            **result.counts["dnc"],
        }
        run.inputs["dnc_registry"] = registry.summary["registry"]
        if exported:
            run.counts["exports"] = exported
        run.inputs["Account"] = sum(result.counts["accounts_by_status"].values())
        run.inputs.update(result.rows_read)
        run.inputs["reference_tables"] = reference.origin
        run.inputs["previous_runs"] = previous_runs(dedupe=flagged, autoflush=cleanup)
        day = params.call_date.isoformat()
        return JobOutput(
            result.call_list,
            f"call_list_{day}",
            settings.listiq.sql_table,
            files=files,
        )

    accounts = account_columns(params)
    if needs_details(params.exports):  # the VICIdial file's address fields
        accounts += [column for column in BILLING.values() if column not in accounts]
    reads = {"Account": accounts, "Task": ["AccountId", "CreatedDate"]}
    if by_contact:  # the contact model learns from each call's number and disposition
        reads["Task"] += ["Dialed_Number__c", "CallDisposition"]
    if has_internal:
        reads[INTERNAL] = ["Phone"]
    return JobPlan(params, reads, compute, extra_columns={"Account": ebr_columns(params)})


SPEC = JobSpec(
    name="listiq",
    help="Build today's call list, balanced by state population and record age, with call windows.",
    plan=plan,
    options=(
        JobOption(
            "call_date",
            "The day of calling, YYYY-MM-DD. Default: the --as-of date.",
            metavar="YYYY-MM-DD",
        ),
    ),
)
