"""One client connection: read each request's head, run its exchange, wait for the next, park or close.

This is the connection's I/O loop; what a request means is elsewhere. Heads
are read through service.worker.socket_reader and parsed by the strict
parser of service.http.head (not http.server's, which accepts what RFC 9112
forbids); each request and its response is an Exchange
(service.worker.exchange), which says whether the connection carries
another request. A head it refuses is answered with a status line and a
fixed message, then the connection closes: no exception text and no
leftover bytes of a refused request are ever served.

How a connection waits for its next request is the worker model's (its
engine's `waiting`): a green thread waits for a moment, then parks the
connection; a request thread parks it at once (service.worker.model). The
worker's Connections (service.worker.drain) always know which connections
are idle, so that a drain can close those without cutting off a client
that is already sending.

A web server in front that speaks uwsgi (protocol = uwsgi) gets a
UwsgiConnection (service.worker.uwsgi_connection): the same connection with
its request read another way; it overrides head_is_decided, _parse_head,
environ_for and get_client_address.

Shared by both worker models; imported only in workers, after the fork.
"""

import dataclasses
import errno
import logging
import socket
import time
from typing import Callable, Optional

from service import worker_status
from service.accesslog.lines import AccessLog
from service.http import environ as http_environ
from service.http import head as http11
from service.http import response as http_response
from service.worker import client_sockets
from service.worker import counting
from service.worker.drain import Connections
from service.worker.exchange import Exchange, ServedCount
from service.worker.socket_reader import SocketReader

LOG = logging.getLogger(__name__)

# recv() errors that mean the client is gone (or its socket already closed).
_GONE_ERRNOS = frozenset((errno.EPIPE, errno.ECONNRESET, errno.ESHUTDOWN, errno.EBADF))

# After an error response, what the client still sends is read and thrown
# away for up to this long (and this much) before closing: closing a socket
# with unread data resets the connection, and the reset can destroy the
# response before the client reads it.
LINGER_SECONDS = 1.0
LINGER_BYTES = 1 << 20
# How much of a refused request line the access log shows.
LOGGED_LINE_CHARS = 200
# eventlet.wsgi's url_length_limit: the longest request line, in bytes.
URL_LENGTH_LIMIT = http11.MAX_REQUEST_LINE_BYTES


@dataclasses.dataclass
class Serving:
    """What every connection of a worker shares."""
    app: Callable
    connections: Connections
    head_limits: http11.HeadLimits
    access_log: AccessLog
    # service.http.environ's server_environ: the same for every request.
    server_environ: dict
    # wsgi_keep_alive: whether responses may keep their connection open.
    keep_alive: bool
    # client_socket_timeout, None for none: how long a read may wait.
    socket_timeout: Optional[float]
    # The worker model (service.worker.model), and its engine's way for a
    # connection to wait for its next request: for_request(conn, first).
    model: object
    waiting: object
    # Bounds the app calls in progress (the model's request_slots).
    request_slots: object
    # The listening socket's (host, port) when every connection's local
    # address is that one (not a wildcard): no getsockname() per connection.
    server_address: Optional[tuple] = None
    # What the worker counts for the admin endpoint (service.worker.counting).
    counts: object = counting.NO_COUNTS
    app_name: str = "app"
    # Where the exchanges show the supervisor their requests in flight
    # (service.worker_status); a worker's own, made by the supervisor.
    status: worker_status.WorkerStatus = dataclasses.field(
        default_factory=lambda: worker_status.WorkerStatus(1))
    # request_head_timeout: seconds a head may take from its first byte (0: no limit).
    head_timeout: float = 0
    # max_request_body_size: bytes (0: no limit).
    max_body_size: int = 0
    # Counts the requests served, for max_requests.
    served: ServedCount = dataclasses.field(default_factory=ServedCount)


