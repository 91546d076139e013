"""Read the canonical tables from Parquet or CSV files into Dask dataframes, checked first."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads

from ..errors import InputError
from ..schema import PANDAS_DTYPES, ColumnKind, empty_frame, table_columns

_EXPECTED_ARROW = {
    "string": "text (a string column)",
    "datetime": "a timestamp (Parquet timestamp, or ISO-8601 text in CSV)",
    "bool": "a boolean (true/false)",
    "int": "an integer",
}


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


def _to_canonical(frame: pd.DataFrame, kinds: dict[str, ColumnKind], origin: str) -> pd.DataFrame:
    """Cast one partition to the canonical dtypes; text timestamps are ISO-8601, naive = UTC."""
    out = {}
    for column, kind in kinds.items():
        values = frame[column]
        try:
            if kind == "datetime" and not isinstance(values.dtype, pd.DatetimeTZDtype):
                values = pd.to_datetime(values, utc=True, format="ISO8601")
            elif kind == "bool" and not pd.api.types.is_bool_dtype(values.dtype):
                values = _parse_bool(values)
            out[column] = values.astype(PANDAS_DTYPES[kind])
        except (ValueError, TypeError) as exc:
            raise InputError(
                f"{origin}: column {column} holds a value that is not {_EXPECTED_ARROW[kind]} "
                f"({str(exc).splitlines()[0]}); fix the value or the column"
            ) from None
    return pd.DataFrame(out, index=frame.index)


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _parse_bool(values: pd.Series) -> pd.Series:
    text = values.astype("string[pyarrow]").str.strip().str.lower()
    bad = text.notna() & ~text.isin(_TRUE | _FALSE)
    if bad.any():
        raise ValueError(f"{text[bad].iloc[0]!r} is not true/false")
    return text.isin(_TRUE).astype("boolean").mask(text.isna())


@dataclass(frozen=True)
class FileSource:
    """The canonical tables as files under one folder: `<Table>/` of Parquet parts,
    `<Table>.parquet` or `<Table>.csv`; `tables` names a different location per table."""

    root: Path
    tables: dict[str, Path]
    phone_fields: tuple[str, ...]
    csv_blocksize: str = "64MiB"
    parquet_blocksize: str = "16MiB"

    @classmethod
    def from_settings(cls, settings) -> FileSource:  # noqa: ANN001 - dialflow.config.Settings
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

    def read(self, table: str, columns: list[str] | None = None) -> dd.DataFrame:
        """Read a table's columns as a Dask dataframe of canonical dtypes, after checking them."""
        kinds = table_columns(table, self.phone_fields)
        wanted = {c: kinds[c] for c in (columns or list(kinds))}
        path = self.locate(table)
        is_csv = path.suffix.lower() == ".csv" or (
            path.is_dir() and any(path.glob("*.csv")) and not any(path.glob("*.parquet"))
        )
        if is_csv:
            frame = self._read_csv(path, wanted)
        else:
            frame = self._read_parquet(path, wanted)
        meta = empty_frame({c: PANDAS_DTYPES[k] for c, k in wanted.items()})
        return frame.map_partitions(
            _to_canonical, wanted, str(path), meta=meta, token=f"read-{table}"
        )

    def _read_parquet(self, path: Path, wanted: dict[str, ColumnKind]) -> dd.DataFrame:
        try:
            schema = pads.dataset(path, format="parquet").schema
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"{path}: not readable as Parquet ({exc}); rewrite the file") from None
        for column, kind in wanted.items():
            if column not in schema.names:
                raise InputError(
                    f"{path}: missing column {column} (expected {_EXPECTED_ARROW[kind]}); "
                    f"add it or map it in config"
                )
            arrow_type = schema.field(column).type
            if not _arrow_type_fits(kind, arrow_type):
                raise InputError(
                    f"{path}: column {column} is {arrow_type}, expected {_EXPECTED_ARROW[kind]}; "
                    f"rewrite the column with that type"
                )
        source = str(path / "*.parquet") if path.is_dir() else str(path)
        # Adaptive: row groups are joined or split so each partition holds about `blocksize`.
        return dd.read_parquet(
            source,
            columns=list(wanted),
            split_row_groups="adaptive",
            blocksize=self.parquet_blocksize,
        )

    def _read_csv(self, path: Path, wanted: dict[str, ColumnKind]) -> dd.DataFrame:
        files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
        for file in files:
            try:
                header = pd.read_csv(file, nrows=0, encoding="utf-8").columns
            except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
                raise InputError(
                    f"{file}: not readable as UTF-8 CSV ({exc}); re-export it"
                ) from None
            except pd.errors.EmptyDataError:
                raise InputError(f"{file}: empty file, no header row; re-export it") from None
            for column, kind in wanted.items():
                if column not in header:
                    raise InputError(
                        f"{file}: missing column {column} (expected {_EXPECTED_ARROW[kind]}); "
                        f"add it to the header or map it in config"
                    )
            # Type errors surface early on a sample rather than deep inside the cluster run.
            sample = pd.read_csv(file, nrows=1000, usecols=list(wanted), dtype="string")
            _to_canonical(sample, wanted, str(file))
        source = [str(f) for f in files]
        return dd.read_csv(
            source,
            usecols=list(wanted),
            dtype=dict.fromkeys(wanted, "string"),
            blocksize=self.csv_blocksize,
            keep_default_na=False,
            na_values=[""],
        )


class SnapshotSource(FileSource):
    """The Parquet snapshot a Salesforce run saved in `<run folder>/snapshot/`, read like files."""
