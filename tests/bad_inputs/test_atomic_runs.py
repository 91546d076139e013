"""A run is all or nothing across its folder and SQL: faults injected at every step of the commit.

Each test commits a good dedupe run A, then a run B with one fault at one step of its commit
(`dialflow.run.commit_step`), on SQLite and PostgreSQL, and asserts what the next listiq would
use as "the latest dedupe" (`latest_result`, the call listiq makes), which folders exist and
which runs SQL holds. The steps, in order: files-written (before any SQL), before-sql-commit
(inside the SQL transaction), after-sql-commit (between COMMIT and the folder rename),
after-rename (the run is complete).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from dialflow.run import (
    SqlResult,
    UnfinishedCommit,
    open_run,
    recover_unfinished_runs,
    stop_on_signals,
    stop_requested,
)
from dialflow.sinks import write_csv
from dialflow.sinks.sql import registered_runs
from dialflow.sources.previous import latest_result
from tests.bad_inputs.conftest import lock_is_free, sql_rows
from tests.sql_servers import backend, other_connection

JOB, CSV, TABLE = "dedupe", "dedupe_flagged.csv", "dedupe_flagged"
AS_OF = pd.Timestamp("2026-11-25T06:00:00Z")
STEPS = ["files-written", "before-sql-commit", "after-sql-commit", "after-rename"]
BEFORE_COMMIT_POINT = {"files-written", "before-sql-commit"}


def flagged(*ids: str) -> pd.DataFrame:
    return pd.DataFrame({"Id": list(ids), "SurvivorId": ["001S"] * len(ids)}, dtype="string")


def commit(output: Path, url: str | None, frame: pd.DataFrame, retention: int | None = None):
    """Run the commit of one dedupe run exactly as the CLI does (CSV, then SQL with the run)."""
    with stop_on_signals(), open_run(output, JOB, AS_OF, {}) as run:
        write_csv(frame, run.folder / CSV)
        run.outputs["csv"] = CSV
        if url is not None:
            run.sql_results.append(SqlResult(url, TABLE, frame, retention))
            run.outputs["sql_table"] = TABLE
    return run


def latest_ids(output: Path, url: str | None) -> tuple[str, list[str]] | None:
    """What listiq would exclude: the latest dedupe run and its flagged Ids."""
    found = latest_result(output, JOB, CSV, url, TABLE, ["Id"])
    return None if found is None else (found.run_id, sorted(found.rows["Id"]))


def folders(output: Path) -> list[str]:
    return sorted(path.name for path in (output / JOB).iterdir())


def kill_sessions(url: str, application: str) -> None:
    """End the PostgreSQL sessions of this test's runs from a second connection."""
    with other_connection(url) as admin:
        killed = admin.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = :name AND pid <> pg_backend_pid()"
            ),
            {"name": application},
        ).all()
    assert killed, "no session to kill"


@pytest.fixture
def tagged_url(sql_url: str) -> tuple[str, str]:
    """The backend's URL with an application name, so a test can kill exactly its sessions."""
    if backend(sql_url) != "postgresql":
        return sql_url, ""
    application = f"dialflow_commit_{uuid.uuid4().hex[:8]}"
    url = sa.engine.make_url(sql_url).update_query_dict({"application_name": application})
    return url.render_as_string(hide_password=False), application


def inject(monkeypatch, at: str, fault: str, url: str, application: str) -> list[str]:
    """Make `commit_step(at)` raise the fault; return the list of steps reached."""
    reached: list[str] = []

    def step(name: str) -> None:
        reached.append(name)
        if name != at:
            return
        if fault in ("SIGINT", "SIGTERM"):
            os.kill(os.getpid(), getattr(signal, fault))
        elif fault == "OSError":
            raise OSError(28, "No space left on device")
        elif fault == "killed SQL session":
            kill_sessions(url, application)

    monkeypatch.setattr("dialflow.run.commit_step", step)
    return reached


CASES = [(at, fault) for at in STEPS for fault in ("SIGINT", "SIGTERM", "OSError")]


