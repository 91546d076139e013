"""The canonical tables (docs/tables.md): every column each job may read, with its logical type,
and the cast of the values a source stored to the canonical dtypes."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from .errors import InputError

ColumnKind = Literal["string", "datetime", "bool", "int"]

# Phone fields are configurable (config.yaml `phones.fields`); these are the defaults.
DEFAULT_PHONE_FIELDS: tuple[str, ...] = (
    "Phone",
    "Phone_2__c",
    "Phone_3__c",
    "Mobile_Phone__c",
    "Home_Phone__c",
    "Other_Phone__c",
)

TABLES: dict[str, dict[str, ColumnKind]] = {
    "Account": {
        "Id": "string",
        "Name": "string",
        "OwnerId": "string",
        "BillingStreet": "string",
        "BillingCity": "string",
        "BillingState": "string",
        "BillingPostalCode": "string",
        "CreatedDate": "datetime",
        "LastModifiedDate": "datetime",
        "Do_Not_Call__c": "bool",
        **{field: "string" for field in DEFAULT_PHONE_FIELDS},
    },
    "Task": {
        "Id": "string",
        "AccountId": "string",
        "Dialed_Number__c": "string",
        "CallDisposition": "string",
        "CreatedDate": "datetime",
    },
    "Research_Request__c": {
        "Id": "string",
        "Account__c": "string",
        "CreatedDate": "datetime",
        "Status__c": "string",
    },
    "Address_History__c": {
        "Id": "string",
        "Account__c": "string",
        "Street__c": "string",
        "City__c": "string",
        "State__c": "string",
        "PostalCode__c": "string",
        "CreatedDate": "datetime",
    },
    "User": {
        "Id": "string",
        "Name": "string",
        "Email": "string",
        "IsActive": "bool",
    },
    # The internal do-not-call list: numbers whose owners asked not to be called (any format
    # phones.py reads). Optional: listiq reads it when the source has it.
    "Internal_DNC": {
        "Phone": "string",
    },
}
# Tables a source may lack: a job that reads one reads it only when present.
OPTIONAL_TABLES = frozenset({"Internal_DNC"})

# Pandas dtypes each logical kind becomes once read: pyarrow strings, UTC timestamps.
PANDAS_DTYPES: dict[ColumnKind, str] = {
    "string": "string[pyarrow]",
    "datetime": "datetime64[us, UTC]",
    "bool": "boolean",
    "int": "Int64",
}


# What a column of each kind must hold, as the errors about a source's columns say it.
EXPECTED_VALUES: dict[ColumnKind, str] = {
    "string": "text (a string column)",
    "datetime": "a timestamp (Parquet timestamp, or ISO-8601 text in CSV)",
    "bool": "a boolean (true/false)",
    "int": "an integer",
}

STRING = PANDAS_DTYPES["string"]
TIMESTAMP = PANDAS_DTYPES["datetime"]


def empty_frame(dtypes: dict[str, str]) -> pd.DataFrame:
    """Return an empty frame with these columns and dtypes, e.g. the `meta` of a Dask step."""
    return pd.DataFrame({column: pd.Series(dtype=dtype) for column, dtype in dtypes.items()})


def table_columns(
    table: str, phone_fields: tuple[str, ...] = DEFAULT_PHONE_FIELDS
) -> dict[str, ColumnKind]:
    """Return the canonical columns of a table, with the configured phone fields for Account."""
    columns = dict(TABLES[table])
    if table == "Account":
        for field in DEFAULT_PHONE_FIELDS:
            columns.pop(field)
        columns.update({field: "string" for field in phone_fields})
    return columns


def to_canonical(frame: pd.DataFrame, kinds: dict[str, ColumnKind], origin: str) -> pd.DataFrame:
    """Cast one partition's columns, as a source stored them, to the canonical dtypes.

    Text timestamps are ISO-8601 and naive ones UTC; text booleans are true/false, 1/0, yes/no,
    y/n or t/f in any case (empty is null). A value that does not fit raises InputError naming
    `origin` (the file or table) and the column."""
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
                f"{origin}: column {column} holds a value that is not {EXPECTED_VALUES[kind]} "
                f"({str(exc).splitlines()[0]}); fix the value or the column"
            ) from None
    return pd.DataFrame(out, index=frame.index)


_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f", ""})


def _parse_bool(values: pd.Series) -> pd.Series:
    """Return text booleans (_TRUE / _FALSE, trimmed, any case) as a nullable boolean
    Series; raise ValueError on the first value that is neither."""
    text = values.astype("string[pyarrow]").str.strip().str.lower()
    bad = text.notna() & ~text.isin(_TRUE | _FALSE)
    if bad.any():
        raise ValueError(f"{text[bad].iloc[0]!r} is not true/false")
    return text.isin(_TRUE).astype("boolean").mask(text.isna())
