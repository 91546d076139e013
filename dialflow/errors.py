"""The project's exceptions: every error a user sees is one of these, shown as one line."""

from __future__ import annotations


class DialflowError(Exception):
    """A run failed; the message is the one line shown to the user (exit code 1)."""

    exit_code = 1


class ConfigError(DialflowError):
    """A configuration value is wrong: the message names the key path, the value and the fix."""

    exit_code = 2


class InputError(DialflowError):
    """An input file or table is unusable: the message names the file, the field and the fix."""

    exit_code = 2


class DialflowWarning(UserWarning):
    """A warning raised by DIAL-Flow itself (turned into an error in the tests)."""


class BusyError(DialflowError):
    """The same job is already running on the same output folder (exit code 3: try later)."""

    exit_code = 3


class StoppedAfterCommit(DialflowError):
    """Ctrl-C or SIGTERM came after the run committed: its folder is complete (exit code 130)."""

    exit_code = 130
