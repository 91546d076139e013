from pathlib import Path

import pytest
from typer.testing import CliRunner

from dialflow.cli import app
from dialflow.config import dedupe_params, load_settings, masked_settings
from dialflow.errors import ConfigError
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
    assert shipped.sql.url == "sqlite:///output/dialflow.sqlite"
    assert shipped.model_dump() == type(shipped)().model_dump()


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
    assert settings.run.output_dir == Path("elsewhere")


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
    settings = load_settings(write(tmp_path, "dedupe:\n  phone_field: Fax\n"))
    with pytest.raises(
        ConfigError, match=r"dedupe.phone_field = 'Fax' is not one of phones.fields"
    ):
        dedupe_params(settings)
    assert dedupe_params(load_settings(write(tmp_path, "{}\n"))).phone_field == "Phone"


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
