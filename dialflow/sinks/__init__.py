"""Sinks: where job results go (CSV for dialers and people, SQL tables)."""

from .csv import write_csv
from .sql import write_sql_table

__all__ = ["write_csv", "write_sql_table"]
