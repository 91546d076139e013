"""`dialflow dnc import` and `dnc status` end to end through typer's runner, on the demo's
synthetic registry; `demo-data --dnc` deterministic and leaving the tables unchanged."""

import hashlib
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from dialflow.dnc import current_version, read_manifest
from tests.conftest import one_error_line, run_cli

AS_OF = "2026-11-20"


def make(folder: Path, dnc: int | None, seed: int = 5) -> Path:
    args = ["demo-data", "--accounts", "3000", "--calls", "100", "--seed", str(seed),
            "--as-of", AS_OF, "--out", str(folder)]  # fmt: skip
    made = run_cli(*args, *(["--dnc", str(dnc)] if dnc else []))
    assert made.exit_code == 0, made.output
    return folder


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    return make(tmp_path_factory.mktemp("demo"), 5000)


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(f"dnc:\n  path: {tmp_path / 'dnc'}\n{extra}", encoding="utf-8")
    return path


def test_the_demo_registry_imports_with_some_account_phones_on_it(tmp_path, demo):
    files = sorted((demo / "_dnc").glob("*.txt"))
    assert len([f for f in files if "change" in f.name]) == 1
    result = run_cli("dnc", "import", *map(str, files), "--config", str(config(tmp_path)))
    assert result.exit_code == 0, result.output
    assert "registry date 2026-11-19" in result.output
    full = sum(len(f.read_text().splitlines()) for f in files if "full" in f.name)
    change = [line.split(",")[2] for f in files if "change" in f.name
              for line in f.read_text().splitlines()]  # fmt: skip
    manifest = read_manifest(tmp_path / "dnc")
    assert full == 5000
    assert manifest["numbers"] == full + change.count("A") - change.count("D")
    registry = pq.read_table(current_version(tmp_path / "dnc") / "numbers")["number"]
    phones = pq.read_table(demo / "Account", columns=["Phone"])["Phone"]
    digits = pc.replace_substring_regex(phones, r"[^0-9]", "")
    digits = digits.filter(pc.fill_null(pc.match_substring_regex(digits, r"^1?\d{10}$"), False))
    ten = pc.cast(pc.utf8_slice_codeunits(digits, -10), "int64")
    on_registry = pc.sum(pc.is_in(ten, value_set=registry)).as_py()
    assert 10 <= on_registry < 3000


def test_a_bad_line_is_one_error_line_exit_2_and_nothing_written(tmp_path, demo):
    full = sorted((demo / "_dnc").glob("dnc-full-*.txt"))[0]
    bad = tmp_path / "dnc-change-2026-11-19.txt"
    bad.write_text("201,2000001,A\n201,2000002,X\n", encoding="ascii")
    result = run_cli("dnc", "import", str(full), str(bad), "--config", str(config(tmp_path)))
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"Error: {bad}: line 2: field change type 'X' is neither A (added) nor D (deleted); a "
        f"change list line is 'area code,seven-digit number,A|D': correct or remove the line, "
        f"or download the file again"
    )
    assert [p.name for p in (tmp_path / "dnc").iterdir()] == [".dnc-import.lock"]


def test_status_passes_a_fresh_registry_and_refuses_a_stale_one(tmp_path, demo):
    files = [str(f) for f in sorted((demo / "_dnc").glob("*.txt"))]
    assert run_cli("dnc", "import", *files, "--config", str(config(tmp_path))).exit_code == 0
    fresh = run_cli("dnc", "status", "--config", str(config(tmp_path)), "--call-date", "2026-12-20")
    assert fresh.exit_code == 0, fresh.output
    stale = run_cli("dnc", "status", "--config", str(config(tmp_path)), "--call-date", "2026-12-21")
    assert stale.exit_code == 2
    assert one_error_line(stale.output).startswith(
        f"Error: dnc.path {tmp_path / 'dnc'}: the DNC registry is 32 days old on call date "
        f"2026-12-21: area code "
    )
    assert "allow_stale_until" not in stale.output
    numbers = read_manifest(tmp_path / "dnc")["numbers"]
    assert " ".join(fresh.output.split()) == (
        f"DNC registry OK for 2026-12-20: {numbers} numbers in 359 area codes, registry date "
        f"2026-11-19"
    )


