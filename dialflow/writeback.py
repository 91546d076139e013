"""What `--apply` and the `salesforce` commands do with a run: the orchestration around the
Salesforce sink (`sinks/salesforce.py`), which holds the Bulk API steps themselves.

A write-back runs on a committed run: its files (undo.csv, apply_results.csv) land in the run
folder, and a failure is returned as its cause so the runner fails the command after the run
folder is in place, which keeps undo.csv.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .errors import DialflowError, InputError
from .sinks import write_csv
from .sinks.salesforce import AccountFields

if TYPE_CHECKING:
    from .config import Settings
    from .run import Run
    from .salesforce import Connection

log = logging.getLogger("dialflow")


def connection(settings: Settings) -> Connection:
    from .salesforce import Connection

    return Connection.from_settings(settings.salesforce)


def account_fields(settings: Settings) -> AccountFields:
    """Return where the Account phone fields live in the org."""
    mapped = settings.salesforce.fields.get("Account", {})
    return AccountFields(
        settings.salesforce.objects.get("Account", "Account"),
        {field: mapped.get(field, field) for field in settings.phones.fields},
    )


def apply_cleanup(run: Run, settings: Settings, cleanup: pd.DataFrame) -> str | None:
    """Clear the flagged fields in Salesforce; write undo.csv before the first change and
    apply_results.csv after. Return the cause when the write-back failed."""
    from .sinks.salesforce import clear_fields, plan_clear, undo_rows

    config, where = settings.salesforce, account_fields(settings)
    with run.stage("apply") as stage:
        org = connection(settings)
        to_clear, changed = plan_clear(org, cleanup, where)
        # Verbatim, not spreadsheet-safe: restore writes these values back as they were.
        write_csv(undo_rows(to_clear, where), run.folder / "undo.csv", neutralise=False)
        run.outputs["undo"] = "undo.csv"
        try:
            applied = clear_fields(
                org, to_clear, changed, where, config.apply_batch_records, config.bulk_poll_seconds
            )
        except DialflowError as exc:
            run.counts["apply"] = {"error": str(exc)}
            return f"{exc}; undo.csv in the run folder lists every field it may have cleared"
        return _applied(run, stage, applied, "field update(s)")


def apply_research_requests(run: Run, settings: Settings, requests: pd.DataFrame) -> str | None:
    """Insert the requests as Research_Request__c records; write apply_results.csv."""
    from .sinks.salesforce import insert_research_requests

    with run.stage("apply") as stage:
        config = settings.salesforce
        try:
            applied = insert_research_requests(
                connection(settings),
                requests,
                config.objects.get("Research_Request__c", "Research_Request__c"),
                config.fields.get("Research_Request__c", {}),
                settings.infoflow.request_status,
                config.apply_batch_records,
                config.bulk_poll_seconds,
            )
        except DialflowError as exc:
            run.counts["apply"] = {"error": str(exc)}
            return str(exc)
        return _applied(run, stage, applied, "insert(s)")


def _applied(run: Run, stage: dict[str, Any], applied: Any, what: str) -> str | None:
    """Record a write-back's per-record results; return the cause when Salesforce refused any."""
    write_csv(applied.results, run.folder / "apply_results.csv")
    run.outputs["apply_results"] = "apply_results.csv"
    run.counts["apply"] = applied.counts
    stage.update(applied.counts)
    log.info("applied to Salesforce: %s", applied.counts)
    failed = applied.counts.get("failed", 0)
    return f"Salesforce refused {failed} {what}; see apply_results.csv" if failed else None


def restore_run(settings: Settings, run_folder: Path) -> tuple[dict[str, int], Path]:
    """Write back every value an autoflush --apply cleared (undo.csv), where still empty;
    return the counts by status and the per-field results file written into the run folder."""
    from .sinks.salesforce import UNDO_COLUMNS, require_rows, restore_cleared

    undo_path = run_folder / "undo.csv"
    if not undo_path.is_file():
        raise InputError(
            f"{undo_path}: not found; give the folder of an autoflush run made with --apply"
        )
    undo = pd.read_csv(undo_path, dtype=str, keep_default_na=False)
    require_rows(undo, UNDO_COLUMNS, str(undo_path))
    results = restore_cleared(
        connection(settings),
        undo,
        account_fields(settings),
        settings.salesforce.apply_batch_records,
        settings.salesforce.bulk_poll_seconds,
    )
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%SZ")
    out = run_folder / f"restore_results-{stamp}.csv"
    write_csv(results, out)
    return results["Status"].value_counts().to_dict(), out


def mapping_check(settings: Settings) -> tuple[list[dict], int, int]:
    """Describe every mapped object; return the problems, the objects and the fields checked."""
    from .salesforce import mapping_problems
    from .schema import TABLES, table_columns
    from .sources import SalesforceSource

    source = SalesforceSource.from_settings(settings)
    # An optional table (Internal_DNC) is checked only when salesforce.objects maps it.
    tables = [table for table in TABLES if source.has_table(table)]
    kinds = {table: table_columns(table, settings.phones.fields) for table in tables}
    mapping = {table: source.object_and_fields(table, list(kinds[table])) for table in tables}
    problems = mapping_problems(source.connection(), mapping, kinds)
    return problems, len(mapping), sum(len(names) for _, names in mapping.values())
