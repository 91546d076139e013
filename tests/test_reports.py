"""Each job's report.html, built without a cluster from the summary and output frames the job's
own pure functions make (the same shapes a run writes): the headline numbers, the words and
tables, and that the page needs nothing from the network. tests/test_report_pages.py opens the
reports of real runs in Chromium."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from dialflow.reports import report_html
from dialflow.reports.autoflush import by_month
from dialflow.reports.dedupe import evidence_levels, probability_bands
from dialflow.reports.infoflow import priority_counts
from dialflow.reports.listiq import shortfall_words, windows
from dialflow.reports.page import fmt
from tests.conftest import CHAIN_ACCOUNTS, accounts_frame, exact_dedupe_params

HEADLINE = re.compile(
    r'<div class="headline"><div class="value">(.*?)</div><div class="label">(.*?)</div>'
)


def headlines(page: str) -> dict[str, str]:
    """Return the page's headline numbers by label, in page order."""
    return {label: value for value, label in HEADLINE.findall(page)}


def assert_self_contained(page: str) -> None:
    """The page loads no script, style or image from anywhere: BokehJS is inlined."""
    assert not re.search(r"<script[^>]*\ssrc=", page)
    assert not re.search(r"<link[^>]*\shref=", page)
    assert "cdn.bokeh.org" not in page
    assert "/* BEGIN bokeh.min.js */" in page  # the library itself, inline


def summary_of(job: str, counts: dict, params: object = None, **more) -> dict:
    """A summary as summary.json holds it (JSON values), around a job's counts."""
    summary = {
        "job": job,
        "run_id": "2026-11-25T120000Z-abc123",
        "as_of": "2026-11-25T12:00:00+00:00",
        "parameters": dict(params) if params is not None else {},
        "counts": counts,
        **more,
    }
    return json.loads(json.dumps(summary, default=str))


# --- dedupe -------------------------------------------------------------------------------


def test_dedupe_exact_report_holds_the_runs_numbers():
    from dialflow.jobs.dedupe import dedupe_frame

    params = exact_dedupe_params()
    flagged, counts = dedupe_frame(accounts_frame(CHAIN_ACCOUNTS), params)
    summary = summary_of("dedupe", counts, params, inputs={"Account": 4})
    page = report_html("dedupe", summary, {"dedupe_flagged.csv": flagged})

    assert headlines(page) == {
        "accounts checked": "4",
        "survivors": "1",
        "flagged duplicates": "2",
        "records in clusters": "3",
        "largest cluster": "3",
    }
    assert "1 cluster of duplicates: 1 cluster of 3." in page
    assert "method exact" in page
    # The keys that linked them: A-B by phone, B-C by name_postal; the statuses per key.
    assert "<td>phone</td><td>valid</td>" in page
    assert_self_contained(page)


def test_dedupe_report_without_duplicates_says_none():
    from dialflow.jobs.dedupe import dedupe_frame

    params = exact_dedupe_params()
    flagged, counts = dedupe_frame(accounts_frame(CHAIN_ACCOUNTS[3:]), params)
    page = report_html(
        "dedupe", summary_of("dedupe", counts, params), {"dedupe_flagged.csv": flagged}
    )
    assert headlines(page)["flagged duplicates"] == "0"
    assert "0 clusters of duplicates: none." in page


EVIDENCE = [
    "name=exact(+14.79); street=exact(+15.57); place=postal_exact_same_city(+14.61); phone=null",
    "name=exact(+14.79); street=close(+6.20); place=postal_exact_same_city(+14.61); "
    "phone=shared(+9.05)",
    "name=jaro_winkler_92(+8.10); street=exact(+15.57); place=same_city(+5.02); phone=null",
]


def test_evidence_levels_count_each_comparisons_level_strongest_first():
    levels = evidence_levels(pd.Series(EVIDENCE, dtype="string"))
    assert levels.astype({"Weight": object}).where(levels.notna(), None).values.tolist() == [
        ["name", "exact", 14.79, 2],
        ["name", "jaro_winkler_92", 8.10, 1],
        ["street", "exact", 15.57, 2],
        ["street", "close", 6.20, 1],
        ["place", "postal_exact_same_city", 14.61, 2],
        ["place", "same_city", 5.02, 1],
        ["phone", "shared", 9.05, 1],
        ["phone", "null", None, 2],
    ]


