"""service.worker.drain: the worker's connections, and the drain that ends them, with each worker model's units."""

import threading
import time

from service.worker import drain
from service.worker.green import door as green


class Seat:
    def __init__(self, siblings=()):
        self.posts = []
        self.left = False
        self._siblings = list(siblings)

    def siblings(self):
        return self._siblings

    def post(self, count):
        self.posts.append(count)

    def leave(self):
        self.left = True


class Conn:
    parked = False

    def __init__(self, connections, idle_since=None):
        self.connections = connections
        self.idle_since = idle_since
        self.closed_when_idle = 0

    def close_if_idle(self):
        self.closed_when_idle += 1
        self.connections.closed(self)


def later(model, seconds, function):
    """Call function() in `seconds`, in another unit of `model` (a green thread, an OS thread)."""
    if model.name == "eventlet":
        green.spawn_n(lambda: (green.sleep(seconds), function()))
    else:
        threading.Timer(seconds, function).start()


def test_the_seat_shows_what_the_worker_holds(model):
    seat = Seat()
    connections = drain.Connections(seat, model)
    connections.accepted()
    conn = Conn(connections)
    connections.opened(conn)
    assert connections.held() == 1
    connections.closed(conn)
    assert seat.posts == [1, 0] and connections.held() == 0


def test_a_drain_finishes_busy_connections_and_closes_idle_ones_after_a_grace(
        model, monkeypatch):
    monkeypatch.setattr(drain, "IDLE_GRACE_SECONDS", 0.05)
    monkeypatch.setattr(drain, "DRAIN_POLL_SECONDS", 0.01)
    seat = Seat()
    connections = drain.Connections(seat, model)
    busy, idle = Conn(connections), Conn(connections, idle_since=time.monotonic())
    for conn in (busy, idle):
        connections.accepted()
        connections.opened(conn)
    later(model, 0.2, lambda: connections.closed(busy))
    started = time.monotonic()
    connections.drain()
    assert time.monotonic() - started >= 0.2  # it waited for the busy one
    assert idle.closed_when_idle == 1 and busy.closed_when_idle == 0
    assert connections.draining and seat.left and connections.held() == 0


def test_counts_stay_right_when_threads_open_and_close_at_once(model):
    # Under threads, connections open and close in many OS threads: the
    # counts change under the model's lock.
    connections = drain.Connections(Seat(), model)

    def open_and_close():
        for _ in range(2000):
            connections.accepted()
            conn = Conn(connections)
            connections.opened(conn)
            connections.closed(conn)

    threads = [threading.Thread(target=open_and_close) for _ in range(4)]
    if model.name == "eventlet":
        threads = threads[:1]  # one OS thread: green threads never run these at once
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert connections.held() == 0 and connections.starting == 0


def test_a_worker_over_its_share_lets_one_connection_go_per_interval(model):
    connections = drain.Connections(Seat(siblings=[1]), model)
    for _ in range(4):
        connections.accepted()
    assert connections.sheds_one(now=100.0)
    assert not connections.sheds_one(now=100.0 + drain.SHED_SECONDS / 2)
    assert connections.sheds_one(now=100.0 + drain.SHED_SECONDS)


def test_a_worker_within_its_share_keeps_its_connections(model):
    connections = drain.Connections(Seat(siblings=[3]), model)
    for _ in range(4):
        connections.accepted()
    assert not connections.sheds_one(now=100.0)
