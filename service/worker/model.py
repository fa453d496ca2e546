"""The worker model: what serves requests at once in a worker, green threads or OS threads, behind one contract.

An app's `worker_model` option names one of two implementations:

- `eventlet` (service.worker.green): the process is monkey-patched before
  the app is imported; eventlet.wsgi.server accepts, green threads serve
  connections, and the hub watches idle keep-alive connections.
- `threads` (service.worker.threads): never imports eventlet or greenlet;
  an acceptor thread, a pool of request threads, and one thread that
  watches idle keep-alive connections in an epoll set.

Everything else in the worker is shared: the HTTP core (service.http), the
connection loop (connection.py), the exchange (exchange.py), wsgi.input,
responses, the access log's lines, the drain, the control loop
(app_server.py). Those talk to the model only through the members below,
which tests/unit/worker/test_model_contract.py holds both implementations
to. load() imports the chosen one only: a threads worker never loads the
eventlet side.

The contract (MODEL in each implementation's model.py):

Before the app exists
    name                     "eventlet" or "threads"
    prepare_process()        what the process needs before the app's
                             modules are imported (eventlet: monkey-patching)

Serving (app_server.py)
    concurrency(app_plan, wsgi_settings)
                             requests one worker serves at once
    engine(sock, connections, serve_connection, settings)
                             accepts on `sock` and calls
                             serve_connection(sock, client_address) for each
                             connection, each in a unit of its own (green
                             thread, request thread), and again when a parked
                             connection speaks (with the SocketReader holding
                             what it sent, if any): an Engine with start(),
                             stop_accepting(), finish() (after the drain) and
                             `waiting`, whose for_request(conn, first) a
                             connection calls before each request: True to
                             read it, False once the connection is parked
    select_readable(fds, timeout)
                             the control loop's wait, in the main thread: the
                             descriptors of `fds` readable within `timeout`
                             seconds ([] when none is); the loop beats the
                             worker's heartbeat between waits, so under
                             eventlet it must wait through the hub (a green
                             thread stuck in CPU stops the heartbeat)
    access_log(log_format)   the AccessLog its requests' lines go through

What the shared code asks of it
    lock()                   a lock for counts several units change
    sleep(seconds)           lets the other units run meanwhile
    request_slots(size)      a context manager bounding app calls at once
    receive_now(sock, size)  what a plain socket has now, without waiting;
                             BlockingIOError when nothing has come
    TlsClosed                what a TLS socket raises at its clean end
    BadBody                  what wsgi.input raises on a broken body: a
                             service.worker.request_body.BadBody
    app_failures             exceptions, not Exception's, that an app may
                             let out and that fail one request only
    expect_raw_answer()      before an app that may answer on the raw socket
                             (a websocket upgrade)
    answered_raw()           whether it did
"""

import dataclasses
import importlib
from typing import Optional

from service import accept_board

MODELS = {
    "eventlet": "service.worker.green.model",
    "threads": "service.worker.threads.model",
}


@dataclasses.dataclass(frozen=True)
class EngineSettings:
    """What an engine needs to know of its app and the worker's settings."""
    app_name: str
    seat: accept_board.Seat
    tls_context: object
    # client_socket_timeout, None for none: how long one read may wait.
    socket_timeout: Optional[float]
    # client_socket_timeout as configured (0: none): how long a parked
    # connection may stay idle in all.
    idle_timeout: int
    concurrency: int
    # request_head_timeout (0: none): how long a head may take from its
    # first byte, parked or not (service.worker.connection's head clock).
    head_timeout: float = 0


def load(name):
    """The model `name` (a worker_model value), imported now and only it."""
    return importlib.import_module(MODELS[name]).MODEL