def test_probability_bands_split_review_and_merged_pairs():
    flagged = pd.Series([0.95, 0.991, 0.9995, 1.0, 1.0])
    review = pd.Series([0.80, 0.85, 0.9499])
    bands = probability_bands(flagged, review, 0.80, 0.95)
    assert bands.values.tolist() == [
        ["0.8-0.95", 0, 3],
        ["0.95-0.99", 1, 0],
        ["0.99-0.999", 1, 0],
        ["0.999-0.9999", 1, 0],
        ["0.9999-1", 2, 0],
    ]


def test_dedupe_probabilistic_report_shows_evidence_and_review():
    flagged = pd.DataFrame(
        {
            "Id": ["a2", "a3", "b2"],
            "SurvivorId": ["a1", "a1", "b1"],
            "ClusterSize": [3, 3, 2],
            "MatchKeys": ["probabilistic"] * 3,
            "MatchProbability": [0.999, 0.97, 1.0],
            "Evidence": EVIDENCE,
        }
    )
    review = pd.DataFrame({"MatchProbability": [0.9, 0.85]})
    counts = {
        "method": "probabilistic", "accounts": 12_345, "clusters": 2, "records_in_clusters": 5,
        "flagged": 3, "largest_cluster": 3, "review_pairs": 2, "matched_pairs": 3,
        "candidate_pairs": 98_765, "clusters_over_max_size": 1,
        "blocking": {"pairs_by_rule": {"phone": 40_000, "postal_word": 58_765},
                     "skipped_blocks": 4},
    }  # fmt: skip
    params = {"method": "probabilistic", "threshold": 0.95, "review_threshold": 0.8,
              "max_cluster_size": 20}  # fmt: skip
    page = report_html(
        "dedupe",
        summary_of("dedupe", counts, params),
        {"dedupe_flagged.csv": flagged, "dedupe_review.csv": review},
    )
    assert headlines(page) == {
        "accounts checked": "12,345",
        "survivors": "2",
        "flagged duplicates": "3",
        "records in clusters": "5",
        "largest cluster": "3",
        "pairs for review": "2",
    }
    assert "1 cluster of 2, 1 cluster of 3" in page
    assert "1 cluster over dedupe.max_cluster_size (20 records) was not merged" in page
    assert "3 pairs linked records out of 98,765 compared" in page
    assert '<td>name</td><td>exact</td><td>+14.79</td><td class="n">2</td>' in page
    assert (
        "4 blocks over dedupe.max_block_size (the address rules: over "
        "dedupe.whole_block_size; postal_street: over dedupe.street_block_size) were "
        "skipped" in page
    )
    assert_self_contained(page)


# --- autoflush ----------------------------------------------------------------------------


def test_autoflush_report_holds_the_runs_numbers():
    from dialflow.jobs.autoflush import autoflush_frame
    from tests.jobs.test_autoflush import ACCOUNTS, CALLS, PARAMS

    rows, counts = autoflush_frame(CALLS, ACCOUNTS, PARAMS)
    page = report_html("autoflush", summary_of("autoflush", counts, PARAMS),
                       {"autoflush_cleanup.csv": rows})  # fmt: skip
    # 4 contact + 12 disconnected + 2 unmapped + 8 wrong-number calls; 1 outside the window.
    assert headlines(page) == {
        "calls counted": "26",
        "bad numbers": "4",
        "fields to clear": "5",
        "accounts touched": "3",
        "calls with an unmapped disposition": "2",
    }
    assert "2 disconnected, 2 wrong number" in page and "1 outside the window" in page
    assert "2 calls carried 2 dispositions that no list of autoflush.dispositions holds" in page
    assert "<td>Left Msg w/ Gatekeeper</td>" in page and "<td>&lt;empty&gt;</td>" in page
    assert_self_contained(page)


