"""Sources: extraction of the canonical tables into Dask dataframes."""

from .base import Source
from .files import FileSource, SnapshotSource
from .salesforce import SalesforceSource
from .sql import SqlSource

__all__ = ["FileSource", "SalesforceSource", "SnapshotSource", "Source", "SqlSource"]
