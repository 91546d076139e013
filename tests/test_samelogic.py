"""The same-logic DuckDB baselines (benchmarks/samelogic.py) write exactly dialflow's bytes.

The benchmarks compare dialflow's speed with these baselines only because they do the same
work; this guards them from drifting from the jobs' rules as the jobs change: each job runs
through the CLI on small demo data, chained as an operator runs them (dedupe, autoflush,
infoflow, listiq), and each baseline must write its CSVs byte for byte.
"""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import make_demo, run_cli, run_folder, write_config

AS_OF = "2026-11-25T12:00:00Z"
CALL_DATE = "2026-11-25"


def load_samelogic():  # noqa: ANN201 - the module
    """Import benchmarks/samelogic.py (benchmarks/ is scripts, not a package)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "samelogic.py"
    spec = importlib.util.spec_from_file_location("samelogic", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


samelogic = load_samelogic()


def test_a_difference_fails_loudly(tmp_path):
    ours, theirs = tmp_path / "ours.csv", tmp_path / "theirs.csv"
    theirs.write_text("Id,SurvivorId\na,b\nc,d\n", encoding="utf-8")
    ours.write_text("Id,SurvivorId\na,b\nc,d\n", encoding="utf-8")
    assert samelogic.assert_identical(ours, theirs).startswith("yes, byte-identical (2 rows")
    ours.write_text("Id,SurvivorId\na,b\nc,e\n", encoding="utf-8")
    with pytest.raises(samelogic.OutputMismatch, match="first at line 3: b'c,e' vs b'c,d'"):
        samelogic.assert_identical(ours, theirs)


@pytest.mark.slow
def test_every_baseline_writes_dialflows_bytes(tmp_path):
    demo = make_demo(tmp_path / "demo", 3000, 10000, 5, "2026-11-25")
    # Exact dedupe (the method the baseline implements); a target below the pool, so that the
    # apportionment and both buckets' picks are exercised rather than the whole pool listed.
    config = write_config(
        tmp_path,
        demo,
        extra="dedupe:\n  method: exact\nlistiq:\n  target_total_records: 500\n",
    )
    as_of = pd.Timestamp(AS_OF)

    def run(job: str, *options: str) -> Path:
        return run_folder(run_cli("run", job, "--config", str(config), "--as-of", AS_OF, *options))

    dedupe = run("dedupe")
    ours = tmp_path / "dedupe.csv"
    samelogic.dedupe(demo, config, ours)
    samelogic.assert_identical(ours, dedupe / "dedupe_flagged.csv")

    autoflush = run("autoflush")
    ours = tmp_path / "autoflush.csv"
    samelogic.autoflush(demo, config, ours, as_of, None)
    samelogic.assert_identical(ours, autoflush / "autoflush_cleanup.csv")
    samelogic.assert_identical(samelogic.dnc_file(ours), autoflush / "dnc_numbers.csv")
    cleanup = autoflush / "autoflush_cleanup.csv"

    infoflow = run("infoflow", "--no-email")
    ours = tmp_path / "infoflow.csv"
    samelogic.infoflow(demo, config, ours, as_of, cleanup)
    samelogic.assert_identical(ours, infoflow / "research_requests.csv")

    listiq = run("listiq", "--call-date", CALL_DATE, "--no-email")
    ours = tmp_path / "listiq.csv"
    samelogic.listiq(
        demo,
        config,
        ours,
        as_of,
        date.fromisoformat(CALL_DATE),
        dedupe / "dedupe_flagged.csv",
        cleanup,
    )
    samelogic.assert_identical(ours, listiq / f"call_list_{CALL_DATE}.csv")