def test_autoflush_by_month_counts_fields_per_month_of_the_last_bad_call():
    from tests.jobs.test_autoflush import cleanup

    rows = cleanup(
        [
            ("A1", "Phone", "x", "+1", "disconnected", 3, "2026-01-02", "2026-03-31T23:00:00Z"),
            ("A2", "Phone", "x", "+1", "disconnected", 3, "2026-01-02", "2026-04-01T00:00:00Z"),
            ("A3", "Phone", "x", "+2", "wrong_number", 2, "2026-01-02", "2026-04-20T00:00:00Z"),
            ("A4", "Phone", "x", "+3", "wrong_number", 2, "2026-01-02", "2025-12-31T00:00:00Z"),
        ]
    )
    months = by_month(rows)
    assert months.columns.tolist() == ["disconnected", "wrong_number"]
    assert months.to_dict("index") == {
        "2025-12": {"disconnected": 0, "wrong_number": 1},
        "2026-03": {"disconnected": 1, "wrong_number": 0},
        "2026-04": {"disconnected": 1, "wrong_number": 1},
    }


def test_autoflush_report_with_nothing_to_clear():
    from dialflow.jobs.autoflush import CLEANUP_META

    counts = {"calls_by_category": {"neutral": 1_200_000}, "unmapped_dispositions": {},
              "bad_numbers": {}, "cleanup_by_reason": {}, "cleanup_by_field": {},
              "accounts_touched": 0}  # fmt: skip
    page = report_html("autoflush", summary_of("autoflush", counts),
                       {"autoflush_cleanup.csv": CLEANUP_META})  # fmt: skip
    assert headlines(page)["calls counted"] == "1,200,000"
    assert headlines(page)["bad numbers"] == "0"
    assert "None: every disposition found a category" in page


# --- infoflow -----------------------------------------------------------------------------


def test_infoflow_report_holds_the_runs_numbers():
    from tests.jobs.test_infoflow import PARAMS, run

    result = run()
    page = report_html("infoflow", summary_of("infoflow", result.counts, PARAMS),
                       {"research_requests.csv": result.requests})  # fmt: skip
    assert headlines(page) == {
        "research requests": "7",
        "eligible accounts": "7",
        "without a usable phone": "11",
        "accounts checked": "12",
    }
    assert (
        "Of 12 accounts, 11 have no valid phone autoflush left alone; 2 of those have no active "
        "owner and 2 had a research request in the last 90 days, which leaves 7 eligible."
    ) in page
    assert "waits for a later run" not in page and "wait for a later run" not in page
    assert '<td>address_changed</td><td>3</td><td class="n">1</td>' in page
    assert priority_counts(result.requests).to_dict() == {3.0: 1, 2.0: 1, 1.0: 2, 0.0: 3}
    assert_self_contained(page)


def test_infoflow_report_says_how_many_wait_beyond_max_requests():
    from tests.jobs.test_infoflow import PARAMS, run

    params = PARAMS.model_copy(update={"max_requests": 2})
    result = run(params)
    page = report_html("infoflow", summary_of("infoflow", result.counts, params),
                       {"research_requests.csv": result.requests})  # fmt: skip
    assert headlines(page)["research requests"] == "2"
    assert "infoflow.max_requests (2) keeps the 2 of highest priority; 5 eligible" in page


# --- listiq -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listiq_run():
    """The whole-job scenario of tests/jobs/test_listiq.py: FL has no records, CA takes its 2."""
    from dialflow.jobs.listiq import listiq_frame
    from tests.conftest import calls_frame
    from tests.jobs.test_listiq import account, params, reference

    rows = [account(f"CR{i}", "2026-11-24T10:00:00Z", Phone=f"415-867-53{i:02d}") for i in range(3)]
    rows += [account(f"CH{i}", Phone=f"415-867-54{i:02d}") for i in range(10)]
    rows += [account("NR0", "2026-11-24T10:00:00Z", Phone="212-736-5100")]
    rows += [account(f"NH{i}", Phone=f"212-736-520{i}") for i in range(2)]
    rows += [account("NX", Phone="212-736-5300")]  # called 3 days ago
    calls = calls_frame([("NX", "2127365300", "No Answer", "2026-11-22T12:00:00Z")])
    area_codes, _ = reference()
    population = pd.Series({"CA": 50, "NY": 30, "FL": 20})
    run_params = params(target_total_records=10, seed=11)
    result = listiq_frame(
        accounts_frame(rows), calls, pd.Index([]), pd.Index([]), area_codes, population,
        run_params,
    )  # fmt: skip
    return result, run_params


