"""Sinks: where job results go (CSV for dialers and people, SQL tables, run emails)."""

from .csv import write_csv
from .email import build_run_message, notify_run, send_run_message
from .sql import write_sql_table

__all__ = ["build_run_message", "notify_run", "send_run_message", "write_csv", "write_sql_table"]
