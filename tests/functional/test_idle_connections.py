"""Idle keep-alive connections: held cheaply, served when they speak again, closed when idle too long.

A worker parks a keep-alive connection that stays idle for a moment (see
service.worker.idle): these tests stay idle well past that moment, and see
it happen in the worker's debug lines ("Parked the idle connection from
..."), so that each tests a parked connection, not one still held by its
green thread.
"""

import re

import signal
import socket
import time

from tests.functional.daemon import (
    open_sockets, port_is_closed, rss_kib, wait_until, write_config)
from tests.functional.test_keepalive import exchange

PASTE = """
    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory
"""
REQUEST = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
# Longer than service.worker.idle.PARK_AFTER_SECONDS: an idle connection gets parked.
IDLE_SECONDS = 0.5
# The budget: 10,000 idle connections in under 150 MB.
KIB_PER_IDLE_CONNECTION = 15


def start(tmp_path, daemons, **defaults):
    # --debug: the worker tells when it parks and resumes a connection.
    return daemons(tmp_path, "--debug", "--config-file",
                   write_config(tmp_path, {"hello": {}}, PASTE, defaults))


def parked(daemon, sock, count=1):
    """Wait until the worker has parked `sock`'s connection `count` times."""
    daemon.wait_for_log(_told("Parked the idle connection", sock), count=count)


def resumed(daemon, sock, count=1):
    daemon.wait_for_log(_told("Resumed the parked connection", sock), count=count)


def _told(what, sock):
    host, port = sock.getsockname()[:2]
    return rf"{what} from \('{re.escape(host)}', {port}\)"


def parked_count(daemon):
    return daemon.log().count("Parked the idle connection from")


def test_an_idle_connection_is_served_each_time_it_speaks_again(tmp_path, daemons):
    daemon = start(tmp_path, daemons)
    with socket.create_connection(daemon.address("hello"), timeout=10) as sock:
        for times in range(1, 4):
            head, body = exchange(sock, REQUEST)
            assert head.startswith(b"HTTP/1.1 200") and body == b"hello\n"
            assert b"Connection: close" not in head
            time.sleep(IDLE_SECONDS)  # the stimulus: a client with nothing to say
            parked(daemon, sock, count=times)
        # A request that arrives in pieces, the first after a long silence.
        sock.sendall(REQUEST[:5])
        time.sleep(IDLE_SECONDS)
        head, body = exchange(sock, REQUEST[5:])
        assert head.startswith(b"HTTP/1.1 200") and body == b"hello\n"
        resumed(daemon, sock, count=3)
    # One access line for each of the four requests, parked or not.
    daemon.wait_for_log(r'"GET / HTTP/1\.1" status: 200', count=4)


def test_an_idle_connection_is_closed_after_client_socket_timeout(tmp_path, daemons):
    daemon = start(tmp_path, daemons, client_socket_timeout=1)
    with socket.create_connection(daemon.address("hello"), timeout=15) as sock:
        head, _ = exchange(sock, REQUEST)
        assert head.startswith(b"HTTP/1.1 200")
        parked(daemon, sock)
        assert sock.recv(4096) == b""  # closed by the server, not timed out here
    assert daemon.get("hello")[0] == 200


def test_idle_connections_closed_by_clients_release_their_sockets(tmp_path, daemons):
    daemon = start(tmp_path, daemons)
    [worker] = daemon.workers("hello")
    baseline = open_sockets(worker)
    held = [socket.create_connection(daemon.address("hello"), timeout=10)
            for _ in range(50)]
    for sock in held:
        exchange(sock, REQUEST)
    time.sleep(IDLE_SECONDS)
    for sock in held:
        parked(daemon, sock)
    assert open_sockets(worker) == baseline + 50
    for sock in held:
        sock.close()
    wait_until(lambda: open_sockets(worker) == baseline,
               message="the worker to close the connections its clients closed")


def test_an_idle_connection_that_speaks_during_a_stop_is_answered_then_closed(
        tmp_path, daemons):
    daemon = start(tmp_path, daemons)
    host, port = daemon.address("hello")
    with socket.create_connection((host, port), timeout=10) as sock:
        exchange(sock, REQUEST)
        time.sleep(IDLE_SECONDS)
        parked(daemon, sock)
        daemon.signal(signal.SIGTERM)
        wait_until(lambda: port_is_closed(host, port), message="the port to close")
        head, body = exchange(sock, REQUEST)
        assert head.startswith(b"HTTP/1.1 200") and body == b"hello\n"
        assert b"Connection: close" in head
        assert sock.recv(4096) == b""
        resumed(daemon, sock)
    assert daemon.wait_exit() == 0


def test_a_stop_closes_idle_connections_and_exits_0(tmp_path, daemons):
    daemon = start(tmp_path, daemons)
    held = [socket.create_connection(daemon.address("hello"), timeout=10)
            for _ in range(20)]
    for sock in held:
        exchange(sock, REQUEST)
    time.sleep(IDLE_SECONDS)
    for sock in held:
        parked(daemon, sock)
    daemon.signal(signal.SIGTERM)
    for sock in held:
        assert sock.recv(4096) == b""
        sock.close()
    assert daemon.wait_exit() == 0


IDLE_CONNECTIONS = 1000


def test_idle_connections_cost_little_memory(tmp_path, daemons, room_for_sockets):
    room_for_sockets(2 * IDLE_CONNECTIONS)
    daemon = start(tmp_path, daemons)
    [worker] = daemon.workers("hello")
    held = []
    try:
        # The first thousand also pay for what a worker allocates once (and
        # keeps): the second thousand show what one more connection costs.
        held += open_idle_connections(daemon, IDLE_CONNECTIONS)
        time.sleep(IDLE_SECONDS)
        wait_until(lambda: parked_count(daemon) >= IDLE_CONNECTIONS,
                   message=f"the worker to park {IDLE_CONNECTIONS} connections")
        before = rss_kib(worker)
        held += open_idle_connections(daemon, IDLE_CONNECTIONS)
        budget = KIB_PER_IDLE_CONNECTION * IDLE_CONNECTIONS
        wait_until(lambda: rss_kib(worker) - before < budget,
                   message=f"{IDLE_CONNECTIONS} more idle connections to cost under "
                           f"{budget} KiB (now {rss_kib(worker) - before} KiB)")
        wait_until(lambda: parked_count(daemon) >= 2 * IDLE_CONNECTIONS,
                   message=f"the worker to park {2 * IDLE_CONNECTIONS} connections")
        assert open_sockets(worker) >= 2 * IDLE_CONNECTIONS
        assert daemon.get("hello")[0] == 200
    finally:
        for sock in held:
            sock.close()


def open_idle_connections(daemon, count, batch=100):
    """`count` connections that have each had one response, opened `batch` at a time."""
    opened = []
    while len(opened) < count:
        socks = [socket.create_connection(daemon.address("hello"), timeout=10)
                 for _ in range(batch)]
        opened += socks
        for sock in socks:
            sock.sendall(REQUEST)
        for sock in socks:
            assert exchange(sock, b"")[0].startswith(b"HTTP/1.1 200")
    return opened
