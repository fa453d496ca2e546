"""service.worker.green.parking: the parking lot, with the hub of this process and real sockets."""

import socket
import time

import pytest

from service.worker.green import door as green
from service.worker.green import parking as idle


class Connections:
    def __init__(self):
        self.events = []
        self.held = None

    def parked(self, parked):
        self.events.append("parked")
        self.held = parked

    def resumed(self, parked):
        self.events.append("resumed")

    def closed(self, parked):
        self.events.append("closed")


class Waiting:
    """What the lot sees of a connection waiting for its next request."""

    def __init__(self):
        self.idle_since = time.monotonic()


@pytest.fixture
def pair():
    server, client = socket.socketpair()
    yield server, client
    server.close()
    client.close()


def run_hub_until(condition, seconds=2.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        green.sleep(0.005)
    return condition()


def test_a_parked_connection_is_resumed_when_its_client_speaks(pair):
    server, client = pair
    resumed, connections = [], Connections()
    lot = idle.ParkingLot(lambda sock, address: resumed.append((sock, address)),
                          connections, idle_timeout=0)
    lot.park(server, ("192.0.2.1", 4000), time.monotonic())
    green.sleep(0.02)
    assert resumed == [] and connections.events == ["parked"]
    client.sendall(b"GET")
    assert run_hub_until(lambda: resumed)
    assert resumed == [(server, ("192.0.2.1", 4000))]
    assert connections.events == ["parked", "resumed"]
    green.sleep(0.02)
    assert len(resumed) == 1  # no longer watched


def test_a_parked_connection_idle_too_long_is_closed(pair):
    server, client = pair
    connections = Connections()
    lot = idle.ParkingLot(lambda sock, address: None, connections, idle_timeout=0.05)
    lot.park(server, ("192.0.2.1", 4000), time.monotonic())
    assert run_hub_until(lambda: "closed" in connections.events)
    client.settimeout(2)
    assert client.recv(10) == b""


def test_a_drain_closes_a_parked_connection_once(pair):
    server, client = pair
    connections = Connections()
    lot = idle.ParkingLot(lambda sock, address: None, connections, idle_timeout=0)
    lot.park(server, ("192.0.2.1", 4000), time.monotonic())
    assert connections.held.idle_since is not None  # the drain closes it after its grace
    connections.held.close_if_idle()
    connections.held.close_if_idle()
    assert connections.events == ["parked", "closed"]
    client.settimeout(2)
    assert client.recv(10) == b""


def test_a_waiting_green_thread_is_told_to_park_after_a_moment(pair):
    server, _ = pair
    lot = idle.ParkingLot(lambda sock, address: None, Connections(), idle_timeout=0)
    told = []

    def wait(conn):
        lot.watch(conn)
        try:
            green.wait_readable(server)
        except idle.StillIdle:
            told.append(time.monotonic() - conn.idle_since)
        finally:
            lot.unwatch(conn)

    waiter = green.spawn(wait, Waiting())
    assert run_hub_until(lambda: told)
    waiter.wait()
    assert idle.PARK_AFTER_SECONDS <= told[0] < 1.0
