"""service.worker_status: what a worker writes of itself, as the supervisor reads it across the fork."""

import os
import signal
import time

from service import worker_status
from service.worker_status import InFlight, WorkerStatus


def test_a_fresh_status_shows_a_worker_that_is_not_serving_yet():
    reading = WorkerStatus(4).read()
    assert reading.heartbeat is None and reading.served == 0 and reading.in_flight == ()


def test_what_a_forked_worker_writes_the_supervisor_reads():
    status = WorkerStatus(4)
    pid = os.fork()
    if pid == 0:
        status.beat(1234.5)
        status.request_ended(status.request_started("GET", "/done", 1000.0))
        status.request_started("POST", "/v2/servers", 1200.0)
        status.request_started("GET", "/slow", 1100.0)
        os._exit(0)
    os.waitpid(pid, 0)
    reading = status.read()
    assert reading.heartbeat == 1234.5
    assert reading.served == 1
    # Oldest first.
    assert reading.in_flight == (InFlight("GET", "/slow", 1100.0),
                                 InFlight("POST", "/v2/servers", 1200.0))
    assert reading.in_flight[0].describe(now=1112.34) == "GET /slow (12.3 s)"


def test_a_stuck_worker_is_read_all_the_same():
    status = WorkerStatus(2)
    pid = os.fork()
    if pid == 0:
        status.beat(time.monotonic())
        status.request_started("GET", "/stuck", time.monotonic())
        os.kill(os.getpid(), signal.SIGSTOP)
        os._exit(0)
    try:
        os.waitpid(pid, os.WUNTRACED)  # returns once it is stopped
        (request,) = status.read().in_flight
        assert request.path == "/stuck"
        assert 0 <= request.age(time.monotonic()) < 10
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_served_counts_every_entry_and_entries_are_used_again():
    status = WorkerStatus(2)
    for n in range(5):
        first = status.request_started("GET", f"/{n}", 1.0)
        second = status.request_started("GET", f"/{n}b", 1.0)
        status.request_ended(first)
        status.request_ended(second)
    reading = status.read()
    assert reading.served == 10 and reading.in_flight == ()


def test_requests_past_the_entries_are_served_but_not_shown():
    status = WorkerStatus(1)
    shown = status.request_started("GET", "/a", 1.0)
    assert status.request_started("GET", "/b", 1.0) is None
    status.request_ended(None)
    assert [r.path for r in status.read().in_flight] == ["/a"]
    status.request_ended(shown)
    assert status.read().served == 1


def test_long_paths_and_methods_are_cut_and_odd_bytes_kept_readable():
    status = WorkerStatus(1)
    status.request_started("M" * 40, "/" + "x" * 500, 1.0)
    (request,) = status.read().in_flight
    assert request.method == "M" * 16
    assert request.path == "/" + "x" * 215
    status.request_ended(0)
    status.request_started("GET", "/caf\xe9/\u20ac", 1.0)
    assert status.read().in_flight[0].path == "/caf\xe9/?"


def test_a_look_while_requests_come_and_go_sees_only_whole_requests():
    status = WorkerStatus(4)
    pid = os.fork()
    if pid == 0:
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            entries = [status.request_started("GET", f"/{n}", time.monotonic())
                       for n in range(3)]
            for entry in entries:
                status.request_ended(entry)
        os._exit(0)
    looks = 0
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        for request in status.read().in_flight:
            assert request.method == "GET" and request.path in ("/0", "/1", "/2")
            assert 0 <= time.monotonic() - request.started < 5
        looks += 1
    assert looks > 10 and status.read().served % 3 == 0


def test_stop_beating_tells_the_supervisor_nothing_is_expected():
    status = WorkerStatus(1)
    status.beat(5.0)
    status.stop_beating()
    assert status.read().heartbeat is None


def test_the_resident_memory_of_a_process_and_of_none():
    assert WorkerStatus(1).read(os.getpid()).resident > 1 << 20
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert worker_status.resident_bytes(pid) is None
