"""The console script ends without the interpreter's teardown (`dialflow.cli.exit_now`), yet as
`sys.exit` would: the same exit code, every line written, the atexit handlers run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from dialflow import __version__

DIALFLOW = str(Path(sys.executable).parent / "dialflow")


def python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_the_quick_exit_keeps_output_exit_code_and_atexit_but_skips_teardown():
    done = python(
        "import atexit, sys\n"
        "import dialflow.cli\n"
        "atexit.register(lambda: print('atexit ran', flush=True))\n"
        "class Freed:\n"
        "    def __del__(self):\n"
        "        print('torn down', flush=True)\n"
        "kept = Freed()  # freed by the interpreter's teardown only, which is skipped\n"
        "sys.argv = ['dialflow', '--version']\n"
        "dialflow.cli.main()\n"
        "print('not reached')\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"dialflow {__version__}", "atexit ran"]


def test_a_usage_error_keeps_its_exit_code_and_message():
    done = subprocess.run(
        [DIALFLOW, "run", "nosuchjob"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2
    assert "nosuchjob" in done.stderr


def test_a_message_instead_of_a_code_is_printed_and_exits_1():
    done = python("import dialflow.cli\ndialflow.cli.exit_now('stopped: no input')\n")
    assert done.returncode == 1
    assert done.stderr.strip() == "stopped: no input"
