"""autoflush's report: which numbers are bad and why, in which phone fields, since when; and the
dispositions no category claimed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .page import (
    Headline,
    Section,
    Table,
    bar_chart,
    fmt,
    grouped_bars,
    plural,
    render_page,
    run_footer,
)

CLEANUP = "autoflush_cleanup.csv"
REASONS = ("disconnected", "wrong_number")
OUTSIDE_WINDOW = "outside_window"
TOP_UNMAPPED = 25  # dispositions drawn
TABLE_ROWS = 100  # dispositions listed (summary.json has them all)


def by_month(cleanup: pd.DataFrame) -> pd.DataFrame:
    """Return fields to clear per month of their last bad call (rows) and reason (columns)."""
    if cleanup.empty:
        return pd.DataFrame(columns=list(REASONS))
    last = pd.to_datetime(cleanup["LastBadCall"], utc=True, format="ISO8601")
    month = last.dt.strftime("%Y-%m")
    table = pd.crosstab(month, cleanup["Reason"].astype(str))
    columns = [r for r in REASONS if r in table.columns] + [
        r for r in table.columns if r not in REASONS
    ]
    return table.reindex(columns=columns).sort_index()


def report(summary: Mapping[str, Any], frames: Mapping[str, pd.DataFrame]) -> str:
    """Return autoflush's report page from its summary (as in summary.json) and its cleanup
    rows (`autoflush_cleanup.csv`)."""
    counts = summary["counts"]
    cleanup = frames[CLEANUP]
    calls = counts.get("calls_by_category", {})
    counted = sum(n for category, n in calls.items() if category != OUTSIDE_WINDOW)
    bad = counts.get("bad_numbers", {})
    unmapped = counts.get("unmapped_dispositions", {})
    unmapped_calls = sum(unmapped.values())
    by_reason = counts.get("cleanup_by_reason", {})
    by_field = counts.get("cleanup_by_field", {})

    headlines = [
        Headline(
            "calls counted", counted, f"{fmt(calls.get(OUTSIDE_WINDOW, 0))} outside the window"
        ),
        Headline(
            "bad numbers",
            sum(bad.values()),
            ", ".join(f"{fmt(bad.get(r, 0))} {r.replace('_', ' ')}" for r in REASONS),
        ),
        Headline("fields to clear", sum(by_reason.values()), "rows of autoflush_cleanup.csv"),
        Headline("accounts touched", counts.get("accounts_touched", 0)),
        Headline(
            "calls with an unmapped disposition",
            unmapped_calls,
            plural(len(unmapped), "distinct value"),
        ),
    ]

    reasons = [r for r in REASONS if r in bad or r in by_reason] + [
        r for r in {**bad, **by_reason} if r not in REASONS
    ]
    months = by_month(cleanup)
    sections = [
        Section(
            "Bad numbers by reason",
            [
                "disconnected: a number with enough disconnected calls over enough days, from "
                "any account, and no contact since; it is cleared from every account holding "
                "it. wrong_number: one account's calls to a number; cleared from that account "
                "only. A field that is both is counted once, as disconnected."
            ],
            grouped_bars(
                reasons,
                {
                    "bad numbers": [bad.get(r, 0) for r in reasons],
                    "fields to clear": [by_reason.get(r, 0) for r in reasons],
                },
                "bad numbers and fields to clear, by reason",
            ),
        ),
        Section(
            "Fields to clear by phone field",
            [],
            bar_chart(list(by_field), list(by_field.values()), "fields to clear by phone field"),
        ),
        Section(
            "Fields to clear by month of the last bad call",
            [
                "When the evidence against each number to clear ended (its last bad call), by "
                "month: a sudden month points at a dialer or carrier change."
            ],
            grouped_bars(
                months.index.tolist(),
                {reason: months[reason].tolist() for reason in months.columns},
                "fields to clear by month of the last bad call",
                stacked=True,
            ),
        ),
        Section(
            "Calls by category",
            [
                "Each call's disposition maps to a category through autoflush.dispositions; "
                "only disconnected, wrong_number and contact calls are evidence."
            ],
            bar_chart(list(calls), list(calls.values()), "calls by category", value_label="calls"),
        ),
        _unmapped_section(unmapped, unmapped_calls),
    ]
    subtitle = f"as of {summary.get('as_of', '?')}"
    return render_page(
        f"autoflush run {summary.get('run_id', '')}".strip(),
        subtitle,
        headlines,
        sections,
        footer=run_footer(summary),
    )


def _unmapped_section(unmapped: Mapping[str, int], calls: int) -> Section:
    if not unmapped:
        return Section(
            "Dispositions that mapped to nothing",
            ["None: every disposition found a category in autoflush.dispositions."],
        )
    top = list(unmapped.items())[:TOP_UNMAPPED]  # summary.json lists them most frequent first
    return Section(
        "Dispositions that mapped to nothing",
        [
            f"{plural(calls, 'call')} carried {plural(len(unmapped), 'disposition')} that no "
            "list of autoflush.dispositions holds: they count as no evidence either way. Add "
            "each to the category it means (phone numbers in them are masked)."
        ],
        bar_chart(
            [value for value, _ in top],
            [n for _, n in top],
            f"calls by unmapped disposition (the {len(top)} most frequent)",
            value_label="calls",
            horizontal=True,
            color="#e6550d",
        ),
        Table(
            ["disposition", "calls"],
            [[value, int(n)] for value, n in list(unmapped.items())[:TABLE_ROWS]],
        ),
    )
