"""eventlet model: eventlet.wsgi.server accepts on the app's socket, and green threads serve its connections.

Imported only in workers of eventlet-model apps, after the fork.
"""

import logging
import time

from service.worker import accept_turns
from service.worker import accepting
from service.worker.green import door
from service.worker.green import parking
from service.worker.green import runners

LOG = logging.getLogger(__name__)


class StopAccepting(Exception):
    """Thrown into the server's green thread, which waits in Listener.accept()."""


class Listener:
    """The listening socket as the server sees it: accept() until StopAccepting, then ServingEnded once drained."""

    def __init__(self, sock, connections, seat, socket_timeout, tls_context,
                 drained, app_name):
        self._sock = door.listening(sock)
        self._connections = connections
        self._socket_timeout = socket_timeout
        self._tls_context = tls_context
        self._turns = accept_turns.Turns(seat, connections.held, door.sleep)
        self._errors = accepting.AcceptErrors(app_name, door.sleep)
        # Sent once the worker's connections are drained.
        self._drained = drained
        self.family = sock.family

    def accept(self):
        while True:
            try:
                if self._turns.ahead():
                    # A connection first, then the turn (service.worker.accept_turns).
                    door.wait_readable(self._sock)
                    self._turns.wait()
                    client, address = door.accept_waiting(self._sock)
                else:
                    client, address = self._sock.accept()
            except StopAccepting:
                break
            except BlockingIOError:
                continue  # a sibling took it
            except OSError as exc:
                self._errors.failed(exc, time.monotonic())
                continue
            self._errors.accepted(time.monotonic())
            self._connections.accepted()
            return accepting.prepared(client, self._tls_context,
                                      self._socket_timeout), address
        self._stop()

    def _stop(self):
        # Only this worker's copy closes: the socket lives on in the
        # supervisor and the app's other workers (and the next generation).
        self._sock.close()
        # NOTE: this green thread was thrown out of a wait, and the hub may
        # still deliver that wake-up: wait() can return early, so re-check.
        while not self._drained.ready():
            self._drained.wait()
        raise door.ServingEnded()

    def getsockname(self):
        return self._sock.getsockname()

    def close(self):
        self._sock.close()


class GreenEngine:
    """Accepting with eventlet.wsgi.server, connections in green threads, idle ones parked in the hub."""

    def __init__(self, sock, connections, serve_connection, settings):
        self._drained = door.Event()
        self.listener = Listener(sock, connections, settings.seat, settings.socket_timeout,
                                 settings.tls_context, self._drained, settings.app_name)
        self._serve_connection = serve_connection
        # Open connections per worker are bounded by file descriptors, not by
        # the pool: wsgi_default_pool_size bounds requests in progress, and
        # as many green threads stay ready for new connections.
        self._pool = runners.Runners(max_idle=settings.concurrency)
        # A TLS connection may hold decrypted bytes that its socket no
        # longer shows as readable: it waits in its green thread.
        lot = None if settings.tls_context else parking.ParkingLot(
            self._resume, connections, settings.idle_timeout)
        self.waiting = parking.GreenWaiting(lot, connections, settings.socket_timeout)
        self._server_thread = None

    def start(self):
        self._server_thread = door.spawn(door.serve, self.listener, self._serve_connection,
                                         self._pool, LOG)

    def stop_accepting(self):
        self._server_thread.kill(StopAccepting())

    def finish(self):
        """After the drain: the server's green thread ends."""
        self._drained.send()
        try:
            self._server_thread.wait()
        except StopAccepting:
            pass  # stopped before it ever accepted

    def _resume(self, sock, client_address):
        """A parked connection spoke again: serve it in a green thread of its own (called in the hub)."""
        self._pool.spawn(self._serve_connection, sock, client_address)
