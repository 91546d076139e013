"""The canonical tables (docs/tables.md): every column each job may read, with its logical type."""

from __future__ import annotations

from typing import Literal

import pandas as pd

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
}

# Pandas dtypes each logical kind becomes once read: pyarrow strings, UTC timestamps.
PANDAS_DTYPES: dict[ColumnKind, str] = {
    "string": "string[pyarrow]",
    "datetime": "datetime64[us, UTC]",
    "bool": "boolean",
    "int": "Int64",
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
