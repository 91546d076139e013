"""Logging for runs: plain lines (or JSON lines) on stderr and in the run folder, phone numbers
masked.

- The terminal (stderr) gets DIAL-Flow's log records from `--log-level` on (default INFO;
  `--quiet`: WARNING and above, and no progress bars or status lines), as text or, with
  `--log-format json`, as one JSON object per line for a scheduler to parse.
- The run folder's `run.log` gets every INFO record of the run whatever the terminal shows:
  the dashboard link, the config and source, the earlier runs used, each stage's timing, and
  the warnings (Dask's too, and the workers', which `worker_logs.WorkerLogs` brings back).
- Python warnings never reach the terminal raw: each is one WARNING log record
  (`dialflow.warnings`, or `distributed.warnings` for those raised inside distributed).

Dask's own logs are masked by the same filter: `mask_dask_logs` puts it on the handlers of
distributed's loggers in this process, and `cluster.open_client` installs it on every worker
(`worker_logs.MaskWorkerLogs`), because a worker logs a failing task's exception, data included.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from .config import mask_passwords
from .phones import mask_phones

if TYPE_CHECKING:
    from typing import TextIO

    from rich.console import Console

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")
# Extra fields of a record that a JSON line carries when a record has them.
_JSON_EXTRAS = ("job", "run_id", "exit_code")


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


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line: time (UTC, ISO-8601), level, logger, message,
    and `exception` (the traceback) and the job, run_id or exit_code when the record has them."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _JSON_EXTRAS:
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


class _NotShownYet(logging.Filter):
    """Leave out records whose text the terminal already showed as a status line
    (`extra={"shown": True}`): they are for run.log and for JSON lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, "shown", False)


class _DaskWarningsOnly(logging.Filter):
    """In run.log, Dask's loggers (distributed.*) count from WARNING on; DIAL-Flow's from INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith("distributed") or record.levelno >= logging.WARNING


class _Terminal:
    """What the command line asked of the terminal (set by `setup_logging`)."""

    level = logging.INFO
    quiet = False
    json = False


def terminal_console() -> Console:
    """Return a console for a run's status lines and progress bars on stderr: silent with
    `--quiet`, and with `--log-format json` (where every line must be a JSON object)."""
    from rich.console import Console

    return Console(stderr=True, quiet=_Terminal.quiet or _Terminal.json)


def json_logs() -> bool:
    """True when the command line asked for JSON log lines (`--log-format json`)."""
    return _Terminal.json


def _formatter() -> logging.Formatter:
    return JsonFormatter() if _Terminal.json else logging.Formatter(FORMAT)


def setup_logging(verbose: bool = True, level: str = "INFO", log_format: str = "text") -> None:
    """Send DIAL-Flow's logs to stderr, masked, from `level` on (not `verbose`, i.e. --quiet:
    from WARNING on), as text or JSON lines. The logger itself lets INFO through, so that the
    run folder's run.log gets every INFO line whatever the terminal shows."""
    threshold = logging.getLevelName(level.upper())
    if not isinstance(threshold, int):
        raise ValueError(f"unknown log level {level!r}; use one of {', '.join(LOG_LEVELS)}")
    if not verbose:
        threshold = max(threshold, logging.WARNING)
    _Terminal.level = threshold
    _Terminal.quiet = not verbose
    _Terminal.json = log_format == "json"
    handler = logging.StreamHandler()
    handler.setFormatter(_formatter())
    handler.addFilter(MaskPhones())
    if not _Terminal.json:
        handler.addFilter(_NotShownYet())
    handler.setLevel(threshold)
    logger = logging.getLogger("dialflow")
    logger.handlers[:] = [handler]
    logger.setLevel(min(threshold, logging.INFO))
    logger.propagate = False
    route_warnings()


