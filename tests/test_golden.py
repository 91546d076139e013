"""Golden outputs: every job's files on fixed demo data, byte for byte, summary.json's keys, and
the exit codes and first lines of refused runs. Refactoring the runner, the CLI or the config
must keep this green; a change of behaviour updates `tests/golden/outputs.json` on purpose
(`DIALFLOW_UPDATE_GOLDEN=1 pytest tests/test_golden.py`, then review the diff).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.conftest import make_demo, one_error_line, run_cli, run_folder, write_config

GOLDEN = Path(__file__).parent / "golden" / "outputs.json"
AS_OF = "2026-11-25T12:00:00Z"
JOBS = ["dedupe", "autoflush", "listiq", "infoflow"]
# Their values change from run to run (times, memory, addresses); their keys must not.
VOLATILE = {"run_id", "started", "seconds", "memory", "cpu", "as_of_of_run"}


def key_paths(node: object, prefix: str = "", depth: int = 2) -> list[str]:
    """Return the dotted key paths of a JSON tree down to `depth` levels."""
    if not isinstance(node, dict) or depth == 0:
        return []
    paths = []
    for key, value in node.items():
        path = f"{prefix}{key}"
        paths.append(path)
        if key not in VOLATILE:
            paths += key_paths(value, f"{path}.", depth - 1)
    return sorted(paths)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def observe(tmp_path: Path, demo: Path) -> dict:
    """Run every job in order on the demo data and describe what they wrote."""
    config = str(write_config(tmp_path, demo, extra="listiq:\n  target_total_records: 500\n"))
    seen: dict = {}
    for job in JOBS:
        folder = run_folder(run_cli("run", job, "--config", config, "--as-of", AS_OF))
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        seen[job] = {
            "files": {
                path.name: digest(path)
                for path in sorted(folder.iterdir())
                if path.suffix == ".csv"
            },
            "summary_keys": key_paths(summary),
            "counts": summary["counts"],
        }
    refused = {
        "bad --as-of": ["run", "dedupe", "--config", config, "--as-of", "yesterday"],
        "unknown job": ["run", "nosuchjob", "--config", config],
    }
    seen["refused"] = {}
    for name, args in refused.items():
        result = run_cli(*args)
        line = one_error_line(result.output) if "Error: " in result.output else ""
        seen["refused"][name] = {"exit_code": result.exit_code, "first_line": line}
    return seen


@pytest.mark.slow
def test_every_job_writes_what_it_wrote_before(tmp_path):
    demo = make_demo(tmp_path / "demo", 3000, 10000, 5, "2026-11-25")
    seen = observe(tmp_path, demo)
    if os.environ.get("DIALFLOW_UPDATE_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(seen, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for part in expected:
        assert seen[part] == expected[part], part
    assert seen.keys() == expected.keys()
