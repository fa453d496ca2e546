"""Hung workers and requests past request_timeout: found by the supervisor, logged with what they served, replaced."""

import http.client
import os
import re
import signal
import threading
import time

from tests.functional.daemon import wait_until, write_config

PASTE = """
    [app:sleepy]
    paste.app_factory = tests.fixture_apps:sleepy_factory

    [app:spin]
    paste.app_factory = tests.fixture_apps:spin_factory
"""


class Request(threading.Thread):
    """One request in a thread of its own; `outcome` is (status, body) or the exception it met."""

    def __init__(self, daemon, app, path):
        super().__init__(daemon=True)
        self.address = daemon.address(app)
        self.path = path
        self.outcome = None
        self.start()

    def run(self):
        conn = http.client.HTTPConnection(*self.address, timeout=120)
        try:
            conn.request("GET", self.path)
            response = conn.getresponse()
            self.outcome = (response.status, response.read())
        except (OSError, http.client.HTTPException) as exc:
            self.outcome = exc
        finally:
            conn.close()

    def result(self, timeout):
        self.join(timeout)
        assert not self.is_alive(), f"GET {self.path} still waits after {timeout} s"
        return self.outcome


def in_flight(daemon, app):
    """The worker's log line that says it is running this request (the fixture apps print one)."""
    return daemon.wait_for_log(rf"{app}: \w+ [\d.]+ in \d+")


def start(daemons, tmp_path, app_options, defaults=None):
    conf = write_config(tmp_path, {"sleepy": app_options, "spin": app_options}, PASTE,
                        {"graceful_shutdown_timeout": 60, **(defaults or {})})
    return daemons(tmp_path, "--config-file", conf)


def test_a_stopped_worker_is_killed_after_worker_timeout_and_replaced(tmp_path, daemons):
    daemon = start(daemons, tmp_path, {}, {"worker_timeout": 2})
    (worker,) = daemon.workers("sleepy")
    waiting = Request(daemon, "sleepy", "/held?seconds=60")
    in_flight(daemon, "sleepy")
    os.kill(worker, signal.SIGSTOP)
    stopped_at = time.monotonic()
    try:
        daemon.wait_for_log(rf"WARNING .*Worker {worker} of app sleepy did not answer for "
                            r"[\d.]+ s \(worker_timeout 2 s\): killing it; in flight: "
                            r"GET /held \([\d.]+ s\)")
        # Within worker_timeout and a look of the supervisor's.
        assert time.monotonic() - stopped_at < 2 + 2
    finally:
        try:
            os.kill(worker, signal.SIGCONT)  # if it was not killed, the test's end kills it
        except ProcessLookupError:
            pass
    assert isinstance(waiting.result(10), (ConnectionError, http.client.HTTPException))
    wait_until(lambda: daemon.workers("sleepy") and worker not in daemon.workers("sleepy"),
               timeout=20, message="a new worker of sleepy")
    assert daemon.get("sleepy", "/?seconds=0")[0] == 200


def test_a_sleeping_request_past_request_timeout_is_cut_and_the_others_finish(tmp_path, daemons):
    daemon = start(daemons, tmp_path, {"request_timeout": 4})
    (worker,) = daemon.workers("sleepy")
    late = Request(daemon, "sleepy", "/late?seconds=60")
    in_flight(daemon, "sleepy")
    time.sleep(2.5)  # the timed-out request and this one overlap by design
    on_time = Request(daemon, "sleepy", "/on-time?seconds=3")
    daemon.wait_for_log(rf"WARNING .*Worker {worker} of app sleepy has a request past "
                        r"request_timeout \(4 s\): replacing it; in flight: "
                        r"GET /late \([\d.]+ s\), GET /on-time \([\d.]+ s\)", timeout=10)
    # Its other request finishes on the worker being replaced.
    assert on_time.result(20) == (200, b"slept 3.0\n")
    # The one past the limit is cut: its client sees the connection close.
    assert isinstance(late.result(20), (ConnectionError, http.client.HTTPException))
    daemon.wait_for_log(rf"Worker {worker} of app sleepy has only requests past "
                        r"request_timeout \(4 s\) left to finish: killing it; in flight: "
                        r"GET /late \([\d.]+ s\)")
    new_workers = daemon.workers("sleepy")
    assert len(new_workers) == 1 and worker not in new_workers
    assert daemon.get("sleepy", "/after?seconds=0")[0] == 200


def test_a_request_spinning_past_request_timeout_is_cut(tmp_path, daemons, worker_model):
    daemon = start(daemons, tmp_path, {"request_timeout": 2})
    (worker,) = daemon.workers("spin")
    spinning = Request(daemon, "spin", "/spinning?seconds=60")
    in_flight(daemon, "spin")
    started = time.monotonic()
    # Under eventlet the spinning green thread stops the worker's loop, and
    # so its heartbeat: nothing it serves could finish, and it is killed at
    # once. Under threads the worker drains as for a sleeping request.
    daemon.wait_for_log(rf"WARNING .*Worker {worker} of app spin has (a request past "
                        r"request_timeout \(2 s\) and its loop is stuck|only requests past "
                        r"request_timeout \(2 s\) left to finish): killing it; in flight: "
                        r"GET /spinning \([\d.]+ s\)", timeout=20)
    assert isinstance(spinning.result(10), (ConnectionError, http.client.HTTPException))
    assert time.monotonic() - started < 20
    wait_until(lambda: daemon.workers("spin") and worker not in daemon.workers("spin"),
               timeout=20, message="a new worker of spin")
    assert daemon.get("spin", "/?seconds=0")[0] == 200
    assert "Traceback" not in daemon.log()


def test_requests_within_request_timeout_are_left_alone(tmp_path, daemons):
    daemon = start(daemons, tmp_path, {"request_timeout": 3}, {"worker_timeout": 2})
    (worker,) = daemon.workers("sleepy")
    assert Request(daemon, "sleepy", "/?seconds=2").result(20) == (200, b"slept 2.0\n")
    # Longer than worker_timeout: an idle worker beats all the same.
    time.sleep(3)
    assert daemon.workers("sleepy") == {worker: "service-api: worker sleepy"}
    assert not re.search(r"WARNING|ERROR", daemon.log())
