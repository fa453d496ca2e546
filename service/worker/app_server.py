"""Serving one app in a worker, in its worker model, and draining it on request.

What every connection shares is set up here (Serving: the app, the HTTP
limits, the access log, the environ's server keys), and the worker model's
engine (service.worker.model) accepts and runs connections. The control
loop waits for TERM, USR1 or the supervisor's death in the process's main
thread, which both models leave free for it.

Shared by both worker models; imported only in workers, after the fork.
"""

import logging
import os
import signal
import ssl
import time

from service import logs
from service import worker_status
from service.http import environ as http_environ
from service.http import head
from service.worker import client_sockets
from service.worker import connection
from service.worker import counting
from service.worker import exchange
from service.worker import model as worker_model
from service.worker import uwsgi_connection
from service.worker.drain import Connections

LOG = logging.getLogger(__name__)


# A socket bound to one of these accepts connections to any local address.
_WILDCARD_HOSTS = {"", "0.0.0.0", "::"}


class AppServer:
    """One app on one listening socket until a stop signal or the supervisor's death."""

    def __init__(self, app, sock, app_plan, settings, tls_context, seat, model, status,
                 served=None, sheet=None):
        self.model = model
        # What the supervisor sees of this worker (service.worker_status):
        # beating from now on, as it is about to report that it serves.
        self.status = status
        status.beat(time.monotonic())
        # `sheet`: where the admin endpoint reads this worker's counts (None: none).
        counts = counting.for_sheet(sheet, model)
        self.connections = Connections(seat, model, counts)
        concurrency = model.concurrency(app_plan, settings)
        # What a connection of this app's socket speaks (AppPlan.protocol).
        self.connection_kind = _CONNECTION_KINDS[app_plan.protocol]
        socket_timeout = settings.client_socket_timeout or None
        self.engine = model.engine(sock, self.connections, self._serve_connection,
                                   worker_model.EngineSettings(
                                       app_name=app_plan.name, seat=seat,
                                       tls_context=tls_context,
                                       socket_timeout=socket_timeout,
                                       idle_timeout=settings.client_socket_timeout,
                                       concurrency=concurrency,
                                       head_timeout=settings.request_head_timeout))
        self.access_log = model.access_log(settings.log_format)
        logs.own().cache_timestamps()
        logs.skip_thread_names()
        self.serving = connection.Serving(
            app=app, connections=self.connections,
            head_limits=head.HeadLimits.for_max_header_line(settings.max_header_line),
            access_log=self.access_log,
            server_environ=_server_environ(https=tls_context is not None,
                                           multiprocess=app_plan.workers > 1),
            keep_alive=settings.keep_alive, socket_timeout=socket_timeout,
            model=model, waiting=self.engine.waiting,
            request_slots=model.request_slots(concurrency),
            server_address=_fixed_local_address(sock),
            app_name=app_plan.name, status=status,
            head_timeout=settings.request_head_timeout,
            max_body_size=app_plan.limits.max_request_body_size,
            served=served or exchange.ServedCount(), counts=counts)

    def catch_signals(self):
        """TERM and USR1 recorded for serve() from now on: called before the worker reports that it serves.

        A TERM that comes once the supervisor counts this worker as serving
        must end it as a stop does, its app's exit handlers run; before
        this it simply ends the process.
        """
        self._signals_r = _catch_signals()

    def serve(self, lifeline_fd):
        signals_r = self._signals_r
        self.connections.accepting()
        self.engine.start()
        try:
            self._wait_for_stop(signals_r, lifeline_fd)
            self.engine.stop_accepting()
            self.connections.drain(self._beat)
            self.engine.finish()
        finally:
            self.access_log.flush()
            # What is left (the app's exit handlers) is bounded by
            # graceful_shutdown_timeout, not by worker_timeout.
            self.status.stop_beating()

    def _beat(self):
        self.status.beat(time.monotonic())

    def _serve_connection(self, sock, client_address, reader=None):
        """Serve one accepted (or resumed) connection, in its own unit of the model; close it unless parked.

        `reader` holds what a parked connection received before it parked.
        """
        parked = False
        try:
            parked = self.connection_kind(sock, client_address, self.serving,
                                          reader).serve()
        except ssl.SSLError as exc:
            # A failed handshake (plain HTTP on a TLS port, no client
            # certificate, an old TLS version) ends that connection only.
            LOG.debug("TLS handshake with %s failed: %s", client_address, exc)
        except TimeoutError:
            LOG.debug("Connection from %s timed out", client_address)
        finally:
            if not parked:
                client_sockets.close(sock)

    def _wait_for_stop(self, signals_r, lifeline_fd):
        """Beat, and wait for TERM or the supervisor's death (USR1 on the way)."""
        while True:
            # Under eventlet this runs only while the hub does: a green
            # thread stuck in CPU stops the heartbeat, as it stops serving.
            self._beat()
            readable = self.model.select_readable([signals_r, lifeline_fd],
                                                  worker_status.BEAT_SECONDS)
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


def _server_environ(https, multiprocess):
    environ = http_environ.server_environ(https, multiprocess)
    # eventlet.websocket calls it once it owns the connection, for eventlet's
    # stop; a drain here waits for it like any request in flight.
    environ["eventlet.set_idle"] = _nothing_to_record
    return environ


def _nothing_to_record():
    pass


def _fixed_local_address(sock):
    """The address every accepted connection has as its own, or None when it varies."""
    address = sock.getsockname()
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