@pytest.mark.slow
@pytest.mark.parametrize("sql_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize(("at", "fault"), CASES)
def test_a_fault_at_each_commit_step_leaves_run_b_in_both_places_or_in_neither(
    tmp_path, tagged_url, monkeypatch, at, fault
):
    check_fault(tmp_path, tagged_url, monkeypatch, at, fault)


@pytest.mark.slow
@pytest.mark.parametrize("sql_url", ["postgresql"], indirect=True)
def test_a_sql_session_killed_inside_the_commit_leaves_run_b_nowhere(
    tmp_path, tagged_url, monkeypatch
):
    """A server session to kill exists only inside the SQL transaction (SQLite has none: one
    file, in this process)."""
    check_fault(tmp_path, tagged_url, monkeypatch, "before-sql-commit", "killed SQL session")


def check_fault(tmp_path, tagged_url, monkeypatch, at: str, fault: str) -> None:  # noqa: ANN001
    url, application = tagged_url
    output = tmp_path / "out"
    run_a = commit(output, url, flagged("001A"))
    reached = inject(monkeypatch, at, fault, url, application)
    try:
        if at in BEFORE_COMMIT_POINT:
            # Stopped before the commit point: B is nowhere.
            expected = KeyboardInterrupt if fault.startswith("SIG") else Exception
            with pytest.raises(expected):
                commit(output, url, flagged("001B"))
            visible = run_a.run_id
        elif at == "after-sql-commit" and fault == "OSError":
            # The rename did not happen: B's SQL rows are removed again.
            with pytest.raises(OSError, match="No space left"):
                commit(output, url, flagged("001B"))
            visible = run_a.run_id
        else:
            # Past the commit point a stop waits for the rename (the CLI then exits 130 saying
            # the run completed), and a fault after the rename cannot undo the run.
            run_b = commit(output, url, flagged("001B"))
            assert stop_requested.is_set() == fault.startswith("SIG")
            visible = run_b.run_id
    finally:
        stop_requested.clear()
    assert at in reached
    monkeypatch.undo()
    ids = ["001A"] if visible == run_a.run_id else ["001B"]
    assert latest_ids(output, url) == (visible, ids)  # what listiq uses, folder and SQL
    assert latest_ids(output, None) == (visible, ids)  # ... with --no-sql, from folders only
    assert folders(output) == sorted({run_a.run_id, visible})
    assert registered_runs(url, TABLE) == {run_a.run_id, visible}
    assert sql_rows(url, TABLE) == (1 if visible == run_a.run_id else 2)
    assert lock_is_free(output, JOB)


@pytest.mark.slow
@pytest.mark.parametrize("sql_url", ["sqlite", "postgresql"], indirect=True)
def test_a_failed_rename_whose_sql_undo_fails_too_is_completed_by_the_next_run(
    tmp_path, tagged_url, monkeypatch
):
    """The one case the command cannot settle itself: B's folder could not be moved and its
    SQL rows could not be removed. B is in SQL (committed); its hidden folder is kept, and the
    next dedupe run's recovery moves it into place, so both places agree again."""
    url, _ = tagged_url
    output = tmp_path / "out"
    run_a = commit(output, url, flagged("001A"))
    inject(monkeypatch, "after-sql-commit", "OSError", url, "")

    def undo_fails(*args: object) -> None:
        from dialflow.errors import DialflowError

        raise DialflowError("SQL table dedupe_flagged: removing run failed (server gone)")

    monkeypatch.setattr("dialflow.sinks.sql.forget_run", undo_fails)
    with pytest.raises(UnfinishedCommit, match="completes or removes it"):
        commit(output, url, flagged("001B"))
    monkeypatch.undo()
    (hidden,) = [name for name in folders(output) if name.startswith(".")]
    run_b = hidden[1:-4]
    assert latest_ids(output, url) == (run_b, ["001B"])  # from SQL, where B committed
    recover_unfinished_runs(output, JOB, url)
    assert folders(output) == sorted([run_a.run_id, run_b])
    assert latest_ids(output, None) == (run_b, ["001B"])


CHILD = """
import os, sys
import pandas as pd
from pathlib import Path
import dialflow.run
from tests.bad_inputs.test_atomic_runs import commit, flagged

def step(name):
    if name == sys.argv[3]:
        os._exit(137)  # as kill -9: no handler, no cleanup, the SQL session just drops

dialflow.run.commit_step = step
commit(Path(sys.argv[1]), sys.argv[2], flagged("001B"))
"""


@pytest.mark.slow
@pytest.mark.parametrize("sql_url", ["sqlite", "postgresql"], indirect=True)
@pytest.mark.parametrize("at", ["before-sql-commit", "after-sql-commit"])
def test_a_process_killed_mid_commit_is_settled_by_the_next_run(tmp_path, sql_url, at):
    """kill -9 inside the SQL transaction: the server rolls it back, the next run removes the
    hidden folder. kill -9 after COMMIT: B is committed (SQL shows it at once) and the next
    run moves its folder into place."""
    output = tmp_path / "out"
    run_a = commit(output, sql_url, flagged("001A"))
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(output), sql_url, at],
        cwd=Path(__file__).parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 137, child.stderr
    (hidden,) = [name for name in folders(output) if name.startswith(".")]
    run_b = hidden[1:-4]
    committed = at == "after-sql-commit"
    visible = run_b if committed else run_a.run_id
    assert latest_ids(output, sql_url) == (visible, ["001B"] if committed else ["001A"])
    recover_unfinished_runs(output, JOB, sql_url)
    assert folders(output) == sorted({run_a.run_id, visible})
    assert latest_ids(output, None) == latest_ids(output, sql_url)


