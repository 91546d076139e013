"""Sources: extraction of the canonical tables into Dask dataframes."""

from .files import FileSource

__all__ = ["FileSource"]
