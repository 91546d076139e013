"""Read the canonical tables from Parquet or CSV files into Dask dataframes, checked first."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
from dask.utils import parse_bytes
from fsspec.utils import read_block

from ..errors import InputError
from ..schema import EXPECTED_VALUES, ColumnKind, empty_frame, to_canonical
from .base import CheckedTable, Source

if TYPE_CHECKING:
    from ..config import Settings


def _arrow_type_fits(kind: ColumnKind, arrow_type: pa.DataType) -> bool:
    if pa.types.is_null(arrow_type):  # an all-empty column fits any kind
        return True
    if kind == "string":
        return (
            pa.types.is_string(arrow_type)
            or pa.types.is_large_string(arrow_type)
            or (pa.types.is_string_view(arrow_type))
            or pa.types.is_dictionary(arrow_type)
            and pa.types.is_string(arrow_type.value_type)
        )
    if kind == "datetime":
        return pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type)
    if kind == "bool":
        return pa.types.is_boolean(arrow_type)
    return pa.types.is_integer(arrow_type)


@dataclass(frozen=True)
class TableFiles(CheckedTable):
    """A table's file (or folder of parts) and its format, its columns checked."""

    path: Path
    files: tuple[Path, ...]
    is_csv: bool


def _data_files(path: Path) -> tuple[list[Path], bool]:
    """The files a table's file or folder is read from, and whether they are CSV: a folder's
    *.parquet parts, or its *.csv parts when it holds no Parquet."""
    is_csv = path.suffix.lower() == ".csv" or (
        path.is_dir() and any(path.glob("*.csv")) and not any(path.glob("*.parquet"))
    )
    if not path.is_dir():
        return [path], is_csv
    return sorted(path.glob("*.csv" if is_csv else "*.parquet")), is_csv


@dataclass(frozen=True)
class FileSource(Source[TableFiles]):
    """The canonical tables as files under one folder: `<Table>/` of Parquet parts,
    `<Table>.parquet` or `<Table>.csv`; `tables` names a different location per table."""

    root: Path
    tables: dict[str, Path]
    phone_fields: tuple[str, ...]
    csv_blocksize: str = "64MiB"
    parquet_blocksize: str = "16MiB"

    @classmethod
    def from_settings(cls, settings: Settings) -> FileSource:
        """Return the file source that the `source` and `phones` settings describe."""
        return cls(
            root=settings.source.path,
            tables=dict(settings.source.tables),
            phone_fields=settings.phones.fields,
            csv_blocksize=settings.source.csv_blocksize,
            parquet_blocksize=settings.source.parquet_blocksize,
        )

    def locate(self, table: str) -> Path:
        """Return the file or folder holding a table, or stop with what was looked for."""
        if table in self.tables:
            path = Path(self.tables[table])
            if not path.exists():
                raise InputError(
                    f"{path}: table {table} not found; fix source.tables.{table} in the config"
                )
            return path
        candidates = [self.root / table, self.root / f"{table}.parquet", self.root / f"{table}.csv"]
        for candidate in candidates:
            if candidate.exists():
                return candidate
        raise InputError(
            f"{self.root}: no {table} table (looked for {table}/, {table}.parquet, {table}.csv); "
            f"create it with `dialflow demo-data --out {self.root}` or set source.path"
        )

    def stored_bytes(self, tables: Iterable[str]) -> int:
        """Return the size of the tables' files (a folder's *.parquet and *.csv parts)."""
        return sum(
            file.stat().st_size for table in tables for file in _data_files(self.locate(table))[0]
        )

    def has_table(self, table: str) -> bool:
        """Return whether the table's file or folder exists (source.tables or under the root)."""
        if table in self.tables:
            return Path(self.tables[table]).exists()
        return any(
            candidate.exists()
            for candidate in (self.root / table, self.root / f"{table}.parquet",
                              self.root / f"{table}.csv")
        )  # fmt: skip

    def check_table(self, table: str, kinds: dict[str, ColumnKind]) -> TableFiles:
        """Find the table's files and check their columns: the Parquet schema, or each CSV
        file's header and a sample of its values."""
        path = self.locate(table)
        if path.is_dir() and not any(path.glob("*.parquet")) and not any(path.glob("*.csv")):
            raise InputError(
                f"{path}: the {table} table folder holds no data files (*.parquet or *.csv); "
                f"write the table's files there or point source.tables.{table} at them"
            )
        files, is_csv = _data_files(path)
        if is_csv:
            for file in files:
                _check_csv(file, kinds)
        else:
            _check_parquet(path, kinds)
        return TableFiles(table, str(path), path, tuple(files), is_csv)

    def read_partitions(self, checked: TableFiles, kinds: dict[str, ColumnKind]) -> dd.DataFrame:
        """Return the table as text (CSV) or as Parquet typed it, one partition per CSV block
        or per piece of Parquet row groups."""
        columns = list(kinds)
        if checked.is_csv:
            blocksize = parse_bytes(self.csv_blocksize)
            parts = [block for file in checked.files for block in csv_blocks(file, blocksize)]
            reader, dtype, label = read_csv_block, "string[pyarrow]", "read-csv"
        else:
            blocksize = parse_bytes(self.parquet_blocksize)
            parts = [
                piece
                for file in checked.files
                for piece in parquet_pieces(file, columns, blocksize)
            ]
            reader, dtype, label = read_parquet_piece, "object", "read-parquet"
        # Each worker reads its own parts; a file it cannot read is named in the error (a bad
        # CSV byte or row with its line).
        return dd.from_map(
            reader,
            parts,
            columns=columns,
            meta=empty_frame(dict.fromkeys(columns, dtype)),
            enforce_metadata=False,
            label=label,
        )