class Connection:
    """One client connection, from its first request to its close or its parking."""

    # Served by a unit of the worker model, not parked (service.worker.drain counts those).
    parked = False

    def __init__(self, sock, client_address, serving: Serving, reader=None):
        self.sock = sock
        self.client_address = client_address
        self.serving = serving
        # A parked connection resumed with part of a head keeps its reader.
        self.reader = reader or SocketReader(sock, serving.model.receive_now)
        client_sockets.ack_quickly(sock)
        # When this connection started waiting for its next request; None
        # while a request is being read or answered.
        self.idle_since = None
        # The request being served, as the access log shows it.
        self.requestline = ""
        self.headers = NO_HEADERS
        # The client may still be sending (a refused request, a body left
        # unread): the close waits for it a moment (_linger).
        self.lingers = False
        self._environ = None

    def serve(self):
        """Serve requests until the connection is done; True when it was parked (the lot holds the socket)."""
        connections = self.serving.connections
        connections.opened(self)
        try:
            return self._serve_requests()
        finally:
            try:
                if self.lingers:
                    self._linger()
            finally:
                self.serving.counts.received(self.reader)
                # After the linger: a drain waits for the refused client to
                # read its answer.
                connections.closed(self)

    def _serve_requests(self):
        waiting = self.serving.waiting
        first = True
        while True:
            if not waiting.for_request(self, first):
                return True  # parked
            head = self._receive_head()
            if head is None or not Exchange(self, head).run():
                return False
            first = False

    # Waiting for a request.

    def _request_arrived(self):
        """Wait for the first bytes of a request; False when the client closed or went silent."""
        reader = self.reader
        if reader.buffered():
            return True
        self.idle_since = time.monotonic()
        try:
            return reader.receive()
        except TimeoutError:
            LOG.debug("Closing connection from %s: silent for %ss",
                      self.client_address, self.serving.socket_timeout)
            return False
        except self.serving.model.TlsClosed:
            return False
        except OSError as exc:
            if exc.errno in _GONE_ERRNOS:
                LOG.debug("Connection from %s reset", self.client_address)
                return False
            raise  # a failed TLS handshake: the worker logs it
        finally:
            self.idle_since = None

    # Reading a request's head.

    def _receive_head(self):
        """The next request's head; None when the connection is done (closed, or refused)."""
        self.headers = NO_HEADERS  # not the last request's, in a refusal's log line
        if not self._request_arrived():
            return None
        started = time.time()
        self.start_head_clock()
        self._line = b""
        try:
            head = self._parse_head()
        except http11.HttpError as error:
            self._refuse(error, self._line, started)
            return None
        except TimeoutError:
            self._refuse(http11.RequestTimeout("Request header timed out"),
                         self._line or self.reader.unread(), started)
            return None
        except OSError:
            return None  # the client is gone
        finally:
            self.reader.lift_deadline()
        if head is not None:
            self.headers = head
            self.requestline = head.request_line
        return head

    def start_head_clock(self):
        """The first bytes of a head are here: the rest must come within request_head_timeout, however it trickles in."""
        reader = self.reader
        if reader.deadline is None and self.serving.head_timeout:
            reader.deadline = time.monotonic() + self.serving.head_timeout

    def head_is_decided(self):
        """Whether the buffered bytes hold a whole head, or enough of one to refuse it: reading it then never waits."""
        reader = self.reader
        limits = self.serving.head_limits
        return (reader.whole_head(URL_LENGTH_LIMIT + limits.max_head_bytes) is not None
                or http11.is_decided(reader.unread(), limits, URL_LENGTH_LIMIT))

    def _parse_head(self):
        """The head, in one piece when it came whole (it nearly always does), else line by line."""
        reader = self.reader
        head = reader.whole_head(URL_LENGTH_LIMIT + self.serving.head_limits.max_head_bytes)
        if head is not None:
            self._line = head
            parsed = http11.parse_whole_head(head, URL_LENGTH_LIMIT, self.serving.head_limits)
            if parsed is not None:
                reader.skip(len(head))
                return parsed
        self._line = line = self._next_request_line()
        if not line:
            return None
        request_line = http11.parse_request_line(line, URL_LENGTH_LIMIT)
        return http11.parse_request_head(
            request_line, http11.read_field_lines(reader.readline,
                                                  self.serving.head_limits))

    def _next_request_line(self):
        readline = self.reader.readline
        line = readline(URL_LENGTH_LIMIT)
        for _ in range(http11.MAX_EMPTY_LINES_BEFORE_REQUEST):
            if line != b"\r\n":
                break
            line = readline(URL_LENGTH_LIMIT)
        return line

    # What the exchange asks of its connection.

    def environ_for(self, head):
        """The request's environ (service.http.environ), without wsgi.input."""
        if self._environ is None:
            self._environ = http_environ.connection_environ(
                self.serving.server_environ,
                self.serving.server_address or self.sock.getsockname(),
                self.client_address)
        return http_environ.request_environ(self._environ, head)

    def send_error(self, error):
        """Answer `error` (an HttpError); the connection closes after the answer, lingering."""
        self.lingers = True
        answer = http_response.error_response(error)
        try:
            self.sock.sendall(answer)
        except OSError:
            pass  # the client is gone
        return answer

    def get_client_address(self):
        """(host, port) for the access log: eventlet's, X-Forwarded-For first, as eventlet logs it."""
        host, port = http_environ.host_and_port(self.client_address)
        forwarded = self.headers.get("X-Forwarded-For", "").replace(" ", "")
        if forwarded:
            host = forwarded + "," + host
        return host, port

    # Refusing and closing.

    def _refuse(self, error, line, started):
        self.requestline = _printable(line)
        answer = self.send_error(error)
        LOG.debug("Refused request %r from %s: %s", self.requestline,
                  self.client_address, error.message)
        seconds = time.time() - started
        self.serving.counts.refused(_method_of(line), error.status, len(answer),
                                    self.reader, seconds)
        self.serving.access_log.log(self, error.status, len(answer), seconds)

    def _linger(self):
        sock = self.sock
        deadline = time.monotonic() + LINGER_SECONDS
        drained = 0
        try:
            sock.shutdown(socket.SHUT_WR)
            while drained < LINGER_BYTES:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                sock.settimeout(left)
                data = sock.recv(65536)
                if not data:
                    break
                drained += len(data)
        except OSError:
            pass

    def close_if_idle(self):
        """From the drain: wake this connection's wait for a request that has not begun, to close."""
        if self.idle_since is not None:
            client_sockets.shut_down(self.sock)


# A connection's headers before its first request: what the access log's
# X-Forwarded-For asks of a refusal.
NO_HEADERS = http11.RequestHead(
    method="", target="", version="", request_line="", fields=[], first={},
    content_length=None, chunked=False, keep_alive=False)


def _method_of(line):
    """The method a refused request line begins with, as far as it goes ("" if none)."""
    return line[:16].partition(b" ")[0].decode("latin-1")


def _printable(line):
    """A refused request line as the access log may show it: escaped, short.

    `line` may be the whole head, or as much of the line as was read.
    """
    line = line.partition(b"\n")[0]
    return repr(line.rstrip(b"\r")[:LOGGED_LINE_CHARS])[2:-1]
