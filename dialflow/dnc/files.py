"""Reading the National Do Not Call Registry's flat files: pure, no Dask, in bounded chunks.

What the files are, where that comes from and what was decided where the sources say nothing:
docs/dnc.md. In short, a line of a full list is `area code,number` (`201,2345678`) or the ten
digits (`2012345678`); a line of a change list adds the change type, `201,2345678,A` (added)
or `201,2345678,D` (deleted). Blank lines are skipped. The registry's date comes from the file
name (`YYYYMMDD` or `YYYY-MM-DD` in it) or from `--date`; the kind from the name (`full` or
`change` as a word in it) or else from the first line. A `.zip` (the registry's downloads
are zipped) is read member by member without unpacking it to disk.

Lines are read as bytes, a block at a time (pyarrow's streaming CSV reader with one column
per line, so a line number is a row number), validated with one RE2 pattern per block, and
turned into int64 numbers; only the first bad line is looked at in Python, to say what is wrong.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dialflow.errors import InputError

Kind = Literal["full", "change"]
# Bytes of a file parsed at a time: about 1.7 million lines of a full list, ~14 MB of numbers.
BLOCK_BYTES = 16 << 20
AREA_FACTOR = 10_000_000  # a ten-digit number is area code x AREA_FACTOR + seven digits

# The number of a line: `AAA,NNNNNNN` or `AAANNNNNNN`; an area code starts with 2-9 (NANP).
_NUMBER = r"(?:[2-9][0-9]{2}[ \t]*,[ \t]*[0-9]{7}|[2-9][0-9]{9})"
_FULL_LINE = rf"^[ \t]*{_NUMBER}[ \t]*$"
_CHANGE_LINE = rf"^[ \t]*{_NUMBER}[ \t]*,[ \t]*[AaDd][ \t]*$"
_BLANK_LINE = r"^[ \t]*$"
_DELETE_LINE = r",[ \t]*[Dd][ \t]*$"
_NAME_DATE = re.compile(r"(?<![0-9])(\d{4})-?(\d{2})-?(\d{2})(?![0-9])")
_LINE_PATTERN = {"full": _FULL_LINE, "change": _CHANGE_LINE}
# Without an example number: error lines mask runs of 7+ digits (phones).
FORMAT_HINT = {
    "full": "a full list line is 'area code,seven-digit number' or the ten digits",
    "change": "a change list line is 'area code,seven-digit number,A|D'",
}


@dataclass(frozen=True)
class RegistryFile:
    """One registry file to import: where it is, what it holds and the registry's date."""

    path: Path
    member: str | None  # the member of a .zip, or None for a plain text file
    kind: Kind
    date: date

    @property
    def name(self) -> str:
        """Return the name shown in messages: `file` or `file.zip:member`."""
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    def open(self) -> IO[bytes]:
        """Open the file (or the zip member) for reading bytes."""
        if self.member is None:
            return open(self.path, "rb")  # noqa: SIM115 - the caller closes it
        archive = zipfile.ZipFile(self.path)
        try:
            return _ClosingMember(archive.open(self.member), archive)
        except BaseException:
            archive.close()
            raise

    def size(self) -> int:
        """Return the bytes to parse (a zip member's uncompressed size), for progress."""
        if self.member is None:
            return self.path.stat().st_size
        with zipfile.ZipFile(self.path) as archive:
            return archive.getinfo(self.member).file_size


class _ClosingMember:
    """A zip member's stream that also closes its archive."""

    def __init__(self, stream: IO[bytes], archive: zipfile.ZipFile) -> None:
        self._stream = stream
        self._archive = archive
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def readline(self, size: int = -1) -> bytes:
        return self._stream.readline(size)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self._stream.close()
        self._archive.close()
        self.closed = True

    def __enter__(self) -> _ClosingMember:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class Batch:
    """The records of one block of a file: ten-digit numbers and, in a change list, deletions."""

    numbers: np.ndarray  # int64, area code x 10^7 + seven digits, in file order
    deleted: np.ndarray | None  # bool per number for a change list (True: D), None for a full list
    lines: int  # physical lines in the block, blank ones included

    @property
    def area_codes(self) -> np.ndarray:
        """Return each number's area code (int64, e.g. 201)."""
        return self.numbers // AREA_FACTOR


def name_date(name: str) -> date | None:
    """Return the registry date written in a file name (`20261120` or `2026-11-20`), if any."""
    for match in _NAME_DATE.finditer(Path(name).name):
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            continue
    return None


