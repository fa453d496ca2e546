"""Idle keep-alive connections held by the hub alone, without a green thread.

A green thread waiting for a keep-alive client's next request holds its
saved stack and the connection's buffered files: about 25 KiB. A worker
behind a pooling proxy can hold thousands of such clients, so one that stays
idle for a moment is parked instead: its green thread ends, the hub watches
the socket, and the first byte of the next request starts a fresh green
thread (and a fresh HttpProtocol) on it.

Imported only in workers, after the fork.
"""

import time

import eventlet.wsgi
import greenlet
from eventlet import greenio
from eventlet import hubs

# A client that sends its next request within this long is served by the
# green thread that answered the last one: under load nothing is parked,
# and parking costs nothing.
PARK_AFTER_SECONDS = 0.1


class StillIdle(Exception):
    """Thrown into a green thread waiting for its client's next request: park it."""


class HandedOff:
    """Stands for a parked socket in the ended green thread's connection state.

    eventlet.wsgi.server shuts down and closes that state's socket when the
    green thread ends; the socket itself lives on in the ParkingLot.
    """

    def shutdown(self, *args):
        pass

    def close(self):
        pass


HANDED_OFF = HandedOff()


class ParkedConnection:
    """One idle connection, as the worker's Connections (and its drain) sees it."""

    __slots__ = ("sock", "client_address", "idle_since", "_lot", "_listener",
                 "_expiry")

    def __init__(self, lot, sock, client_address, idle_since):
        self.sock = sock
        self.client_address = client_address
        self.idle_since = idle_since
        self._lot = lot
        self._listener = None
        self._expiry = None

    def stop_keeping_alive(self):
        pass  # its next request, if any, is answered by a fresh HttpProtocol

    def close_if_idle(self):
        self._lot.close(self)


class ParkingLot:
    """The worker's parked connections: resumed when readable, closed when idle too long."""

    def __init__(self, server, pool, connections, idle_timeout):
        self._server = server
        self._pool = pool
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
        """The calling green thread now waits for `conn`'s next request, in a trampoline.

        Until unwatch(), it may get StillIdle thrown into that trampoline.
        """
        self._waiting[conn] = greenlet.getcurrent()
        if self._sweep is None:
            self._sweep = hubs.get_hub().schedule_call_global(
                PARK_AFTER_SECONDS, self._tell_idle_to_park)

    def unwatch(self, conn):
        self._waiting.pop(conn, None)

    def _tell_idle_to_park(self):
        # In the hub, where every watched green thread is suspended in its
        # trampoline (each unwatches before it does anything else):
        # throwing resumes it there at once, as eventlet's timeouts do.
        self._sweep = None
        now = time.monotonic()
        for conn, green_thread in list(self._waiting.items()):
            if now - conn.idle_since >= PARK_AFTER_SECONDS:
                del self._waiting[conn]
                green_thread.throw(StillIdle())
        if self._waiting and self._sweep is None:
            self._sweep = hubs.get_hub().schedule_call_global(
                PARK_AFTER_SECONDS, self._tell_idle_to_park)

    def park(self, sock, client_address, idle_since):
        hub = hubs.get_hub()
        parked = ParkedConnection(self, sock, client_address, idle_since)
        parked._listener = hub.add(hub.READ, sock.fileno(), self._readable(parked),
                                   _no_green_thread_to_tell, self._gone(parked))
        if self._idle_timeout:
            left = idle_since + self._idle_timeout - time.monotonic()
            parked._expiry = hub.schedule_call_global(max(left, 0), self.close, parked)
        self._connections.parked(parked)

    def close(self, parked):
        if not self._unpark(parked):
            return
        self._connections.closed(parked)
        greenio.shutdown_safe(parked.sock)
        parked.sock.close()

    def _readable(self, parked):
        def resume(fileno):
            # In the hub: spawn, never block.
            if not self._unpark(parked):
                return
            conn_state = [parked.client_address, parked.sock,
                          eventlet.wsgi.STATE_IDLE]
            self._pool.spawn(self._server.process_request, conn_state).link(
                _close_unless_parked, conn_state)
            self._connections.resumed(parked)
        return resume

    def _gone(self, parked):
        def gone():
            # The hub saw the descriptor's number reused: something closed
            # it behind the lot's back. The hub has dropped the listener; the
            # number is someone else's now, so it is not closed here.
            if self._unpark(parked, hub_dropped_it=True):
                self._connections.closed(parked)
        return gone

    def _unpark(self, parked, hub_dropped_it=False):
        """Stop watching `parked`; False when it was no longer parked."""
        if parked._listener is None:
            return False
        if not hub_dropped_it:
            hubs.get_hub().remove(parked._listener)
        parked._listener = None
        if parked._expiry is not None:
            parked._expiry.cancel()
            parked._expiry = None
        return True


def _no_green_thread_to_tell(exc):
    """The hub throws into the green thread that added a listener: a parked one has none."""


def _close_unless_parked(_, conn_state):
    """What eventlet.wsgi.server does for the green threads it spawns itself."""
    sock = conn_state[1]
    greenio.shutdown_safe(sock)
    sock.close()
