"""The admin endpoint: /metrics and /healthz, answered by the supervisor's own loop without ever blocking it.

Why the supervisor's loop, and not a child or a thread:
- The figures live in the supervisor: the fleet's view of its workers
  (who builds, serves, retires, why one ended) and the workers' count
  sheets, which are mapped before each fork. An admin child would need all
  of it sent over a pipe and replayed when it restarts, and could not see
  the sheets of workers forked after it.
- A thread would share the supervisor with its forks: a fork while the
  thread holds a lock (logging's) leaves that lock held in the worker.
- The loop never waits on a client: the listening socket and every admin
  connection are non-blocking and on the loop's selector; a connection is
  read until its head is complete, answered with one buffered write, and
  closed. A client that sends slowly or reads slowly holds a few bytes and
  a slot, never the loop, and is dropped at its deadline; there are at most
  MAX_CONNECTIONS at once. What a scrape does cost the loop is the
  rendering (tens of microseconds per series), bounded by the apps and
  their status codes.

The socket is bound when the supervisor starts (a port in use is a
configuration error, exit status 1), and stays as it is across reloads.
Workers close their copies right after the fork (service.worker.process),
as they do the other apps' sockets: no app serves this port.

Supervisor side: no eventlet, no worker code; prometheus_client only
through service.supervisor.exposition, imported when an endpoint is served.
"""

import functools
import logging
import selectors
import socket
import time

from service.errors import ConfigError
from service.supervisor import health

LOG = logging.getLogger(__name__)

MAX_CONNECTIONS = 16
# How long one client may take, from its connection to the end of its answer.
CONNECTION_SECONDS = 10.0
# A request head larger than this is answered 431.
MAX_HEAD_BYTES = 8192
BACKLOG = 64
_HEAD_ENDS = (b"\r\n\r\n", b"\n\n")
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found",
            405: "Method Not Allowed", 431: "Request Header Fields Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}


def bind(settings):
    """The admin endpoint's listening socket on settings.listen:settings.port, or ConfigError."""
    where = f"{settings.listen}:{settings.port}"
    try:
        family, _, _, _, address = socket.getaddrinfo(
            settings.listen, settings.port, type=socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, socket.SOCK_STREAM)
    except (OSError, socket.gaierror) as exc:
        raise ConfigError(f"[DEFAULT] metrics_listen: cannot listen on {where}: "
                          f"{exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"[DEFAULT] metrics_listen/metrics_port: cannot listen "
                          f"on {where}: {(exc.strerror or str(exc)).lower()}") from None
    sock.setblocking(False)
    return sock


class Pages:
    """What the endpoint answers: (status, content type, body) for a GET of a path."""

    def __init__(self, monitor):
        from service.supervisor import exposition  # prometheus_client: only when served
        self._exposition = exposition
        self._monitor = monitor
        self._registry = exposition.registry_of(monitor)

    def get(self, path):
        if path == "/metrics":
            return 200, self._exposition.CONTENT_TYPE, self._exposition.render(self._registry)
        if path == "/healthz":
            state = health.check(self._monitor.fleet)
            return state.code, "application/json", state.body()
        return 404, "text/plain; charset=utf-8", b"Not found: /metrics or /healthz\n"


class _Client:
    __slots__ = ("sock", "deadline", "received", "out")

    def __init__(self, sock, deadline):
        self.sock = sock
        self.deadline = deadline
        self.received = b""
        self.out = b""


class AdminServer:
    """The endpoint's socket and clients, on the supervisor's selector; callbacks take no argument, as the loop calls them."""

    def __init__(self, sock, selector, pages):
        self._sock = sock
        self._selector = selector
        self._pages = pages
        self._clients = {}
        selector.register(sock, selectors.EVENT_READ, self._accept)

    def sockets(self):
        """Every socket of the endpoint: what a new worker closes."""
        return [self._sock] + [client.sock for client in self._clients.values()]

    def next_deadline(self):
        return min((client.deadline for client in self._clients.values()), default=None)

    def expire(self, now):
        """Drop the clients past their deadline."""
        for client in [c for c in self._clients.values() if c.deadline <= now]:
            self._drop(client)

    def close(self):
        for client in list(self._clients.values()):
            self._drop(client)
        self._selector.unregister(self._sock)
        self._sock.close()

    # The selector's callbacks.

    def _accept(self):
        for _ in range(MAX_CONNECTIONS):
            try:
                sock, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                LOG.warning("Admin endpoint: cannot accept a connection: %s", exc)
                return
            if len(self._clients) >= MAX_CONNECTIONS:
                sock.close()  # busy: a scraper retries at its next interval
                continue
            sock.setblocking(False)
            client = self._clients[sock.fileno()] = _Client(
                sock, time.monotonic() + CONNECTION_SECONDS)
            self._selector.register(sock, selectors.EVENT_READ,
                                    functools.partial(self._guarded, self._read, client))

    def _guarded(self, step, client):
        # Nothing a client sends, and no failure in rendering, may stop the supervisor.
        try:
            step(client)
        except Exception:
            LOG.exception("Admin endpoint: answering a request failed")
            self._drop(client)

    def _read(self, client):
        try:
            data = client.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return
        client.received += data
        if any(end in client.received for end in _HEAD_ENDS):
            self._answer(client, *self._respond(client.received))
        elif len(client.received) > MAX_HEAD_BYTES:
            self._answer(client, *_plain(431, "request head too large"), "GET")

    def _respond(self, head):
        """(status, content type, body, method) for a request head."""
        parts = head.split(b"\n", 1)[0].strip().split(b" ")
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
            return (*_plain(400, "bad request line"), "GET")
        method = parts[0].decode("latin-1")
        if method not in ("GET", "HEAD"):
            return (*_plain(405, "GET or HEAD only"), method)
        path = parts[1].decode("latin-1").partition("?")[0]
        try:
            return (*self._pages.get(path), method)
        except Exception:
            LOG.exception("Admin endpoint: making %s failed", path)
            return (*_plain(500, "internal error: see the log"), method)

    def _answer(self, client, status, content_type, body, method):
        head = (f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\n"
                f"Content-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\n"
                f"Cache-Control: no-store\r\n"
                + ("Allow: GET, HEAD\r\n" if status == 405 else "")
                + "Connection: close\r\n\r\n").encode("latin-1")
        client.out = head + (b"" if method == "HEAD" else body)
        self._selector.modify(client.sock, selectors.EVENT_WRITE,
                              functools.partial(self._guarded, self._write, client))
        self._write(client)

    def _write(self, client):
        try:
            sent = client.sock.send(client.out)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            sent = len(client.out)  # the client is gone: nothing more to send
        client.out = client.out[sent:]
        if not client.out:
            self._drop(client)

    def _drop(self, client):
        if self._clients.pop(client.sock.fileno(), None) is None:
            return
        self._selector.unregister(client.sock)
        client.sock.close()


def _plain(status, message):
    return status, "text/plain; charset=utf-8", f"{message}\n".encode()
