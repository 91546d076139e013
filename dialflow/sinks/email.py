"""Run emails: one readable message per run for the people who act on its results.

The message goes out after the run's outputs are in place, so a mail problem is reported as a
mail problem and never reads like a failed run.
"""

from __future__ import annotations

import io
import smtplib
import ssl
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from ..config import EmailSettings
from ..errors import DialflowError
from ..phones import mask_phones

OUTCOMES = ("succeeded", "failed")
_SUBJECT_CAUSE_CHARS = 100
# The write stage's row count of each output, as the CLI records them in summary.json.
_ROWS_OF_OUTPUT = {"csv": "csv_rows", "sql_table": "sql_rows"}


def notify_run(
    settings: EmailSettings,
    job: str,
    outcome: str,
    summary: dict[str, Any] | None,
    run_folder: Path | None,
    csv_path: Path | None,
    cause: str | None = None,
) -> list[str]:
    """Email a run's outcome to its recipients and return them (empty: nothing was sent).

    Recipients are `email.recipients` plus `email.job_recipients[job]`; the CSV is attached only
    when `email.attach_csv[job]` is true. Raises DialflowError when sending fails.
    """
    recipients = list(dict.fromkeys([*settings.recipients, *settings.job_recipients.get(job, ())]))
    if not settings.enabled or not recipients:
        return []
    message = build_run_message(
        job,
        outcome,
        sender=settings.sender,
        recipients=recipients,
        summary=summary,
        run_folder=run_folder,
        cause=cause,
        csv_path=csv_path if settings.attach_csv.get(job, False) else None,
        max_attachment_bytes=settings.max_attachment_bytes,
    )
    send_run_message(settings, message)
    return recipients


def build_run_message(
    job: str,
    outcome: str,
    *,
    sender: str,
    recipients: Sequence[str],
    summary: dict[str, Any] | None,
    run_folder: Path | None,
    cause: str | None = None,
    csv_path: Path | None = None,
    max_attachment_bytes: int,
) -> EmailMessage:
    """Build the message: a subject that tells the story in an inbox, a body of key counts.

    Text that comes from the data (counts' keys, the cause) is phone-masked; paths are not, so
    they stay usable. A CSV above `max_attachment_bytes` is zipped, and if the zip is still
    above it, the body gives the file's path instead.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
    summary = summary or {}
    message = EmailMessage()
    message["Subject"] = _subject(job, outcome, summary, cause)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])

    lines = _body(job, outcome, summary, run_folder, cause)
    attachment = None
    if csv_path is not None:
        attachment, note = _csv_attachment(Path(csv_path), max_attachment_bytes)
        lines += ["", note]
    if run_folder:
        lines += ["", f"Details: {Path(run_folder) / 'summary.json'}"]
    message.set_content("\n".join(lines) + "\n")
    if attachment is not None:
        data, content_type, filename = attachment
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message


def send_run_message(settings: EmailSettings, message: EmailMessage) -> None:
    """Send the message over SMTP as configured; any failure becomes one DialflowError line.

    The line names host:port and the cause, says the run's outputs were kept (they were written
    before), and never holds the password.
    """
    where = f"{settings.host}:{settings.port}"
    try:
        with smtp_session(settings) as smtp:
            refused = smtp.send_message(message)
        if refused:  # some recipients were accepted, these were not
            raise smtplib.SMTPRecipientsRefused(refused)
    except (smtplib.SMTPException, OSError) as exc:  # ssl and socket errors are OSErrors
        cause = smtp_cause(exc, settings)  # smtplib's errors and server replies never hold it
        raise DialflowError(
            _one_line(f"email via {where} failed: {cause}; the run's outputs were kept")
        ) from None


@contextmanager
def smtp_session(settings: EmailSettings) -> Iterator[smtplib.SMTP]:
    """An SMTP connection as configured, TLS started (ssl or starttls) and logged in; closed
    when the block ends. Raises smtplib's errors and OSError (`smtp_cause` words them)."""
    context = _tls_context(settings)
    if settings.security == "ssl":
        smtp = smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout_seconds, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds)
    with smtp:
        if settings.security == "starttls":
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        yield smtp


def _tls_context(settings: EmailSettings) -> ssl.SSLContext | None:
    """Return a verifying context trusting `ca_file` (or the system CAs); None without TLS."""
    if settings.security == "none":
        return None
    try:
        return ssl.create_default_context(cafile=settings.ca_file)
    except OSError as exc:
        raise DialflowError(
            f"email.ca_file = {settings.ca_file}: cannot load it as a PEM CA bundle "
            f"({exc.strerror or exc}); the run's outputs were kept"
        ) from None


