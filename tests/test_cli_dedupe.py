"""End to end through the CLI on a real LocalCluster: outputs, summary, SQL, and bad input."""

import json
import sqlite3
from pathlib import Path

import pandas as pd

from tests.conftest import (
    CHAIN_ACCOUNTS,
    accounts_frame,
    no_run_folder,
    one_error_line,
    run_cli,
    write_config,
)

ACCOUNTS = CHAIN_ACCOUNTS


EXACT = "dedupe:\n  method: exact\n"


def test_dedupe_end_to_end_on_a_local_cluster(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(ACCOUNTS).to_parquet(data / "Account.parquet")
    # Worker processes: the summary's readings below are per worker (auto runs it in process).
    config = write_config(tmp_path, data, EXACT, cluster_extra="  processes: true\n")

    result = run_cli("run", "dedupe", "--config", str(config), "--as-of", "2026-11-25")
    assert result.exit_code == 0, result.output

    runs = list((tmp_path / "out" / "dedupe").iterdir())
    assert len(runs) == 1 and not runs[0].name.startswith(".")
    folder = runs[0]
    assert {p.name for p in folder.iterdir()} >= {
        "dedupe_flagged.csv",
        "summary.json",
        "dask-report.html",
        "run.log",
    }
    assert (folder / "dedupe_flagged.csv").read_text(encoding="utf-8").splitlines() == [
        "Id,SurvivorId,ClusterSize,MatchKeys,LastModifiedDate,SurvivorLastModifiedDate",
        "001A,001B,3,phone,2026-01-01T00:00:00Z,2026-03-01T00:00:00Z",
        "001C,001B,3,name_postal,2026-02-01T00:00:00Z,2026-03-01T00:00:00Z",
    ]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["job"] == "dedupe" and summary["run_id"] == folder.name
    assert summary["as_of"] == "2026-11-25T00:00:00+00:00"
    assert summary["inputs"] == {"Account": 4}
    assert summary["counts"]["flagged"] == 2 and summary["counts"]["clusters"] == 1
    assert set(summary["stages"]) == {"dedupe", "write"}
    workers = summary["memory"]["workers_peak_bytes"]
    assert len(workers) == 2 and all(v > 10_000_000 for v in workers.values())
    assert summary["memory"]["client_peak_bytes"] > 10_000_000
    # Per-worker CPU, keyed like the memory peaks: exactly these two numbers per worker.
    assert set(summary["cpu"]) == {"workers"}
    cpu = summary["cpu"]["workers"]
    assert set(cpu) == set(workers)
    for usage in cpu.values():
        assert set(usage) == {"cpu_seconds", "cpu_share"}
        assert all(isinstance(v, float) and v >= 0 for v in usage.values())
    assert sum(usage["cpu_seconds"] for usage in cpu.values()) > 0
    # The share divides by the job's wall time, which is within the run's.
    assert all(
        u["cpu_share"] >= u["cpu_seconds"] / summary["seconds"] - 0.002 for u in cpu.values()
    )
    assert summary["parameters"]["match_keys"] == ["phone", "name_postal"]

    with sqlite3.connect(tmp_path / "out" / "dialflow.sqlite") as db:
        rows = db.execute(
            "select run_id, Id, SurvivorId from dedupe_flagged order by Id"
        ).fetchall()
    assert rows == [(folder.name, "001A", "001B"), (folder.name, "001C", "001B")]
    # Phone numbers never reach the log.
    assert "867-5309" not in (folder / "run.log").read_text() and "8675309" not in result.output


def test_csv_cells_are_neutralised_against_formulas(tmp_path):
    from dialflow.sinks.csv import to_csv_frame

    frame = pd.DataFrame({"a": ["=SUM(A1)", "+14158675309", "-12.5", "@cmd", "-x", "plain", None]})
    assert to_csv_frame(frame)["a"].tolist() == [
        "'=SUM(A1)",
        "+14158675309",
        "-12.5",
        "'@cmd",
        "'-x",
        "plain",
        pd.NA,
    ]


def test_missing_column_stops_before_any_output(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(ACCOUNTS).drop(columns=["LastModifiedDate"]).to_csv(data / "Account.csv")
    result = run_cli("run", "dedupe", "--config", str(write_config(tmp_path, data)))
    assert result.exit_code == 2
    line = one_error_line(result.output)
    assert f"{data / 'Account.csv'}: missing column LastModifiedDate" in line
    assert no_run_folder(tmp_path, "dedupe")


def test_a_phone_column_is_not_demanded_when_no_key_uses_it(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(ACCOUNTS).drop(columns=["Phone"]).to_parquet(data / "Account.parquet")
    config = write_config(tmp_path, data, extra=EXACT + "  match_keys: [name_postal]\n")
    result = run_cli("run", "dedupe", "--config", str(config), "--no-sql")
    folder = Path(result.stdout.strip().splitlines()[-1]) if result.exit_code == 0 else None
    assert folder is not None, result.output
    flagged = pd.read_csv(folder / "dedupe_flagged.csv", dtype=str)
    # B ~ C share name + postal (the phone link A ~ B is not configured).
    assert flagged[["Id", "SurvivorId", "MatchKeys"]].values.tolist() == [
        ["001C", "001B", "name_postal"]
    ]


def test_mistyped_parquet_column_stops_before_any_output(tmp_path):
    data = tmp_path / "data"
    (data / "Account").mkdir(parents=True)
    frame = accounts_frame(ACCOUNTS)
    frame["CreatedDate"] = frame["CreatedDate"].astype("int64")
    frame.to_parquet(data / "Account" / "part-0.parquet")
    result = run_cli("run", "dedupe", "--config", str(write_config(tmp_path, data)))
    assert result.exit_code == 2
    line = one_error_line(result.output)
    assert f"{data / 'Account'}: column CreatedDate is int64, expected a timestamp" in line
    assert no_run_folder(tmp_path, "dedupe")


def test_bad_value_deep_in_a_csv_fails_the_run_and_leaves_no_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    frame = accounts_frame(ACCOUNTS * 400)
    frame["Id"] = [f"001{i:05d}" for i in range(len(frame))]
    text = frame.astype(object).astype(str)
    text.loc[1500, "CreatedDate"] = "last tuesday"  # beyond the 1,000-row sample
    text.to_csv(data / "Account.csv", index=False)
    result = run_cli("run", "dedupe", "--config", str(write_config(tmp_path, data)))
    assert result.exit_code == 2, result.output
    assert "column CreatedDate holds a value that is not a timestamp" in result.output
    assert no_run_folder(tmp_path, "dedupe")


def test_missing_table_names_what_was_looked_for(tmp_path):
    data = tmp_path / "empty"
    data.mkdir()
    result = run_cli("run", "dedupe", "--config", str(write_config(tmp_path, data)))
    assert result.exit_code == 2
    assert "no Account table (looked for Account/, Account.parquet, Account.csv)" in (
        one_error_line(result.output)
    )
    assert no_run_folder(tmp_path, "dedupe")


def test_bad_config_value_exits_2_and_leaves_no_run_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(ACCOUNTS).to_parquet(data / "Account.parquet")
    config = write_config(tmp_path, data, "dedupe:\n  postal_digits: 0\n")
    result = run_cli("run", "dedupe", "--config", str(config))
    assert result.exit_code == 2
    assert "dedupe.postal_digits = 0 is not allowed" in one_error_line(result.output)
    assert no_run_folder(tmp_path, "dedupe")


def test_unreachable_scheduler_fails_fast_with_the_address(tmp_path):
    import time

    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(ACCOUNTS).to_parquet(data / "Account.parquet")
    config = write_config(tmp_path, data, cluster_extra="  connect_timeout_seconds: 3\n")
    started = time.monotonic()
    result = run_cli("run", "dedupe", "--config", str(config), "--scheduler", "tcp://127.0.0.1:9")
    assert result.exit_code == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in one_error_line(result.output)
    assert time.monotonic() - started < 10
    assert no_run_folder(tmp_path, "dedupe")


def demo_then_dedupe(tmp_path: Path, extra: str = "") -> tuple[Path, Path]:
    """Write 4,000 demo accounts and run dedupe on them through the CLI; return the demo
    folder and the run folder."""
    data = tmp_path / "demo"
    made = run_cli(
        "demo-data", "--accounts", "4000", "--calls", "6000", "--seed", "11", "--out", str(data)
    )
    assert made.exit_code == 0, made.output
    result = run_cli("run", "dedupe", "--config", str(write_config(tmp_path, data, extra)))
    assert result.exit_code == 0, result.output
    return data, Path(result.stdout.strip().splitlines()[-1])


def test_demo_data_then_dedupe_through_the_cli_equals_the_pure_job(tmp_path):
    from dialflow.config import Settings
    from dialflow.jobs.dedupe import DedupeParams, dedupe_frame
    from dialflow.sources import FileSource

    data, folder = demo_then_dedupe(tmp_path, EXACT)
    planted = json.loads((data / "_demo.json").read_text())
    flagged = pd.read_csv(folder / "dedupe_flagged.csv", dtype=str)

    settings = Settings(dedupe={"method": "exact"})
    source = FileSource(data, {}, settings.phones.fields)
    accounts = pd.read_parquet(data / "Account")
    params = DedupeParams.from_settings(settings)
    expected, counts = dedupe_frame(source.read("Account").compute().reset_index(drop=True), params)
    assert len(accounts) == 4000
    assert flagged["Id"].tolist() == expected["Id"].tolist()
    assert flagged["SurvivorId"].tolist() == expected["SurvivorId"].tolist()
    assert len(flagged) >= planted["counts"]["duplicates"]["flagged"] > 0
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["counts"] == counts


def test_failed_sql_write_fails_the_run_and_leaves_no_run_folder(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(ACCOUNTS).to_parquet(data / "Account.parquet")
    (tmp_path / "out").mkdir()
    with sqlite3.connect(tmp_path / "out" / "dialflow.sqlite") as db:
        db.execute("create table dedupe_flagged (other integer not null)")
    result = run_cli("run", "dedupe", "--config", str(write_config(tmp_path, data, EXACT)))
    assert result.exit_code == 1
    line = one_error_line(result.output)
    assert "SQL table dedupe_flagged: writing 2 rows failed" in line
    assert "nothing was written" in line
    assert no_run_folder(tmp_path, "dedupe")
    with sqlite3.connect(tmp_path / "out" / "dialflow.sqlite") as db:
        assert db.execute("select count(*) from dedupe_flagged").fetchone() == (0,)


# The probabilistic method (the default).

FUZZY_ACCOUNTS = [
    dict(Id="001A", Name="Bayside Tools Inc", BillingStreet="12 Harbor St",
         BillingCity="Austin", BillingState="TX", BillingPostalCode="78701",
         Phone="(512) 555-0100", LastModifiedDate="2026-01-01", CreatedDate="2020-01-01"),
    # A typo in the name, the street spelled out, the same phone in another format: newer.
    dict(Id="001B", Name="Bayside Tool Inc.", BillingStreet="12 Harbor Street",
         BillingCity="Austin", BillingState="TX", BillingPostalCode="78701",
         Phone="512.555.0100", LastModifiedDate="2026-03-01", CreatedDate="2021-01-01"),
    # The same name and house number in another city: for a person to check.
    dict(Id="001C", Name="BAYSIDE TOOLS", BillingStreet="12 Harbour St",
         BillingCity="Dallas", BillingState="TX", BillingPostalCode="75201",
         LastModifiedDate="2026-02-01", CreatedDate="2021-06-01"),
    dict(Id="001D", Name="Zeta Farms", BillingStreet="4 Elm Rd", BillingCity="Boise",
         BillingState="ID", BillingPostalCode="83702", LastModifiedDate="2026-02-01",
         CreatedDate="2022-01-01"),
]  # fmt: skip


def pinned_model():
    """A model with round m and u, so that the pairs' weights can be read off."""
    import numpy as np

    from dialflow.jobs.linkage.model import FellegiSunter

    m = {
        "name": [0.01, 0.01, 0.03, 0.05, 0.2, 0.1, 0.1, 0.5],
        "street": [0.2, 0.05, 0.1, 0.1, 0.15, 0.4],
        "place": [0.01, 0.04, 0.05, 0.1, 0.1, 0.1, 0.6],
        "phone": [0.5, 0.5],
    }
    u = {
        "name": [0.9, 0.05, 0.02, 0.01, 0.01, 0.005, 0.003, 0.002],
        "street": [0.95, 0.02, 0.01, 0.01, 0.005, 0.005],
        "place": [0.5, 0.4, 0.04, 0.03, 0.01, 0.01, 0.01],
        "phone": [0.999, 0.001],
    }
    arrays = {c: np.array(v) for c, v in m.items()}, {c: np.array(v) for c, v in u.items()}
    return FellegiSunter(("name", "street", "place", "phone"), *arrays, prior=0.01)


def test_probabilistic_dedupe_with_a_pinned_model_flags_merges_and_lists_review_pairs(tmp_path):
    from dialflow.jobs.linkage.compare import level_labels
    from dialflow.jobs.linkage.decide import evidence

    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(FUZZY_ACCOUNTS).to_parquet(data / "Account.parquet")
    model = pinned_model()
    model_file = tmp_path / "model.json"
    model_file.write_text(json.dumps(model.to_json(level_labels())), encoding="utf-8")
    config = write_config(tmp_path, data, f"dedupe:\n  model: {model_file}\n")

    result = run_cli("run", "dedupe", "--config", str(config), "--as-of", "2026-11-25")
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip().splitlines()[-1])

    # A-B: name Jaro-Winkler >= 0.92 (4), same number and close street (4), postal and city
    # exact (6), a shared phone (1). A-C: exact name (7), same number and close street (4),
    # only the state in common (1), C has no phone. Weights +4.32 +4.91 +5.91 +8.97 and
    # +7.97 +4.91 -3.32 on the prior's -6.63: P = 1.0000 and 0.8834.
    levels = pd.DataFrame({"name": [4, 7], "street": [4, 4], "place": [6, 1], "phone": [1, -1]})
    probability = model.match_probability(levels).round(4).tolist()
    assert probability == [1.0, 0.8834]
    words = evidence(levels, model).tolist()
    assert words[1] == (
        "name=exact(+7.97); street=same_number_rest_jaro_winkler>=0.88(+4.91); "
        "place=same_state(-3.32); phone=null"
    )

    flagged = pd.read_csv(folder / "dedupe_flagged.csv", dtype=str, keep_default_na=False)
    assert flagged.columns.tolist() == [
        "Id", "SurvivorId", "ClusterSize", "MatchKeys", "LastModifiedDate",
        "SurvivorLastModifiedDate", "MatchProbability", "Evidence",
    ]  # fmt: skip
    assert flagged[["Id", "SurvivorId", "ClusterSize", "MatchKeys"]].values.tolist() == [
        ["001A", "001B", "2", "probabilistic"]
    ]
    assert abs(float(flagged["MatchProbability"].iloc[0]) - 1.0) < 1e-4
    assert flagged["Evidence"].iloc[0] == words[0]

    review = pd.read_csv(folder / "dedupe_review.csv", dtype=str, keep_default_na=False)
    assert review[["Reason", "IdL", "IdR", "NameL", "NameR", "BillingCityR"]].values.tolist() == [
        ["review_band", "001A", "001C", "Bayside Tools Inc", "BAYSIDE TOOLS", "Dallas"]
    ]
    assert round(float(review["MatchProbability"].iloc[0]), 4) == 0.8834
    assert review["Evidence"].iloc[0] == words[1]

    # The pinned model is the run's model.
    written = json.loads((folder / "model.json").read_text(encoding="utf-8"))
    assert written == json.loads(model_file.read_text(encoding="utf-8"))
    summary = json.loads((folder / "summary.json").read_text())
    counts = summary["counts"]
    assert counts["method"] == "probabilistic" and counts["model"] == str(model_file)
    assert (counts["matched_pairs"], counts["review_pairs"], counts["flagged"]) == (1, 1, 1)
    assert counts["largest_clusters"] == [2] and counts["clusters_over_max_size"] == 0
    assert summary["outputs"]["files"] == ["dedupe_review.csv", "model.json"]
    assert summary["inputs"] == {"Account": 4}
    with sqlite3.connect(tmp_path / "out" / "dialflow.sqlite") as db:
        rows = db.execute("select Id, SurvivorId, MatchKeys from dedupe_flagged").fetchall()
    assert rows == [("001A", "001B", "probabilistic")]


def test_a_pinned_model_that_is_no_model_stops_the_run_with_one_line(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(FUZZY_ACCOUNTS).to_parquet(data / "Account.parquet")
    model_file = tmp_path / "model.json"
    model_file.write_text('{"prior": 0.1}', encoding="utf-8")
    config = write_config(tmp_path, data, f"dedupe:\n  model: {model_file}\n")
    result = run_cli("run", "dedupe", "--config", str(config))
    assert result.exit_code == 2
    assert one_error_line(result.output).startswith(
        f"Error: {model_file}: dedupe.model is not a model.json of a dedupe run ("
    )
    assert no_run_folder(tmp_path, "dedupe")


def test_probabilistic_dedupe_through_the_cli_equals_the_one_frame_reference(tmp_path):
    from dialflow.config import Settings
    from dialflow.jobs.dedupe import DedupeParams
    from dialflow.jobs.linkage.compare import level_labels
    from dialflow.jobs.linkage.reference import match_frame
    from dialflow.sources import FileSource

    data, folder = demo_then_dedupe(tmp_path)

    settings = Settings()
    accounts = FileSource(data, {}, settings.phones.fields).read("Account").compute()
    params = DedupeParams.from_settings(settings).linkage()
    expected = match_frame(accounts.reset_index(drop=True), params)
    flagged, review, model, counts = (
        expected.flagged,
        expected.review,
        expected.model,
        expected.counts,
    )
    assert len(flagged) > 0
    written = pd.read_csv(folder / "dedupe_flagged.csv", dtype=str, keep_default_na=False)
    assert written["Id"].tolist() == flagged["Id"].tolist()
    assert written["SurvivorId"].tolist() == flagged["SurvivorId"].tolist()
    assert written["Evidence"].tolist() == flagged["Evidence"].tolist()
    written_review = pd.read_csv(folder / "dedupe_review.csv", dtype=str, keep_default_na=False)
    assert written_review[["IdL", "IdR"]].values.tolist() == review[["IdL", "IdR"]].values.tolist()
    assert json.loads((folder / "model.json").read_text()) == json.loads(
        json.dumps(model.to_json(level_labels()))
    )
    summary = json.loads((folder / "summary.json").read_text())
    assert {k: v for k, v in summary["counts"].items() if k not in ("dropped_rows", "model")} == (
        json.loads(json.dumps(counts))
    )


def test_skipped_blocks_are_counted_and_logged(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    accounts_frame(FUZZY_ACCOUNTS).to_parquet(data / "Account.parquet")
    config = write_config(tmp_path, data, "dedupe:\n  max_block_size: 2\n")
    result = run_cli("run", "dedupe", "--config", str(config))
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip().splitlines()[-1])
    blocking = json.loads((folder / "summary.json").read_text())["counts"]["blocking"]
    # "bayside" starts three names (first_token): the one block over 2 records ("tool" and
    # "tools" sound unlike, so words_state's blocks hold 2 and 1).
    assert (blocking["skipped_blocks"], blocking["skipped_block_records"]) == (1, 3)
    assert (
        "dedupe: 1 blocks over dedupe.max_block_size (2 records), or for the address rules "
        "over dedupe.whole_block_size (10) and for postal_street over "
        "dedupe.street_block_size (4), were skipped (3 key rows)"
        in (folder / "run.log").read_text()
    )
