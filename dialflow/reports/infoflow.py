"""infoflow's report: how many accounts go to research, who was left out and why, at what
priority, and which signals raised it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .page import Headline, Section, Table, bar_chart, fmt, render_page, run_footer

REQUESTS = "research_requests.csv"


def priority_counts(requests: pd.DataFrame) -> pd.Series:
    """Return how many requests have each priority, highest priority first."""
    priority = pd.to_numeric(requests["Priority"], errors="coerce").dropna()
    return priority.value_counts().sort_index(ascending=False)


def report(summary: Mapping[str, Any], frames: Mapping[str, pd.DataFrame]) -> str:
    """Return infoflow's report page from its summary (as in summary.json) and its requests
    (`research_requests.csv`)."""
    counts = summary["counts"]
    params = summary.get("parameters", {})
    requests = frames[REQUESTS]
    requested = counts["requested"]
    eligible = counts["eligible"]
    limit = params.get("max_requests")
    left_over = eligible - requested

    headlines = [
        Headline("research requests", requested, "in research_requests.csv"),
        Headline("eligible accounts", eligible),
        Headline("without a usable phone", counts["without_usable_phone"]),
        Headline("accounts checked", counts["accounts"]),
    ]
    funnel = {
        "without a usable phone": counts["without_usable_phone"],
        "owner inactive or unknown": counts["owner_inactive_or_unknown"],
        "requested in the last research_frequency_days": counts["recently_requested"],
        "eligible": eligible,
        "requested": requested,
    }
    funnel_text = [
        f"Of {fmt(counts['accounts'])} accounts, {fmt(counts['without_usable_phone'])} have no "
        f"valid phone autoflush left alone; {fmt(counts['owner_inactive_or_unknown'])} of those "
        f"have no active owner and {fmt(counts['recently_requested'])} had a research request "
        f"in the last {fmt(params.get('research_frequency_days', 90))} days, which leaves "
        f"{fmt(eligible)} eligible."
    ]
    if left_over > 0:
        funnel_text.append(
            f"infoflow.max_requests ({fmt(limit)}) keeps the {fmt(requested)} of highest "
            f"priority; {fmt(left_over)} eligible accounts wait for a later run."
        )
    priorities = priority_counts(requests)
    fired = counts.get("signals_fired", {})
    weights = params.get("weights", {}) or {}
    # Every signal with a weight, fired or not (a signal that never fires is news too).
    signals = {name: fired.get(name, 0) for name in [*weights, *fired]}
    sections = [
        Section(
            "Who is asked for, and who was left out",
            funnel_text,
            bar_chart(list(funnel), list(funnel.values()), "accounts", horizontal=True),
        ),
        Section(
            "Priority distribution",
            [
                "Priority = the sum of infoflow.weights times the signals; the list is sorted "
                "by it, highest first (ties by AccountId)."
            ],
            bar_chart(
                [fmt(float(p)) for p in priorities.index],
                priorities.tolist(),
                "requests by priority (highest first)",
                value_label="requests",
            ),
        ),
        Section(
            "Signals fired",
            ["How many requests each signal raised (one request may carry several)."],
            bar_chart(
                list(signals), list(signals.values()), "requests by signal", value_label="requests"
            ),  # fmt: skip
            Table(
                ["signal", "weight", "requests"],
                [[name, fmt(weights.get(name, 0)), int(n)] for name, n in signals.items()],
            ),
        ),
    ]
    return render_page(
        f"infoflow run {summary.get('run_id', '')}".strip(),
        f"as of {summary.get('as_of', '?')}",
        headlines,
        sections,
        footer=run_footer(summary),
    )
