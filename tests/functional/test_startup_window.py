"""Start-up and reload windows: only a failure to build fails them; signals in them are never lost.

SPEC section 4: a worker that dies after it served is replaced even while
other workers build; a HUP before start-up completes is performed once it
has; TERM or INT at any moment stop cleanly.
"""

import re
import signal
import subprocess
import sys
import threading

import pytest

from tests.functional.daemon import REPO, wait_until, write_config

PASTE = """
    [app:slow]
    paste.app_factory = tests.fixture_apps:slow_build_factory
    seconds = 4

    [app:fragile]
    paste.app_factory = tests.fixture_apps:dies_on_request_factory

    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory
"""


def _pid_served_by(daemon, app):
    """The pid of the worker that answers a request for `app`, once one does."""
    def answer():
        try:
            status, _, body = daemon.get(app)
        except OSError:
            return None
        return int(body) if status == 200 else None
    return wait_until(answer, timeout=20, message=f"a worker of {app} to answer")


def _kill_through(daemon, app):
    """Ask `app` for /die: its worker exits with status 5 without answering."""
    with pytest.raises(OSError):
        daemon.get(app, "/die")


def test_a_worker_that_served_and_died_is_replaced_while_another_app_builds(tmp_path, daemons):
    conf = write_config(tmp_path, {"slow": {}, "fragile": {}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf, ready=False)
    daemon.wait_for_log(r"App fragile: ")
    daemon.urls = daemon.listening()
    first = _pid_served_by(daemon, "fragile")
    assert "Serving: every worker" not in daemon.log()  # slow is still building
    _kill_through(daemon, "fragile")
    daemon.wait_for_log(rf"Worker {first} of app fragile \(generation 1\) exited with status 5")
    daemon.wait_ready()
    assert _pid_served_by(daemon, "fragile") != first
    assert daemon.process.poll() is None


def test_a_new_worker_that_served_and_died_does_not_abandon_the_reload(tmp_path, daemons):
    conf = write_config(tmp_path, {"fragile": {}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf, "--debug")
    write_config(tmp_path, {"fragile": {}, "slow": {}}, PASTE)
    daemon.signal(signal.SIGHUP)
    # The second "is serving" line is the new generation's fragile worker.
    daemon.wait_for_log(r"Worker \d+ of app fragile is serving", count=2)
    new = int(re.findall(r"Worker (\d+) of app fragile is serving", daemon.log())[1])
    assert "Reload complete" not in daemon.log()  # slow is still building
    subprocess.run(["kill", "-KILL", str(new)], check=True)
    daemon.wait_for_log(rf"Worker {new} of app fragile \(generation 2\) was killed by signal SIGKILL")
    daemon.wait_for_log(r"Reload complete: generation 2 is serving", timeout=20)
    assert "Reload failed" not in daemon.log()


def test_a_hup_before_start_up_completes_is_performed_after(tmp_path, daemons):
    conf = write_config(tmp_path, {"slow": {"workers": 1}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf, ready=False)
    daemon.wait_for_log(r"App slow: .* with 1 worker\(s\) \(generation 1\)")
    write_config(tmp_path, {"slow": {"workers": 2}}, PASTE)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log(r"Serving: every worker", timeout=20)
    daemon.wait_for_log(r"App slow: .* with 2 worker\(s\) \(generation 2\)")
    daemon.wait_for_log(r"Reload complete: generation 2 is serving", timeout=20)


# Moments of a start-up, each marked by what the process has written by
# then: the handlers of service.cmd.api are in place before oslo_config is
# imported, oslo_log is imported after it, and "App" lines come from the
# supervisor's loop while workers build.
MOMENTS = {
    "importing oslo.config": r"\| +oslo_config\n",
    "importing oslo.log": r"\| +oslo_log\.log\n",
    "workers building": r"App slow: ",
}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
@pytest.mark.parametrize("moment", MOMENTS.values(), ids=MOMENTS)
def test_stop_signal_at_any_moment_of_start_up_exits_0_quietly(tmp_path, signum, moment):
    conf = write_config(tmp_path, {"slow": {}}, PASTE)
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "service", "--config-file", conf],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=tmp_path,
        env={"PYTHONPATH": REPO, "PATH": "/usr/bin:/bin"})
    output = _Output(process.stdout)
    try:
        wait_until(lambda: re.search(moment, output.text), timeout=20,
                   message=f"{moment!r} in the output")
        process.send_signal(signum)
        assert process.wait(20) == 0, output.text
    finally:
        process.kill()
        process.wait()
    output.done.wait(5)
    assert "Traceback" not in output.text
    assert "KeyboardInterrupt" not in output.text


class _Output:
    """What a process writes, read as it comes in a thread of its own."""

    def __init__(self, stream):
        self.text = ""
        self.done = threading.Event()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream):
        for line in iter(stream.readline, b""):
            self.text += line.decode("utf-8", "replace")
        self.done.set()
