"""Our HttpProtocol for eventlet.wsgi.server: one client connection, one request at a time.

eventlet.wsgi.server accepts, spawns a green thread per connection and
closes the socket after it; the rest is here. It reads each request head
through service.reader with the strict parser of service.http11 instead of
http.server's (which accepts what RFC 9112 forbids and is most of the CPU
eventlet spends on a request), gives the app a wsgi.input that holds
the client to the body framing it announced, and answers what it refuses
with a status line and a fixed message, then closes: no exception text and
no leftover bytes of a refused request are ever served.

The app's answer is written by service.response, and the access line by
service.accesslog: eventlet's behaviour, for less CPU per request.

It also keeps the worker's Connections informed (open, idle, busy) so that
a drain can finish in-flight requests, tell busy clients `Connection:
close`, and close idle keep-alive connections without cutting off a client
that is already sending.
"""

import dataclasses
import functools
import logging
import socket
import sys
import time

import eventlet
import eventlet.greenio
import eventlet.wsgi
from eventlet import support

from service.http import environ as http_environ
from service.http import head as http11
from service.http import response as http_response
from service.worker import idle as parking
from service.worker import response
from service.worker.request_body import BadBody, RequestBody
from service.worker.socket_reader import SocketReader

LOG = logging.getLogger(__name__)

# recv() errors that mean the client is gone (or its socket already closed).
_GONE_ERRNOS = eventlet.wsgi.BROKEN_SOCK | eventlet.wsgi.BAD_SOCK

# After an error response, what the client still sends is read and thrown
# away for up to this long (and this much) before closing: closing a socket
# with unread data resets the connection, and the reset can destroy the
# response before the client reads it.
LINGER_SECONDS = 1.0
LINGER_BYTES = 1 << 20
# How much of a refused request line the access log shows.
LOGGED_LINE_CHARS = 200


@dataclasses.dataclass
class Serving:
    """What every connection of a worker shares."""
    connections: object     # the worker's server.Connections
    head_limits: http11.HeadLimits
    access_log: object      # accesslog.AccessLog
    # eventlet's Server.get_environ(): the same for every request.
    server_environ: dict
    # The listening socket's (host, port) when every connection's local
    # address is that one (not a wildcard): no getsockname() per connection.
    server_address: tuple = None
    # A parking.ParkingLot, or None where connections never park (TLS).
    parking: object = None


