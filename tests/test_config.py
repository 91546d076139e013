import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from dialflow.cli import app
from dialflow.config import (
    load_settings,
    mask_passwords,
    masked_settings,
    resolve_config_paths,
    setting_key_problem,
)
from dialflow.errors import ConfigError
from dialflow.jobs.autoflush import AutoflushParams
from dialflow.jobs.dedupe import DedupeParams
from dialflow.jobs.infoflow import InfoflowParams
from dialflow.salesforce import SECRET_VARIABLES

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_equals_the_built_in_defaults(monkeypatch):
    monkeypatch.delenv("DIALFLOW_SQL_URL", raising=False)
    monkeypatch.delenv("DIALFLOW_SMTP_PASSWORD", raising=False)
    for name in SECRET_VARIABLES.values():
        monkeypatch.delenv(name, raising=False)
    shipped = load_settings(REPO_CONFIG)
    # Its relative paths, like the defaults it repeats, are relative to its folder.
    assert shipped.sql.url == f"sqlite:///{REPO_CONFIG.parent}/output/dialflow.sqlite"
    defaults: dict = {}
    resolve_config_paths(defaults, REPO_CONFIG.parent)
    assert shipped.model_dump() == type(shipped).model_validate(defaults).model_dump()


def test_environment_values_are_interpolated(tmp_path, monkeypatch):
    monkeypatch.setenv("DF_TEST_URL", "postgresql://app:s3cret@db.example/dial")
    settings = load_settings(write(tmp_path, "sql:\n  url: ${DF_TEST_URL}\n"))
    assert settings.sql.url == "postgresql://app:s3cret@db.example/dial"
    shown = masked_settings(settings)
    assert "s3cret" not in str(shown)
    assert shown["sql"]["url"] == "postgresql://app:***@db.example/dial"


def test_unset_environment_variable_names_the_key_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("DF_MISSING", raising=False)
    path = write(tmp_path, "sql:\n  url: ${DF_MISSING}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: sql.url uses ${{DF_MISSING}}, which is not set in the environment; "
        "export DF_MISSING or write ${DF_MISSING:-default}"
    )


def test_environment_default_applies_when_unset(tmp_path, monkeypatch):
    monkeypatch.delenv("DF_MISSING", raising=False)
    settings = load_settings(write(tmp_path, "run:\n  output_dir: ${DF_MISSING:-elsewhere}\n"))
    assert settings.run.output_dir == tmp_path / "elsewhere"  # relative to the config file


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "cluster:\n  n_workers: two\n",
            "cluster.n_workers = 'two' is not allowed: Input should be a valid integer",
        ),
        (
            "cluster:\n  n_workers: 0\n",
            "cluster.n_workers = 0 is not allowed: Input should be greater than or equal to 1",
        ),
        (
            "cluster:\n  memory_limit: lots\n",
            "cluster.memory_limit = 'lots' is not allowed: "
            "must be a size like 4GiB or 2000MB, or auto",
        ),
        (
            "cluster:\n  scheduler: localhost:8786\n",
            "cluster.scheduler = 'localhost:8786' is not allowed: must be an address like "
            "tcp://HOST:8786 or tls://HOST:8786, or null",
        ),
        (
            "dedupe:\n  match_keys: [phone, email]\n",
            "dedupe.match_keys.1 = 'email' is not allowed: "
            "Input should be 'phone' or 'name_postal'",
        ),
        (
            "dedupe:\n  sql_table: 'x; drop table y'\n",
            "dedupe.sql_table = 'x; drop table y' is not allowed: must be a table name of letters, "
            "digits and underscores",
        ),
        (
            "cluster:\n  workers: 3\n",
            "unknown setting cluster.workers; remove it or check its spelling against config.yaml",
        ),
        (
            "listiq:\n  exports: [csv, vicidal]\n",
            "listiq.exports = ['csv', 'vicidal'] is not allowed: 'vicidal' is not an export "
            "profile; use one or more of csv, vicidial, genesys",
        ),
        (
            "listiq:\n  exports: genesys\n",
            "listiq.exports = 'genesys' is not allowed: give a list of export profiles, e.g. "
            "[csv, vicidial]; known: csv, vicidial, genesys",
        ),
        (
            "listiq:\n  exports: [genesys, genesys]\n",
            "listiq.exports = ['genesys', 'genesys'] is not allowed: 'genesys' is listed twice; "
            "list each profile once",
        ),
        (
            "listiq:\n  ebr: {purchase_months: 12}\n",
            "listiq.ebr: names no Account date field; set purchase_field and/or inquiry_field, "
            "or leave listiq.ebr null (no exemption)",
        ),
        (
            "listiq:\n  ebr: {purchase_field: 'Last Purchase'}\n",
            "listiq.ebr.purchase_field = 'Last Purchase' is not allowed: must be a table name",
        ),
        (
            "dnc:\n  allow_stale_until: soon\n",
            "dnc.allow_stale_until = 'soon' is not allowed: Input should be a valid date",
        ),
        ("- a\n- b\n", "the top level must be a mapping of sections (run, cluster, ...)"),
        ("cluster: [\n", "not valid YAML at line 2; fix the syntax"),
    ],
)
def test_bad_values_name_the_key_the_value_and_what_is_allowed(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: {message}")
    assert "\n" not in str(caught.value)


def test_missing_explicit_config_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "nope.yaml")


