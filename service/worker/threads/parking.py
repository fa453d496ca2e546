"""threads model: idle keep-alive connections in one epoll set, watched by one thread, holding no request thread.

A request thread that finds nothing of a connection's next request parks
the connection at once: a thread is too dear to spend waiting for a client
(16 of them serve a worker; a pooling proxy may hold thousands of idle
connections). The lot's thread hands a parked connection back to the
request threads when it speaks (a fresh Connection on the same socket, as
under eventlet), and closes it once it has been idle for
client_socket_timeout; a drain closes it after its grace. A connection
parked in the middle of a head (request threads read heads only whole) is
handed back instead once its head is overdue (request_head_timeout, or
silent for client_socket_timeout), for a request thread to answer 408. A
debug line tells each parking and resumption.

The set is armed once per parking (EPOLLONESHOT): a readable connection is
handed out once, and the thread that takes it re-arms it by parking it
again. Whoever takes a parked connection out of the lot first (its
thread resuming it, an expiry, a drain) is the only one to act on it.

Imported only in workers of threads-model apps, after the fork.
"""

import logging
import os
import select
import ssl
import threading
import time
from typing import Callable

from service.worker import client_sockets
from service.worker.drain import Connections
from service.worker.threads import pool

LOG = logging.getLogger(__name__)

_WATCH = select.EPOLLIN | select.EPOLLONESHOT
# How often, at most, idle connections are looked at for their expiry.
SWEEP_SECONDS = 1.0


class ParkedConnection:
    """One idle connection, as the worker's Connections (and its drain) sees it."""

    parked = True

    __slots__ = ("sock", "client_address", "reader", "idle_since", "fileno", "_lot")

    def __init__(self, lot, sock, client_address, reader, idle_since):
        self.sock = sock
        self.client_address = client_address
        # What it has sent of its next head, if anything.
        self.reader = reader
        self.idle_since = idle_since
        self.fileno = sock.fileno()
        self._lot = lot

    def close_if_idle(self):
        self._lot.close(self)


class ParkingLot:
    """The worker's parked connections: resumed when readable, closed when idle too long."""

    def __init__(self, resume: Callable, connections: Connections, idle_timeout: int,
                 head_timeout: float = 0):
        # resume(sock, client_address, reader) serves the connection again;
        # called in the lot's thread, it must not block.
        self._resume = resume
        self._connections = connections
        # client_socket_timeout: how long a connection may stay idle in all.
        self._idle_timeout = idle_timeout
        # A sweep every quarter of the shortest timeout: each expiry is late
        # by that much at most.
        timeouts = [timeout / 4 for timeout in (idle_timeout, head_timeout) if timeout]
        self._sweep_seconds = min([SWEEP_SECONDS] + timeouts) if timeouts else None
        self._epoll = select.epoll()
        self._parked = {}
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._epoll.register(self._wake_r, select.EPOLLIN)
        self._stopping = False
        self._thread = pool.essential_thread(self._watch, "parking")

    def start(self):
        self._thread.start()

    def stop(self):
        """End the lot's thread; what is still parked (nothing, after a drain) is closed."""
        self._stopping = True
        os.write(self._wake_w, b"x")
        self._thread.join()
        for parked in list(self._parked.values()):
            self.close(parked)
        self._epoll.close()
        os.close(self._wake_r)
        os.close(self._wake_w)

    def park(self, sock, client_address, reader, idle_since):
        parked = ParkedConnection(self, sock, client_address, reader, idle_since)
        # Counted before it can be resumed: resumed() must follow parked().
        self._connections.parked(parked)
        with self._lock:
            self._parked[parked.fileno] = parked
        try:
            self._epoll.modify(parked.fileno, _WATCH)
        except FileNotFoundError:
            # Not in the set: a new connection, or a number that a closed
            # one had (closing took that one out of the set).
            self._epoll.register(parked.fileno, _WATCH)
        LOG.debug("Parked the idle connection from %s", client_address)

    def close(self, parked):
        if not self._take(parked.fileno, parked):
            return
        self._connections.closed(parked)
        client_sockets.close(parked.sock)

    def _take(self, fileno, parked=None):
        """Take the connection parked on `fileno` (only if it is `parked`) out of the lot; None if it is not there."""
        with self._lock:
            found = self._parked.get(fileno)
            if found is None or (parked is not None and found is not parked):
                return None
            del self._parked[fileno]
            return found

    def _watch(self):
        next_sweep = time.monotonic()
        while not self._stopping:
            for fileno, _ in self._epoll.poll(self._sweep_seconds or -1):
                if fileno == self._wake_r:
                    continue
                parked = self._take(fileno)
                if parked is not None:
                    # NOTE: an event of a connection closed (and its number
                    # reused) meanwhile may resume the new one: it finds
                    # nothing to read and parks again.
                    self._connections.resumed(parked)
                    self._resume(parked.sock, parked.client_address, parked.reader)
                    LOG.debug("Resumed the parked connection from %s",
                              parked.client_address)
            if self._sweep_seconds and time.monotonic() >= next_sweep:
                self._close_expired(time.monotonic())
                next_sweep = time.monotonic() + self._sweep_seconds

    def _close_expired(self, now):
        with self._lock:
            expired = [parked for parked in self._parked.values()
                       if self._expired(parked, now)]
        for parked in expired:
            if parked.reader.buffered():
                # In the middle of a head: a request thread answers 408, as
                # a read past the head's deadline does.
                if self._take(parked.fileno, parked):
                    if not parked.reader.overdue(now):
                        parked.reader.deadline = now  # silent too long
                    self._connections.resumed(parked)
                    self._resume(parked.sock, parked.client_address, parked.reader)
            else:
                self.close(parked)

    def _expired(self, parked, now):
        """Idle for client_socket_timeout, or holding a head past request_head_timeout."""
        return ((self._idle_timeout and now - parked.idle_since >= self._idle_timeout)
                or parked.reader.overdue(now))


