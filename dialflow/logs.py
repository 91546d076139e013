"""Logging for runs: plain lines on stderr and in the run folder, phone numbers masked."""

from __future__ import annotations

import logging
from pathlib import Path

from .phones import mask_phones

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class MaskPhones(logging.Filter):
    """Mask anything that looks like a phone number in every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_phones(record.getMessage())
        record.args = None
        return True


def setup_logging(verbose: bool) -> None:
    """Send DIAL-Flow's logs to stderr, masked."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(MaskPhones())
    logger = logging.getLogger("dialflow")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


def log_to_file(path: Path) -> logging.Handler:
    """Also write DIAL-Flow's logs to a file (the run folder's run.log); return the handler."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(MaskPhones())
    logger = logging.getLogger("dialflow")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return handler