def _check_parquet(path: Path, kinds: dict[str, ColumnKind]) -> None:
    """Check the wanted columns against the Parquet schema of a file or folder of parts."""
    try:
        schema = pads.dataset(path, format="parquet").schema
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: not readable as Parquet ({exc}); rewrite the file") from None
    for column, kind in kinds.items():
        if column not in schema.names:
            raise InputError(
                f"{path}: missing column {column} (expected {EXPECTED_VALUES[kind]}); "
                f"add it or map it in config"
            )
        arrow_type = schema.field(column).type
        if not _arrow_type_fits(kind, arrow_type):
            raise InputError(
                f"{path}: column {column} is {arrow_type}, expected {EXPECTED_VALUES[kind]}; "
                f"rewrite the column with that type"
            )


def _check_csv(file: Path, kinds: dict[str, ColumnKind]) -> None:
    """Check a CSV file's header, and its first values: type errors surface early on a sample
    rather than deep inside the cluster run."""
    try:
        header = pd.read_csv(file, nrows=0, encoding="utf-8").columns
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise InputError(f"{file}: not readable as UTF-8 CSV ({exc}); re-export it") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{file}: empty file, no header row; re-export it") from None
    for column, kind in kinds.items():
        if column not in header:
            raise InputError(
                f"{file}: missing column {column} (expected {EXPECTED_VALUES[kind]}); "
                f"add it to the header or map it in config"
            )
    try:
        sample = pd.read_csv(file, nrows=1000, usecols=list(kinds), dtype="string")
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise csv_read_error(str(file), exc) from None
    to_canonical(sample, kinds, str(file))


@dataclass(frozen=True)
class CsvBlock:
    """A byte range of a CSV file, cut at line ends when read; `header` is the file's first line."""

    file: str
    offset: int
    length: int
    header: bytes


def csv_blocks(file: Path, blocksize: int) -> list[CsvBlock]:
    """Split a CSV file into blocks of about `blocksize` bytes (one per Dask partition)."""
    with open(file, "rb") as handle:
        header = handle.readline()
    size = os.path.getsize(file)
    return [
        CsvBlock(str(file), offset, min(blocksize, size - offset), header)
        for offset in range(0, max(size, 1), blocksize)
    ]


