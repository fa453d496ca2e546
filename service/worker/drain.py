"""The worker's open connections, and the drain that ends them when the worker stops.

A drain owes each connection this: its request in flight is finished, its
next response says `Connection: close` (the exchange asks `draining`), and
an idle keep-alive connection gets a short grace to send one last request
before it is closed, so that a client already sending is never cut off.

Imported only in workers, after the fork.
"""

import time

from service import accept_board
from service.worker import green

# During a drain, an idle keep-alive connection gets this long to send one
# last request (answered with `Connection: close`) before it is closed: a
# client may already be sending on it.
IDLE_GRACE_SECONDS = 1.0
DRAIN_POLL_SECONDS = 0.05


class Connections:
    """The worker's open client connections (served or parked), and the drain that ends them."""

    def __init__(self, pool_size: int, seat: accept_board.Seat):
        # Accepted, but their green thread has not started: drain waits for them too.
        self.starting = 0
        self.open = set()
        self.draining = False
        self.request_slots = green.Semaphore(pool_size)
        self.drained = green.Event()
        # Where this worker posts how many connections it holds, for its
        # siblings (service.accept_board).
        self._seat = seat

    def held(self):
        return len(self.open) + self.starting

    def accepting(self):
        self._seat.post(self.held())

    def accepted(self):
        self.starting += 1
        self._seat.post(self.held())

    def opened(self, conn):
        self.starting -= 1
        self.open.add(conn)

    def closed(self, conn):
        self.open.discard(conn)
        if not self.draining:
            self._seat.post(self.held())

    def parked(self, parked):
        self.open.add(parked)

    def resumed(self, parked):
        # Its Connection reports itself opened once its green thread runs.
        self.open.discard(parked)
        self.starting += 1

    def drain(self):
        """Finish in-flight requests, close idle connections after a grace; return when none is left."""
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
            green.sleep(DRAIN_POLL_SECONDS)
        self.drained.send()
