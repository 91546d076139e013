"""The live dashboard of a running job, seen in headless Chromium.

Whoever watches a run on the dashboard must tell which job and stage is busy, so task names
carry both (`autoflush-normalize`, ...). Bokeh draws the status page's plots on a canvas, so the
test reads the names from the page's Bokeh documents (the data the plots draw) rather than from
the DOM, and saves a screenshot for a person to look at.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import make_demo, write_config

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
DIALFLOW = Path(sys.executable).parent / "dialflow"
# Stages of autoflush whose tokens name its tasks (dialflow/jobs/autoflush.py, `token=`).
AUTOFLUSH_STAGES = {
    f"autoflush-{stage}"
    for stage in ("classify", "normalize", "count", "aggregate", "rules", "match")
}
DASHBOARD_LINE = re.compile(r"^autoflush: Dask dashboard at (http://\S+)")

# Every string in every data source of the page's Bokeh documents (task stream, progress bars...).
BOKEH_STRINGS = """() => {
  const found = new Set();
  for (const doc of (window.Bokeh?.documents ?? [])) {
    for (const model of doc.all_models) {
      const data = model.data;
      if (data === undefined || data === null || typeof data !== "object") continue;
      const columns = data instanceof Map ? [...data.values()] : Object.values(data);
      for (const column of columns) {
        if (column === null || typeof column !== "object" || !(Symbol.iterator in column)) continue;
        for (const value of column) if (typeof value === "string") found.add(value);
      }
    }
  }
  return [...found];
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo data big enough that autoflush runs for several seconds on two workers."""
    return make_demo(tmp_path_factory.mktemp("demo"), 30_000, 600_000, 21, "2026-11-25")


class _Lines:
    """The CLI's stderr, read on a thread so that the pipe never fills and blocks the job."""

    def __init__(self, stream) -> None:  # noqa: ANN001 - a text pipe
        self.lines: list[str] = []
        self.dashboard = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:  # noqa: ANN001
        for line in stream:
            self.lines.append(line.rstrip("\n"))
            if DASHBOARD_LINE.match(line):
                self.dashboard.set()

    def join(self) -> str:
        self._thread.join(timeout=10)
        return "\n".join(self.lines)


def _job_task_names(page, seconds: float) -> set[str]:  # noqa: ANN001 - a playwright Page
    """Poll the page's Bokeh data for autoflush task names until some show up or time runs out."""
    deadline = time.monotonic() + seconds
    names: set[str] = set()
    while not names and time.monotonic() < deadline:
        page.wait_for_timeout(500)
        names = {s for s in page.evaluate(BOKEH_STRINGS) if s.startswith("autoflush-")}
    return names


def test_the_live_dashboard_shows_the_jobs_task_names(tmp_path, demo, chromium):
    # A later `dashboard_address` wins over write_config's ':0': loopback only, any free port.
    config = write_config(tmp_path, demo, cluster_extra="  dashboard_address: '127.0.0.1:0'\n")
    job = subprocess.Popen(
        [str(DIALFLOW), "run", "autoflush", "--config", str(config), "--as-of", "2026-11-25",
         "--no-sql", "--no-email"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    stderr = _Lines(job.stderr)
    try:
        assert stderr.dashboard.wait(timeout=60), "\n".join(stderr.lines)
        url = next(m[1] for line in stderr.lines if (m := DASHBOARD_LINE.match(line)))
        assert url.startswith("http://127.0.0.1:") and url.endswith("/status")

        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="domcontentloaded")
        # The dashboard lives as long as the job's LocalCluster: a name read from it is live.
        names = _job_task_names(page, seconds=30)
        ARTIFACTS.mkdir(exist_ok=True)
        shot = page.screenshot(full_page=True)
        for folder in (ARTIFACTS, tmp_path):
            (folder / "dashboard-autoflush.png").write_bytes(shot)
        # A job that ended before the page could load its plots reads as such, not as a bad name.
        assert names & AUTOFLUSH_STAGES, (
            f"no autoflush stage among the task names {names} (job exit code {job.poll()})\n"
            + "\n".join(stderr.lines)
        )
        page.close()

        job.wait(timeout=120)
        stdout = job.stdout.read()  # one line: the run folder (stderr is the reader thread's)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
    output = stderr.join()
    assert job.returncode == 0, output

    # The dashboard address comes first, before the run starts any work.
    first = next(i for i, line in enumerate(stderr.lines) if DASHBOARD_LINE.match(line))
    started = next(i for i, line in enumerate(stderr.lines) if " started; folder " in line)
    assert first < started, output
    folder = Path(stdout.strip().splitlines()[-1])
    assert (folder / "dask-report.html").stat().st_size > 10_000