def test_listiq_report_holds_the_runs_numbers_and_explains_the_shortfall(listiq_run):
    result, run_params = listiq_run
    page = report_html(
        "listiq",
        summary_of("listiq", result.counts, run_params),
        {"call_list_2026-11-25.csv": result.call_list},
    )
    assert headlines(page) == {
        "delivered": "10",
        "pool": "16",
        "do not call": "0",
        "dedupe-flagged": "0",
        "recently called": "1",
        "recent / historical": "4 / 6",
    }
    assert shortfall_words(result.counts) == [
        "1 state fell short of the population quota by 2 records: FL delivered 0 of 2 (only 0 "
        "records in its pool).",
        "Their quota was apportioned again, by population, over the states that still had "
        "records: 2 records went to CA +2.",
    ]
    assert shortfall_words(result.counts)[1] in page
    assert "2 states had too few recent records and took older ones instead: CA, NY." in page
    assert (
        '<td>FL</td><td class="n">2</td><td class="n">0</td><td class="n">2</td>'
        "<td>only 0 records in its pool</td>"
    ) in page
    assert_self_contained(page)


def test_listiq_windows_group_rows_by_zone_and_window_in_utc(listiq_run):
    result, _ = listiq_run
    table = windows(result.call_list)
    assert [
        (row.TimeZone, row.Local, f"{row.StartUTC:%H:%M}", f"{row.EndUTC:%H:%M}", row.States,
         row.Rows)
        for row in table.itertuples()
    ] == [
        ("America/New_York", "08:00-21:00", "13:00", "02:00", "NY", 3),
        ("America/Los_Angeles", "08:00-21:00", "16:00", "05:00", "CA", 7),
    ]  # fmt: skip


def listiq_counts() -> dict:
    """Operator-sized counts: AL closed, NV short of records, their quota to CA and TX."""

    def state(quota, delivered, recent=0, older=0):
        return {"quota": quota, "delivered": delivered, "shortfall": max(quota - delivered, 0),
                "recent_target": 0, "recent_delivered": 0, "historical_delivered": delivered,
                "recent_available": recent, "historical_available": older}  # fmt: skip

    return {
        "target": 10_000, "delivered": 10_000, "shortfall": 0, "pool": 14_300,
        "accounts_by_status": {"callable": 14_300, "do_not_call": 547, "dedupe_flagged": 748,
                               "recently_called": 3_997},
        "delivered_by_bucket": {"recent": 7_000, "historical": 3_000},
        "states": {"AL": state(150, 0), "CA": state(1_200, 1_330), "NV": state(100, 60, 10, 50),
                   "TX": state(900, 960)},
        "closed_states": {"AL": "closed on Sunday"},
        "call_date": "2026-11-29",
    }  # fmt: skip


def test_listiq_report_on_operator_sized_counts():
    page = report_html("listiq", summary_of("listiq", listiq_counts()),
                       {"call_list_2026-11-29.csv": pd.DataFrame(
                           columns=["AccountId", "State", "TimeZone", "WindowStartLocal",
                                    "WindowEndLocal"])})  # fmt: skip
    found = headlines(page)
    assert (found["pool"], found["do not call"], found["dedupe-flagged"]) == (
        "14,300", "547", "748",
    )  # fmt: skip
    assert (found["recently called"], found["states closed"]) == ("3,997", "1")
    assert "<title>listiq 2026-11-29: call list (closed today: AL)</title>" in page
    words = shortfall_words(listiq_counts())
    assert words == [
        "2 states fell short of the population quota by 190 records: AL delivered 0 of 150 "
        "(closed on the call date: closed on Sunday); NV delivered 60 of 100 (only 60 records "
        "in its pool).",
        "Their quota was apportioned again, by population, over the states that still had "
        "records: 190 records went to CA +130, TX +60.",
    ]
    assert all(line in page for line in words)


