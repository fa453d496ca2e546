"""Serving one app in a worker with eventlet.wsgi.server, and draining it on request.

Imported only in workers, after the fork: importing it imports eventlet.
"""

import errno
import logging
import os
import signal
import ssl
import time
import warnings

with warnings.catch_warnings():
    # eventlet announces its deprecation on import; operators cannot act on it.
    warnings.simplefilter("ignore")
    import eventlet
    import eventlet.wsgi
import greenlet
from eventlet import event
from eventlet import greenio
from eventlet import patcher
from eventlet import semaphore
from eventlet.green import select as green_select
from oslo_context import context as oslo_context

from service import logs
from service.accesslog import lines as access_lines
from service.http import environ as http_environ
from service.http import head
from service.worker import accept_turns
from service.worker import connection
from service.worker import idle

LOG = logging.getLogger(__name__)

# During a drain, an idle keep-alive connection gets this long to send one
# last request (answered with `Connection: close`) before it is closed: a
# client may already be sending on it.
IDLE_GRACE_SECONDS = 1.0
DRAIN_POLL_SECONDS = 0.05

# Open connections per worker are bounded by file descriptors, not by a pool:
# wsgi_default_pool_size bounds requests in progress instead.
MAX_CONNECTIONS = 1 << 20

# A socket bound to one of these accepts connections to any local address.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}

# accept() errors that concern one connection or a passing shortage, never
# the listening socket.
_ACCEPT_RETRY_ERRNOS = {errno.ECONNABORTED, errno.EPROTO, errno.EPERM}
_ACCEPT_BACKOFF_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS,
                          errno.ENOMEM}


class StopAccepting(Exception):
    """Thrown into the server's green thread, which waits in Listener.accept()."""


class Connections:
    """The worker's open client connections, and the drain that ends them."""

    def __init__(self, pool_size, seat):
        # Accepted, but their green thread has not started: drain waits for them too.
        self.starting = 0
        self.open = set()
        self.draining = False
        self.request_slots = semaphore.Semaphore(pool_size)
        self.drained = event.Event()
        # Where this worker posts how many connections it holds, for its
        # siblings (service.balance).
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
        if self.draining:
            conn.stop_keeping_alive()

    def closed(self, conn):
        self.open.discard(conn)
        if not self.draining:
            self._seat.post(self.held())

    def parked(self, parked):
        self.open.add(parked)

    def resumed(self, parked):
        # Its new HttpProtocol reports itself opened once its green thread runs.
        self.open.discard(parked)
        self.starting += 1

    def drain(self):
        """Finish in-flight requests, close idle connections after a grace; return when none is left."""
        self.draining = True
        self._seat.leave()
        started = time.monotonic()
        for conn in self.open:
            conn.stop_keeping_alive()
        while self.open or self.starting:
            now = time.monotonic()
            for conn in list(self.open):
                idle_since = conn.idle_since
                if (idle_since is not None
                        and now - max(idle_since, started) >= IDLE_GRACE_SECONDS):
                    conn.close_if_idle()
            eventlet.sleep(DRAIN_POLL_SECONDS)
        self.drained.send()


class Listener:
    """The listening socket as eventlet.wsgi.server sees it: accept() until StopAccepting."""

    def __init__(self, sock, connections, seat, tls_context=None):
        self._sock = greenio.GreenSocket(sock)
        self._connections = connections
        self._tls_context = tls_context
        self._turns = accept_turns.Turns(seat, connections.held, eventlet.sleep)

    def accept(self):
        while True:
            try:
                self._turns.wait()
                client, address = self._sock.accept()
                self._connections.accepted()
                return self._secure(client), address
            except StopAccepting:
                break
            except OSError as exc:
                if exc.errno in _ACCEPT_BACKOFF_ERRNOS:
                    LOG.error("Cannot accept connections: %s", exc.strerror)
                    eventlet.sleep(0.1)
                elif exc.errno not in _ACCEPT_RETRY_ERRNOS:
                    raise
        # Only this worker's copy closes: the socket lives on in the
        # supervisor and the app's other workers (and the next generation).
        self._sock.close()
        # NOTE: this green thread was thrown out of a trampoline, and the hub
        # may still deliver that wake-up: wait() can return early, so re-check.
        while not self._connections.drained.ready():
            self._connections.drained.wait()
        # eventlet.wsgi.server ends its accept loop quietly on EPIPE.
        raise OSError(errno.EPIPE, "stopped accepting")

    def _secure(self, client):
        if self._tls_context is None:
            return client
        # The handshake happens on the first read, in the connection's own
        # green thread: a slow client never holds up accept().
        return self._tls_context.wrap_socket(
            client, server_side=True, do_handshake_on_connect=False)

    def close(self):
        self._sock.close()

    def __getattr__(self, name):
        return getattr(self._sock, name)