class HttpProtocol:
    """One client connection, from its first request to its close.

    eventlet.wsgi.server creates one per accepted connection (its
    `protocol`) and closes the socket after it. This is not eventlet's
    HttpProtocol: socketserver's request handler and the socket files it
    builds for every connection are not used (service.reader reads).
    """

    # What service.response reads, with eventlet's defaults.
    minimum_chunk_size = eventlet.wsgi.MINIMUM_CHUNK_SIZE

    def __init__(self, conn_state, server, serving):
        self.conn_state = conn_state
        self.client_address = conn_state[0]
        self.connection = sock = conn_state[1]
        self.server = server
        self.serving = serving
        self.connections = connections = serving.connections
        self.access_log = serving.access_log
        self.head_limits = serving.head_limits
        self.protocol_version = server.max_http_version or "HTTP/1.1"
        self.capitalize_response_headers = server.capitalize_response_headers
        if server.minimum_chunk_size is not None:
            self.minimum_chunk_size = server.minimum_chunk_size
        self.reader = SocketReader(sock)
        _ack_quickly(sock)
        self.requests_read = 0
        self._base_environ = None
        # When this connection started waiting for its next request; None
        # while a request is being read or answered.
        self.idle_since = None
        self.headers = _NO_HEADERS
        self.requestline = ""
        self.close_connection = True
        self.refused = False
        self.parked = False
        connections.opened(self)
        try:
            self._serve()
        finally:
            try:
                self._finish()
            finally:
                # After the linger: a drain waits for the refused client to
                # read its answer.
                connections.closed(self)

    def _serve(self):
        conn_state = self.conn_state
        while True:
            self.handle_one_request()
            if conn_state[2] == eventlet.wsgi.STATE_CLOSE:
                return
            conn_state[2] = eventlet.wsgi.STATE_IDLE
            if self.close_connection:
                return

    # Reading a request.

    def handle_one_request(self):
        if self.requests_read and not self._next_request_coming():
            self.close_connection = True
            return
        self.requests_read += 1
        head = self._receive_head()
        if head is None:
            self.close_connection = True
            return
        self._take_head(head)
        self.environ = self.get_environ()
        self.server.outstanding_requests += 1
        try:
            self.handle_one_response()
        except OSError as exc:
            if support.get_errno(exc) not in eventlet.wsgi.BROKEN_SOCK:
                raise
        finally:
            self.server.outstanding_requests -= 1

    def _next_request_coming(self):
        """Wait for a keep-alive client's next request; False once the connection is parked."""
        lot = self.serving.parking
        reader = self.reader
        # NOTE: one yield per request, wherever the next one is: without
        # it, one busy connection keeps every other one of this worker
        # waiting. It comes before looking for the next request, because
        # while the other connections run the client usually sends it:
        # then no wait on the hub is needed (two epoll_ctl calls and the
        # hub's bookkeeping per request).
        eventlet.sleep(0)
        if lot is None or reader.buffered() or reader.receive_now():
            return True
        park_after = parking.PARK_AFTER_SECONDS
        timeout = self.server.socket_timeout
        if (timeout is not None and timeout <= park_after) or self.connections.draining:
            return True  # the usual read: it times out, or the drain ends it
        sock = self.connection
        self.idle_since = time.monotonic()
        lot.watch(self)
        try:
            eventlet.hubs.trampoline(sock.fileno(), read=True)
        except parking.StillIdle:
            if self.connections.draining:
                return True
            lot.park(sock, self.client_address, self.idle_since)
            self.parked = True
            # eventlet.wsgi.server closes this state's socket when the green
            # thread ends: the parking lot holds it now.
            self.conn_state[1] = parking.HANDED_OFF
            return False
        except eventlet.hubs.IOClosed:
            pass  # reading the request meets it again
        finally:
            lot.unwatch(self)
        return True

    def _receive_head(self):
        """The next request's head; None when the connection is done (closed, or refused)."""
        self.headers = _NO_HEADERS  # not the last request's, in a refusal's log line
        if not self._request_arrived():
            return None
        self.conn_state[2] = eventlet.wsgi.STATE_REQUEST
        started = time.time()
        self._line = b""
        try:
            return self._parse_head()
        except http11.HttpError as error:
            self._refuse(error, self._line, started)
        except TimeoutError:
            self._refuse(http11.RequestTimeout("Request header timed out"),
                         self._line or self.reader.unread(), started)
        except OSError:
            pass  # the client is gone
        return None

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
                      self.client_address, self.server.socket_timeout)
            return False
        except eventlet.greenio.SSL.ZeroReturnError:
            return False
        except OSError as exc:
            if support.get_errno(exc) in _GONE_ERRNOS:
                LOG.debug("Connection from %s reset", self.client_address)
                return False
            raise  # a failed TLS handshake: the server logs it
        finally:
            self.idle_since = None

    def _parse_head(self):
        """The head, in one piece when it came whole (it nearly always does), else line by line."""
        reader = self.reader
        url_limit = self.server.url_length_limit
        head = reader.whole_head(url_limit + self.head_limits.max_head_bytes)
        if head is not None:
            self._line = head
            parsed = http11.parse_whole_head(head, url_limit, self.head_limits)
            if parsed is not None:
                reader.skip(len(head))
                return parsed
        self._line = line = self._next_request_line()
        if not line:
            return None
        request_line = http11.parse_request_line(line, url_limit)
        return http11.parse_request_head(
            request_line, http11.read_field_lines(reader.readline,
                                                  self.head_limits))

    def _next_request_line(self):
        readline = self.reader.readline
        url_limit = self.server.url_length_limit
        line = readline(url_limit)
        for _ in range(http11.MAX_EMPTY_LINES_BEFORE_REQUEST):
            if line != b"\r\n":
                break
            line = readline(url_limit)
        return line

    def _take_head(self, head):
        """Set what eventlet's get_environ and handle_one_response read."""
        self.request_head = head
        self.command = head.method
        self.path = head.target
        self.request_version = head.version
        self.requestline = head.request_line
        self.headers = head
        self.close_connection = not head.keep_alive

    def get_environ(self):
        """The request's environ (service.http.environ), with what only the worker gives: its wsgi.input, eventlet's keys."""
        head = self.request_head
        env = http_environ.request_environ(self._connection_environ(), head)
        self.body = RequestBody.for_head(head, self.reader, self.connection,
                                         self._send_continue)
        env["wsgi.input"] = env["eventlet.input"] = self.body
        env["eventlet.posthooks"] = []
        return env

    def _connection_environ(self):
        """What every request's environ on this connection starts with."""
        if self._base_environ is None:
            self._base_environ = http_environ.connection_environ(
                self.serving.server_environ,
                self.serving.server_address or self.connection.getsockname(),
                self.client_address)
            # Not a bound method: the environ would lead back to this
            # protocol, and every connection would end as cyclic garbage
            # for the collector rather than be freed when it closes.
            self._base_environ["eventlet.set_idle"] = functools.partial(
                _set_idle, self.conn_state)
        return self._base_environ

    def _send_continue(self, headers):
        # Too late once the response has begun (service.response shares
        # its headers_sent with the body).
        if not self.body.headers_sent:
            self.connection.sendall(http_response.continue_response(headers))

    # Answering.

    def handle_one_response(self):
        with self.connections.request_slots:
            response.respond(self)
        if self.body.failure is not None:
            # Where its body ended is unknown: what follows is not a request.
            self.close_connection = True

    def run_app(self, environ, start_response):
        try:
            result = self.server.app(environ, start_response)
        except BadBody as exc:
            return self._answer_bad_body(exc.error, start_response)
        if hasattr(result, "__len__"):
            return result  # eventlet sets Content-Length from its length
        return _BodyGuardedResult(result, self._answer_bad_body, start_response)

    def _answer_bad_body(self, error, start_response):
        """Answer a body that broke its framing or stopped coming, unless the answer has begun."""
        self.close_connection = True
        if not self.body.headers_sent:
            # Replaces any status the app set, for the access log.
            start_response(f"{error.status} {error.reason}", [],
                           sys.exc_info())
            self._send_error(error)
        LOG.debug("Request %r from %s: %s", self.requestline,
                  self.client_address, error.message)
        # eventlet then writes nothing more and closes the connection.
        eventlet.wsgi.WSGI_LOCAL.already_handled = True
        return []

    def _refuse(self, error, line, started):
        self.close_connection = True
        self.requestline = _printable(line)
        answer = self._send_error(error)
        LOG.debug("Refused request %r from %s: %s", self.requestline,
                  self.client_address, error.message)
        self._log_access(error.status, len(answer), time.time() - started)

    def _send_error(self, error):
        self.refused = True
        answer = http_response.error_response(error)
        try:
            self.connection.sendall(answer)
        except OSError:
            pass  # the client is gone
        return answer

    def _log_access(self, status, length, seconds):
        if self.server.log_output:
            self.access_log.log(self, status, length, seconds)

    def get_client_address(self):
        """(host, port) for the access log: eventlet's, X-Forwarded-For first when it logs that."""
        host, port = http_environ.host_and_port(self.client_address)
        if self.server.log_x_forwarded_for:
            forwarded = self.headers.get("X-Forwarded-For", "").replace(" ", "")
            if forwarded:
                host = forwarded + "," + host
        return host, port

    def _finish(self):
        # eventlet.wsgi.server shuts down and closes the socket once this
        # green thread ends (the parking lot's stand-in, if parked).
        if self.refused:
            self._linger()

    def _linger(self):
        sock = self.connection
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

    # Draining.

    def stop_keeping_alive(self):
        """From now on every response of this worker says `Connection: close`.

        eventlet decides keep-alive when it writes a response head, from
        server.keepalive. Switching that off (rather than closing
        connections) never cuts off a client whose last response promised
        keep-alive: its next request is answered, then the connection closes.
        """
        self.server.keepalive = False

    def close_if_idle(self):
        if self.idle_since is not None:
            eventlet.greenio.shutdown_safe(self.connection)


