"""Every job DIAL-Flow runs, by name: the CLI makes one `dialflow run <name>` per spec and
`dialflow submit` finds a job file's job here. A new job is a new module beside these (its spec)
plus its pure functions in `dialflow/jobs/`, registered in this one tuple."""

from __future__ import annotations

from ..runner import JobSpec
from . import autoflush, dedupe, infoflow, listiq

SPECS: dict[str, JobSpec] = {
    spec.name: spec for spec in (dedupe.SPEC, autoflush.SPEC, listiq.SPEC, infoflow.SPEC)
}
