"""Run history for `dialflow runs` and `dialflow show`: the run folders and the SQL registry.

A run is recorded in two places: its folder `<output>/<job>/<run_id>/` (summary.json) and, when
SQL is on, a row per result table in the registry `dialflow_runs` (run_id, result table, rows,
committed at), written in the run's commit transaction. The folders hold everything (status,
seconds, as-of, outputs, the earlier runs used); the registry only the run id, its table and
its rows, but it is where other machines look and it outlives pruned folders. `runs` lists
both, matched by run id: a run with a folder shows the folder's facts; a run only in SQL shows
what the registry holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import DialflowError, InputError

if TYPE_CHECKING:
    from .config import Settings

# A run folder's status: committed; a hidden `.<run_id>.tmp` folder is running or was killed.
COMMITTED, UNFINISHED, SQL_ONLY = "committed", "unfinished", "in SQL only"


@dataclass
class RunRecord:
    """One run as `dialflow runs` lists it."""

    run_id: str
    job: str
    status: str
    rows: int | None = None
    seconds: float | None = None
    as_of: str | None = None
    folder: Path | None = None
    in_sql: bool = False
    write_back_failed: bool = False

    @property
    def where(self) -> str:
        places = [name for name, here in (("folder", self.folder), ("SQL", self.in_sql)) if here]
        return "+".join(places)


def job_tables(settings: Settings) -> dict[str, str]:
    """Return each job's SQL result table, by job."""
    return {
        "dedupe": settings.dedupe.sql_table,
        "autoflush": settings.autoflush.sql_table,
        "listiq": settings.listiq.sql_table,
        "infoflow": settings.infoflow.sql_table,
    }


def read_summary(folder: Path) -> dict[str, Any] | None:
    """Return a run folder's summary.json, or None when it has none (yet) or it is unreadable."""
    try:
        data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _record_of_folder(job: str, run_id: str, folder: Path, status: str) -> RunRecord:
    summary = read_summary(folder) or {}
    write = summary.get("stages", {}).get("write", {}) if isinstance(summary, dict) else {}
    apply = summary.get("counts", {}).get("apply")
    return RunRecord(
        run_id=run_id,
        job=job,
        status=status,
        rows=write.get("csv_rows") if isinstance(write, dict) else None,
        seconds=summary.get("seconds"),
        as_of=summary.get("as_of"),
        folder=folder,
        write_back_failed=isinstance(apply, dict)
        and bool(apply.get("error") or apply.get("failed")),
    )


def folder_runs(output_dir: Path, jobs: list[str]) -> list[RunRecord]:
    """Return the runs found in the job folders under output_dir: committed and unfinished."""
    from .run import _hidden_run_id, is_run_id

    records = []
    for job in jobs:
        job_dir = Path(output_dir) / job
        if not job_dir.is_dir():
            continue
        for folder in job_dir.iterdir():
            if is_run_id(folder.name) and folder.is_dir():
                records.append(_record_of_folder(job, folder.name, folder, COMMITTED))
            elif (hidden := _hidden_run_id(folder.name)) is not None:
                records.append(_record_of_folder(job, hidden, folder, UNFINISHED))
    return records


def sql_runs(url: str, tables: dict[str, str]) -> list[dict[str, Any]]:
    """Return the registry rows (run_id, job, rows, committed_at) of the jobs' result tables."""
    import sqlalchemy as sa

    from .sinks.sql import RUNS_TABLE, runs_table, sql_engine_for

    jobs_by_table = {table: job for job, table in tables.items()}

    def failed(cause: str) -> str:
        return (
            f"SQL registry {RUNS_TABLE}: reading it failed ({cause}); check sql.url or use --no-sql"
        )

    with sql_engine_for(url, failed) as engine, engine.connect() as connection:
        if not sa.inspect(connection).has_table(RUNS_TABLE):
            return []
        runs = runs_table(sa.MetaData())
        query = sa.select(runs.c.run_id, runs.c.result_table, runs.c.row_count, runs.c.committed_at)
        rows = connection.execute(query.where(runs.c.result_table.in_(list(jobs_by_table))))
        return [
            {"run_id": run_id, "job": jobs_by_table[table], "rows": count, "committed_at": at}
            for run_id, table, count, at in rows
        ]


def list_runs(
    settings: Settings, job: str | None = None, use_sql: bool = True, limit: int | None = None
) -> list[RunRecord]:
    """Return the runs of one job (or all), newest first: the folders, with the SQL registry's
    runs matched by run id (use_sql and sql.enabled)."""
    tables = job_tables(settings)
    if job is not None and job not in tables:
        raise InputError(f"no job {job!r}; the jobs are {', '.join(tables)}")
    jobs = [job] if job is not None else list(tables)
    records = {(r.job, r.run_id): r for r in folder_runs(settings.run.output_dir, jobs)}
    if use_sql and settings.sql.enabled:
        for row in sql_runs(settings.sql.url, {j: tables[j] for j in jobs}):
            record = records.get((row["job"], row["run_id"]))
            if record is None:
                record = RunRecord(row["run_id"], row["job"], SQL_ONLY, rows=row["rows"])
                records[(row["job"], row["run_id"])] = record
            record.in_sql = True
            if record.rows is None:
                record.rows = row["rows"]
    ordered = sorted(records.values(), key=lambda r: (r.run_id, r.job), reverse=True)
    return ordered[:limit] if limit else ordered


