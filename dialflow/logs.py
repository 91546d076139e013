"""Logging for runs: plain lines on stderr and in the run folder, phone numbers masked.

Dask's own logs are masked by the same filter: `mask_dask_logs` puts it on the handlers of
distributed's loggers in this process, and `cluster.open_client` installs it on every worker
(`worker_logs.MaskWorkerLogs`), because a worker logs a failing task's exception, data included.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from .config import mask_passwords
from .phones import mask_phones

if TYPE_CHECKING:
    from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def mask(text: str) -> str:
    """Mask what must never reach a log or an error line: phone numbers and URL passwords."""
    return mask_phones(mask_passwords(text))


class MaskPhones(logging.Filter):
    """Mask phone numbers and passwords (`mask`) in every log record, traceback included."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            # The formatter would append the traceback unmasked: render it here, masked (the
            # formatter uses exc_text as it is when set).
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


def setup_logging(verbose: bool) -> None:
    """Send DIAL-Flow's logs to stderr, masked; INFO lines only when `verbose` (--quiet: from
    WARNING on). The logger itself stays at INFO so the run folder's run.log gets them all."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(MaskPhones())
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    logger = logging.getLogger("dialflow")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    route_dask_warnings()


def log_to_file(path: Path) -> logging.Handler:
    """Also write DIAL-Flow's logs to a file (the run folder's run.log); return the handler."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(MaskPhones())
    handler.setLevel(logging.INFO)
    logger = logging.getLogger("dialflow")
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:  # without setup_logging; never lowers stderr's
        logger.setLevel(logging.INFO)
    return handler


def mask_dask_logs() -> None:
    """Mask phones in what Dask logs in this process (the client, or a worker).

    distributed logs through the handlers it puts on its "distributed" logger when imported
    (or that `distributed.logging` in the Dask config names); a filter on those handlers sees
    every record of every distributed.* logger. Root's handlers and Python's last-resort
    handler take what other libraries (tornado) log. Idempotent: one filter per handler.
    """
    handlers = [*logging.getLogger("distributed").handlers, *logging.getLogger().handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if not any(isinstance(existing, MaskPhones) for existing in handler.filters):
            handler.addFilter(MaskPhones())


def _distributed_folder() -> str | None:
    spec = importlib.util.find_spec("distributed")
    locations = spec.submodule_search_locations if spec is not None else None
    return str(Path(next(iter(locations)))) if locations else None


def route_dask_warnings() -> None:
    """Log Python warnings raised inside distributed as one WARNING line of its logger
    "distributed.warnings" (e.g. `UserWarning: Port 8787 is already in use. Perhaps ...`)
    instead of the raw multi-line text with a site-packages path; other warnings are shown
    as before. Idempotent."""
    previous = warnings.showwarning
    if getattr(previous, "routes_dask_warnings", False):
        return
    folder = _distributed_folder()

    def show(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        if folder is None or not str(filename).startswith(folder):
            previous(message, category, filename, lineno, file, line)
            return
        text = " ".join(str(message).split())
        logging.getLogger("distributed.warnings").warning("%s: %s", category.__name__, text)

    show.routes_dask_warnings = True  # type: ignore[attr-defined]
    warnings.showwarning = show