def name_kind(name: str) -> Kind | None:
    """Return the kind a file name states (`change` or `full` as a word in it), if it does."""
    words = set(re.split(r"[^a-z]+", Path(name).name.lower()))
    if "change" in words or "changes" in words:
        return "change"
    return "full" if "full" in words else None


def line_kind(line: bytes) -> Kind:
    """Return which kind of file a (first, non-blank) line belongs to: change lists have a
    third field, the change type; everything else is read as a full list and checked as one."""
    return "change" if line.count(b",") >= 2 or re.search(rb",\s*[AaDd]\s*$", line) else "full"


def _first_line(opener: Callable[[], IO[bytes]]) -> bytes | None:
    """Return the first non-blank line of a file, or None for a file of blank lines."""
    with opener() as handle:
        for raw in iter(lambda: handle.readline(1 << 16), b""):
            if raw.strip():
                return raw.strip()
    return None


def describe_files(
    paths: list[Path], date_override: date | None = None, today: date | None = None
) -> list[RegistryFile]:
    """Return every file (zip members one by one) with its kind and date, or stop naming the
    first file that cannot be imported and why. Nothing is parsed beyond the first line."""
    today = today or date.today()
    found: list[RegistryFile] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such file; give the registry files to import")
        members: list[str | None] = [None]
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                members = [i.filename for i in archive.infolist() if not i.is_dir()]
            if not members:
                raise InputError(f"{path}: the zip archive is empty; download the file again")
        for member in members:
            when = date_override or name_date(member or "") or name_date(path.name)
            shown = f"{path}:{member}" if member else str(path)
            if when is None:
                raise InputError(
                    f"{shown}: its name holds no registry date (YYYYMMDD); pass --date "
                    f"YYYY-MM-DD or keep the date in the name, e.g. dnc-full-201-20261120.txt"
                )
            if (when - today).days > 1:
                raise InputError(
                    f"{shown}: registry date {when} lies ahead of today ({today}); check the "
                    f"name or --date"
                )
            draft = RegistryFile(path, member, "full", when)
            kind = name_kind(member or path.name)
            if kind is None:
                first = _first_line(draft.open)
                if first is None:
                    raise InputError(
                        f"{shown}: the file is empty, and its name does not say whether it is "
                        f"a full list or a change list; put 'full' or 'change' in its name"
                    )
                kind = line_kind(first)
            found.append(RegistryFile(path, member, kind, when))
    return found


