"""One run of a job per output folder at a time: an advisory lock `<output>/.<job>.lock`.

`flock` is released by the kernel when the holder exits, however it exits, so a crashed run
leaves no stale lock. The lock file also says who holds it, for the message the second run
prints. It guards processes of one host and of hosts sharing a local-semantics filesystem; on
NFS, give each scheduled job its own output folder or run its submissions from one host.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from .errors import BusyError, InputError


@contextmanager
def job_lock(output_dir: Path, job: str) -> Iterator[None]:
    """Hold the job's lock for the `with` block, or stop at once naming who holds it."""
    path = output_dir / f".{job}.lock"
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        reason = "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror
        raise InputError(
            f"run.output_dir {output_dir}: cannot write there ({reason}); give a folder this "
            f"user can create and write (--output or run.output_dir)"
        ) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise BusyError(
                f"{job} is already running on {output_dir} ({_holder(handle.read())}); "
                f"this run did not start: wait for that one to finish or use another "
                f"run.output_dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                }
            )
        )
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(text: str) -> str:
    try:
        holder = json.loads(text)
        return f"pid {holder['pid']} on {holder['host']} since {holder['since']}"
    except (ValueError, KeyError, TypeError):
        return "holder unknown"
