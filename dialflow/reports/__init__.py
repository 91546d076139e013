"""Each job's report.html: one self-contained page per run (BokehJS inlined, so it opens
offline), its headline numbers first, then the plots that answer an operator's questions.

A report is a pure function of the run's summary (as in summary.json) and the job's output
frames (the result CSV and the run folder's other CSV files, by file name): small by
construction, so a report never reads an input table. The runner writes it for every job that
has one (`report_html`); `page.py` is the page they share.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from . import autoflush, dedupe, infoflow, listiq

Report = Callable[[Mapping[str, Any], Mapping[str, pd.DataFrame]], str]

REPORTS: dict[str, Report] = {
    "dedupe": dedupe.report,
    "autoflush": autoflush.report,
    "infoflow": infoflow.report,
    "listiq": listiq.report,
}


def report_html(
    job: str, summary: Mapping[str, Any], frames: Mapping[str, pd.DataFrame]
) -> str | None:
    """Return the job's report page, or None for a job without a report.

    Args:
        job: the job's name.
        summary: the run's summary, JSON values as in summary.json.
        frames: the run's output frames by file name, e.g. `dedupe_flagged.csv`.
    """
    make = REPORTS.get(job)
    return make(summary, frames) if make is not None else None
