"""The worker's open connections, and the drain that ends them when the worker stops.

A drain owes each connection this: its request in flight is finished, its
next response says `Connection: close` (the exchange asks `draining`), and
an idle keep-alive connection gets a short grace to send one last request
before it is closed, so that a client already sending is never cut off.

Shared by both worker models (service.worker.model), whose primitives it
uses: under threads, connections open and close in several OS threads at
once, so the counts change under the model's lock.

Imported only in workers, after the fork.
"""

import time

from service import accept_board
from service.worker import counting

# During a drain, an idle keep-alive connection gets this long to send one
# last request (answered with `Connection: close`) before it is closed: a
# client may already be sending on it.
IDLE_GRACE_SECONDS = 1.0
DRAIN_POLL_SECONDS = 0.05
# A worker holding more than its share of connections lets one go at most
# this often (service.accept_board.over_share).
SHED_SECONDS = 0.5


class Connections:
    """The worker's open client connections (served or parked), and the drain that ends them."""

    def __init__(self, seat: accept_board.Seat, model, counts=counting.NO_COUNTS):
        # Accepted (or resumed), but not yet served: drain waits for them too.
        self.starting = 0
        self.open = set()
        # Of the open ones, those parked between requests, holding no thread.
        self.parked_count = 0
        self.draining = False
        # Where the open and parked connections are counted for the admin
        # endpoint (service.worker.counting).
        self._counts = counts
        # Where this worker posts how many connections it holds, for its
        # siblings (service.accept_board).
        self._seat = seat
        self._lock = model.lock()
        self._sleep = model.sleep
        self._next_shed = 0.0

    def held(self):
        return len(self.open) + self.starting

    def sheds_one(self, now):
        """Whether the response being made should close its connection, for the worker's siblings to take it.

        Asked once a response head is made; looked at once every
        SHED_SECONDS at most, so that a worker lets at most one connection
        go per interval and the hot path pays only a comparison.
        """
        if now < self._next_shed:
            return False
        self._next_shed = now + SHED_SECONDS
        return accept_board.over_share(self.held(), self._seat.siblings())

    def accepting(self):
        self._seat.post(self.held())

    def accepted(self):
        with self._lock:
            self.starting += 1
            self._seat.post(self.held())
            self._counted()

    def opened(self, conn):
        with self._lock:
            self.starting -= 1
            self.open.add(conn)

    def closed(self, conn):
        with self._lock:
            if conn in self.open:
                self.open.remove(conn)
                self.parked_count -= conn.parked
            if not self.draining:
                self._seat.post(self.held())
            self._counted()

    def parked(self, parked):
        with self._lock:
            self.open.add(parked)
            self.parked_count += 1
            self._counted()

    def resumed(self, parked):
        # Its Connection reports itself opened once it is served again.
        with self._lock:
            self.open.discard(parked)
            self.parked_count -= 1
            self.starting += 1
            self._counted()

    def _counted(self):
        self._counts.connections(self.held(), self.parked_count)

    def drain(self, beat=None):
        """Finish in-flight requests, close idle connections after a grace; return when none is left.

        beat() is called at every look, to show the supervisor that the
        worker is still alive as it drains.
        """
        self.draining = True
        self._seat.leave()
        started = time.monotonic()
        while self.open or self.starting:
            now = time.monotonic()
            for conn in list(self.open):
                idle_since = conn.idle_since
                if (idle_since is not None
                        and now - max(idle_since, started) >= IDLE_GRACE_SECONDS):
                    conn.close_if_idle()
            if beat is not None:
                beat()
            self._sleep(DRAIN_POLL_SECONDS)
