"""The registry store: `dialflow dnc import` applies registry files to the stored registry, all
or nothing, and readers (listiq) find the current version and its dates.

Layout under `dnc.path` (default `data/dnc`):

    <dnc.path>/<import_id>/manifest.json                       dates, counts, what was imported
    <dnc.path>/<import_id>/numbers/area_code=201/part-0.parquet  column `number` (int64, sorted)

Each import writes a whole new version into `.<import_id>.tmp/` (area codes it does not touch
are hard links to the previous version's files, which are never changed in place) and renames
it to `<import_id>/` when complete: the rename is the commit, as for run folders. The current
version is the greatest import id holding a manifest (ids sort by time); the previous version
is kept, older ones are removed. A killed import leaves a hidden folder that the next import
removes. Memory is bounded by one block of a file and by one area code's numbers, never by the
registry: records are first staged per file and area code (`.npy` in the temporary folder),
then each area code is rebuilt from its previous numbers and its staged records in date order.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dialflow.errors import BusyError, InputError
from dialflow.lock import job_lock
from dialflow.run import file_mode, is_run_id, new_run_id, stop_on_signals

if TYPE_CHECKING:
    from collections.abc import Iterator

    from dialflow.config import Settings

from .files import BLOCK_BYTES, RegistryFile, describe_files, read_batches

MANIFEST = "manifest.json"
NUMBERS = "numbers"
FORMAT_VERSION = 1
KEEP_VERSIONS = 2  # the current version and the one before it
HISTORY_IMPORTS = 50  # imports listed in the manifest (a daily full download names ~400 files)
FLUSH_NUMBERS = 4_000_000  # staged numbers buffered (32 MB) before they are written out

Progress = Callable[[str, int, int], None]  # (stage, done, total)


def _no_progress(stage: str, done: int, total: int) -> None:
    """Report nothing."""


def area_folder(version: Path, area_code: str) -> Path:
    """Return the folder holding one area code's numbers in a version."""
    return version / NUMBERS / f"area_code={area_code}"


def current_version(store: Path) -> Path | None:
    """Return the folder of the registry's current version, or None before the first import."""
    store = Path(store)
    names = [p.name for p in store.iterdir()] if store.is_dir() else []
    complete = [n for n in names if is_run_id(n) and (store / n / MANIFEST).is_file()]
    return store / max(complete) if complete else None


def read_manifest(store: Path) -> dict[str, Any] | None:
    """Return the current version's manifest, or None before the first import."""
    version = current_version(store)
    if version is None:
        return None
    return json.loads((version / MANIFEST).read_text(encoding="utf-8"))


def area_dates(manifest: dict[str, Any]) -> dict[str, date]:
    """Return each area code's registry date from a manifest."""
    return {
        code: date.fromisoformat(entry["date"]) for code, entry in manifest["area_codes"].items()
    }


def sorted_unique(numbers: np.ndarray) -> np.ndarray:
    """Return the distinct numbers, sorted (as np.unique, whose hash table NumPy 2.3+ uses is
    ~100x slower than a sort on the registry's int64s; a stable sort is a merge of sorted runs,
    and registry files come sorted)."""
    numbers = np.sort(numbers, kind="stable")
    keep = np.empty(numbers.size, bool)
    keep[:1] = True
    np.not_equal(numbers[1:], numbers[:-1], out=keep[1:])
    return numbers[keep]


