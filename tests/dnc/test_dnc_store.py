"""Importing registry files into the store: exact numbers per area code, dates, date order,
all or nothing, versions."""

import json
import os
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from dialflow.dnc import area_dates, current_version, import_registry, read_manifest
from dialflow.dnc.store import apply_change, area_folder, sorted_unique
from dialflow.errors import InputError

TODAY = date(2026, 11, 29)


def write(folder: Path, name: str, *lines: str) -> Path:
    path = folder / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="ascii")
    return path


def stored(store: Path) -> dict[str, list[int]]:
    version = current_version(store)
    table = pq.read_table(version / "numbers").to_pandas()
    return {
        str(code): sorted(group["number"].tolist())
        for code, group in table.groupby("area_code", observed=True)
    }


def test_full_lists_then_a_change_list_give_exact_numbers_and_dates(tmp_path):
    files = [
        write(
            tmp_path, "dnc-change-20261105.txt", "201,2000003,A", "201,2000001,D", "202,3000001,A"
        ),
        write(tmp_path, "dnc-full-201-20261101.txt", "201,2000001", "201,2000002", "201,2000002"),
        write(tmp_path, "dnc-full-202-20261101.txt", "2023000002"),
    ]
    summary = import_registry(files, tmp_path / "dnc", today=TODAY)
    assert stored(tmp_path / "dnc") == {
        "201": [2012000002, 2012000003],
        "202": [2023000001, 2023000002],
    }
    manifest = read_manifest(tmp_path / "dnc")
    assert area_dates(manifest) == {"201": date(2026, 11, 5), "202": date(2026, 11, 5)}
    assert manifest["registry_date"] == "2026-11-05"
    assert manifest["area_codes"]["201"]["full_list_date"] == "2026-11-01"
    assert (summary["numbers"], summary["area_codes"]) == (4, 2)
    assert [f["kind"] for f in summary["files"]] == ["full", "full", "change"]


def test_a_later_full_list_replaces_an_area_code_and_leaves_the_others(tmp_path):
    store = tmp_path / "dnc"
    import_registry(
        [write(tmp_path, "a-20261101.txt", "201,2000001", "202,3000001")], store, today=TODAY
    )
    first = current_version(store)
    import_registry([write(tmp_path, "b-20261110.txt", "201,2000009")], store, today=TODAY)
    assert stored(store) == {"201": [2012000009], "202": [2023000001]}
    assert area_dates(read_manifest(store)) == {
        "201": date(2026, 11, 10),
        "202": date(2026, 11, 1),
    }
    # 202 was not rebuilt: its file is the previous version's (a hard link).
    second = current_version(store)
    assert second != first
    assert os.path.samefile(
        area_folder(first, "202") / "part-0.parquet", area_folder(second, "202") / "part-0.parquet"
    )


def test_additions_come_before_deletions_within_one_change_list(tmp_path):
    files = [
        write(tmp_path, "full-20261101.txt", "201,2000001"),
        write(tmp_path, "change-20261102.txt", "201,2000002,D", "201,2000002,A", "201,2000003,A"),
    ]
    import_registry(files, tmp_path / "dnc", today=TODAY)
    assert stored(tmp_path / "dnc") == {"201": [2012000001, 2012000003]}


def test_change_lists_apply_in_date_order_whatever_the_command_order(tmp_path):
    full = write(tmp_path, "full-20261101.txt", "201,2000001")
    later = write(tmp_path, "change-20261103.txt", "201,2000001,A")
    earlier = write(tmp_path, "change-20261102.txt", "201,2000001,D")
    import_registry([later, earlier, full], tmp_path / "dnc", today=TODAY)
    assert stored(tmp_path / "dnc") == {"201": [2012000001]}
    assert read_manifest(tmp_path / "dnc")["registry_date"] == "2026-11-03"


def test_files_older_than_the_stored_data_are_skipped_and_counted(tmp_path):
    store = tmp_path / "dnc"
    import_registry([write(tmp_path, "full-20261110.txt", "201,2000001")], store, today=TODAY)
    summary = import_registry(
        [
            write(tmp_path, "full-20261101.txt", "201,2000009"),
            write(tmp_path, "change-20261105.txt", "201,2000001,D"),
        ],
        store,
        today=TODAY,
    )
    assert summary["skipped"] == {"older_full_lists": 1, "older_change_lists": 1}
    assert stored(store) == {"201": [2012000001]}
    assert area_dates(read_manifest(store)) == {"201": date(2026, 11, 10)}


def test_a_change_list_for_an_area_code_without_a_full_list_is_refused(tmp_path):
    files = [
        write(tmp_path, "full-20261101.txt", "201,2000001"),
        write(tmp_path, "change-20261102.txt", "212,2000002,A"),
    ]
    with pytest.raises(InputError, match=r"change list holds area code 212, which has no full"):
        import_registry(files, tmp_path / "dnc", today=TODAY)
    assert current_version(tmp_path / "dnc") is None
    assert [p.name for p in (tmp_path / "dnc").iterdir()] == [".dnc-import.lock"]


