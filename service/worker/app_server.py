"""Serving one app in a worker with eventlet.wsgi.server (through service.worker.green), and draining it on request.

Imported only in workers, after the fork: importing it imports eventlet.
"""

import errno
import logging
import os
import signal
import ssl

from service import logs
from service.accesslog import lines as access_lines
from service.http import environ as http_environ
from service.http import head
from service.worker import accept_turns
from service.worker import client_sockets
from service.worker import connection
from service.worker import green
from service.worker import idle
from service.worker import runners
from service.worker import uwsgi_connection
from service.worker.drain import Connections

LOG = logging.getLogger(__name__)


# A socket bound to one of these accepts connections to any local address.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}

# accept() errors that concern one connection or a passing shortage, never
# the listening socket.
_ACCEPT_RETRY_ERRNOS = {errno.ECONNABORTED, errno.EPROTO, errno.EPERM}
_ACCEPT_BACKOFF_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS,
                          errno.ENOMEM}


class StopAccepting(Exception):
    """Thrown into the server's green thread, which waits in Listener.accept()."""


class Listener:
    """The listening socket as the server sees it: accept() until StopAccepting, then ServingEnded."""

    def __init__(self, sock, connections, seat, socket_timeout, tls_context=None):
        self._sock = green.listening(sock)
        self._connections = connections
        self._socket_timeout = socket_timeout
        self._tls_context = tls_context
        self._turns = accept_turns.Turns(seat, connections.held, green.sleep)
        self.family = sock.family

    def accept(self):
        while True:
            try:
                self._turns.wait()
                client, address = self._sock.accept()
                self._connections.accepted()
                return self._prepared(client), address
            except StopAccepting:
                break
            except OSError as exc:
                if exc.errno in _ACCEPT_BACKOFF_ERRNOS:
                    LOG.error("Cannot accept connections: %s", exc.strerror)
                    green.sleep(0.1)
                elif exc.errno not in _ACCEPT_RETRY_ERRNOS:
                    raise
        self._stop()

    def _stop(self):
        # Only this worker's copy closes: the socket lives on in the
        # supervisor and the app's other workers (and the next generation).
        self._sock.close()
        # NOTE: this green thread was thrown out of a wait, and the hub may
        # still deliver that wake-up: wait() can return early, so re-check.
        while not self._connections.drained.ready():
            self._connections.drained.wait()
        raise green.ServingEnded()

    def _prepared(self, client):
        if self._tls_context is not None:
            # The handshake happens on the first read, in the connection's
            # own green thread: a slow client never holds up accept().
            client = self._tls_context.wrap_socket(
                client, server_side=True, do_handshake_on_connect=False)
        client.settimeout(self._socket_timeout)
        return client

    def getsockname(self):
        return self._sock.getsockname()

    def close(self):
        self._sock.close()