def _contains(sorted_set: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """Return whether each number is in a sorted array of distinct numbers."""
    if sorted_set.size == 0:
        return np.zeros(numbers.size, bool)
    at = np.searchsorted(sorted_set, numbers).clip(max=sorted_set.size - 1)
    return sorted_set[at] == numbers


def apply_change(current: np.ndarray, added: np.ndarray, deleted: np.ndarray) -> np.ndarray:
    """Return a sorted set of numbers after one change list: its additions, then its deletions
    (a number both added and deleted in one list ends deleted)."""
    merged = sorted_unique(np.concatenate([current, added]).astype(np.int64, copy=False))
    return merged[~_contains(sorted_unique(deleted), merged)]


@dataclass
class _FileStage:
    """What staging one file found: per area code the staged .npy parts, and counts."""

    file: RegistryFile
    parts: dict[str, list[Path]] = field(default_factory=dict)
    lines: int = 0
    records: int = 0
    added: int = 0
    deleted: int = 0

    def counts(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file.name,
            "kind": self.file.kind,
            "date": self.file.date.isoformat(),
            "lines": self.lines,
            "records": self.records,
            "area_codes": len(self.parts),
        }
        if self.file.kind == "change":
            out.update(added=self.added, deleted=self.deleted)
        return out


def _stage_file(
    index: int, file: RegistryFile, staging: Path, block_bytes: int, report: Callable[[int], None]
) -> _FileStage:
    """Parse one file block by block and stage its records per area code; return what it held.
    `report` gets the bytes read so far (by whole blocks: the last one may count too many)."""
    stage = _FileStage(file)
    buffers: dict[tuple[str, bool], list[np.ndarray]] = {}
    buffered = 0
    sequence = 0

    def flush() -> None:
        nonlocal buffered, sequence
        for (code, deleted), arrays in buffers.items():
            folder = staging / str(index) / code
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{sequence:06d}-{'del' if deleted else 'add'}.npy"
            np.save(path, np.concatenate(arrays))
            stage.parts.setdefault(code, []).append(path)
            sequence += 1
        buffers.clear()
        buffered = 0

    blocks = 0
    for batch in read_batches(file, block_bytes):
        stage.lines += batch.lines
        stage.records += batch.numbers.size
        flags = batch.deleted if batch.deleted is not None else np.zeros(batch.numbers.size, bool)
        if batch.deleted is not None:
            stage.deleted += int(flags.sum())
            stage.added += int((~flags).sum())
        areas = batch.area_codes
        key = areas * 2 + flags  # one group per (area code, added or deleted)
        order = np.argsort(key, kind="stable")
        grouped = key[order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]) if key.size else key
        chunks = np.split(batch.numbers[order], starts[1:]) if key.size else []
        for k, chunk in zip(grouped[starts], chunks, strict=True):
            buffers.setdefault((str(int(k) // 2), bool(k % 2)), []).append(chunk)
        buffered += batch.numbers.size
        if buffered >= FLUSH_NUMBERS:
            flush()
        blocks += 1
        report(blocks * block_bytes)
    flush()
    return stage


def _load(paths: list[Path], suffix: str) -> np.ndarray:
    """Return the unique numbers of the staged parts ending with suffix (`add` or `del`)."""
    arrays = [np.load(p) for p in paths if p.stem.endswith(suffix)]
    return sorted_unique(np.concatenate(arrays)) if arrays else np.empty(0, np.int64)


def _read_numbers(version: Path, code: str) -> np.ndarray:
    """Return one area code's numbers in a stored version."""
    path = area_folder(version, code) / "part-0.parquet"
    return pq.read_table(path, columns=["number"]).column(0).to_numpy()


def _write_numbers(version: Path, code: str, numbers: np.ndarray) -> None:
    """Write one area code's sorted numbers."""
    folder = area_folder(version, code)
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.table({"number": pa.array(numbers, pa.int64())})
    # Sorted, distinct numbers: their deltas pack into a few bits each. Dictionary encoding
    # (pyarrow's default) gives up on them after its first page and cost 5x the write time.
    pq.write_table(
        table, folder / "part-0.parquet", compression="zstd", use_dictionary=False,
        column_encoding={"number": "DELTA_BINARY_PACKED"},
    )  # fmt: skip


def _link_numbers(previous: Path, version: Path, code: str) -> None:
    """Reuse an unchanged area code's file from the previous version (a hard link: stored files
    are never written again, so sharing them is safe), copying where links are not allowed."""
    source = area_folder(previous, code) / "part-0.parquet"
    folder = area_folder(version, code)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, folder / "part-0.parquet")
    except OSError:
        shutil.copy2(source, folder / "part-0.parquet")


def _check_change_lists(order: list[_FileStage], base: dict[str, dict[str, Any]]) -> None:
    """Stop when a change list touches an area code with no full list before it: its other
    numbers would be unknown while the registry claimed to be current for it."""
    known = {code: date.fromisoformat(entry["date"]) for code, entry in base.items()}
    for stage in order:
        if stage.file.kind == "full":
            for code in stage.parts:
                known.setdefault(code, stage.file.date)
            continue
        missing = sorted(code for code in stage.parts if code not in known)
        if missing:
            raise InputError(
                f"{stage.file.name}: change list holds area code {missing[0]}"
                f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}, which has no "
                f"full list in the registry; import that area code's full list first (in the "
                f"same command or before)"
            )


def _rebuild(
    order: list[_FileStage], base: dict[str, dict[str, Any]], previous: Path | None,
    version: Path, progress: Progress,
) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:  # fmt: skip
    """Write every area code's numbers into the new version; return the new manifest entries
    and the counts of files (or parts of files) skipped as older than an area code's data."""
    codes = sorted(set(base) | {code for stage in order for code in stage.parts})
    entries: dict[str, dict[str, Any]] = {}
    skipped = {"older_full_lists": 0, "older_change_lists": 0}
    for done, code in enumerate(codes, start=1):
        entry = dict(base.get(code, {}))
        when = date.fromisoformat(entry["date"]) if entry else None
        numbers: np.ndarray | None = None  # None: unchanged, still the previous file
        for stage in order:
            file = stage.file
            if file.kind == "full":
                if code not in stage.parts:
                    continue
                if when is not None and file.date < when:
                    skipped["older_full_lists"] += 1
                    continue
                numbers = _load(stage.parts[code], "add")
                when = file.date
                entry.update(full_list=file.name, full_list_date=file.date.isoformat())
                continue
            if when is None or file.date < when:  # before this area code's data: superseded
                skipped["older_change_lists"] += code in stage.parts
                continue
            when = file.date  # a change list covers the whole subscription up to its date
            if code in stage.parts:
                if numbers is None:
                    numbers = _read_numbers(previous, code) if previous else np.empty(0, np.int64)
                parts = stage.parts[code]
                numbers = apply_change(numbers, _load(parts, "add"), _load(parts, "del"))
                entry["last_change_list"] = file.name
        if numbers is None:
            _link_numbers(previous, version, code)  # type: ignore[arg-type]
        else:
            _write_numbers(version, code, numbers)
            entry["numbers"] = int(numbers.size)
        entry["date"] = when.isoformat()  # type: ignore[union-attr]
        entries[code] = entry
        progress("apply", done, len(codes))
    return entries, skipped


def _remove_leftovers(store: Path) -> None:
    """Remove what killed imports left (hidden `.<id>.tmp` folders); call it holding the lock."""
    for path in store.iterdir():
        if path.name.startswith(".") and path.name.endswith(".tmp") and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def _prune(store: Path, keep: int) -> None:
    """Remove all but the newest `keep` complete versions."""
    names = sorted(p.name for p in store.iterdir() if is_run_id(p.name) and p.is_dir())
    for name in names[:-keep]:
        shutil.rmtree(store / name, ignore_errors=True)


def _import_id(store: Path) -> str:
    """Return an id that sorts after every version so far (the newest version wins)."""
    newest = max((p.name[:18] for p in store.iterdir() if is_run_id(p.name)), default="")
    while True:
        candidate = new_run_id(datetime.now(timezone.utc))
        if candidate[:18] > newest:
            return candidate
        time.sleep(0.05)


def import_registry(
    paths: list[Path],
    store: Path,
    date_override: date | None = None,
    today: date | None = None,
    progress: Progress = _no_progress,
    block_bytes: int = BLOCK_BYTES,
    keep_versions: int = KEEP_VERSIONS,
) -> dict[str, Any]:
    """Apply registry files to the store as one new version, all or nothing; return a summary.

    Full lists replace the numbers of the area codes they hold; change lists add, then delete,
    and bring every area code of the registry up to their date. Files are applied in date
    order (full lists before change lists of the same date); a file older than an area code's
    data is skipped for that area code and counted.

    Args:
        paths: registry files (`.txt` or `.zip`), in any order.
        store: the `dnc.path` folder; created on first use.
        date_override: the registry date of every file (`--date`), instead of their names'.
        today: the date "ahead of today" is checked against (tests); default the clock's.
        progress: called with (stage, done, total) while files are read and area codes built.
        block_bytes: bytes of a file parsed at a time.
        keep_versions: complete versions kept after the import (the newest ones).
    """
    if not paths:
        raise InputError("dnc import: no files given; give the registry files to import")
    files = describe_files(list(paths), date_override, today)
    store = Path(store)
    try:
        store.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"dnc.path {store}: cannot create the registry folder ({exc.strerror}); set dnc.path "
            f"to a folder this user can write"
        ) from None
    with _import_lock(store), stop_on_signals():
        _remove_leftovers(store)
        previous = current_version(store)
        manifest = (
            json.loads((previous / MANIFEST).read_text(encoding="utf-8")) if previous else None
        )
        base = manifest["area_codes"] if manifest else {}
        import_id = _import_id(store)
        temporary = store / f".{import_id}.tmp"
        final = store / import_id
        temporary.mkdir()
        try:
            ranked = sorted(
                range(len(files)),
                key=lambda i: (files[i].date, files[i].kind == "change", i),
            )
            sizes = [f.size() for f in files]
            total, done = sum(sizes), 0
            stages: dict[int, _FileStage] = {}
            for i in ranked:

                def report(read: int, before: int = done, size: int = sizes[i]) -> None:
                    progress("read", before + min(read, size), total)

                stages[i] = _stage_file(i, files[i], temporary / "staging", block_bytes, report)
                done += sizes[i]
                progress("read", done, total)
            order = [stages[i] for i in ranked]
            _check_change_lists(order, base)
            entries, skipped = _rebuild(order, base, previous, temporary, progress)
            shutil.rmtree(temporary / "staging", ignore_errors=True)
            dates = [date.fromisoformat(e["date"]) for e in entries.values()]
            summary = {
                "import_id": import_id,
                "files": [stage.counts() for stage in order],
                "skipped": skipped,
                "area_codes": len(entries),
                "numbers": int(sum(e["numbers"] for e in entries.values())),
                "registry_date": min(dates).isoformat() if dates else None,
            }
            history = (manifest or {}).get("imports", [])
            new_manifest = {
                "format": FORMAT_VERSION,
                "import_id": import_id,
                "imported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "registry_date": summary["registry_date"],
                "numbers": summary["numbers"],
                "area_codes": entries,
                "imports": [*history, {k: summary[k] for k in ("import_id", "files")}][
                    -HISTORY_IMPORTS:
                ],
            }
            text = json.dumps(new_manifest, indent=2) + "\n"
            (temporary / MANIFEST).write_text(text, encoding="utf-8")
            os.replace(temporary, final)  # the commit
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        _prune(store, keep_versions)
    summary["version"] = str(final)
    return summary


@contextmanager
def _import_lock(store: Path) -> Iterator[None]:
    """Hold `<store>/.dnc-import.lock` for the import, or stop at once naming who holds it."""
    try:
        with job_lock(store, "dnc-import"):
            yield
    except BusyError as exc:
        holder = str(exc).split(";")[0].removeprefix("dnc-import is already running on ")
        raise BusyError(
            f"dnc.path {holder}: another dnc import is running; this one did not start: wait "
            f"for it to finish"
        ) from None


def import_with_settings(
    settings: Settings, paths: list[Path], date_override: date | None, progress: Progress
) -> dict[str, Any]:
    """Import into `dnc.path` under `run.umask` (the registry is the operation's data too)."""
    with file_mode(int(settings.run.umask, 8)):
        return import_registry(paths, settings.dnc.path, date_override, progress=progress)
