"""listiq's report: the pool and why accounts were left out, target vs delivered per state with
the re-apportioned shortfall in words, recent vs historical, time zones and calling windows."""

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
    spans_chart,
)

# Why an account is not in the pool, in words (jobs/listiq.py STATUSES).
STATUS_WORDS = {
    "callable": "in the pool (callable)",
    "do_not_call": "do not call",
    "dedupe_flagged": "flagged by dedupe",
    "no_valid_phone": "no valid phone",
    "unmapped_area_code": "area code maps to no state",
    "recently_called": "called recently",
    "attempt_cap": "at the state's attempt cap",
    "shared_number": "number shared with a newer account",
}
NAMED_GAINS = 12  # states named as taking the shortfall; the rest are summed up


def _call_list(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    (name,) = [name for name in frames if name.startswith("call_list_")]
    return frames[name]


def why_short(state: str, row: Mapping[str, int], closed: Mapping[str, str]) -> str:
    """Say why a state fell short of its quota: closed on the call date, or too few records."""
    if state in closed:
        return f"closed on the call date: {closed[state]}"
    available = row.get("recent_available", 0) + row.get("historical_available", 0)
    return f"only {plural(available, 'record')} in its pool"


def some(names: list[str], limit: int = 15) -> str:
    """Return names comma-joined, the first `limit` of them and how many more."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {fmt(len(names) - limit)} more" if len(names) > limit else "")


def shortfall_words(counts: Mapping[str, Any]) -> list[str]:
    """Say which states fell short of their population quota, why, and where their quota went.

    Args:
        counts: listiq's summary counts: `states` (quota, delivered, shortfall and available
            per state), `closed_states`, `target` and `shortfall`.
    """
    states = counts["states"]
    closed = counts.get("closed_states", {})
    short = sorted(
        ((s, v) for s, v in states.items() if v["shortfall"] > 0),
        key=lambda item: (-item[1]["shortfall"], item[0]),
    )
    gained = sorted(
        (
            (s, v["delivered"] - v["quota"])
            for s, v in states.items()
            if v["delivered"] > v["quota"]
        ),
        key=lambda item: (-item[1], item[0]),
    )
    if not short:
        return [f"Every state filled its population quota: {fmt(counts['target'])} records in all."]

    total = sum(v["shortfall"] for _, v in short)
    words = [
        f"{plural(len(short), 'state')} fell short of the population quota by "
        f"{plural(total, 'record')}: "
        + "; ".join(
            f"{s} delivered {fmt(v['delivered'])} of {fmt(v['quota'])} ({why_short(s, v, closed)})"
            for s, v in short
        )
        + "."
    ]
    if gained:
        named = gained[:NAMED_GAINS]
        rest = gained[NAMED_GAINS:]
        moved = sum(n for _, n in gained)
        listed = ", ".join(f"{s} +{fmt(n)}" for s, n in named)
        if rest:
            listed += f" and {plural(len(rest), 'more state')} +{fmt(sum(n for _, n in rest))}"
        words.append(
            f"Their quota was apportioned again, by population, over the states that still had "
            f"records: {plural(moved, 'record')} went to {listed}."
        )
    if counts.get("shortfall", 0) > 0:
        words.append(
            f"The pool was spent: the list is {plural(counts['shortfall'], 'record')} short of "
            f"its target of {fmt(counts['target'])}."
        )
    return words


def windows(call_list: pd.DataFrame) -> pd.DataFrame:
    """Return the calling windows of the list: one row per time zone(s) and local window, with
    its UTC span, its states and its rows, earliest start first."""
    listed = call_list.dropna(subset=["WindowStartLocal", "WindowEndLocal"])
    if listed.empty:
        utc = pd.Series(dtype="datetime64[ns, UTC]")
        text = pd.Series(dtype=object)
        return pd.DataFrame(
            {"TimeZone": text, "Local": text, "StartUTC": utc, "EndUTC": utc, "States": text,
             "Rows": pd.Series(dtype="int64")}
        )  # fmt: skip
    grouped = listed.groupby(["TimeZone", "WindowStartLocal", "WindowEndLocal"], dropna=False)
    table = grouped.agg(
        States=("State", lambda s: " ".join(sorted(set(s.astype(str))))),
        Rows=("AccountId", "size"),
    ).reset_index()
    start = table["WindowStartLocal"].astype(str)
    end = table["WindowEndLocal"].astype(str)
    table["Local"] = start.str[11:16] + "-" + end.str[11:16]
    table["StartUTC"] = pd.to_datetime(start, utc=True, format="ISO8601")
    table["EndUTC"] = pd.to_datetime(end, utc=True, format="ISO8601")
    return table.sort_values(["StartUTC", "EndUTC", "TimeZone"]).reset_index(drop=True)[
        ["TimeZone", "Local", "StartUTC", "EndUTC", "States", "Rows"]
    ]


def report(summary: Mapping[str, Any], frames: Mapping[str, pd.DataFrame]) -> str:
    """Return listiq's report page from its summary (as in summary.json) and its call list
    (`call_list_<date>.csv`)."""
    counts = summary["counts"]
    params = summary.get("parameters", {})
    call_list = _call_list(frames)
    statuses = counts["accounts_by_status"]
    states = counts["states"]
    buckets = counts.get("delivered_by_bucket", {})
    recent, historical = buckets.get("recent", 0), buckets.get("historical", 0)
    closed = counts.get("closed_states", {})
    day = counts.get("call_date", "")

    headlines = [
        Headline("delivered", counts["delivered"], f"of a target of {fmt(counts['target'])}"),
        Headline("pool", counts["pool"], "callable accounts, one per number"),
        Headline("do not call", statuses.get("do_not_call", 0), "excluded"),
        Headline("dedupe-flagged", statuses.get("dedupe_flagged", 0), "excluded"),
        Headline("recently called", statuses.get("recently_called", 0), "excluded"),
        Headline("recent / historical", f"{fmt(recent)} / {fmt(historical)}", "delivered"),
    ]
    if closed:
        headlines.append(Headline("states closed", len(closed), ", ".join(closed)))

    order = sorted(states)
    sections = [
        _pool_section(counts, statuses, params),
        Section(
            "Target vs delivered by state",
            shortfall_words(counts),
            grouped_bars(
                order,
                {
                    "target (population share)": [states[s]["quota"] for s in order],
                    "delivered": [states[s]["delivered"] for s in order],
                },
                "target vs delivered by state",
            ),
            Table(
                ["state fell short", "target", "delivered", "short by", "why"],
                [
                    [s, row["quota"], row["delivered"], row["shortfall"], why_short(s, row, closed)]
                    for s, row in states.items()
                    if row["shortfall"] > 0
                ],
            ),
        ),
        _buckets_section(states, order, recent, historical, params),
        *_zone_sections(call_list),
    ]
    title = f"listiq {day}: call list".strip()
    if closed:
        title += f" (closed today: {', '.join(closed)})"
    return render_page(
        title,
        f"run {summary.get('run_id', '?')}, as of {summary.get('as_of', '?')}",
        headlines,
        sections,
        footer=run_footer(summary),
    )


def _pool_section(
    counts: Mapping[str, Any], statuses: Mapping[str, int], params: Mapping[str, Any]
) -> Section:
    total = sum(statuses.values())
    left_out = total - statuses.get("callable", 0)
    unmapped = counts.get("unmapped_area_codes", {})
    text = [
        f"Of {plural(total, 'account')}, {fmt(statuses.get('callable', 0))} are callable and "
        f"{fmt(left_out)} were left out, each for the first reason that applies, in this "
        f"order. Recently called: any call in the last "
        f"{fmt(params.get('contact_days_threshold', 30))} days."
    ]
    if unmapped:
        text.append(
            f"{plural(len(unmapped), 'area code')} mapped to no state (toll-free, Canadian, "
            f"...): {', '.join(f'{code} ({fmt(n)})' for code, n in list(unmapped.items())[:20])}."
        )
    labels = [STATUS_WORDS.get(s, s) for s in statuses]
    return Section(
        "Pool and exclusions",
        text,
        bar_chart(labels, list(statuses.values()), "accounts by status", horizontal=True),
    )


def _buckets_section(
    states: Mapping[str, Mapping[str, int]],
    order: list[str],
    recent: int,
    historical: int,
    params: Mapping[str, Any],
) -> Section:
    share = float(params.get("recent_share", 0.7))
    short_recent = [
        s for s in order if states[s]["recent_delivered"] < states[s].get("recent_target", 0)
    ]
    text = [
        f"{fmt(recent)} recent records (created in the last "
        f"{fmt(params.get('recent_window_hours', 48))} hours, newest first) and "
        f"{fmt(historical)} historical ones (older, in a seeded random order). Each state "
        f"aims at {share:.0%} recent; a bucket's shortfall is filled from the other."
    ]
    if short_recent:
        text.append(
            f"{plural(len(short_recent), 'state')} had too few recent records and took older "
            f"ones instead: {some(short_recent)}."
        )
    shown = [s for s in order if states[s]["delivered"] > 0]
    return Section(
        "Recent and historical records",
        text,
        grouped_bars(
            shown,
            {
                "recent": [states[s]["recent_delivered"] for s in shown],
                "historical": [states[s]["historical_delivered"] for s in shown],
            },
            "delivered by state and bucket",
            stacked=True,
        ),
    )


def _zone_sections(call_list: pd.DataFrame) -> list[Section]:
    zones = call_list["TimeZone"].astype(str).value_counts()
    spans = windows(call_list)
    return [
        Section(
            "Time zones",
            [
                "Rows by the time zone(s) of the number's area code; an area code that spans "
                "zones lists them all, and its window is the one legal in every zone."
            ],
            bar_chart(zones.index.tolist(), zones.tolist(), "rows by time zone", horizontal=True),
        ),
        Section(
            "Calling windows",
            [
                "When each group of rows may be called on the call date: local hours are the "
                "federal 8:00-21:00 narrowed by the state's rules; the plot shows them in UTC, "
                "so that the day's calling can be planned on one clock."
            ],
            spans_chart(
                [
                    f"{z} {local}"
                    for z, local in zip(spans["TimeZone"], spans["Local"], strict=True)
                ],
                spans["StartUTC"].dt.tz_localize(None).tolist(),
                spans["EndUTC"].dt.tz_localize(None).tolist(),
                spans["Rows"].tolist(),
                "calling windows (UTC)",
                "UTC on the call date",
            ),
            Table(
                ["time zone(s)", "local window", "UTC window", "states", "rows"],
                [
                    [
                        row.TimeZone,
                        row.Local,
                        f"{row.StartUTC:%H:%M}-{row.EndUTC:%H:%M}",
                        row.States,
                        int(row.Rows),
                    ]
                    for row in spans.itertuples(index=False)
                ],
            ),
        ),
    ]