def smtp_cause(exc: Exception, settings: EmailSettings) -> str:
    """Say what went wrong in words that point at the setting to check."""
    # smtplib reports a reply that timed out as SMTPServerDisconnected from a TimeoutError.
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return f"no answer within {settings.timeout_seconds:g} s"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return (
            f"login as {settings.username} refused ({_reply(exc.smtp_code, exc.smtp_error)}); "
            "check email.username and DIALFLOW_SMTP_PASSWORD"
        )
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        refused = ", ".join(f"{to} ({_reply(*reply)})" for to, reply in exc.recipients.items())
        return f"recipients refused: {refused}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"server answered {_reply(exc.smtp_code, exc.smtp_error)}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            f"TLS certificate not trusted ({exc.verify_message}); "
            "set email.ca_file to the CA that signed it"
        )
    return f"{type(exc).__name__}: {exc}"


def _reply(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"


def _one_line(text: str) -> str:
    """Collapse line breaks: a header or a one-line error must not carry any."""
    return " ".join(text.split())


def _subject(job: str, outcome: str, summary: dict[str, Any], cause: str | None) -> str:
    if outcome == "failed":
        cause = _one_line(cause or "no cause recorded")
        if len(cause) > _SUBJECT_CAUSE_CHARS:
            cause = cause[: _SUBJECT_CAUSE_CHARS - 1] + "…"
        text = f"{job} FAILED: {cause}"
    else:
        rows = _written(summary).get("csv_rows")
        text = f"{job} succeeded" + (f": {rows:,} rows" if rows is not None else "")
    if summary.get("run_id"):
        text += f" (run {summary['run_id']})"
    return mask_phones(f"[DIAL-Flow] {text}")


def _body(
    job: str, outcome: str, summary: dict[str, Any], run_folder: Path | None, cause: str | None
) -> list[str]:
    """Return the body's lines: the outcome, the run's facts, then inputs, outputs and counts."""
    if outcome == "failed":
        lines = [mask_phones(f"{job} FAILED: {_one_line(cause or 'no cause recorded')}"), ""]
    else:
        lines = [f"{job} succeeded.", ""]
    facts = {
        "Run": summary.get("run_id"),
        "As of": summary.get("as_of"),
        "Took": f"{summary['seconds']:,} s" if "seconds" in summary else None,
        "Folder": run_folder or "none was kept",
    }
    lines += _aligned(facts, "")
    written = _written(summary)
    outputs = {}
    for name, value in summary.get("outputs", {}).items():
        rows = written.get(_ROWS_OF_OUTPUT.get(name, ""))
        outputs[name] = f"{value} ({rows:,} rows)" if rows is not None else value
    sections = {
        "Inputs": {name: _readable(value) for name, value in summary.get("inputs", {}).items()},
        "Outputs": outputs,
        "Counts": {name: _readable(value) for name, value in summary.get("counts", {}).items()},
    }
    for title, rows in sections.items():
        if any(value is not None for value in rows.values()):
            lines += ["", title, *(mask_phones(line) for line in _aligned(rows, "  "))]
    return lines


def _written(summary: dict[str, Any]) -> dict[str, Any]:
    return summary.get("stages", {}).get("write", {})


def _readable(value: Any) -> str | None:
    """Show a scalar, or a dict of scalars as `key: value, ...`; None for anything deeper."""
    if isinstance(value, list) or (
        isinstance(value, dict) and any(isinstance(v, (dict, list)) for v in value.values())
    ):
        return None
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_readable(item)}" for key, item in value.items()) or "none"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _aligned(rows: dict[str, Any], indent: str) -> list[str]:
    """Return `name  value` lines in two columns, leaving out rows without a value."""
    rows = {name: value for name, value in rows.items() if value is not None}
    width = max(len(name) for name in rows)
    return [f"{indent}{name:<{width}}  {value}" for name, value in rows.items()]


def _size(n: int) -> str:
    if n >= 2**20:
        return f"{n / 2**20:.1f} MiB"
    return f"{n / 2**10:.1f} KiB" if n >= 2**10 else f"{n} bytes"


def _csv_attachment(path: Path, limit: int) -> tuple[tuple[bytes, str, str] | None, str]:
    """Return the attachment (data, content type, file name) or None, and the body's note."""
    if not path.is_file():
        return None, f"Not attached: {path} does not exist"
    size = path.stat().st_size
    if size <= limit:
        return (path.read_bytes(), "text/csv", path.name), f"Attached: {path.name} ({_size(size)})"
    zipped = _zipped(path, limit)
    if zipped is None:
        return None, (
            f"Not attached: {path.name} is {_size(size)}, over the {_size(limit)} limit even "
            f"zipped; it is at {path}"
        )
    note = f"Attached: {path.name}.zip ({_size(len(zipped))}; {_size(size)} unzipped)"
    return (zipped, "application/zip", f"{path.name}.zip"), note


class _Full(Exception):
    """The zip grew past the attachment limit."""


class _BoundedBuffer(io.BytesIO):
    """A buffer that refuses to grow past a limit, so zipping a huge CSV stops early."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, data: bytes) -> int:
        if self.tell() + len(data) > self.limit:
            raise _Full
        return super().write(data)


def _zipped(path: Path, limit: int) -> bytes | None:
    """Return the file zipped, or None when the zip would be larger than the limit."""
    buffer = _BoundedBuffer(limit)
    try:
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(path, path.name)
    except _Full:
        return None
    return buffer.getvalue()