def find_run(settings: Settings, run: str) -> tuple[str, Path]:
    """Return (job, folder) of a run given by its run id or its folder's path."""
    from .run import is_run_id

    given = Path(run)
    if (given / "summary.json").is_file():
        summary = read_summary(given) or {}
        return str(summary.get("job", given.parent.name)), given
    if not is_run_id(run):
        raise InputError(
            f"{run!r}: not a run id (like 2026-11-25T204703Z-e30dc9) nor a run folder; "
            f"`dialflow runs` lists them"
        )
    for job in job_tables(settings):
        folder = settings.run.output_dir / job / run
        if folder.is_dir():
            return job, folder
    raise InputError(
        f"run {run}: no run folder under {settings.run.output_dir}; `dialflow runs` lists the "
        f"runs there (a run only in SQL has no folder to show; --output names another folder)"
    )


def _plural(count: Any, word: str) -> str:
    return (
        f"{count:,} {word}{'' if count == 1 else 's'}" if isinstance(count, int) else f"? {word}s"
    )


def describe_run(summary: dict[str, Any], folder: Path) -> list[str]:
    """Return the lines of `dialflow show`: the run in words, its outputs, the runs it used."""
    job, run_id = summary.get("job", "?"), summary.get("run_id", folder.name)
    inputs = summary.get("inputs", {}) or {}
    outputs = summary.get("outputs", {}) or {}
    write = (summary.get("stages", {}) or {}).get("write", {}) or {}
    status = COMMITTED if not folder.name.startswith(".") else UNFINISHED
    lines = [
        f"{job} run {run_id}: {status}, as of {summary.get('as_of', '?')}, started "
        f"{summary.get('started', '?')}, took {summary.get('seconds', '?')} s"
        + (f", dialflow {summary['dialflow_version']}" if "dialflow_version" in summary else ""),
    ]
    read = [
        f"{_plural(count, 'row')} of {table}"
        for table, count in inputs.items()
        if isinstance(count, int)
    ]
    if read:
        lines.append(f"Read {', '.join(read)}.")
    csv = outputs.get("csv")
    if csv:
        wrote = f"Wrote {_plural(write.get('csv_rows'), 'row')} to {csv}"
        if outputs.get("sql_table"):
            wrote += f" and to the SQL table {outputs['sql_table']}"
        lines.append(wrote + ".")
    config = summary.get("config") or {}
    if config:
        lines.append(
            f"Config: {config.get('path') or 'built-in defaults'} "
            f"(sha256 {str(config.get('sha256', ''))[:12]})"
            + (f", overridden: {', '.join(config['overrides'])}" if config.get("overrides") else "")
        )
    source = summary.get("source") or {}
    if source:
        lines.append(f"Source: {source.get('kind')} {source.get('location')}")
    cluster = summary.get("cluster") or {}
    if cluster:
        lines.append(f"Cluster: {cluster.get('scheduler')} (dashboard {cluster.get('dashboard')})")
    counts = summary.get("counts", {}) or {}
    scalars = [
        f"{key} {value:,}"
        for key, value in counts.items()
        if isinstance(value, int) and not isinstance(value, bool) and not key.endswith("seed")
    ]
    if scalars:
        lines.append(f"Counts: {', '.join(scalars)}.")
    lines.append("Outputs:")
    files = sorted(path for path in folder.iterdir() if path.is_file()) if folder.is_dir() else []
    for path in files:
        lines.append(f"  {path.name} ({path.stat().st_size:,} bytes)")
    lines.append(f"  folder {folder}")
    used = inputs.get("previous_runs")
    lines.append("Earlier runs used:" if used else "Earlier runs used: none")
    for earlier_job, earlier in (used or {}).items():
        lines.append(
            f"  {earlier_job} {earlier.get('run_id')} ({_plural(earlier.get('rows'), 'row')}, "
            f"from {earlier.get('from')})"
        )
    for key in ("reference_tables", "snapshot_of"):
        if key in inputs:
            lines.append(f"  {key.replace('_', ' ')}: {inputs[key]}")
    return lines


def _registry_lines(settings: Settings, run_id: str) -> list[str]:
    """Return what the SQL registry holds of a run that has no folder here (none: [])."""
    if not settings.sql.enabled:
        return []
    tables = job_tables(settings)
    rows = [row for row in sql_runs(settings.sql.url, tables) if row["run_id"] == run_id]
    return [
        f"{row['job']} run {run_id}: committed, {SQL_ONLY} (no run folder under "
        f"{settings.run.output_dir}): {_plural(row['rows'], 'row')} in the SQL table "
        f"{tables[row['job']]}, committed at {row['committed_at']}"
        for row in rows
    ]


def show_run(settings: Settings, run: str) -> list[str]:
    """Return `dialflow show`'s lines for a run id or a run folder; a run whose folder is gone
    (pruned, or written on another machine) is told from the SQL registry."""
    from .run import is_run_id

    try:
        _, folder = find_run(settings, run)
    except InputError:
        lines = _registry_lines(settings, run) if is_run_id(run) else []
        if lines:
            return lines
        raise
    summary = read_summary(folder)
    if summary is None:
        raise DialflowError(f"{folder}: no readable summary.json (an unfinished run?)")
    return describe_run(summary, folder)
