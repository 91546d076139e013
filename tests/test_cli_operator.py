"""What an operator sees without a cluster: help texts, --version, --set, config paths, JSON logs,
warnings as log lines, demo-data's printout, `config check --connect`, `runs` and `show`
(issue 16). The runs end to end are in test_cli_operator_runs.py."""

from __future__ import annotations

import io
import json
import logging
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest
import typer.main
from typer.testing import CliRunner

from dialflow import __version__
from dialflow.cli import DEMO_ACCOUNTS, DEMO_CALLS, app
from dialflow.config import load_settings
from dialflow.logs import route_warnings, setup_logging
from dialflow.sinks.sql import write_sql_table
from tests.conftest import one_error_line, run_cli

REPO = Path(__file__).resolve().parents[1]


def every_command() -> list[list[str]]:
    """Return the argument path of every command and group of the CLI."""
    found: list[list[str]] = []

    def walk(command, path: list[str]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_version_on_the_command_line():
    result = run_cli("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"dialflow {__version__}"


def test_top_help_is_for_operators_with_completion_and_the_logging_options():
    text = run_cli("--help").stdout
    assert "thin commands" not in text and "load config" not in text
    for option in ("--version", "--quiet", "--log-level", "--log-format", "--install-completion"):
        assert option in text, option
    assert "dialflow run dedupe" in text  # an example


@pytest.mark.parametrize("path", every_command(), ids=lambda p: " ".join(p) or "dialflow")
def test_every_command_has_an_example(path):
    result = run_cli(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Example" in result.stdout, result.stdout
    examples = result.stdout.split("Example", 1)[1]
    prefix = " ".join(["dialflow", *path])
    assert re.search(rf"^\W*{re.escape(prefix)}\b", examples, re.MULTILINE), result.stdout


# What a value option's metavar must not be: a type name says nothing of the format.
TYPE_NAMES = {"TEXT", "INTEGER", "FLOAT", "PATH", "BOOLEAN", "<str>", "<int>", "<path>", "<bool>"}


def option_help(path: list[str]) -> list[tuple[bool, str, str]]:
    """Return each option of a command as its help shows it: (a flag?, names and metavar,
    help text with the default)."""
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    context = command.context_class(command, info_name=" ".join(["dialflow", *path]))
    return [
        (param.is_flag, *param.get_help_record(context))
        for param in command.get_params(context)
        if param.param_type_name == "option"
    ]


def flat_help(path: list[str]) -> str:
    """Return a command's rendered --help as one line of words, without the box lines."""
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return " ".join(re.sub("[\u2500-\u257f]", " ", result.stdout).split())


@pytest.mark.parametrize("path", every_command(), ids=lambda p: " ".join(p) or "dialflow")
def test_every_option_shows_its_format_and_default(path):
    shown = flat_help(path)
    for is_flag, names, text in option_help(path):
        if is_flag:  # on or off: no value, so no format; off unless a pair says its default
            assert re.fullmatch(r"(-\w, )?--[\w-]+( / --[\w-]+)?", names), names
            continue
        metavar = names.rsplit(" ", 1)[1]
        assert metavar not in TYPE_NAMES, names
        assert re.fullmatch(r"[A-Z][A-Z_=.-]*|<[a-z|]+>|[A-Z-]+", metavar), names
        assert metavar in shown, (names, shown)
        # typer's "[default: 20" (a range may follow), or the help's own "Default: ..."
        default = re.search(r"\[default: [^\];]+|Default:( \S+){1,3}", text)
        assert default is not None, (names, text)
        assert " ".join(default.group(0).split()) in shown, (names, default.group(0))


@pytest.mark.parametrize("job", ["dedupe", "autoflush", "infoflow", "listiq"])
def test_run_help_shows_flags_as_flags_and_every_option_s_format_and_default(job):
    text = run_cli("run", job, "--help").stdout
    flat = " ".join(re.sub("[\u2500-\u257f]", " ", text).split())  # without the box lines
    for flag in ("--no-sql", "--no-email"):
        assert re.search(re.escape(flag) + r"\s+(<bool>|BOOLEAN|\[bool\])", flat) is None, flat
        assert flag in flat
    assert "TIMESTAMP" in flat and "ISO-8601" in flat and "Default: now" in flat
    assert "KEY=VALUE" in flat and "--set" in flat
    assert "Default: source.path" in flat and "Default: run.output_dir" in flat
    assert "Default: ./config.yaml" in flat
    # --no-sql says the same for every job
    assert "write no SQL table" in flat and "source tables are still read" in flat


def test_set_refuses_an_unknown_key_and_a_bad_value_before_any_work(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"run:\n  output_dir: {tmp_path / 'out'}\n", encoding="utf-8")
    unknown = run_cli("run", "listiq", "--config", str(config), "--set", "listiq.nope=1")
    assert unknown.exit_code == 2
    assert "--set listiq.nope: listiq.nope is not a setting" in one_error_line(unknown.output)
    bad = run_cli(
        "run", "listiq", "--config", str(config), "--set", "listiq.target_total_records=many"
    )
    assert bad.exit_code == 2
    line = one_error_line(bad.output)
    assert "with the override listiq.target_total_records" in line and "'many'" in line
    shape = run_cli("run", "listiq", "--config", str(config), "--set", "no-equals-sign")
    assert shape.exit_code == 2 and "give KEY=VALUE" in one_error_line(shape.output)
    assert not (tmp_path / "out").exists()


def test_set_values_are_yaml_and_checked_by_the_settings():
    from dialflow.cli import parse_sets

    assert parse_sets(
        ["listiq.target_total_records=5000", "listiq.exports=[csv, vicidial]", "sql.enabled=false"]
    ) == {
        "listiq.target_total_records": 5000,
        "listiq.exports": ["csv", "vicidial"],
        "sql.enabled": False,
    }
    settings = load_settings(None, parse_sets(["listiq.target_total_records=5000"]))
    assert settings.listiq.target_total_records == 5000


def test_config_paths_are_relative_to_the_config_file_not_the_working_directory(
    tmp_path, monkeypatch
):
    folder = tmp_path / "etc"
    folder.mkdir()
    folder = folder.resolve()
    (folder / "model.json").write_text("{}", encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(
        "run:\n  output_dir: out\nsource:\n  path: data\n  tables: {Task: exports/calls.csv}\n"
        "sql:\n  url: sqlite:///out/dialflow.sqlite\ndedupe:\n  model: model.json\n",
        encoding="utf-8",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(Path("../etc/config.yaml"))
    assert settings.run.output_dir == folder / "out"
    assert settings.source.path == folder / "data"
    assert settings.source.tables["Task"] == folder / "exports" / "calls.csv"
    assert settings.sql.url == f"sqlite:///{folder}/out/dialflow.sqlite"
    assert settings.dedupe.model == folder / "model.json"  # found, so the file check passed
    # The defaults the file leaves out lie beside it too.
    assert settings.dnc.path == folder / "data" / "dnc"
    # Command-line values stay relative to the working directory; absolute ones stay.
    given = load_settings(config, {"source.path": "mine", "run.output_dir": "/abs/out"})
    assert given.source.path == Path("mine") and given.run.output_dir == Path("/abs/out")
    # No config file: the built-in defaults, relative to the working directory.
    assert load_settings(None).source.path == Path("data/demo")


def test_a_job_file_s_path_overrides_are_relative_to_the_job_file(tmp_path):
    from dialflow.submit import load_job_file, run_request

    path = tmp_path / "jobs" / "nightly.yaml"
    path.parent.mkdir()
    path.write_text(
        "job: dedupe\nconfig: ../config.yaml\noverrides: {source.path: ../data, dedupe.seed: 3}\n",
        encoding="utf-8",
    )
    request = run_request(load_job_file(path), path, None)
    assert request.overrides == {"source.path": str(tmp_path / "data"), "dedupe.seed": 3}


def test_json_log_lines_parse_and_are_masked(capsys):
    try:
        setup_logging(True, "INFO", "json")
        logging.getLogger("dialflow").info("called +1 415 867 5309")
        logging.getLogger("dialflow.runner").debug("not shown at INFO")
        logging.getLogger("dialflow").warning("careful")
        lines = capsys.readouterr().err.strip().splitlines()
    finally:
        setup_logging()
    records = [json.loads(line) for line in lines]
    assert [r["level"] for r in records] == ["INFO", "WARNING"]
    assert set(records[0]) >= {"time", "level", "logger", "message"}
    assert "8675309" not in records[0]["message"] and records[0]["message"].endswith("09")


def test_quiet_and_log_level_set_the_terminal_not_the_run_log(capsys, tmp_path):
    from dialflow.logs import log_to_file, stop_logging_to_file

    try:
        setup_logging(False)  # --quiet
        handler = log_to_file(tmp_path / "run.log")
        logger = logging.getLogger("dialflow")
        logger.info("an info line")
        logger.warning("a warning line")
        stop_logging_to_file(handler)
        err = capsys.readouterr().err
        setup_logging(True, "ERROR")
        logger.warning("hidden at ERROR")
        err_error_level = capsys.readouterr().err
    finally:
        setup_logging()
    assert "an info line" not in err and "a warning line" in err
    assert "hidden at ERROR" not in err_error_level
    text = (tmp_path / "run.log").read_text()
    assert "an info line" in text and "a warning line" in text


def test_python_warnings_become_one_log_line_not_raw_text():
    seen = io.StringIO()
    handler = logging.StreamHandler(seen)
    logger = logging.getLogger("dialflow.warnings")
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            route_warnings()
            warnings.warn("something odd\n  on two lines", UserWarning, stacklevel=1)
    finally:
        logger.removeHandler(handler)
    assert seen.getvalue() == "UserWarning: something odd on two lines\n"


def test_a_warning_raised_inside_dask_is_one_distributed_warnings_line():
    import distributed

    seen = io.StringIO()
    handler = logging.StreamHandler(seen)
    logger = logging.getLogger("distributed.warnings")
    logger.addHandler(handler)
    inside = str(Path(distributed.__file__).parent / "node.py")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            route_warnings()
            warnings.warn_explicit(
                "Port 8787 is already in use.\nPerhaps you already have a cluster running?",
                UserWarning, inside, 240,
            )  # fmt: skip
    finally:
        logger.removeHandler(handler)
    assert seen.getvalue() == (
        "UserWarning: Port 8787 is already in use. Perhaps you already have a cluster running?\n"
    )


def test_dask_s_routine_warnings_are_kept_off_and_its_errors_are_not():
    from dialflow.worker_logs import NOISY_DASK_LOGGERS, silence_noisy_dask_loggers

    silence_noisy_dask_loggers()
    for name in NOISY_DASK_LOGGERS:
        logger = logging.getLogger(name)
        assert not logger.isEnabledFor(logging.WARNING), name
        assert logger.isEnabledFor(logging.ERROR), name


def test_the_readme_walkthrough_shows_a_report_screenshot():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    walkthrough = readme.split("## The dedupe job", 1)[0]
    images = re.findall(r"!\[([^\]]+)\]\(([^)]+\.png)\)", walkthrough)
    assert [path for _, path in images] == ["docs/report-listiq.png"]
    assert images[0][0].startswith("listiq's report.html")
    png = (REPO / images[0][1]).read_bytes()
    # A PNG as test_report_pages.py writes the top of a report: 1280 pixels wide.
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == 1280


def test_every_test_docs_operator_md_names_exists():
    named = set(re.findall(r"\btest_\w+", (REPO / "docs" / "operator.md").read_text()))
    modules = {path.stem for path in (REPO / "tests").glob("test_*.py")}
    defined = {
        match
        for path in (REPO / "tests").glob("test_*.py")
        for match in re.findall(r"^def (test_\w+)", path.read_text(), re.MULTILINE)
    }
    assert named - modules, "the table names no test"
    assert sorted(named - modules - defined) == []


def test_demo_data_defaults_are_the_readme_s_and_its_printout_is_short(tmp_path):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"default {DEMO_ACCOUNTS:,} accounts and {DEMO_CALLS:,} calls" in " ".join(
        readme.split()
    )
    params = {p.name: p for p in typer.main.get_command(app).commands["demo-data"].params}
    assert (params["accounts"].default, params["calls"].default) == (DEMO_ACCOUNTS, DEMO_CALLS)
    out = tmp_path / "demo"
    result = run_cli(
        "demo-data", "--accounts", "10", "--calls", "20", "--as-of", "2026-11-25", "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 4, result.output
    assert "{" not in result.output
    assert "Account 10" in lines[1] and "Task 20" in lines[1]
    assert lines[3].strip() == f"every count: {out / '_demo.json'}"


def test_config_check_connect_says_ok_or_failed_per_check_and_fails(tmp_path):
    demo = tmp_path / "demo"
    assert (
        run_cli("demo-data", "--accounts", "10", "--calls", "10", "--out", str(demo)).exit_code == 0
    )
    config = tmp_path / "config.yaml"
    base = f"source:\n  path: {demo}\nsql:\n  url: sqlite:///{tmp_path / 'out.sqlite'}\n"
    config.write_text(base, encoding="utf-8")
    good = run_cli("config", "check", "--config", str(config), "--connect")
    assert good.exit_code == 0, good.output
    assert re.search(r"source table Account\s+ok", good.stdout), good.stdout
    assert re.search(r"^sql\s+ok", good.stdout, re.MULTILINE), good.stdout
    assert re.search(r"^scheduler\s+skipped", good.stdout, re.MULTILINE), good.stdout
    assert re.search(r"^salesforce\s+skipped", good.stdout, re.MULTILINE)

    config.write_text(
        "source:\n  path: /nonexistent/demo\n"
        f"sql:\n  url: sqlite:///{tmp_path / 'out.sqlite'}\n"
        "cluster:\n  scheduler: tcp://127.0.0.1:1\n  connect_timeout_seconds: 2\n"
        "email:\n  enabled: true\n  host: 127.0.0.1\n  port: 1\n  security: none\n"
        "  timeout_seconds: 2\n",
        encoding="utf-8",
    )
    bad = run_cli("config", "check", "--config", str(config), "--connect")
    assert bad.exit_code == 1
    assert re.search(r"^source folder\s+failed\s+/nonexistent/demo", bad.stdout, re.MULTILINE)
    assert re.search(r"^source table Task\s+failed", bad.stdout, re.MULTILINE)
    assert re.search(r"^scheduler\s+failed\s+cannot reach", bad.stdout, re.MULTILINE)
    assert re.search(r"^smtp\s+failed\s+127\.0\.0\.1:1", bad.stdout, re.MULTILINE)
    assert re.search(r"^sql\s+ok", bad.stdout, re.MULTILINE)
    assert "checks failed, first source folder" in one_error_line(bad.output)


@pytest.mark.slow
def test_config_check_connect_reaches_a_real_scheduler(tmp_path):
    from distributed import LocalCluster

    config = tmp_path / "config.yaml"
    # Over TCP as a run reaches one (processes=False alone would talk in-process).
    local = {"processes": False, "protocol": "tcp://", "host": "127.0.0.1"}
    with LocalCluster(n_workers=0, dashboard_address=":0", **local) as cluster:
        config.write_text(f"cluster:\n  scheduler: {cluster.scheduler_address}\n", "utf-8")
        result = run_cli("config", "check", "--config", str(config), "--connect")
    line = next(line for line in result.stdout.splitlines() if line.startswith("scheduler"))
    assert line.split() == ["scheduler", "ok", cluster.scheduler_address], result.output
    assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")


def _fake_run(output: Path, job: str, run_id: str, rows: int, **summary) -> Path:
    folder = output / job / run_id
    folder.mkdir(parents=True)
    (folder / f"{job}.csv").write_text("Id\n", encoding="utf-8")
    data = {
        "job": job, "run_id": run_id.strip(".").removesuffix(".tmp"),
        "dialflow_version": __version__, "as_of": "2026-11-25T12:00:00+00:00",
        "started": "2026-11-25T12:00:01+00:00", "seconds": 12.5,
        "config": {"path": "/etc/dialflow/config.yaml", "sha256": "ab" * 32, "overrides": []},
        "source": {"kind": "files", "location": "/data/demo"},
        "cluster": {"scheduler": "tcp://127.0.0.1:8786", "dashboard": "http://127.0.0.1:8787"},
        "inputs": {"Account": 3000}, "stages": {"write": {"csv_rows": rows, "seconds": 0.1}},
        "counts": {"flagged": rows}, "outputs": {"csv": f"{job}.csv", "sql_table": "t"},
        **summary,
    }  # fmt: skip
    (folder / "summary.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def test_runs_lists_folders_and_the_sql_registry_and_show_tells_one_run(tmp_path, monkeypatch):
    # A terminal wide enough for the table whatever the length of pytest's tmp_path (its "in"
    # column): the narrow layout has its own test.
    monkeypatch.setenv("COLUMNS", "300")
    output = tmp_path / "out"
    url = f"sqlite:///{output / 'dialflow.sqlite'}"
    config = tmp_path / "config.yaml"
    config.write_text(f"run:\n  output_dir: {output}\nsql:\n  url: {url}\n", encoding="utf-8")
    dedupe_id, listiq_id = "2026-11-25T120000Z-aaaaaa", "2026-11-25T130000Z-bbbbbb"
    pruned_id, running_id = "2026-11-24T120000Z-cccccc", "2026-11-25T140000Z-dddddd"
    _fake_run(output, "dedupe", dedupe_id, 42)
    _fake_run(
        output, "listiq", listiq_id, 500,
        inputs={"Account": 3000, "previous_runs": {
            "dedupe": {"run_id": dedupe_id, "from": "dedupe_flagged.csv", "rows": 42}}},
    )  # fmt: skip
    _fake_run(output, "dedupe", f".{running_id}.tmp", 0)
    # In SQL: the dedupe run, and an older one whose folder was pruned.
    frame = pd.DataFrame({"Id": ["001A"]})
    for run_id in (dedupe_id, pruned_id):
        write_sql_table(url, "dedupe_flagged", frame, run_id)

    result = run_cli("runs", "--config", str(config))
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if re.search(r"\d{4}-\d\d-\d\dT", line)]
    ids = [re.search(r"\d{4}-\d\d-\d\dT\d{6}Z-[0-9a-f]{6}", row).group(0) for row in rows]
    assert ids == [running_id, listiq_id, dedupe_id, pruned_id]  # newest first
    by_id = dict(zip(ids, rows, strict=True))
    assert "unfinished" in by_id[running_id]
    assert "committed" in by_id[dedupe_id] and "folder+SQL" in by_id[dedupe_id]
    assert "42" in by_id[dedupe_id] and "12.5" in by_id[dedupe_id]
    assert "2026-11-25 12:00Z" in by_id[dedupe_id]
    assert "in SQL only" in by_id[pruned_id] and "SQL" in by_id[pruned_id]
    assert "folder" in by_id[listiq_id] and "SQL" not in by_id[listiq_id]

    only_dedupe = run_cli("runs", "dedupe", "--config", str(config), "--no-sql")
    assert listiq_id not in only_dedupe.stdout and pruned_id not in only_dedupe.stdout
    assert dedupe_id in only_dedupe.stdout

    shown = run_cli("show", listiq_id, "--config", str(config))
    assert shown.exit_code == 0, shown.output
    text = shown.stdout
    assert text.splitlines()[0].startswith(f"listiq run {listiq_id}: committed, as of 2026-11-25")
    assert "Read 3,000 rows of Account." in text
    assert "Wrote 500 rows to listiq.csv and to the SQL table t." in text
    assert "Config: /etc/dialflow/config.yaml (sha256 abababababab)" in text
    assert "listiq.csv (" in text and "summary.json (" in text
    assert f"dedupe {dedupe_id} (42 rows, from dedupe_flagged.csv)" in text

    from_sql = run_cli("show", pruned_id, "--config", str(config))
    assert from_sql.exit_code == 0, from_sql.output
    assert from_sql.stdout.startswith(f"dedupe run {pruned_id}: committed, in SQL only")
    assert "1 row in the SQL table dedupe_flagged, committed at 20" in from_sql.stdout

    missing = run_cli("show", "2026-01-01T000000Z-000000", "--config", str(config))
    assert missing.exit_code == 2 and "no run folder" in one_error_line(missing.output)
    bad_job = run_cli("runs", "nosuchjob", "--config", str(config))
    assert bad_job.exit_code == 2 and "no job 'nosuchjob'" in one_error_line(bad_job.output)


def test_runs_on_a_narrow_terminal_keeps_every_run_id_whole(tmp_path):
    output = tmp_path / "out"
    url = f"sqlite:///{output / 'dialflow.sqlite'}"
    config = tmp_path / "config.yaml"
    config.write_text(f"run:\n  output_dir: {output}\nsql:\n  url: {url}\n", encoding="utf-8")
    listiq_id, pruned_id = "2026-11-25T130000Z-bbbbbb", "2026-11-24T120000Z-cccccc"
    _fake_run(output, "listiq", listiq_id, 1500)
    write_sql_table(url, "dedupe_flagged", pd.DataFrame({"Id": ["001A"]}), pruned_id)

    def runs_at(columns: int) -> list[str]:
        result = CliRunner().invoke(
            app, ["runs", "--config", str(config)], env={"COLUMNS": str(columns)}
        )
        assert result.exit_code == 0, result.output
        return result.stdout.splitlines()

    assert runs_at(60) == [
        f"{listiq_id}  listiq",
        "  committed; 1,500 rows; 12.5 s; as of 2026-11-25 12:00Z",
        "  in folder",
        f"{pruned_id}  dedupe",
        "  in SQL only; 1 row; in SQL",
    ]
    wide = [line.split() for line in runs_at(100) if line.strip()]
    assert wide[0] == ["run", "id", "job", "status", "rows", "seconds", "as-of", "in"]
    assert wide[2:] == [
        [listiq_id, "listiq", "committed", "1,500", "12.5", "2026-11-25", "12:00Z", "folder"],
        [pruned_id, "dedupe", "in", "SQL", "only", "1", "SQL"],
    ]


def test_warnings_logged_before_the_run_folder_exists_are_written_into_run_log(tmp_path):
    from dialflow.logs import held_warnings, log_to_file, stop_logging_to_file

    with held_warnings() as early:
        logging.getLogger("distributed.warnings").warning("UserWarning: Port 8787 is in use")
        logging.getLogger("dialflow.specs").warning("no autoflush run found")
        logging.getLogger("dialflow").info("an info line before run.log")
        handler = log_to_file(tmp_path / "run.log", early)
        logging.getLogger("dialflow").info("an info line after")
        stop_logging_to_file(handler)
    lines = (tmp_path / "run.log").read_text().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "WARNING distributed.warnings: UserWarning: Port 8787 is in use",
        "WARNING dialflow.specs: no autoflush run found",
        "INFO dialflow: an info line after",
    ]


def test_with_json_logs_the_error_is_a_json_line_too(tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(f"run:\n  output_dir: {tmp_path / 'out'}\n", encoding="utf-8")
    try:
        result = run_cli(
            "--log-format", "json", "run", "listiq", "--config", str(config),
            "--set", "listiq.nope=1",
        )  # fmt: skip
    finally:
        setup_logging()
    assert result.exit_code == 2
    records = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert [(r["level"], r["exit_code"]) for r in records] == [("ERROR", 2)]
    assert records[0]["message"].startswith("Error: --set listiq.nope: ")