def test_status_says_a_stale_registry_is_allowed_until_the_override_and_refused_after(
    tmp_path, demo
):
    files = [str(f) for f in sorted((demo / "_dnc").glob("*.txt"))]
    assert run_cli("dnc", "import", *files, "--config", str(config(tmp_path))).exit_code == 0
    overridden = str(config(tmp_path, "  allow_stale_until: 2026-12-22\n"))
    numbers = read_manifest(tmp_path / "dnc")["numbers"]
    for day in ("2026-12-21", "2026-12-22"):  # the override's last day included
        allowed = run_cli("dnc", "status", "--config", overridden, "--call-date", day)
        assert allowed.exit_code == 0, allowed.output
        age = 32 if day.endswith("21") else 33
        assert " ".join(allowed.output.split()) == (
            f"DNC registry STALE on {day}, allowed by dnc.allow_stale_until 2026-12-22: the "
            f"DNC registry is {age} days old on call date {day}: area code 201 (and 358 more area "
            f"codes) was last updated 2026-11-19, and at most 31 days are allowed; {numbers} "
            f"numbers in 359 area codes, registry date 2026-11-19"
        )
    expired = run_cli("dnc", "status", "--config", overridden, "--call-date", "2026-12-23")
    assert expired.exit_code == 2
    error = one_error_line(expired.output)
    assert error.startswith(f"Error: dnc.path {tmp_path / 'dnc'}: the DNC registry is 34 days")
    assert error.endswith(
        "and run dialflow dnc import (dnc.allow_stale_until 2026-12-22 is before the call date)"
    )
    fresh = run_cli("dnc", "status", "--config", overridden, "--call-date", "2026-12-20")
    assert fresh.output.startswith("DNC registry OK for 2026-12-20: ")


def test_status_without_a_registry_is_one_error_line(tmp_path):
    empty = run_cli("dnc", "status", "--config", str(config(tmp_path)))
    assert empty.exit_code == 2
    assert one_error_line(empty.output) == (
        f"Error: dnc.path {tmp_path / 'dnc'}: no DNC registry has been imported; download the "
        f"registry's files and run dialflow dnc import FILE..."
    )


def test_a_bad_date_option_and_a_missing_file_are_one_line_each(tmp_path):
    given = run_cli("dnc", "import", str(tmp_path / "nope.txt"), "--date", "Nov 20",
                    "--config", str(config(tmp_path)))  # fmt: skip
    assert given.exit_code == 2
    assert one_error_line(given.output) == (
        "Error: --date 'Nov 20': not a date; give YYYY-MM-DD like 2026-11-25"
    )
    missing = run_cli(
        "dnc", "import", str(tmp_path / "nope.txt"), "--config", str(config(tmp_path))
    )
    assert one_error_line(missing.output) == (
        f"Error: {tmp_path / 'nope.txt'}: no such file; give the registry files to import"
    )


def test_demo_registry_is_deterministic_and_leaves_the_tables_unchanged(tmp_path, demo):
    again = make(tmp_path / "again", 5000)
    assert digests(again / "_dnc") == digests(demo / "_dnc")
    plain = digests(make(tmp_path / "plain", None))
    assert {k: v for k, v in digests(again).items() if not k.startswith("_dnc")} == plain
    other = make(tmp_path / "other", 5000, seed=6)
    assert digests(other / "_dnc") != digests(demo / "_dnc")


def test_load_sql_writes_the_demo_registry_into_the_configured_table(tmp_path, demo):
    import sqlalchemy as sa

    files = [str(f) for f in sorted((demo / "_dnc").glob("*.txt"))]
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    setting = config(tmp_path, f"  sql_table: registry_copy\nsql:\n  url: {url}\n")
    assert run_cli("dnc", "import", *files, "--config", str(setting)).exit_code == 0
    loaded = run_cli("dnc", "load-sql", "--config", str(setting))
    assert loaded.exit_code == 0, loaded.output
    manifest = read_manifest(tmp_path / "dnc")
    version = current_version(tmp_path / "dnc").name
    assert " ".join(loaded.output.split()).endswith(
        f"DNC registry {version}: {manifest['numbers']} numbers, registry date 2026-11-19, "
        f"loaded into table registry_copy of {url}"
    )
    with sa.create_engine(url).connect() as connection:
        count = connection.execute(sa.text("SELECT count(DISTINCT number) FROM registry_copy"))
        assert count.scalar() == manifest["numbers"]