def read_csv_block(block: CsvBlock, columns: list[str]) -> pd.DataFrame:
    """Read one block's rows as text columns; raise InputError naming the file (and, for a
    byte that is not UTF-8, its line), never a bare decoding or parser error."""
    with open(block.file, "rb") as handle:
        data = read_block(handle, block.offset, block.length, delimiter=b"\n")
    if block.offset > 0:
        data = block.header + data
    try:
        text = data.decode("utf-8")
        return pd.read_csv(
            io.StringIO(text),
            usecols=columns,
            dtype=dict.fromkeys(columns, "string[pyarrow]"),
            keep_default_na=False,
            na_values=[""],
        )
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise csv_read_error(block.file, exc) from None


def first_bad_utf8(file: str) -> tuple[int, int] | None:
    """Return the line (from 1, the header included) and byte of a file's first non-UTF-8 byte.

    Reads the whole file: only called once a read has failed."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    consumed = 0
    with open(file, "rb") as handle:
        while chunk := handle.read(1 << 20):
            pending = len(decoder.getstate()[0])  # an unfinished character's bytes, carried over
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                bad = max(consumed - pending + exc.start, 0)
                handle.seek(0)
                return handle.read(bad).count(b"\n") + 1, bad
            consumed += len(chunk)
    return None


def csv_read_error(file: str, exc: Exception) -> InputError:
    """Return the one-line error of a CSV file a reader failed on."""
    if isinstance(exc, UnicodeDecodeError):
        where = first_bad_utf8(file)
        if where is not None:
            line, byte = where
            with open(file, "rb") as handle:
                handle.seek(byte)
                value = handle.read(1)
            return InputError(
                f"{file}: line {line}: byte 0x{value.hex()} is not UTF-8; "
                f"re-export the file as UTF-8"
            )
        return InputError(f"{file}: not UTF-8 ({exc.reason}); re-export the file as UTF-8")
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InputError(f"{file}: not readable as CSV ({first}); re-export it")


@dataclass(frozen=True)
class ParquetPiece:
    """Row groups of one Parquet file that make one Dask partition."""

    file: str
    row_groups: tuple[int, ...]


def parquet_pieces(file: Path, columns: list[str], blocksize: int) -> list[ParquetPiece]:
    """Join a file's consecutive row groups into pieces of at most about `blocksize` bytes of
    the wanted columns, uncompressed (a larger row group is a piece of its own)."""
    try:
        metadata = pq.ParquetFile(file).metadata
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{file}: not readable as Parquet ({exc}); rewrite the file") from None
    if metadata.num_row_groups == 0:
        return [ParquetPiece(str(file), ())]
    wanted = set(columns)
    pieces: list[ParquetPiece] = []
    current: list[int] = []
    size = 0
    for index in range(metadata.num_row_groups):
        group = metadata.row_group(index)
        group_size = sum(
            group.column(j).total_uncompressed_size
            for j in range(group.num_columns)
            if group.column(j).path_in_schema in wanted
        )
        if current and size + group_size > blocksize:
            pieces.append(ParquetPiece(str(file), tuple(current)))
            current, size = [], 0
        current.append(index)
        size += group_size
    pieces.append(ParquetPiece(str(file), tuple(current)))
    return pieces


def read_parquet_piece(piece: ParquetPiece, columns: list[str]) -> pd.DataFrame:
    """Read one piece's columns; raise InputError naming the part file it could not read."""
    try:
        parquet = pq.ParquetFile(piece.file)
        if piece.row_groups:
            table = parquet.read_row_groups(list(piece.row_groups), columns=columns)
        else:
            table = parquet.schema_arrow.empty_table().select(columns)
        return table.to_pandas()
    except (pa.ArrowException, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(
            f"{piece.file}: not readable as Parquet ({first}); rewrite or replace this part file"
        ) from None


class SnapshotSource(FileSource):
    """The Parquet snapshot a Salesforce run saved in `<run folder>/snapshot/`, read like files."""