def test_a_copied_or_misnamed_folder_is_never_a_run(tmp_path):
    output = tmp_path / "out"
    run_a = commit(output, None, flagged("001A"))
    shutil.copytree(run_a.folder, output / JOB / f"backup-of-{run_a.run_id}")
    shutil.copytree(run_a.folder, output / JOB / "2099-01-01T000000Z-notrun")
    shutil.copytree(run_a.folder, output / JOB / f"{run_a.run_id}.old")
    assert latest_ids(output, None) == (run_a.run_id, ["001A"])


def test_sql_rows_without_a_registered_run_are_never_a_run(tmp_path):
    """Rows of a run that never registered (an older release, another tool) are not used."""
    url = f"sqlite:///{tmp_path / 'dialflow.sqlite'}"
    output = tmp_path / "out"
    run_a = commit(output, url, flagged("001A"))
    with other_connection(url) as connection:
        connection.execute(
            sa.text(f"INSERT INTO {TABLE} (run_id, created_at, Id) VALUES (:r, :c, '001Z')"),
            {"r": "2099-01-01T000000Z-ffffff", "c": "2099-01-01 00:00:00"},
        )
    assert latest_ids(output, url) == (run_a.run_id, ["001A"])


def test_retention_prunes_only_after_the_run_is_complete(tmp_path, monkeypatch):
    """With retention 1, a run whose rename fails must not have pruned the previous run."""
    url = f"sqlite:///{tmp_path / 'dialflow.sqlite'}"
    output = tmp_path / "out"
    run_a = commit(output, url, flagged("001A"), retention=1)
    inject(monkeypatch, "after-sql-commit", "OSError", url, "")
    with pytest.raises(OSError):
        commit(output, url, flagged("001B"), retention=1)
    monkeypatch.undo()
    assert latest_ids(output, url) == (run_a.run_id, ["001A"])
    run_c = commit(output, url, flagged("001C"), retention=1)
    assert registered_runs(url, TABLE) == {run_c.run_id}


# --- through the CLI: what the next listiq really uses -------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    from tests.conftest import make_demo

    return make_demo(tmp_path_factory.mktemp("demo"), 1500, 4000, 5, "2026-11-25")


def _sigterm_at(monkeypatch, at: str) -> None:
    def step(name: str) -> None:
        if name == at:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr("dialflow.run.commit_step", step)


@pytest.mark.slow
def test_sigterm_inside_the_sql_commit_exits_130_and_listiq_uses_the_previous_dedupe(
    tmp_path, demo, monkeypatch
):
    from tests.conftest import one_error_line, run_cli, run_folder, write_config

    config = str(write_config(tmp_path, demo, extra="listiq:\n  target_total_records: 50\n"))
    sql_url = f"sqlite:///{tmp_path / 'out' / 'dialflow.sqlite'}"
    run_a = run_folder(run_cli("run", "dedupe", "--config", config, "--as-of", "2026-11-25"))
    _sigterm_at(monkeypatch, "before-sql-commit")
    stopped = run_cli("run", "dedupe", "--config", config, "--as-of", "2026-11-25")
    monkeypatch.undo()
    assert stopped.exit_code == 130
    assert one_error_line(stopped.output) == "Error: interrupted; no run folder was kept"
    assert folders(tmp_path / "out") == [run_a.name]
    assert registered_runs(sql_url, TABLE) == {run_a.name}
    listiq = run_folder(run_cli("run", "listiq", "--config", config, "--as-of", "2026-11-25"))
    summary = json.loads((listiq / "summary.json").read_text(encoding="utf-8"))
    assert summary["inputs"]["previous_runs"]["dedupe"]["run_id"] == run_a.name


@pytest.mark.slow
def test_sigterm_after_the_sql_commit_completes_the_run_and_exits_130_saying_so(
    tmp_path, demo, monkeypatch
):
    from tests.conftest import one_error_line, run_cli, write_config

    config = str(write_config(tmp_path, demo))
    sql_url = f"sqlite:///{tmp_path / 'out' / 'dialflow.sqlite'}"
    _sigterm_at(monkeypatch, "after-sql-commit")
    stopped = run_cli("run", "dedupe", "--config", config, "--as-of", "2026-11-25")
    monkeypatch.undo()
    assert stopped.exit_code == 130
    (run_b,) = folders(tmp_path / "out")
    final = tmp_path / "out" / JOB / run_b
    assert one_error_line(stopped.output) == (
        f"Error: interrupted after run {run_b} committed; its run folder {final} is complete"
    )
    assert registered_runs(sql_url, TABLE) == {run_b}
    assert latest_ids(tmp_path / "out", sql_url)[0] == run_b