class _HeldWarnings(logging.Handler):
    """Keeps the WARNING records logged before run.log exists (a taken dashboard port is
    logged while the cluster starts), for `log_to_file` to write first."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def held_warnings() -> Iterator[list[logging.LogRecord]]:
    """Collect DIAL-Flow's and Dask's warnings inside the block; yields the growing list."""
    held = _HeldWarnings()
    loggers = [logging.getLogger(name) for name in ("dialflow", "distributed")]
    for logger in loggers:
        logger.addHandler(held)
    try:
        yield held.records
    finally:
        for logger in loggers:
            logger.removeHandler(held)


def log_to_file(path: Path, earlier: list[logging.LogRecord] | None = None) -> logging.Handler:
    """Also write DIAL-Flow's logs (INFO on) and Dask's warnings (distributed.*, WARNING on) to a
    file, the run folder's run.log, as text, starting with the `earlier` warnings (from
    `held_warnings`); return the handler (`stop_logging_to_file`)."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(MaskPhones())
    handler.addFilter(_DaskWarningsOnly())
    handler.setLevel(min(_Terminal.level, logging.INFO))
    for record in list(earlier or ()):
        handler.handle(record)
    logger = logging.getLogger("dialflow")
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:  # without setup_logging; the terminal's
        logger.setLevel(logging.INFO)  # handler keeps its own level
    logging.getLogger("distributed").addHandler(handler)
    return handler


def stop_logging_to_file(handler: logging.Handler) -> None:
    """Detach and close a handler of `log_to_file`."""
    for name in ("dialflow", "distributed"):
        logging.getLogger(name).removeHandler(handler)
    handler.close()


def mask_dask_logs(json_lines: bool | None = None) -> None:
    """Mask phones in what Dask logs in this process (the client, or a worker); with JSON logs
    (`json_lines`, by default the command line's choice), Dask's stderr lines are JSON too.

    distributed logs through the handlers it puts on its "distributed" logger when imported
    (or that `distributed.logging` in the Dask config names); a filter on those handlers sees
    every record of every distributed.* logger. Root's handlers and Python's last-resort
    handler take what other libraries (tornado) log. Idempotent: one filter per handler.
    With --quiet, Dask's INFO lines stay off the terminal too.
    """
    json_lines = _Terminal.json if json_lines is None else json_lines
    dask_logger = logging.getLogger("distributed")
    handlers = [*dask_logger.handlers, *logging.getLogger().handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if isinstance(handler, logging.FileHandler):
            continue  # run.log's own, already masked
        if not any(isinstance(existing, MaskPhones) for existing in handler.filters):
            handler.addFilter(MaskPhones())
        if json_lines:
            handler.setFormatter(JsonFormatter())
    if _Terminal.quiet and dask_logger.getEffectiveLevel() < logging.WARNING:
        dask_logger.setLevel(logging.WARNING)


def _distributed_folder() -> str | None:
    spec = importlib.util.find_spec("distributed")
    locations = spec.submodule_search_locations if spec is not None else None
    return str(Path(next(iter(locations)))) if locations else None


def route_warnings(others: str = "dialflow.warnings") -> None:
    """Log every Python warning as one WARNING line instead of the raw multi-line text with a
    site-packages path: those raised inside distributed on its logger "distributed.warnings"
    (e.g. `UserWarning: Port 8787 is already in use. Perhaps ...`), the others on `others`
    ("dialflow.warnings": the terminal from WARNING on, and run.log). Idempotent."""
    previous = warnings.showwarning
    if getattr(previous, "routes_warnings", False):
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
        if file is not None:  # a caller that asked for a file of its own gets it
            previous(message, category, filename, lineno, file, line)
            return
        text = " ".join(str(message).split())
        inside_dask = folder is not None and str(filename).startswith(folder)
        name = "distributed.warnings" if inside_dask else others
        logging.getLogger(name).warning("%s: %s", category.__name__, text)

    show.routes_warnings = True  # type: ignore[attr-defined]
    warnings.showwarning = show
