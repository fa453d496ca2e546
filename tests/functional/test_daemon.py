"""The functional tests' own helper: it never finds workers where it cannot tell them apart."""

import os
import signal
import subprocess
import sys

import pytest

from tests.functional.daemon import Daemon, wait_until, _children

# A parent with one child, neither of them titled: what service-api's
# processes look like without setproctitle.
UNTITLED = "import os, time\nos.fork()\ntime.sleep(60)\n"


def test_workers_raise_when_processes_have_no_titles():
    process = subprocess.Popen([sys.executable, "-c", UNTITLED])
    try:
        wait_until(lambda: _children(process.pid), message="the child")
        daemon = Daemon.__new__(Daemon)
        daemon.process, daemon.pid = process, process.pid
        with pytest.raises(AssertionError, match="setproctitle"):
            daemon.workers()
    finally:
        for child in _children(process.pid):
            os.kill(child, signal.SIGKILL)
        process.kill()
        process.wait()
