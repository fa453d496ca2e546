"""service.worker.drain: the worker's connections, and the drain that ends them, with this process's hub."""

import time

from service.worker import drain
from service.worker import green


class Seat:
    def __init__(self):
        self.posts = []
        self.left = False

    def post(self, count):
        self.posts.append(count)

    def leave(self):
        self.left = True


class Conn:
    def __init__(self, connections, idle_since=None):
        self.connections = connections
        self.idle_since = idle_since
        self.closed_when_idle = 0

    def close_if_idle(self):
        self.closed_when_idle += 1
        self.connections.closed(self)


def test_the_seat_shows_what_the_worker_holds():
    seat = Seat()
    connections = drain.Connections(10, seat)
    connections.accepted()
    conn = Conn(connections)
    connections.opened(conn)
    assert connections.held() == 1
    connections.closed(conn)
    assert seat.posts == [1, 0] and connections.held() == 0


def test_a_drain_finishes_busy_connections_and_closes_idle_ones_after_a_grace(monkeypatch):
    monkeypatch.setattr(drain, "IDLE_GRACE_SECONDS", 0.05)
    monkeypatch.setattr(drain, "DRAIN_POLL_SECONDS", 0.01)
    seat = Seat()
    connections = drain.Connections(10, seat)
    busy, idle = Conn(connections), Conn(connections, idle_since=time.monotonic())
    for conn in (busy, idle):
        connections.accepted()
        connections.opened(conn)
    green.spawn_n(lambda: (green.sleep(0.2), connections.closed(busy)))
    started = time.monotonic()
    connections.drain()
    assert time.monotonic() - started >= 0.2  # it waited for the busy one
    assert idle.closed_when_idle == 1 and busy.closed_when_idle == 0
    assert connections.draining and seat.left and connections.drained.ready()


def test_request_slots_bound_the_requests_in_progress():
    connections = drain.Connections(2, Seat())
    assert connections.request_slots.acquire(blocking=False)
    assert connections.request_slots.acquire(blocking=False)
    assert not connections.request_slots.acquire(blocking=False)