def test_dedupe_phone_field_must_be_a_phone_field(tmp_path):
    path = write(tmp_path, "dedupe:\n  phone_field: Fax\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)  # refused with the config, so `config check` says it
    assert str(caught.value) == (
        f"{path}: dedupe.phone_field = 'Fax' is not one of phones.fields (Phone, Phone_2__c, "
        "Phone_3__c, Mobile_Phone__c, Home_Phone__c, Other_Phone__c); name one of them or "
        "leave it null"
    )
    assert DedupeParams.from_settings(load_settings(write(tmp_path, "{}\n"))).phone_field == "Phone"
    custom = "phones:\n  fields: [Main, Fax]\ndedupe:\n  phone_field: Fax\n"
    assert DedupeParams.from_settings(load_settings(write(tmp_path, custom))).phone_field == "Fax"


@pytest.mark.parametrize(
    "text, masked",
    [
        ("postgresql://app:s3cret@db/dial", "postgresql://app:***@db/dial"),
        # An unencoded @ in the password: masked whole, not "app:***@cret@db".
        ("postgresql://app:s3@cret@db/dial", "postgresql://app:***@db/dial"),
        ("url 'mysql+pyodbc://r:pw@h:3306/d?driver=X' refused",
         "url 'mysql+pyodbc://r:***@h:3306/d?driver=X' refused"),
        ("a postgresql://u:one@h/d, b mssql+pyodbc://v:two@k/e",
         "a postgresql://u:***@h/d, b mssql+pyodbc://v:***@k/e"),
        ("DRIVER={MariaDB};UID=root;PWD=s3cret;SERVER=h",
         "DRIVER={MariaDB};UID=root;PWD=***;SERVER=h"),
        ("host=db password=s3cret dbname=x", "host=db password=*** dbname=x"),
        # Nothing to hide: left as it is.
        ("postgresql://app@db/dial", "postgresql://app@db/dial"),
        ("sqlite:///out/a@b.sqlite", "sqlite:///out/a@b.sqlite"),
        ("dashboard at http://127.0.0.1:8787/status", "dashboard at http://127.0.0.1:8787/status"),
    ],
)  # fmt: skip
def test_mask_passwords(text, masked):
    assert mask_passwords(text) == masked


@pytest.mark.parametrize(
    "url, message",
    [
        ("postgresql+psycopg://u:s3cret@db:54x32/d",
         "sql.url = 'postgresql+psycopg://u:***@db:54x32/d' is not allowed: the port is not a "
         "number; write host:5432, and if the password holds @ or :, URL-encode the password: "
         "urllib.parse.quote(password, safe='') turns @ into %40"),
        ("postgresql+psycopg://u:s3@cret@db/d",
         "sql.url = 'postgresql+psycopg://u:***@db/d' is not allowed: the password (or user "
         "name) holds an unencoded @; URL-encode the password: urllib.parse.quote(password, "
         "safe='') turns @ into %40"),
        ("postgresql+nosuchdriver://u:s3cret@db/d",
         "sql.url = 'postgresql+nosuchdriver://u:***@db/d' is not allowed: SQLAlchemy has no "
         "driver postgresql+nosuchdriver; use one like sqlite, postgresql+psycopg, mysql+pyodbc "
         "or mssql+pyodbc"),
        ("postgresql+asyncpg://u:s3cret@db/d",
         "sql.url = 'postgresql+asyncpg://u:***@db/d' is not allowed: postgresql+asyncpg is an "
         "asyncio driver; DIAL-Flow needs a synchronous one like postgresql+psycopg or "
         "mysql+pyodbc"),
        ("not a url", "sql.url = 'not a url' is not allowed: must be a SQLAlchemy URL like "
         "sqlite:///path.sqlite"),
    ],
)  # fmt: skip
def test_bad_sql_urls_are_refused_with_the_password_masked(tmp_path, url, message):
    path = write(tmp_path, f"sql:\n  url: '{url}'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == f"{path}: {message}"
    assert "s3" not in str(caught.value) and "cret" not in str(caught.value)


def test_a_missing_dbapi_package_names_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    path = write(tmp_path, "source:\n  kind: sql\n  sql_url: 'postgresql+psycopg2://u@db/d'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: source.sql_url = 'postgresql+psycopg2://u@db/d' is not allowed: driver "
        "postgresql+psycopg2 needs the Python package psycopg2-binary, which is not installed; "
        "pip install psycopg2-binary"
    )


def test_pyodbc_without_unixodbc_says_to_install_it(tmp_path, monkeypatch):
    from sqlalchemy.dialects.mssql.pyodbc import MSDialect_pyodbc

    def no_libodbc(cls):  # noqa: ANN001, ANN202 - what `import pyodbc` raises without unixODBC
        raise ImportError("libodbc.so.2: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(MSDialect_pyodbc, "import_dbapi", classmethod(no_libodbc))
    path = write(tmp_path, "sql:\n  url: 'mssql+pyodbc://u:s3cret@db/d?driver=X'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: sql.url = 'mssql+pyodbc://u:***@db/d?driver=X' is not allowed: driver "
        "mssql+pyodbc cannot load (libodbc.so.2: cannot open shared object file: No such file or "
        "directory); install unixODBC (Debian/Ubuntu: sudo apt-get install unixodbc) and the "
        "database's ODBC driver"
    )


def test_autoflush_since_is_utc_and_empty_means_none(tmp_path, monkeypatch):
    monkeypatch.delenv("DF_SINCE", raising=False)
    settings = load_settings(write(tmp_path, "autoflush:\n  since: '${DF_SINCE:-}'\n"))
    assert settings.autoflush.since is None
    settings = load_settings(write(tmp_path, "autoflush:\n  since: '2026-01-01T00:00:00'\n"))
    assert settings.autoflush.since == datetime(2026, 1, 1, tzinfo=timezone.utc)


def test_autoflush_since_must_precede_as_of(tmp_path):
    settings = load_settings(write(tmp_path, "autoflush:\n  since: 2026-12-01\n"))
    with pytest.raises(ConfigError) as caught:
        AutoflushParams.from_settings(settings, pd.Timestamp("2026-11-25", tz="UTC"))
    assert str(caught.value) == (
        "autoflush.since = 2026-12-01T00:00:00Z: not before --as-of 2026-11-25T00:00:00Z; give "
        "an earlier time, or a later --as-of"
    )
    # infoflow reads only the disposition map: a since that does not fit its as-of is no matter.
    assert InfoflowParams.from_settings(settings, pd.Timestamp("2026-11-25", tz="UTC")).categories


@pytest.mark.parametrize(
    "key, problem",
    [
        ("autoflush.since", None),
        ("listiq.calling_hours.start", None),
        ("salesforce.objects.Account", None),  # a mapping: its keys are its own
        ("email.job_recipients.infoflow", None),
        ("run.output_dir.x", "run.output_dir is a single value, so run.output_dir.x cannot be "
         "set below it; override run.output_dir itself"),
        ("runs.output_dir", "runs is not a setting; known here: run, cluster, source, "
         "salesforce, phones, sql, dedupe, autoflush, listiq, infoflow, email, dnc"),
        ("listiq.calling_hours.noon", "listiq.calling_hours.noon is not a setting; known here: "
         "start, end"),
    ],
)  # fmt: skip
def test_setting_key_problem(key, problem):
    assert setting_key_problem(key) == problem


def test_an_override_below_a_single_value_of_the_file_names_the_file(tmp_path):
    path = write(tmp_path, "run: output\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {"run.output_dir": "elsewhere"})
    assert str(caught.value) == (
        f"{path}: run is a single value, so run.output_dir cannot be set below it; make run a "
        "section or override run itself"
    )


def test_config_check_prints_masked_effective_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DF_TEST_URL", "postgresql://app:s3cret@db.example/dial")
    path = write(tmp_path, "sql:\n  url: ${DF_TEST_URL}\ncluster:\n  n_workers: 3\n")
    result = CliRunner().invoke(app, ["config", "check", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert "n_workers: 3" in result.stdout
    assert "postgresql://app:***@db.example/dial" in result.stdout
    assert "s3cret" not in result.output


def test_config_check_bad_value_exits_2_with_one_line(tmp_path):
    path = write(tmp_path, "cluster:\n  n_workers: two\n")
    result = CliRunner().invoke(app, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "cluster.n_workers" in lines[0]
