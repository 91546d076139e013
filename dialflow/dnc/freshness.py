"""Is the stored registry recent enough to call from? The Telemarketing Sales Rule's safe
harbor asks for a copy of the registry obtained no more than 31 days before the call
(docs/dnc.md). Pure: listiq reads the manifest, calls `staleness_problem` and prints its line.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from dialflow.errors import InputError

from .store import area_dates, read_manifest

MAX_AGE_DAYS = 31


def staleness_problem(
    dates: Mapping[str, date], call_date: date, max_age_days: int = MAX_AGE_DAYS
) -> str | None:
    """Return the one-line reason a registry with these area code dates may not be used on
    the call date (its oldest area code is more than `max_age_days` old), or None when it may.

    A registry is as old as its oldest area code: every area code's numbers must be recent.
    Exactly `max_age_days` days old is still allowed.
    """
    if not dates:
        return "the DNC registry holds no area code; import the registry's full lists first"
    oldest = min(dates, key=lambda code: (dates[code], code))
    age = (call_date - dates[oldest]).days
    if age <= max_age_days:
        return None
    behind = sum(1 for d in dates.values() if (call_date - d).days > max_age_days)
    others = f" (and {behind - 1} more area codes)" if behind > 1 else ""
    return (
        f"the DNC registry is {age} days old on call date {call_date.isoformat()}: area code "
        f"{oldest}{others} was last updated {dates[oldest].isoformat()}, and at most "
        f"{max_age_days} days are allowed; download a change list (or the full lists) and run "
        f"dialflow dnc import"
    )


def check_registry(
    store: Path, call_date: date, max_age_days: int = MAX_AGE_DAYS
) -> dict[str, Any]:
    """Return the current version's manifest, or stop (InputError, exit 2) when there is none
    or it is too old on the call date."""
    manifest = read_manifest(store)
    if manifest is None:
        raise no_registry(store)
    problem = staleness_problem(area_dates(manifest), call_date, max_age_days)
    if problem:
        raise InputError(f"dnc.path {store}: {problem}")
    return manifest


def no_registry(store: Path) -> InputError:
    """Return the error of a command that needs an imported registry and finds none."""
    return InputError(
        f"dnc.path {store}: no DNC registry has been imported; download the registry's files "
        f"and run dialflow dnc import FILE..."
    )