def _set_idle(conn_state):
    # eventlet.set_idle: for apps (websockets) that never return.
    conn_state[2] = eventlet.wsgi.STATE_IDLE


def _ack_quickly(sock):
    """TCP_QUICKACK, as eventlet set it: no delayed ACK for what the client sends next."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, True)
    except (AttributeError, OSError):
        pass  # not Linux, or not TCP (a Unix socket)


# self.headers is what eventlet and service.response call .get() on.
_NO_HEADERS = http11.RequestHead(
    method="", target="", version="", request_line="", fields=[], first={},
    content_length=None, chunked=False, keep_alive=False)


class _BodyGuardedResult:
    """An app's lazy result, answering a bad body met while it is produced."""

    def __init__(self, result, answer_bad_body, start_response):
        self._result = result
        self._answer_bad_body = answer_bad_body
        self._start_response = start_response

    def __iter__(self):
        try:
            yield from self._result
        except BadBody as exc:
            yield from self._answer_bad_body(exc.error, self._start_response)

    def close(self):
        close = getattr(self._result, "close", None)
        if close is not None:
            close()


def _printable(line):
    """A refused request line as the access log may show it: escaped, short.

    `line` may be the whole head, or as much of the line as was read.
    """
    line = line.partition(b"\n")[0]
    return repr(line.rstrip(b"\r")[:LOGGED_LINE_CHARS])[2:-1]