def test_a_bad_line_leaves_the_store_as_it_was(tmp_path):
    store = tmp_path / "dnc"
    import_registry([write(tmp_path, "full-20261101.txt", "201,2000001")], store, today=TODAY)
    before = current_version(store)
    bad = [
        write(tmp_path, "full-20261110.txt", "201,2000009"),
        write(tmp_path, "change-20261111.txt", "201,2000010,A", "201,20000x1,A"),
    ]
    with pytest.raises(InputError, match=r"change-20261111.txt: line 2: field number"):
        import_registry(bad, store, today=TODAY)
    assert current_version(store) == before
    assert sorted(p.name for p in store.iterdir()) == [".dnc-import.lock", before.name]
    assert stored(store) == {"201": [2012000001]}


def test_only_the_newest_two_versions_are_kept_and_leftovers_are_removed(tmp_path):
    store = tmp_path / "dnc"
    for day in (1, 2, 3):
        import_registry([write(tmp_path, f"f-202611{day:02d}.txt", "201,2000001")], store,
                        today=TODAY)  # fmt: skip
    (store / ".2026-11-01T000000Z-abcdef.tmp").mkdir()
    import_registry([write(tmp_path, "f-20261104.txt", "201,2000001")], store, today=TODAY)
    names = sorted(p.name for p in store.iterdir())
    assert len(names) == 3 and names[0] == ".dnc-import.lock"
    manifest = json.loads((store / names[-1] / "manifest.json").read_text())
    assert len(manifest["imports"]) == 4
    assert manifest["registry_date"] == "2026-11-04"


def test_small_blocks_and_staging_buffers_give_the_same_store(tmp_path, monkeypatch):
    lines = [f"{code},{i:07d}" for i in range(0, 3000, 7) for code in (201, 989, 202)]
    full = write(tmp_path, "full-20261101.txt", *lines)
    change = write(tmp_path, "change-20261102.txt", *(f"{line},D" for line in lines[::5]))
    import_registry([full, change], tmp_path / "one", today=TODAY)
    monkeypatch.setattr("dialflow.dnc.store.FLUSH_NUMBERS", 10)
    import_registry([full, change], tmp_path / "many", today=TODAY, block_bytes=1024)
    assert stored(tmp_path / "many") == stored(tmp_path / "one")
    assert sum(map(len, stored(tmp_path / "one").values())) == len(lines) - len(lines[::5])


def test_a_failure_while_building_area_codes_leaves_the_store_as_it_was(tmp_path, monkeypatch):
    store = tmp_path / "dnc"
    import_registry([write(tmp_path, "full-20261101.txt", "201,2000001")], store, today=TODAY)
    before = current_version(store)
    calls = []

    def full_disk(*args):
        calls.append(args)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr("dialflow.dnc.store._write_numbers", full_disk)
    files = [write(tmp_path, "full-20261110.txt", "201,2000002", "202,3000001", "203,4000001")]
    with pytest.raises(OSError, match="No space left"):
        import_registry(files, store, today=TODAY)
    assert sorted(p.name for p in store.iterdir()) == [".dnc-import.lock", before.name]
    assert current_version(store) == before


def test_a_second_import_on_the_same_store_stops_at_once(tmp_path):
    from dialflow.errors import BusyError
    from dialflow.lock import job_lock

    store = tmp_path / "dnc"
    with job_lock(store, "dnc-import"), pytest.raises(BusyError) as caught:
        import_registry([write(tmp_path, "full-20261101.txt", "201,2000001")], store, today=TODAY)
    assert caught.value.exit_code == 3
    assert str(caught.value).startswith(f"dnc.path {store} (pid ")
    assert str(caught.value).endswith("another dnc import is running; this one did not start: "
                                      "wait for it to finish")  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_apply_change_and_sorted_unique_equal_numpys_set_operations(seed):
    # They replace np.union1d / np.setdiff1d / np.unique (hash-based and slow on NumPy 2.3+).
    rng = np.random.default_rng(seed)
    print(f"seed {seed}")
    draw = lambda n: rng.integers(2012000000, 2012000400, n)  # noqa: E731 - overlapping draws
    current, added, deleted = np.unique(draw(200)), draw(int(rng.integers(0, 100))), draw(50)
    expected = np.setdiff1d(np.union1d(current, added), deleted)
    got = apply_change(current, added, deleted)
    assert got.dtype == np.int64 and got.tolist() == expected.tolist()
    assert sorted_unique(added).tolist() == np.unique(added).tolist()
    assert (
        apply_change(current, added, np.empty(0, np.int64)).tolist()
        == np.union1d(current, added).tolist()
    )
