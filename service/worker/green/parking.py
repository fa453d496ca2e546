"""eventlet model: idle keep-alive connections held by the hub alone, without a green thread.

A green thread waiting for a keep-alive client's next request holds its
saved stack and the connection's buffers: about 25 KiB. A worker behind a
pooling proxy can hold thousands of such clients, so one that stays idle
for a moment is parked instead: its green thread ends, the hub watches the
socket, and the first byte of the next request starts a fresh green thread
(and a fresh Connection) on it. A debug line tells each parking and
resumption.

Imported only in workers, after the fork.
"""

import logging
import time
from typing import Callable

from service.worker import client_sockets
from service.worker.drain import Connections
from service.worker.green import door

LOG = logging.getLogger(__name__)

# A client that sends its next request within this long is served by the
# green thread that answered the last one: under load nothing is parked,
# and parking costs nothing.
PARK_AFTER_SECONDS = 0.1


class StillIdle(Exception):
    """Thrown into a green thread waiting for its client's next request: park it."""


class ParkedConnection:
    """One idle connection, as the worker's Connections (and its drain) sees it."""

    parked = True

    __slots__ = ("sock", "client_address", "idle_since", "_lot", "_watch",
                 "_expiry")

    def __init__(self, lot, sock, client_address, idle_since):
        self.sock = sock
        self.client_address = client_address
        self.idle_since = idle_since
        self._lot = lot
        self._watch = None
        self._expiry = None

    def close_if_idle(self):
        self._lot.close(self)


class ParkingLot:
    """The worker's parked connections: resumed when readable, closed when idle too long."""

    def __init__(self, resume: Callable, connections: Connections, idle_timeout: int):
        # resume(sock, client_address) serves the connection again, in a
        # green thread of its own; called in the hub, it must not block.
        self._resume = resume
        self._connections = connections
        # client_socket_timeout: how long a connection may stay idle in all.
        self._idle_timeout = idle_timeout
        # Green threads waiting for a keep-alive client's next request, by
        # their connection: one sweep every PARK_AFTER_SECONDS tells those
        # that waited that long to park, instead of a timer for every wait
        # (a timer costs more than the rest of a wait's bookkeeping).
        self._waiting = {}
        self._sweep = None

    def watch(self, conn):
        """The calling green thread now waits for `conn`'s next request, in door.wait_readable().

        Until unwatch(), it may get StillIdle thrown into that wait.
        """
        self._waiting[conn] = door.current_green_thread()
        if self._sweep is None:
            self._sweep = door.call_later(PARK_AFTER_SECONDS, self._tell_idle_to_park)

    def unwatch(self, conn):
        self._waiting.pop(conn, None)

    def _tell_idle_to_park(self):
        # In the hub, where every watched green thread is suspended in its
        # wait (each unwatches before it does anything else): throwing
        # resumes it there at once, as eventlet's timeouts do.
        self._sweep = None
        now = time.monotonic()
        for conn, green_thread in list(self._waiting.items()):
            if now - conn.idle_since >= PARK_AFTER_SECONDS:
                del self._waiting[conn]
                green_thread.throw(StillIdle())
        if self._waiting and self._sweep is None:
            self._sweep = door.call_later(PARK_AFTER_SECONDS, self._tell_idle_to_park)

    def park(self, sock, client_address, idle_since):
        parked = ParkedConnection(self, sock, client_address, idle_since)
        parked._watch = door.watch_readable(
            sock.fileno(), self._readable(parked), self._gone(parked))
        if self._idle_timeout:
            left = idle_since + self._idle_timeout - time.monotonic()
            parked._expiry = door.call_later(max(left, 0), self.close, parked)
        self._connections.parked(parked)
        LOG.debug("Parked the idle connection from %s", client_address)

    def close(self, parked):
        if not self._unpark(parked):
            return
        self._connections.closed(parked)
        client_sockets.close(parked.sock)

    def _readable(self, parked):
        def resume(fileno):
            # In the hub: spawn, never block.
            if not self._unpark(parked):
                return
            self._resume(parked.sock, parked.client_address)
            self._connections.resumed(parked)
            LOG.debug("Resumed the parked connection from %s", parked.client_address)
        return resume

    def _gone(self, parked):
        def gone():
            # The hub saw the descriptor's number reused: something closed
            # it behind the lot's back. The hub has dropped the watch; the
            # number is someone else's now, so it is not closed here.
            if self._unpark(parked, hub_dropped_it=True):
                self._connections.closed(parked)
        return gone

    def _unpark(self, parked, hub_dropped_it=False):
        """Stop watching `parked`; False when it was no longer parked."""
        if parked._watch is None:
            return False
        if not hub_dropped_it:
            door.stop_watching(parked._watch)
        parked._watch = None
        if parked._expiry is not None:
            parked._expiry.cancel()
            parked._expiry = None
        return True


class GreenWaiting:
    """How a connection waits for its next request under eventlet: in its green thread for a moment, then parked."""

    def __init__(self, lot: ParkingLot | None, connections: Connections,
                 socket_timeout: float | None):
        self._lot = lot                  # None where connections never park (TLS)
        self._connections = connections
        self._socket_timeout = socket_timeout

    def for_request(self, conn, first):
        """True when `conn` goes on to read a request (its bytes are there, or the read waits for them); False once it is parked."""
        if first:
            return True  # a new green thread is cheap: it waits in its read
        # NOTE: one yield per request, wherever the next one is: without
        # it, one busy connection keeps every other one of this worker
        # waiting. It comes before looking for the next request, because
        # while the other connections run the client usually sends it:
        # then no wait on the hub is needed (two epoll_ctl calls and the
        # hub's bookkeeping per request).
        door.sleep(0)
        lot = self._lot
        reader = conn.reader
        if lot is None or reader.buffered() or reader.receive_now():
            return True
        timeout = self._socket_timeout
        if ((timeout is not None and timeout <= PARK_AFTER_SECONDS)
                or self._connections.draining):
            return True  # the usual read: it times out, or the drain ends it
        conn.idle_since = time.monotonic()
        return self._wait_or_park(lot, conn)

    def _wait_or_park(self, lot, conn):
        lot.watch(conn)
        try:
            door.wait_readable(conn.sock)
        except StillIdle:
            if self._connections.draining:
                return True
            lot.park(conn.sock, conn.client_address, conn.idle_since)
            return False
        finally:
            lot.unwatch(conn)
        return True