class ThreadWaiting:
    """How a connection waits for its next request under threads: never in a request thread; parked at once.

    A request thread reads a head only once it is whole (or can already be
    refused): a client that sends half a head and stops (one, or a
    thousand) holds no thread meanwhile.
    """

    def __init__(self, lot: ParkingLot):
        self._lot = lot

    def for_request(self, conn, first):
        """True when `conn` goes on to read a request (its head is there, or its end); False once it is parked."""
        if not first and not conn.reader.buffered():
            # NOTE: right after a response the client has rarely sent its
            # next request yet: a look would nearly always find nothing, and
            # cost a system call and two hand-overs of the interpreter lock.
            # Parked at once, the connection comes back (in a batch of
            # others) as soon as it speaks.
            self._lot.park(conn.sock, conn.client_address, conn.reader, time.monotonic())
            return False
        while not (conn.reader.buffered() and conn.head_is_decided()):
            came = _receive_what_came(conn)
            if came is None:
                return True  # the end of the stream, or an error: the read meets it
            if not came:
                return self._park_until_more(conn)
        return True

    def _park_until_more(self, conn):
        """Park `conn` until it sends more; but a head past its deadline goes on to its 408 (True)."""
        now = time.monotonic()
        if conn.reader.buffered():
            if conn.reader.overdue(now):
                return True  # the read meets the deadline
            conn.start_head_clock()
        self._lot.park(conn.sock, conn.client_address, conn.reader, now)
        return False


def _receive_what_came(conn):
    """Receive what the client has sent, without waiting for more: True if something came, False if nothing, None at its end.

    A TLS socket is only looked at: its raw bytes are records to decrypt,
    and what it decrypted already it holds itself.
    """
    sock = conn.sock
    reader = conn.reader
    before = reader.buffered()
    if isinstance(sock, ssl.SSLSocket):
        if not (sock.pending() or _readable(sock)):
            return False
        try:
            return True if reader.receive() else None
        except (OSError, ssl.SSLError):
            return None
    if not reader.receive_now():
        return False
    return True if reader.buffered() > before else None


def _readable(sock):
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)