def test_listiq_shortfall_words_when_the_pool_is_spent_and_when_all_filled():
    counts = listiq_counts()
    counts["states"]["CA"]["delivered"] = 1_200
    counts["states"]["TX"]["delivered"] = 900
    counts["delivered"], counts["shortfall"] = 9_810, 190
    words = shortfall_words(counts)
    assert len(words) == 2 and words[1] == (
        "The pool was spent: the list is 190 records short of its target of 10,000."
    )
    filled = {"target": 3, "shortfall": 0, "states": {"CA": {"quota": 3, "delivered": 3,
                                                             "shortfall": 0}}}  # fmt: skip
    assert shortfall_words(filled) == ["Every state filled its population quota: 3 records in all."]


# --- the page -----------------------------------------------------------------------------


def test_numbers_read_as_a_person_reads_them():
    assert [fmt(v) for v in (14_300, 0, 0.95, 90.0, 2_500.0, 0.9999, "4 / 6")] == [
        "14,300", "0", "0.95", "90", "2,500", "0.9999", "4 / 6",
    ]  # fmt: skip


def test_a_job_without_a_report_gets_none():
    assert report_html("phonecheck", {"counts": {}}, {}) is None


def test_text_is_escaped():
    counts = {"calls_by_category": {"unmapped": 1}, "unmapped_dispositions": {"<b>x</b>": 1},
              "bad_numbers": {}, "cleanup_by_reason": {}, "cleanup_by_field": {},
              "accounts_touched": 0}  # fmt: skip
    from dialflow.jobs.autoflush import CLEANUP_META

    page = report_html("autoflush", summary_of("autoflush", counts),
                       {"autoflush_cleanup.csv": CLEANUP_META})  # fmt: skip
    outside_scripts = re.sub(r"<script.*?</script>", "", page, flags=re.DOTALL)
    assert "<b>x</b>" not in outside_scripts and "<td>&lt;b&gt;x&lt;/b&gt;</td>" in page


def test_infoflow_report_lists_a_signal_that_never_fired():
    from tests.jobs.test_infoflow import PARAMS, run

    result = run()
    counts = {**result.counts, "signals_fired": {"new_account": 4}}
    page = report_html("infoflow", summary_of("infoflow", counts, PARAMS),
                       {"research_requests.csv": result.requests})  # fmt: skip
    assert '<td>reached_before</td><td>2</td><td class="n">0</td>' in page
    assert '<td>new_account</td><td>1</td><td class="n">4</td>' in page


# --- the runner's one call ----------------------------------------------------------------


def a_run(tmp_path, job: str):
    from dialflow.run import Run

    return Run(job, "2026-11-25T120000Z-abc123", pd.Timestamp("2026-11-25", tz="UTC"), tmp_path,
               tmp_path, {"method": "exact"})  # fmt: skip


def test_the_runner_writes_the_report_from_the_runs_counts(tmp_path):
    from dialflow.jobs.dedupe import dedupe_frame
    from dialflow.runner import JobOutput, _write_report

    flagged, counts = dedupe_frame(accounts_frame(CHAIN_ACCOUNTS), exact_dedupe_params())
    run = a_run(tmp_path, "dedupe")
    run.counts.update(counts)
    run.inputs["Account"] = 4
    _write_report(run, JobOutput(flagged, "dedupe_flagged", "dedupe_flagged"))
    assert run.outputs["report"] == "report.html"
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert headlines(page)["accounts checked"] == "4"
    assert headlines(page)["flagged duplicates"] == "2"


def test_a_failing_report_is_a_warning_and_the_run_goes_on(tmp_path, monkeypatch, caplog):
    from dialflow import reports
    from dialflow.runner import JobOutput, _write_report

    def broken(summary, frames):
        raise KeyError("clusters")

    monkeypatch.setitem(reports.REPORTS, "dedupe", broken)
    run = a_run(tmp_path, "dedupe")
    _write_report(run, JobOutput(pd.DataFrame(), "dedupe_flagged", "dedupe_flagged"))
    assert "report" not in run.outputs and not (tmp_path / "report.html").exists()
    assert "dedupe: report.html not written (KeyError: 'clusters')" in caplog.text


def test_a_job_without_a_report_writes_none(tmp_path):
    from dialflow.runner import JobOutput, _write_report

    run = a_run(tmp_path, "phonecheck")
    _write_report(run, JobOutput(pd.DataFrame({"Field": ["Phone"]}), "phone_check", "t"))
    assert "report" not in run.outputs and not (tmp_path / "report.html").exists()
