"""The bad-input catalogue, part 1: time options that mean nothing, SQL URLs whose password must
never be shown, SQL drivers that are not installed, and job files that cannot apply.

Every refusal here happens before a cluster starts: the `no_cluster` fixture makes starting one
fail the test, and each refused run must end well under REFUSED_WITHIN seconds.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from tests.bad_inputs.conftest import assert_nothing_left
from tests.conftest import make_demo, one_error_line, run_cli, write_config

AS_OF = "2026-11-25T06:00:00Z"
PASSWORD = "S3cretPW"  # must never appear in any output
REFUSED_WITHIN = 3.0  # seconds; a LocalCluster alone takes longer to start and stop
ISO_FIX = "give ISO-8601 like 2026-11-25T06:00:00Z"
ENCODE_FIX = "URL-encode the password: urllib.parse.quote(password, safe='') turns @ into %40"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """Real data, so that a run that is not refused would really run."""
    return make_demo(tmp_path_factory.mktemp("demo"), 200, 400, 3, "2026-11-25")


@pytest.fixture
def no_cluster(monkeypatch):
    """Fail the test if the command gets as far as starting (or connecting to) a cluster."""

    def refuse(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a cluster was started for a run that should have been refused")

    monkeypatch.setattr("dialflow.cluster.open_client", refuse)


def refused(*args: str):  # noqa: ANN201 - typer's Result
    """Run the CLI and check the refusal was quick; return the result."""
    started = time.perf_counter()
    result = run_cli(*args)
    assert time.perf_counter() - started < REFUSED_WITHIN, result.output
    return result


def config_with(tmp_path: Path, demo: Path, extra: str) -> Path:
    """Write the test config with extra YAML in place of its sql section."""
    path = write_config(tmp_path, demo)
    text = path.read_text(encoding="utf-8")
    if extra.startswith("sql:"):
        text = text[: text.index("sql:\n")]
    path.write_text(text + extra, encoding="utf-8")
    return path


def assert_no_password(result) -> None:  # noqa: ANN001 - typer's Result
    assert PASSWORD not in result.output
    assert PASSWORD not in (result.stderr or "")
    for part in ("S3cr", "etPW"):  # no half of it either (an unencoded @ split it once)
        assert part not in result.output


# --- Time options ---------------------------------------------------------------------------


RANGE_FIX = "give a time from 1900-01-01 to 2199-12-31 (UTC)"
LATER_FIX = "give an earlier time, or a later --as-of"
# (job, options, extra config, the exact error line): each refused before a cluster starts.
REFUSED_TIMES = {
    "empty --as-of (an unset crontab variable)": (
        "dedupe", ["--as-of", ""], "", f"Error: --as-of '': not a timestamp; {ISO_FIX}"
    ),
    "--as-of NaT": (
        "autoflush", ["--as-of", "NaT"], "", f"Error: --as-of 'NaT': not a timestamp; {ISO_FIX}"
    ),
    "--as-of not ISO-8601": (
        "dedupe", ["--as-of", "25 Nov 2026"], "",
        f"Error: --as-of '25 Nov 2026': not a timestamp; {ISO_FIX}",
    ),
    "--as-of beyond the accepted years": (
        "autoflush", ["--as-of", "9999-12-31T23:00Z"], "",
        f"Error: --as-of '9999-12-31T23:00Z': outside the accepted range; {RANGE_FIX}",
    ),
    "--since after --as-of": (
        "autoflush", ["--as-of", AS_OF, "--since", "2026-12-01"], "",
        f"Error: --since '2026-12-01': not before --as-of 2026-11-25T06:00:00Z; {LATER_FIX}",
    ),
    "empty --since": (
        "autoflush", ["--as-of", AS_OF, "--since", ""], "",
        f"Error: --since '': not a timestamp; {ISO_FIX}",
    ),
    "autoflush.since after --as-of": (
        "autoflush", ["--as-of", AS_OF], "autoflush:\n  since: 2026-12-01\n",
        "Error: autoflush.since = 2026-12-01T00:00:00Z: not before --as-of "
        f"2026-11-25T06:00:00Z; {LATER_FIX}",
    ),
    "empty --call-date": (
        "listiq", ["--as-of", AS_OF, "--call-date", "", "--no-sql"], "",
        "Error: --call-date '': not a date; give YYYY-MM-DD like 2026-11-25",
    ),
    "--call-date far from --as-of": (
        "listiq", ["--as-of", AS_OF, "--call-date", "2027-11-25"], "",
        "Error: --call-date '2027-11-25': too far from the --as-of day 2026-11-25; give a day "
        "from 2026-11-24 to 2026-12-02, or move --as-of",
    ),
}  # fmt: skip


@pytest.mark.parametrize(("job", "options", "extra", "line"), list(REFUSED_TIMES.values()),
                         ids=list(REFUSED_TIMES))  # fmt: skip
def test_a_time_that_means_nothing_is_refused_before_any_work(
    tmp_path, demo, no_cluster, job, options, extra, line
):
    config = str(write_config(tmp_path, demo, extra))
    result = refused("run", job, "--config", config, *options)
    assert result.exit_code == 2
    assert one_error_line(result.output) == line
    assert_nothing_left(tmp_path / "out", job)


def test_as_of_more_than_a_day_ahead_is_refused(tmp_path, demo, no_cluster):
    config = str(write_config(tmp_path, demo))
    result = refused("run", "infoflow", "--config", config, "--as-of", "2199-01-01")
    assert result.exit_code == 2
    line = one_error_line(result.output)
    assert line.startswith("Error: --as-of '2199-01-01': more than a day after the current time ")
    assert line.endswith("; give the run's reference time, at most one day ahead")
    assert_nothing_left(tmp_path / "out", "infoflow")


def test_config_since_beyond_the_accepted_years_is_refused(tmp_path, demo):
    config = write_config(tmp_path, demo, "autoflush:\n  since: '9999-12-31T23:00Z'\n")
    result = refused("config", "check", "--config", str(config))
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {config}: autoflush.since = '9999-12-31T23:00Z' is not allowed: outside the "
        "accepted range; give a time from 1900-01-01 to 2199-12-31 (UTC)"
    )


def test_demo_data_with_an_empty_as_of_is_refused(tmp_path):
    out = tmp_path / "demo"
    result = refused(
        "demo-data", "--accounts", "10", "--calls", "0", "--as-of", "", "--out", str(out)
    )
    assert result.exit_code == 2
    assert one_error_line(result.output) == f"Error: --as-of '': not a timestamp; {ISO_FIX}"
    assert not out.exists()


# --- Passwords in SQL URLs ------------------------------------------------------------------

BAD_PORT_URL = f"postgresql+psycopg://postgres:{PASSWORD}@localhost:54x32/test"
BAD_PORT_LINE = (
    "sql.url = 'postgresql+psycopg://postgres:***@localhost:54x32/test' is not allowed: the port "
    f"is not a number; write host:5432, and if the password holds @ or :, {ENCODE_FIX}"
)


def test_config_check_masks_the_password_of_an_invalid_sql_url(tmp_path, demo):
    config = config_with(tmp_path, demo, f"sql:\n  url: '{BAD_PORT_URL}'\n")
    result = refused("config", "check", "--config", str(config))
    assert result.exit_code == 2
    assert one_error_line(result.output) == f"Error: {config}: {BAD_PORT_LINE}"
    assert_no_password(result)


def test_a_run_masks_the_password_of_an_invalid_sql_url(tmp_path, demo, no_cluster):
    config = config_with(tmp_path, demo, f"sql:\n  url: '{BAD_PORT_URL}'\n")
    result = refused("run", "dedupe", "--config", str(config), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert one_error_line(result.output) == f"Error: {config}: {BAD_PORT_LINE}"
    assert_no_password(result)
    assert_nothing_left(tmp_path / "out", "dedupe")


def test_an_unencoded_at_in_the_password_is_masked_whole_and_says_how_to_encode(tmp_path, demo):
    url = "postgresql+psycopg://postgres:S3cr@etPW@localhost:5432/test"
    config = config_with(tmp_path, demo, f"sql:\n  url: '{url}'\n")
    result = refused("config", "check", "--config", str(config))
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {config}: sql.url = 'postgresql+psycopg://postgres:***@localhost:5432/test' is "
        f"not allowed: the password (or user name) holds an unencoded @; {ENCODE_FIX}"
    )
    assert_no_password(result)


def test_config_check_output_masks_the_source_sql_url(tmp_path, demo):
    url = f"postgresql+psycopg://reader:{PASSWORD}@db.example:5432/crm"
    config = write_config(tmp_path, demo, f"source:\n  kind: sql\n  sql_url: '{url}'\n")
    config.write_text(
        config.read_text(encoding="utf-8").replace(f"source:\n  path: {demo}\n", ""),
        encoding="utf-8",
    )
    result = refused("config", "check", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert "sql_url: postgresql+psycopg://reader:***@db.example:5432/crm" in result.stdout
    assert_no_password(result)


def test_an_invalid_source_sql_url_is_masked(tmp_path, demo, no_cluster):
    url = f"postgresql+psycopg://reader:{PASSWORD}@db.example:5x432/crm"
    config = write_config(tmp_path, demo, f"source:\n  kind: sql\n  sql_url: '{url}'\n")
    config.write_text(
        config.read_text(encoding="utf-8").replace(f"source:\n  path: {demo}\n", ""),
        encoding="utf-8",
    )
    result = refused("run", "autoflush", "--config", str(config), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {config}: source.sql_url = 'postgresql+psycopg://reader:***@db.example:5x432/crm'"
        f" is not allowed: the port is not a number; write host:5432, and if the password holds "
        f"@ or :, {ENCODE_FIX}"
    )
    assert_no_password(result)
    assert_nothing_left(tmp_path / "out", "autoflush")


def test_a_sql_connection_error_of_the_previous_results_hides_the_password(
    tmp_path, demo, no_cluster
):
    # infoflow reads the latest autoflush result from sql.url before the cluster starts
    # (dialflow/sources/previous.py); nothing listens on port 1.
    url = f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:1/test"
    config = config_with(tmp_path, demo, f"sql:\n  url: '{url}'\n")
    result = refused("run", "infoflow", "--config", str(config), "--as-of", AS_OF)
    assert result.exit_code == 1
    assert one_error_line(result.output) == (
        "Error: SQL table autoflush_cleanup: reading the latest run failed (OperationalError: "
        'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection '
        "refused); check sql.url, or run with --no-sql"
    )
    assert_no_password(result)
    assert_nothing_left(tmp_path / "out", "infoflow")


def test_a_sql_source_connection_error_hides_the_password(tmp_path, demo):
    # The SQL source is read once the cluster runs (the one case here that starts one).
    url = f"postgresql+psycopg://reader:{PASSWORD}@127.0.0.1:1/crm"
    config = write_config(tmp_path, demo, f"source:\n  kind: sql\n  sql_url: '{url}'\n")
    config.write_text(
        config.read_text(encoding="utf-8").replace(f"source:\n  path: {demo}\n", ""),
        encoding="utf-8",
    )
    result = run_cli("run", "dedupe", "--config", str(config), "--as-of", AS_OF, "--no-sql")
    assert result.exit_code == 1
    assert one_error_line(result.output) == (
        "Error: SQL table Account: reading failed (OperationalError: connection failed: "
        'connection to server at "127.0.0.1", port 1 failed: Connection refused); check '
        "source.sql_url and the database"
    )
    assert_no_password(result)
    assert_nothing_left(tmp_path / "out", "dedupe")


# --- SQL drivers ----------------------------------------------------------------------------


def test_an_unknown_sql_driver_is_refused_by_config_check(tmp_path, demo):
    url = f"postgresql+nosuchdriver://postgres:{PASSWORD}@localhost/test"
    config = config_with(tmp_path, demo, f"sql:\n  url: '{url}'\n")
    result = refused("config", "check", "--config", str(config))
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {config}: sql.url = 'postgresql+nosuchdriver://postgres:***@localhost/test' is "
        "not allowed: SQLAlchemy has no driver postgresql+nosuchdriver; use one like sqlite, "
        "postgresql+psycopg, mysql+pyodbc or mssql+pyodbc"
    )
    assert_no_password(result)


def test_a_driver_whose_package_is_missing_is_refused_before_the_run(
    tmp_path, demo, no_cluster, monkeypatch
):
    monkeypatch.setitem(sys.modules, "pymysql", None)  # not installed, whatever the machine has
    config = config_with(tmp_path, demo, "sql:\n  url: 'mysql+pymysql://root@localhost/test'\n")
    result = refused("run", "dedupe", "--config", str(config), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {config}: sql.url = 'mysql+pymysql://root@localhost/test' is not allowed: "
        "driver mysql+pymysql needs the Python package PyMySQL, which is not installed; "
        "pip install PyMySQL"
    )
    assert_nothing_left(tmp_path / "out", "dedupe")


# --- dedupe.phone_field ---------------------------------------------------------------------


def test_a_dedupe_phone_field_outside_phones_fields_is_refused_by_config_check(tmp_path, demo):
    config = write_config(tmp_path, demo, "dedupe:\n  phone_field: Fax\n")
    result = refused("config", "check", "--config", str(config))
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {config}: dedupe.phone_field = 'Fax' is not one of phones.fields (Phone, "
        "Phone_2__c, Phone_3__c, Mobile_Phone__c, Home_Phone__c, Other_Phone__c); name one of "
        "them or leave it null"
    )


# --- Job files ------------------------------------------------------------------------------


def job_file(tmp_path: Path, config: Path, overrides: str) -> Path:
    path = tmp_path / "jobs" / "nightly.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"job: dedupe\nconfig: {config}\noverrides: {overrides}\n"
        "options: {no_sql: true}\nnotify: {enabled: false}\n",
        encoding="utf-8",
    )
    return path


def test_a_job_file_override_below_a_single_value_is_refused(tmp_path, demo, no_cluster):
    path = job_file(tmp_path, write_config(tmp_path, demo), "{run.output_dir.x: 1}")
    result = refused("submit", str(path))
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {path}: overrides.run.output_dir.x: run.output_dir is a single value, so "
        "run.output_dir.x cannot be set below it; override run.output_dir itself"
    )
    assert_nothing_left(tmp_path / "out", "dedupe")


def test_a_job_file_override_of_no_setting_names_the_job_file(tmp_path, demo, no_cluster):
    path = job_file(tmp_path, write_config(tmp_path, demo), "{dedupe.phonefield: Phone}")
    result = refused("submit", str(path))
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {path}: overrides.dedupe.phonefield: dedupe.phonefield is not a setting; known "
        "here: method, match_keys, phone_field, postal_digits, legal_suffixes, sql_table, "
        "threshold, review_threshold, blocking_rules, max_block_size, whole_block_size, "
        "block_window, street_block_size, max_cluster_size, model, seed, u_pairs, "
        "u_sample_records, prior_recall"
    )
    assert_nothing_left(tmp_path / "out", "dedupe")


def test_a_job_file_override_takes_the_environment_and_its_password_is_masked(
    tmp_path, demo, no_cluster, monkeypatch
):
    # ${VAR} is expanded as in config.yaml: the expanded URL (a bad port) is what is refused.
    monkeypatch.setenv("DF_NIGHTLY_SQL_URL", BAD_PORT_URL)
    config = write_config(tmp_path, demo)
    path = job_file(tmp_path, config, "{sql.url: '${DF_NIGHTLY_SQL_URL}'}")
    result = refused("submit", str(path))
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {config} with the override sql.url: {BAD_PORT_LINE}"
    )
    assert_no_password(result)
    assert_nothing_left(tmp_path / "out", "dedupe")


def test_a_job_file_override_with_an_unset_variable_names_the_job_file(
    tmp_path, demo, no_cluster, monkeypatch
):
    monkeypatch.delenv("DF_NIGHTLY_UNSET", raising=False)
    path = job_file(tmp_path, write_config(tmp_path, demo), "{sql.url: '${DF_NIGHTLY_UNSET}'}")
    result = refused("submit", str(path))
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {path}: overrides.sql.url uses ${{DF_NIGHTLY_UNSET}}, which is not set in the "
        "environment; export DF_NIGHTLY_UNSET or write ${DF_NIGHTLY_UNSET:-default}"
    )
    assert_nothing_left(tmp_path / "out", "dedupe")
