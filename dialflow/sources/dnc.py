"""The Do Not Call Registry store as listiq reads it: which version and how old (before any
work), and its numbers as a Dask dataframe read by the workers, only the area codes asked for.

The store itself (layout, imports) is dialflow/dnc/; docs/dnc.md says what was decided.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..dnc.freshness import MAX_AGE_DAYS, staleness_problem
from ..dnc.store import area_dates, area_folder, current_version, read_manifest
from ..errors import InputError
from ..jobs.scrub import NUMBER


@dataclass(frozen=True)
class RegistryVersion:
    """The registry version a run scrubs against (None: no registry was imported)."""

    version: Path | None
    numbers: pd.Series  # numbers per area code, from the manifest
    summary: dict[str, Any]  # what summary.json records under counts.dnc
    warning: str | None = None  # for the run's log: no registry, or a stale one allowed

    def reader(self) -> RegistryReader | None:
        """Return `read(area_codes) -> frame` of this version's numbers (called by the scrub's
        tasks, on the workers), or None without a registry."""
        return RegistryReader(str(self.version)) if self.version is not None else None


def registry_for_call_date(
    store: Path,
    call_date: date,
    required: bool = False,
    allow_stale_until: date | None = None,
    max_age_days: int = MAX_AGE_DAYS,
) -> RegistryVersion:
    """Resolve the registry version for a run and check its age on the call date.

    Stops (InputError, exit 2) when the registry is older than `max_age_days` on the call date
    and `allow_stale_until` does not reach the call date, or when none was imported and one is
    `required`. Without a registry (and not required) it returns an empty one with a warning.
    """
    manifest = read_manifest(store)
    if manifest is None:
        if required:
            raise InputError(
                f"dnc.path {store}: no DNC registry has been imported and dnc.required is true; "
                f"download the registry's files and run dialflow dnc import FILE..."
            )
        warning = (
            f"dnc.path {store}: no DNC registry has been imported; the call list is NOT "
            f"scrubbed against the National Do Not Call Registry (only the internal DNC list); "
            f"run dialflow dnc import FILE..., or set dnc.required: true to stop instead"
        )
        return RegistryVersion(None, pd.Series(dtype="int64"), {"registry": "none"}, warning)
    version = current_version(store)
    dates = area_dates(manifest)
    summary: dict[str, Any] = {
        "registry": str(version),
        "registry_date": manifest.get("registry_date")
        or (min(dates.values()).isoformat() if dates else None),
        "area_codes": len(dates),
    }
    problem = staleness_problem(dates, call_date, max_age_days)
    warning = None
    if problem:
        if allow_stale_until is None:
            raise InputError(f"dnc.path {store}: {problem}")
        if call_date > allow_stale_until:
            # Say why a configured override did not apply: it has expired by itself.
            raise InputError(
                f"dnc.path {store}: {problem} (dnc.allow_stale_until "
                f"{allow_stale_until.isoformat()} is before the call date)"
            )
        stale = problem.split(";")[0]
        warning = (
            f"dnc.path {store}: {stale}; used anyway because dnc.allow_stale_until is "
            f"{allow_stale_until.isoformat()}"
        )
        summary["stale_allowed_until"] = allow_stale_until.isoformat()
        summary["stale"] = stale
    numbers = pd.Series(
        {code: int(entry.get("numbers", 0)) for code, entry in manifest["area_codes"].items()},
        dtype="int64",
    )
    return RegistryVersion(version, numbers, summary, warning)


@dataclass(frozen=True)
class RegistryPart:
    """The area codes of one scrub partition, in one registry version."""

    version: str | None
    area_codes: tuple[str, ...]


def read_registry_part(part: RegistryPart) -> pd.DataFrame:
    """Read one partition's area codes (column Number, int64); an area code the store does not
    hold has no numbers. A part file that cannot be read stops the run naming it."""
    arrays = []
    for code in part.area_codes if part.version else ():
        folder = area_folder(Path(part.version), code)
        for file in sorted(folder.glob("*.parquet")) if folder.is_dir() else ():
            try:
                column = pq.read_table(file, columns=["number"]).column("number")
            except (pa.ArrowException, OSError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                raise InputError(
                    f"{file}: the DNC registry file is not readable ({first}); run dialflow "
                    f"dnc import again with the registry's files"
                ) from None
            arrays.append(column.to_numpy().astype("int64", copy=False))
    numbers = np.concatenate(arrays) if arrays else np.array([], dtype="int64")
    return pd.DataFrame({NUMBER: numbers})


@dataclass(frozen=True)
class RegistryReader:
    """Reads area codes of one registry version; picklable, so the scrub's tasks read their own
    area codes where they run (listiq's `_scrub_reading`)."""

    version: str

    def __call__(self, area_codes: Sequence[str]) -> pd.DataFrame:
        """Return the numbers of these area codes (column Number, int64, sorted)."""
        return read_registry_part(RegistryPart(self.version, tuple(area_codes)))
