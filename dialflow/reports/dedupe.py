"""dedupe's report: how many duplicates, in clusters of what size, found on what evidence."""

from __future__ import annotations

import re
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

FLAGGED = "dedupe_flagged.csv"
REVIEW = "dedupe_review.csv"
# One comparison of an Evidence text: `name=exact(+14.79)` or `phone=null`.
_EVIDENCE = re.compile(r"(\w+)=([^(;]+?)(?:\(([^)]*)\))?\s*(?:;|$)")


def cluster_sizes(flagged: pd.DataFrame) -> pd.Series:
    """Return how many clusters have each size (records, survivor included), by size."""
    sizes = flagged.groupby("SurvivorId")["ClusterSize"].first().astype("int64")
    return sizes.value_counts().sort_index()


def _weight(text: str) -> float:
    """Return a level's weight from its Evidence text (`+14.79`), NaN where there is none."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


def evidence_levels(evidence: pd.Series) -> pd.DataFrame:
    """Return, per comparison and level, how many Evidence texts hold it and its weight:
    columns Comparison, Level, Weight (NaN for null), Records; comparisons in order of first
    appearance, levels by weight, strongest first, null last."""
    # Each distinct text parsed once (a few hundred patterns among tens of thousands of rows).
    texts = evidence.dropna().astype(str).value_counts(sort=False)
    rows = [
        (comparison, level.strip(), _weight(weight), holders)
        for text, holders in texts.items()
        for comparison, level, weight in _EVIDENCE.findall(text)
    ]
    if not rows:
        return pd.DataFrame(columns=["Comparison", "Level", "Weight", "Records"])
    found = pd.DataFrame(rows, columns=["Comparison", "Level", "Weight", "Holders"])
    order = {name: i for i, name in enumerate(dict.fromkeys(found["Comparison"]))}
    table = found.groupby(["Comparison", "Level"], sort=False).agg(
        Weight=("Weight", "first"), Records=("Holders", "sum")
    )
    table = table.reset_index()
    table["_order"] = table["Comparison"].map(order)
    return (
        table.sort_values(["_order", "Weight"], ascending=[True, False], na_position="last")
        .drop(columns="_order")
        .reset_index(drop=True)
    )


def probability_bands(
    flagged: pd.Series, review: pd.Series, review_threshold: float, threshold: float
) -> pd.DataFrame:
    """Return counts per band of match probability: the flagged records' best pair and the
    review pairs. Bands: the review band, then finer near 1, where merged pairs crowd."""
    edges = sorted(
        {review_threshold, threshold, *(e for e in (0.99, 0.999, 0.9999) if e > threshold)}
    )
    edges.append(1.0 + 1e-12)  # a probability of exactly 1 falls in the last band
    labels = [
        f"{lo:g}-{hi:g}" if hi <= 1.0 else f"{lo:g}-1"
        for lo, hi in zip(edges, edges[1:], strict=False)
    ]
    bins = pd.IntervalIndex.from_breaks(edges, closed="left")

    def counts(values: pd.Series) -> list[int]:
        cut = pd.cut(values.astype("float64"), bins)
        return cut.value_counts().reindex(bins, fill_value=0).astype(int).tolist()

    return pd.DataFrame({"Band": labels, "flagged": counts(flagged), "review": counts(review)})


def report(summary: Mapping[str, Any], frames: Mapping[str, pd.DataFrame]) -> str:
    """Return dedupe's report page from its summary (as in summary.json) and its output frames
    (`dedupe_flagged.csv`, and `dedupe_review.csv` for the probabilistic method)."""
    counts = summary["counts"]
    params = summary.get("parameters", {})
    flagged = frames[FLAGGED]
    review = frames.get(REVIEW)
    method = counts.get("method", params.get("method", "exact"))
    probabilistic = method == "probabilistic"
    accounts = counts.get("accounts", summary.get("inputs", {}).get("Account"))

    headlines = [
        Headline("accounts checked", accounts if accounts is not None else "-"),
        Headline("survivors", counts["clusters"], "one per duplicate cluster: the newest record"),
        Headline("flagged duplicates", counts["flagged"], "in dedupe_flagged.csv"),
        Headline("records in clusters", counts["records_in_clusters"]),
        Headline("largest cluster", counts["largest_cluster"], "records"),
    ]
    if probabilistic:
        headlines.append(
            Headline("pairs for review", counts.get("review_pairs", 0), "in dedupe_review.csv")
        )

    sizes = cluster_sizes(flagged)
    size_words = ", ".join(f"{plural(int(n), 'cluster')} of {size}" for size, n in sizes.items())
    cluster_text = [
        f"{plural(counts['clusters'], 'cluster')} of duplicates: {size_words or 'none'}. Each "
        "keeps its newest record (LastModifiedDate, then CreatedDate, then the greatest Id); "
        "every other member is flagged."
    ]
    oversized = counts.get("clusters_over_max_size", 0)
    if oversized:
        cluster_text.append(
            f"{plural(oversized, 'cluster')} over dedupe.max_cluster_size "
            f"({fmt(params.get('max_cluster_size', '?'))} records) "
            f"{'was' if oversized == 1 else 'were'} not merged; their pairs are in "
            "dedupe_review.csv with the reason cluster_too_large."
        )
    sections = [
        Section(
            "Clusters by size",
            cluster_text,
            bar_chart(
                [str(size) for size in sizes.index],
                sizes.tolist(),
                "clusters by size (records per cluster)",
                value_label="clusters",
            ),
        )
    ]
    if probabilistic:
        sections += _probabilistic_sections(counts, params, flagged, review)
    else:
        sections += _exact_sections(counts, flagged)
    title = f"dedupe run {summary.get('run_id', '')}".strip()
    subtitle = f"method {method}; as of {summary.get('as_of', '?')}"
    return render_page(title, subtitle, headlines, sections, footer=run_footer(summary))


def _probabilistic_sections(
    counts: Mapping[str, Any],
    params: Mapping[str, Any],
    flagged: pd.DataFrame,
    review: pd.DataFrame | None,
) -> list[Section]:
    threshold = float(params.get("threshold", 0.95))
    review_threshold = float(params.get("review_threshold", 0.80))
    review_p = review["MatchProbability"] if review is not None else pd.Series(dtype="float64")
    bands = probability_bands(flagged["MatchProbability"], review_p, review_threshold, threshold)
    levels = evidence_levels(flagged["Evidence"])
    level_labels = [
        f"{c}: {lv}" for c, lv in zip(levels["Comparison"], levels["Level"], strict=True)
    ]
    blocking = counts.get("blocking", {}).get("pairs_by_rule", {})
    return [
        Section(
            "Match evidence: probability",
            [
                f"Pairs at or above dedupe.threshold ({fmt(threshold)}) link their records; "
                f"pairs from dedupe.review_threshold ({fmt(review_threshold)}) up to it go to "
                f"review. {fmt(counts.get('matched_pairs', 0))} pairs linked records out of "
                f"{fmt(counts.get('candidate_pairs', 0))} compared. Flagged records are counted "
                "by their most probable linking pair."
            ],
            grouped_bars(
                bands["Band"].tolist(),
                {
                    "flagged records (best pair)": bands["flagged"].tolist(),
                    "review pairs": bands["review"].tolist(),
                },
                "match probability",
                value_label="records / pairs",
            ),
        ),
        Section(
            "Match evidence: the levels that fired",
            [
                "For each flagged record, the level each comparison reached in its most "
                "probable linking pair, with the level's weight log2(m/u) from model.json "
                "(null: a record lacked the field, which counts for nothing)."
            ],
            bar_chart(
                level_labels,
                levels["Records"].tolist(),
                "flagged records by comparison level",
                horizontal=True,
            ),
            Table(
                ["comparison", "level", "weight", "flagged records"],
                [
                    [c, lv, "" if pd.isna(w) else f"{w:+.2f}", int(n)]
                    for c, lv, w, n in levels.itertuples(index=False)
                ],
            ),
        ),
        Section(
            "Candidate pairs by blocking rule",
            [
                "Pairs each blocking rule proposed (a pair found by several rules is compared "
                f"once); {fmt(counts.get('blocking', {}).get('skipped_blocks', 0))} blocks over "
                "dedupe.max_block_size (the address rules: over dedupe.whole_block_size; "
                "postal_street: over dedupe.street_block_size) were skipped."
            ],
            bar_chart(
                list(blocking),
                list(blocking.values()),
                "pairs by blocking rule",
                value_label="pairs",
                horizontal=True,
            ),
        ),
    ]


def _exact_sections(counts: Mapping[str, Any], flagged: pd.DataFrame) -> list[Section]:
    keys = flagged["MatchKeys"].fillna("").astype(str).value_counts()
    status_rows = [
        [key, status, int(n)]
        for key, statuses in counts.get("keys", {}).items()
        for status, n in statuses.items()
    ]
    return [
        Section(
            "Match evidence: the keys that matched",
            [
                "Each flagged record by the match keys (dedupe.match_keys) through which it "
                "shares a value with another member of its cluster."
            ],
            bar_chart(
                keys.index.tolist(),
                keys.tolist(),
                "flagged records by match keys",
                horizontal=True,
            ),  # fmt: skip
            Table(["match key", "status", "accounts"], status_rows),
        )
    ]