class ServerLog:
    """What eventlet.wsgi.server logs itself: app tracebacks, its own chatter.

    Access lines do not pass here: service.accesslog writes them.
    """

    def info(self, message, *args, **kwargs):
        if message.startswith("Traceback"):
            LOG.error("Request failed with an unhandled exception:\n%s",
                      message.rstrip())
        else:
            LOG.debug(message)  # "wsgi starting up", "wsgi exited"

    def debug(self, message, *args, **kwargs):
        LOG.debug(message)

    def error(self, message, *args, **kwargs):
        LOG.error(message)


class AppServer:
    """One app on one listening socket until a stop signal or the supervisor's death."""

    def __init__(self, app, sock, settings, tls_context, seat):
        self.app = app
        self.settings = settings
        self.connections = Connections(settings.pool_size, seat)
        self.listener = Listener(sock, self.connections, seat, tls_context)
        self.tls = tls_context is not None
        self.pool = eventlet.GreenPool(MAX_CONNECTIONS)
        self.head_limits = head.HeadLimits.for_max_header_line(
            settings.max_header_line)
        self.access_log = access_lines.AccessLog(
            settings.log_format, defer=_after_ready_green_threads)
        logs.call_before_each_record(_in_this_thread_only(self.access_log.flush))
        logs.own().cache_timestamps()
        logs.skip_thread_names()
        self._serving = None

    def serve(self, lifeline_fd):
        signals_r = _catch_signals()
        self.connections.accepting()
        server_thread = eventlet.spawn(self._run_wsgi_server)
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

    def _run_wsgi_server(self):
        eventlet.wsgi.server(
            self.listener, self.app,
            log=ServerLog(),
            log_format=self.settings.log_format,
            custom_pool=self.pool,
            protocol=self._protocol,
            keepalive=self.settings.keep_alive,
            socket_timeout=self.settings.client_socket_timeout or None,
            # Tracebacks go to the log, never to clients.
            debug=False,
        )

    def _protocol(self, conn_state, server):
        if self._serving is None:
            self._serving = connection.Serving(
                self.connections, self.head_limits, self.access_log,
                http_environ.server_environ(https=self.tls),
                _fixed_local_address(self.listener),
                # A TLS connection may hold decrypted bytes that its socket
                # no longer shows as readable: it waits in its green thread.
                parking=None if self.tls else idle.ParkingLot(
                    server, self.pool, self.connections,
                    self.settings.client_socket_timeout))
        try:
            return connection.HttpProtocol(conn_state, server, self._serving)
        except ssl.SSLError as exc:
            # A failed handshake (plain HTTP on a TLS port, no client
            # certificate, an old TLS version) ends that connection only.
            # eventlet.wsgi.server shuts the connection down and closes it.
            LOG.debug("TLS handshake with %s failed: %s", conn_state[0], exc)

    def _wait_for_stop(self, signals_r, lifeline_fd):
        while True:
            readable, _, _ = green_select.select([signals_r, lifeline_fd], [], [])
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


def _after_ready_green_threads(callback):
    """Have a green thread of its own call `callback()` once the green threads ready now have run.

    Not the hub's own green thread: a log handler may do green I/O (a
    syslog socket), which cannot wait from there.
    """
    eventlet.spawn_n(callback)


def _in_this_thread_only(callback):
    """`callback`, doing nothing when called from another OS thread (eventlet's tpool)."""
    native_thread_id = patcher.original("_thread").get_ident
    this_thread = native_thread_id()

    def in_this_thread():
        if native_thread_id() == this_thread:
            callback()

    return in_this_thread


def _fixed_local_address(listener):
    """The address every accepted connection has as its own, or None when it varies."""
    address = listener.getsockname()
    if not isinstance(address, tuple) or address[0] in _WILDCARD_HOSTS:
        return None
    return address


def _catch_signals():
    signals_r, signals_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(signals_w, warn_on_full_buffer=False)
    for signum in (signal.SIGTERM, signal.SIGUSR1):
        signal.signal(signum, _record_only)
    # Blocked since the fork (service.worker): one that came during the
    # build is delivered now.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])
    return signals_r


def _record_only(signum, frame):
    """The wake-up fd has recorded the signal; the worker's control loop acts on it."""