def _reader(handle: IO[bytes], block_bytes: int) -> pacsv.CSVStreamingReader:
    """Return a streaming reader giving every physical line as one binary value."""
    return pacsv.open_csv(
        handle,
        read_options=pacsv.ReadOptions(column_names=["line"], block_size=block_bytes),
        parse_options=pacsv.ParseOptions(
            delimiter="\x1f",  # a control character no registry line holds: one column
            quote_char=False,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=False,  # keep blank lines, so that row numbers are line numbers
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={"line": pa.binary()},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _problem(raw: bytes, kind: Kind) -> str:
    """Say what is wrong with a line that did not match its kind's pattern: field and fix."""
    try:
        text = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        byte = next(b for b in raw if b > 0x7F)
        return f"byte 0x{byte:02x} is not ASCII text"
    fields = [field.strip() for field in text.split(",")]
    expected = 3 if kind == "change" else 2
    if len(fields) == expected - 1 and len(fields[0]) == 10:  # the ten-digit form
        fields = [fields[0][:3], fields[0][3:], *fields[1:]]
    if len(fields) != expected:
        return f"{len(fields)} field(s) {text[:40]!r}, expected {expected}"
    area, number = fields[0], fields[1]
    if not re.fullmatch(r"[2-9][0-9]{2}", area):
        return f"field area code {area[:20]!r} is not an area code (three digits, first 2-9)"
    if not re.fullmatch(r"[0-9]{7}", number):
        return f"field number {number[:20]!r} is not seven digits"
    if kind == "change":
        return f"field change type {fields[2][:20]!r} is neither A (added) nor D (deleted)"
    return f"the line {text[:40]!r} cannot be read"


def read_batches(file: RegistryFile, block_bytes: int = BLOCK_BYTES) -> Iterator[Batch]:
    """Yield a file's records block by block; stop at the first bad line with one line naming
    the file, the line, the field and the fix (InputError). Blank lines are skipped."""
    line_no = 0
    if file.size() == 0:  # an area code with no registered number; pyarrow refuses empty input
        return
    with _read_errors(file, lambda: line_no), file.open() as handle:
        for block in _reader(handle, block_bytes):
            lines = block.column(0)
            # A block of the registry's own layout (every line `AAA,NNNNNNN`, no spaces) is
            # checked and read from its bytes; any other block by the regex patterns.
            read = _fixed_width(lines, file.kind) or _by_pattern(lines, file, line_no)
            line_no += block.num_rows
            yield Batch(numbers=read[0], deleted=read[1], lines=block.num_rows)


def _by_pattern(
    lines: pa.Array, file: RegistryFile, line_no: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the numbers (and deletions) of a block's lines checked by RE2 patterns (blank
    lines skipped); stop at the first bad line (`line_no`: the lines before the block)."""
    good = pc.match_substring_regex(lines, _LINE_PATTERN[file.kind])
    if not pc.all(good).as_py():
        blank = pc.match_substring_regex(lines, _BLANK_LINE)
        bad = np.flatnonzero(~(good.to_numpy(zero_copy_only=False)
                               | blank.to_numpy(zero_copy_only=False)))  # fmt: skip
        if bad.size:
            at = int(bad[0])
            raise InputError(
                f"{file.name}: line {line_no + at + 1}: "
                f"{_problem(lines[at].as_py(), file.kind)}; {FORMAT_HINT[file.kind]}: "
                f"correct or remove the line, or download the file again"
            )
        lines = lines.filter(good)
    digits = pc.replace_substring_regex(lines, r"[^0-9]", "")
    numbers = pc.cast(pc.cast(digits, pa.string()), pa.int64()).to_numpy()
    deleted = None
    if file.kind == "change":
        deleted = pc.match_substring_regex(lines, _DELETE_LINE).to_numpy(zero_copy_only=False)
    return numbers, deleted


_DIGITS = {10: list(range(10)), 11: [0, 1, 2, 4, 5, 6, 7, 8, 9, 10]}  # by width before `,A|D`


def _fixed_width(lines: pa.Array, kind: Kind) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Return the numbers (and deletions) of a block whose lines all have one spaceless layout
    (`AAA,NNNNNNN` or `AAANNNNNNN`, then `,A|D` in a change list), checked and read at fixed
    places of its bytes; None for any other block (the regex path then checks and reads it).

    A line of such a width whose bytes match the layout exactly is a line the kind's pattern
    accepts; this is ~20x faster than the pattern, a regex replace and a cast."""
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    n = len(lines)
    if n == 0 or lines.null_count:
        return None
    offsets = np.frombuffer(lines.buffers()[1], np.int32, n + 1, lines.offset * 4)
    width = int(offsets[1] - offsets[0])
    tail = 2 if kind == "change" else 0  # `,A` or `,D`
    places = _DIGITS.get(width - tail)
    if places is None or int(offsets[-1] - offsets[0]) != n * width:
        return None
    if not (np.diff(offsets) == width).all():
        return None
    rows = np.frombuffer(lines.buffers()[2], np.uint8, n * width, int(offsets[0]))
    rows = rows.reshape(n, width)
    ok = (rows[:, 0] >= ord("2")) & (rows[:, 0] <= ord("9"))
    if width - tail == 11:
        ok &= rows[:, 3] == ord(",")
    if tail:
        ok &= (rows[:, width - 2] == ord(",")) & np.isin(rows[:, width - 1], tuple(b"AaDd"))
    numbers = np.zeros(n, np.int64)
    for place in places:  # ten passes over n bytes: no n x 10 int64 temporary
        digit = rows[:, place] - np.uint8(48)  # a byte below '0' wraps above 9
        ok &= digit <= 9
        numbers *= 10
        numbers += digit
    if not ok.all():
        return None
    deleted = np.isin(rows[:, width - 1], tuple(b"Dd")) if tail else None
    return numbers, deleted


@contextmanager
def _read_errors(file: RegistryFile, line_no: Callable[[], int]) -> Iterator[None]:
    """Turn a file that cannot be read (gone, damaged zip, unreadable) into one InputError."""
    try:
        yield
    except InputError:
        raise
    except (OSError, zipfile.BadZipFile, pa.ArrowInvalid) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"{file.name}: cannot be read after line {line_no()} ({first}); download the file again"
        ) from None
