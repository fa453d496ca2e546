"""Stopping: TERM/INT drain gracefully, a second signal stops at once, SIGKILL leaves no orphan."""

import http.client
import signal
import socket
import threading

import pytest

from tests.functional.daemon import pid_alive, port_is_closed, wait_until, write_config

PASTE = """
    [app:sleepy]
    paste.app_factory = tests.fixture_apps:sleepy_factory

    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory
"""


@pytest.fixture
def daemon(tmp_path, daemons):
    conf = write_config(tmp_path, {"sleepy": {"workers": 2}, "hello": {}}, PASTE)
    return daemons(tmp_path, "--config-file", conf)


class SlowRequest(threading.Thread):
    """A request to the sleepy app running in the background; .result is (status, headers, body)."""

    def __init__(self, daemon, seconds):
        super().__init__(daemon=True)
        self.conn = daemon.connection("sleepy", timeout=60)
        self.seconds = seconds
        self.result = self.error = None
        self.start()

    def run(self):
        try:
            self.conn.request("GET", f"/?seconds={self.seconds}")
            response = self.conn.getresponse()
            self.result = (response.status, dict(response.getheaders()),
                           response.read())
        except (OSError, http.client.HTTPException) as exc:
            self.error = exc


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_stop_finishes_in_flight_requests_and_exits_0(daemon, signum):
    host, port = daemon.address("sleepy")
    slow = SlowRequest(daemon, 1.5)
    daemon.wait_for_log(r"sleepy: sleeping 1.5")
    daemon.signal(signum)
    # New connections are refused at once, while the request is still running.
    wait_until(lambda: port_is_closed(host, port), timeout=5,
               message="the port to close")
    assert slow.is_alive()
    slow.join(10)
    assert slow.error is None
    status, headers, body = slow.result
    assert (status, body) == (200, b"slept 1.5\n")
    assert headers["Connection"] == "close"
    assert daemon.wait_exit() == 0
    # No access line is lost at stop: the request ended during the drain.
    daemon.wait_for_log(r'"GET /\?seconds=1\.5 HTTP/1\.1" status: 200', timeout=1)


def test_stop_closes_idle_keep_alive_connections(daemon):
    with socket.create_connection(daemon.address("hello"), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        daemon.signal(signal.SIGTERM)
        assert sock.recv(4096) == b""  # closed by the server, not timed out
    assert daemon.wait_exit() == 0


def test_second_signal_stops_at_once(daemon):
    slow = SlowRequest(daemon, 60)
    daemon.wait_for_log(r"sleepy: sleeping 60")
    workers = list(daemon.workers())
    assert len(workers) == 3
    daemon.signal(signal.SIGTERM)
    daemon.wait_for_log(r"SIGTERM received: stopping gracefully")
    daemon.signal(signal.SIGINT)
    assert daemon.wait_exit(timeout=10) == 1
    slow.join(10)
    assert slow.result is None and slow.error is not None
    assert not any(pid_alive(pid) for pid in workers)


def test_graceful_shutdown_timeout_bounds_the_stop(tmp_path, daemons):
    conf = write_config(tmp_path, {"sleepy": {}}, PASTE,
                        defaults={"graceful_shutdown_timeout": 1})
    daemon = daemons(tmp_path, "--config-file", conf)
    slow = SlowRequest(daemon, 60)
    daemon.wait_for_log(r"sleepy: sleeping 60")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit(timeout=15) == 0
    assert "graceful_shutdown_timeout passed: killing 1 worker(s)" in daemon.log()
    slow.join(10)
    assert slow.result is None


def test_workers_exit_when_the_supervisor_is_killed(daemon):
    workers = list(daemon.workers())
    addresses = [daemon.address(app) for app in ("sleepy", "hello")]
    assert len(workers) == 3
    daemon.signal(signal.SIGKILL)
    daemon.wait_exit()
    wait_until(lambda: not any(pid_alive(pid) for pid in workers), timeout=5,
               message="orphaned workers to exit")
    for host, port in addresses:
        assert port_is_closed(host, port)


def test_workers_still_building_exit_when_the_supervisor_is_killed(tmp_path, daemons):
    paste = PASTE + """
    [app:slow]
    paste.app_factory = tests.fixture_apps:slow_build_factory
    seconds = 1
    """
    conf = write_config(tmp_path, {"slow": {"workers": 2}}, paste)
    daemon = daemons(tmp_path, "--config-file", conf, ready=False)
    daemon.wait_for_log(r"slow_build: building", count=2)
    workers = list(daemon.workers())
    assert len(workers) == 2
    daemon.signal(signal.SIGKILL)
    daemon.wait_exit()
    wait_until(lambda: not any(pid_alive(pid) for pid in workers), timeout=5,
               message="orphaned workers to exit")


def test_an_apps_exit_handlers_run_when_its_workers_stop(tmp_path, daemons):
    written = tmp_path / "exit-handlers"
    conf = write_config(tmp_path, {"app": {"workers": 2}}, f"""
        [app:app]
        paste.app_factory = tests.fixture_apps:exit_handler_factory
        path = {written}
    """)
    daemon = daemons(tmp_path, "--config-file", conf)
    workers = set(daemon.workers("app"))
    assert len(workers) == 2
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0
    assert sorted(written.read_text().splitlines()) == sorted(
        f"exit handler ran in {pid}" for pid in workers)