class AppServer:
    """One app on one listening socket until a stop signal or the supervisor's death."""

    def __init__(self, app, sock, settings, tls_context, seat, protocol="http"):
        self.connections = Connections(settings.pool_size, seat)
        # What a connection of this app's socket speaks (AppPlan.protocol).
        self.connection_kind = _CONNECTION_KINDS[protocol]
        socket_timeout = settings.client_socket_timeout or None
        self.listener = Listener(sock, self.connections, seat, socket_timeout, tls_context)
        # Open connections per worker are bounded by file descriptors, not by
        # the pool: wsgi_default_pool_size bounds requests in progress, and
        # as many green threads stay ready for new connections.
        self.pool = runners.Runners(max_idle=settings.pool_size)
        self.access_log = access_lines.AccessLog(
            settings.log_format, defer=_after_ready_green_threads)
        logs.call_before_each_record(_in_this_thread_only(self.access_log.flush))
        logs.own().cache_timestamps()
        logs.skip_thread_names()
        self.serving = connection.Serving(
            app=app, connections=self.connections,
            head_limits=head.HeadLimits.for_max_header_line(settings.max_header_line),
            access_log=self.access_log,
            server_environ=_server_environ(https=tls_context is not None),
            keep_alive=settings.keep_alive, socket_timeout=socket_timeout,
            server_address=_fixed_local_address(self.listener),
            # A TLS connection may hold decrypted bytes that its socket no
            # longer shows as readable: it waits in its green thread.
            parking=None if tls_context else idle.ParkingLot(
                self._resume, self.connections, settings.client_socket_timeout))

    def serve(self, lifeline_fd):
        signals_r = _catch_signals()
        self.connections.accepting()
        server_thread = green.spawn(green.serve, self.listener, self._serve_connection,
                                    self.pool, LOG)
        try:
            self._wait_for_stop(signals_r, lifeline_fd)
            server_thread.kill(StopAccepting())
            self.connections.drain()
            try:
                server_thread.wait()
            except StopAccepting:
                pass  # stopped before it ever accepted
        finally:
            self.access_log.flush()

    def _serve_connection(self, sock, client_address):
        """Serve one accepted (or resumed) connection, in its own green thread; close it unless parked."""
        parked = False
        try:
            parked = self.connection_kind(sock, client_address, self.serving).serve()
        except ssl.SSLError as exc:
            # A failed handshake (plain HTTP on a TLS port, no client
            # certificate, an old TLS version) ends that connection only.
            LOG.debug("TLS handshake with %s failed: %s", client_address, exc)
        except TimeoutError:
            LOG.debug("Connection from %s timed out", client_address)
        finally:
            if not parked:
                client_sockets.close(sock)

    def _resume(self, sock, client_address):
        """A parked connection spoke again: serve it in a green thread of its own (called in the hub)."""
        self.pool.spawn(self._serve_connection, sock, client_address)

    def _wait_for_stop(self, signals_r, lifeline_fd):
        while True:
            readable = green.select_readable([signals_r, lifeline_fd])
            if lifeline_fd in readable and not os.read(lifeline_fd, 1):
                LOG.warning("The supervisor is gone: draining and exiting")
                return
            if signals_r in readable:
                received = os.read(signals_r, 64)
                if signal.SIGUSR1 in received:
                    # The lines of requests served before the signal go to
                    # the file they would have gone to unbatched.
                    self.access_log.flush()
                    logs.own().reopen_files()
                if signal.SIGTERM in received:
                    return


_CONNECTION_KINDS = {"http": connection.Connection,
                     "uwsgi": uwsgi_connection.UwsgiConnection}


def _server_environ(https):
    environ = http_environ.server_environ(https)
    # eventlet.websocket calls it once it owns the connection, for eventlet's
    # stop; a drain here waits for it like any request in flight.
    environ["eventlet.set_idle"] = _nothing_to_record
    return environ


def _nothing_to_record():
    pass


def _after_ready_green_threads(callback):
    """Have a green thread of its own call `callback()` once the green threads ready now have run.

    Not the hub's own green thread: a log handler may do green I/O (a
    syslog socket), which cannot wait from there.
    """
    green.spawn_n(callback)


def _in_this_thread_only(callback):
    """`callback`, doing nothing when called from another OS thread (eventlet's tpool)."""
    this_thread = green.native_thread_id()

    def in_this_thread():
        if green.native_thread_id() == this_thread:
            callback()

    return in_this_thread


def _fixed_local_address(listener):
    """The address every accepted connection has as its own, or None when it varies."""
    address = listener.getsockname()
    if not isinstance(address, tuple):
        return address or None  # a Unix socket's path (none for an unnamed one)
    if address[0] in _WILDCARD_HOSTS:
        return None
    return address


def _catch_signals():
    signals_r, signals_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(signals_w, warn_on_full_buffer=False)
    for signum in (signal.SIGTERM, signal.SIGUSR1):
        signal.signal(signum, _record_only)
    # Blocked since the fork (service.worker.process): one that came during
    # the build is delivered now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])
    return signals_r


def _record_only(signum, frame):
    """The wake-up fd has recorded the signal; the worker's control loop acts on it."""
