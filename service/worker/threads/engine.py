"""threads model: an acceptor thread takes connections, request threads serve them, the lot holds the idle ones.

The process's main thread keeps the control loop (service.worker.app_server).

Imported only in workers of threads-model apps, after the fork.
"""

import logging
import os
import select
import time

from service.accept_board import is_ahead
from service.worker import accept_turns
from service.worker import accepting
from service.worker.threads import parking
from service.worker.threads import pool
from service.worker.threads import sockets

LOG = logging.getLogger(__name__)

# While this many connections wait for a request thread (per thread), the
# acceptor leaves new ones in the listening socket's queue, where the
# app's other workers can take them.
WAITING_PER_THREAD = 1
ROOM_POLL_SECONDS = 0.001


class Acceptor:
    """The acceptor thread: takes the app's connections in turn with its siblings, while the request threads keep up."""

    def __init__(self, sock, connections, settings, request_threads, dispatch):
        # Shared with the app's other workers: whoever wakes first accepts,
        # and the others find nothing (BlockingIOError).
        sock.setblocking(False)
        self._sock = sock
        self._connections = connections
        self._settings = settings
        self._request_threads = request_threads
        self._dispatch = dispatch
        self._most_waiting = WAITING_PER_THREAD * settings.concurrency
        self._turns = accept_turns.Turns(settings.seat, connections.held, time.sleep)
        self._errors = accepting.AcceptErrors(settings.app_name, time.sleep)
        self._stop_r, self._stop_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._poll = select.poll()
        self._poll.register(sock, select.POLLIN)
        self._poll.register(self._stop_r, select.POLLIN)
        self._stopping = False
        self._thread = pool.essential_thread(self._run, "acceptor")

    def start(self):
        self._thread.start()

    def stop(self):
        self._stopping = True
        os.write(self._stop_w, b"x")
        self._thread.join()
        os.close(self._stop_r)
        os.close(self._stop_w)

    def _run(self):
        while self._wait_for_a_connection():
            # Then as many as are waiting, while the turn and the room last:
            # one wake-up of this thread for a burst, not one each.
            while self._accept_one():
                if not self._may_accept_now():
                    break

    def _accept_one(self):
        """Accept one connection and hand it to the request threads; False when none was waiting."""
        try:
            client, address = self._sock.accept()
        except BlockingIOError:
            return False  # none, or a sibling took it
        except OSError as exc:
            self._errors.failed(exc, time.monotonic())
            return False
        self._errors.accepted(time.monotonic())
        self._connections.accepted()
        settings = self._settings
        self._dispatch(sockets.prepared(client, settings.tls_context,
                                        settings.socket_timeout), address)
        return True

    def _has_room(self):
        return self._request_threads.waiting() < self._most_waiting

    def _may_accept_now(self):
        return (not self._stopping and self._has_room()
                and not is_ahead(self._connections.held(), self._settings.seat.siblings()))

    def _wait_for_a_connection(self):
        """Wait for a request thread to be near, for a connection, then for this worker's turn; False once stopped."""
        while not self._has_room() and not self._stopping:
            time.sleep(ROOM_POLL_SECONDS)
        for fd, _ in self._poll.poll():
            if fd == self._stop_r:
                return False
        # A connection first, then the turn (service.worker.accept_turns).
        self._turns.wait()
        return not self._stopping


class ThreadEngine:
    """Accepting in a thread, connections served by request threads, idle ones parked in an epoll set."""

    def __init__(self, sock, connections, serve_connection, settings):
        self._sock = sock
        self._serve_connection = serve_connection
        self._request_threads = pool.RequestThreads(settings.concurrency, name="request")
        self._lot = parking.ParkingLot(self._dispatch, connections, settings.idle_timeout,
                                       settings.head_timeout)
        self.waiting = parking.ThreadWaiting(self._lot)
        self._acceptor = Acceptor(sock, connections, settings, self._request_threads,
                                  self._dispatch)

    def start(self):
        self._lot.start()
        self._request_threads.start()
        self._acceptor.start()

    def stop_accepting(self):
        self._acceptor.stop()
        # Only this worker's copy closes: the socket lives on in the
        # supervisor and the app's other workers (and the next generation).
        self._sock.close()

    def finish(self):
        """After the drain: the request threads and the lot's thread end."""
        self._request_threads.stop()
        self._lot.stop()

    def _dispatch(self, sock, client_address, reader=None):
        """Serve a connection (new, or parked and speaking again) in the next free request thread."""
        self._request_threads.submit(self._serve_connection, sock, client_address, reader)
