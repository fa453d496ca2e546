"""Our HttpProtocol for eventlet.wsgi.server: one client connection, one request at a time.

It reads each request head with the strict parser of service.http11 instead
of http.server's (which accepts what RFC 9112 forbids and is most of the
CPU eventlet spends on a request), gives the app a wsgi.input that holds
the client to the body framing it announced, and answers what it refuses
with a status line and a fixed message, then closes: no exception text and
no leftover bytes of a refused request are ever served.

It also keeps the worker's Connections informed (open, idle, busy) so that
a drain can finish in-flight requests, tell busy clients `Connection:
close`, and close idle keep-alive connections without cutting off a client
that is already sending.
"""

import logging
import socket
import sys
import time

import eventlet.greenio
import eventlet.wsgi
from eventlet import support

from service import http11

LOG = logging.getLogger(__name__)

# After an error response, what the client still sends is read and thrown
# away for up to this long (and this much) before closing: closing a socket
# with unread data resets the connection, and the reset can destroy the
# response before the client reads it.
LINGER_SECONDS = 1.0
LINGER_BYTES = 1 << 20
# The most one read of a request body asks of the connection at once.
READ_PIECE_BYTES = 1 << 20
# How much of a refused request line the access log shows.
LOGGED_LINE_CHARS = 200


class HttpProtocol(eventlet.wsgi.HttpProtocol):

    def __init__(self, conn_state, server, connections, head_limits):
        self.connections = connections
        self.server = server
        # When this connection started waiting for its next request; None
        # while a request is being read or answered.
        self.idle_since = None
        self.head_limits = head_limits
        self.headers = _NO_HEADERS
        self.refused = False
        connections.opened(self)
        try:
            super().__init__(conn_state, server)
        finally:
            connections.closed(self)

    # Reading a request.

    def _read_request_line(self):
        self.idle_since = time.monotonic()
        try:
            return super()._read_request_line()
        finally:
            self.idle_since = None

    def handle_one_request(self):
        if self.server.max_http_version:
            self.protocol_version = self.server.max_http_version
        head = self._receive_head()
        if head is None:
            self.close_connection = True
            return
        self._take_head(head)
        self.environ = self.get_environ()
        self.application = self._run_app
        self.server.outstanding_requests += 1
        try:
            self.handle_one_response()
        except OSError as exc:
            if support.get_errno(exc) not in eventlet.wsgi.BROKEN_SOCK:
                raise
        finally:
            self.server.outstanding_requests -= 1

    def _receive_head(self):
        """The next request's head; None when the connection is done (closed, or refused)."""
        self.headers = _NO_HEADERS  # not the last request's, in a refusal's log line
        line = self._next_request_line()
        self.conn_state[2] = eventlet.wsgi.STATE_REQUEST
        if not line:
            return None
        started = time.time()
        try:
            return self._parse_head(line)
        except http11.HttpError as error:
            self._refuse(error, line, started)
        except TimeoutError:
            self._refuse(http11.RequestTimeout("Request header timed out"),
                         line, started)
        except OSError:
            pass  # the client is gone
        return None

    def _next_request_line(self):
        line = self._read_request_line()
        for _ in range(http11.MAX_EMPTY_LINES_BEFORE_REQUEST):
            if line != b"\r\n":
                break
            line = self._read_request_line()
        return line

    def _parse_head(self, line):
        request_line = http11.parse_request_line(line,
                                                 self.server.url_length_limit)
        field_lines = http11.read_field_lines(self.rfile.readline,
                                              self.head_limits)
        return http11.parse_request_head(request_line, field_lines)

    def _take_head(self, head):
        """Set what eventlet's get_environ and handle_one_response read."""
        self.request_head = head
        self.command = head.method
        self.path = head.target
        self.request_version = head.version
        self.requestline = head.request_line
        self.headers = _Headers(head)
        self.close_connection = not head.keep_alive

    def get_environ(self):
        environ = super().get_environ()
        # eventlet says HTTP/1.0 whatever the client spoke.
        environ["SERVER_PROTOCOL"] = self.request_version
        head = self.request_head
        stock = environ["wsgi.input"]
        self.body = RequestBody(
            self.rfile, None if head.chunked else head.content_length or 0,
            self.connection, wfile=stock.wfile, wfile_line=stock.wfile_line,
            chunked_input=head.chunked)
        environ["wsgi.input"] = environ["eventlet.input"] = self.body
        return environ

    # Answering.

    def handle_one_response(self):
        with self.connections.request_slots:
            super().handle_one_response()
        if self.body.failure is not None:
            # Where its body ended is unknown: what follows is not a request.
            self.close_connection = True

    def _run_app(self, environ, start_response):
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
        response = self._send_error(error)
        LOG.debug("Refused request %r from %s: %s", self.requestline,
                  self.client_address, error.message)
        self._log_access(error.status, len(response), time.time() - started)

    def _send_error(self, error):
        self.refused = True
        response = http11.error_response(error)
        try:
            self.wfile.write(response)
            self.wfile.flush()
        except OSError:
            pass  # the client is gone
        return response

    def _log_access(self, status, length, seconds):
        client_ip, client_port = self.get_client_address()
        self.server.log.info(self.server.log_format % {
            "client_ip": client_ip,
            "client_port": client_port,
            "date_time": self.log_date_time_string(),
            "request_line": self.requestline,
            "status_code": status,
            "body_length": length,
            "wall_seconds": seconds,
        })

    def finish(self):
        if self.refused:
            self._linger()
        super().finish()

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


class _Headers:
    """A request's fields as eventlet.wsgi reads self.headers."""

    def __init__(self, head):
        self._headers = head.fields    # get_environ's copy into HTTP_* keys
        self.get = head.get

    def get_content_type(self):
        # What the email-based headers of http.server answered when
        # Content-Type is absent: apps keep seeing the CONTENT_TYPE they saw.
        return "text/plain"


_NO_HEADERS = _Headers(http11.RequestHead(
    method="", target="", version="", request_line="", fields=[], first={},
    content_length=None, chunked=False, keep_alive=False))


class BadBody(eventlet.wsgi.ChunkReadError):
    """The request body broke its framing or stopped coming; `error` is the answer.

    A ChunkReadError, so that eventlet's own discard of an unread body
    closes the connection on it rather than failing.
    """

    def __init__(self, error):
        super().__init__(error.message)
        self.error = error


class RequestBody(eventlet.wsgi.Input):
    """wsgi.input holding the client to the body framing it announced (RFC 9112 6 and 7.1).

    eventlet's Input reads chunk sizes with int(x, 16) (so "0x5", "+5", " 5"
    and "5_0" pass), never checks the CRLF after chunk data, reads size and
    trailer lines without bound, and hands out a short body as if complete.
    Here each of those is a BadBody, raised again on every later read.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.failure = None
        self._chunk_left = 0
        self._last_chunk_read = False

    def read(self, length=None):
        return self._guarded(length, line=False)

    def readline(self, size=None):
        return self._guarded(size, line=True)

    def readlines(self, hint=None):
        lines = []
        size = 0
        for line in iter(self.readline, b""):
            lines.append(line)
            size += len(line)
            if hint and 0 < hint <= size:
                break
        return lines

    def _guarded(self, size, line):
        if self.failure is not None:
            raise self.failure
        try:
            self._send_continue_if_expected()
            if self.chunked_input:
                return self._read_chunked(size, line)
            return self._read_fixed(size, line)
        except http11.HttpError as error:
            self.failure = BadBody(error)
        except TimeoutError:
            self.failure = BadBody(http11.RequestTimeout("Request body timed out"))
        except (OSError, eventlet.greenio.SSL.ZeroReturnError):
            self.failure = BadBody(http11.BadRequest("Incomplete request body"))
        raise self.failure

    def _send_continue_if_expected(self):
        if self.should_send_hundred_continue:
            self.send_hundred_continue_response()
            self.is_hundred_continue_response_sent = True

    def _read_fixed(self, size, line):
        remaining = self.content_length - self.position
        if size is None or size < 0 or size > remaining:
            size = remaining
        if not size:
            return b""
        data = self._read_some(size, line)
        self.position += len(data)
        return data

    def _read_chunked(self, size, line):
        if size is not None and size < 0:
            size = None
        parts = []
        while size != 0 and not self._last_chunk_read:
            if not self._chunk_left:
                self._start_chunk()
                continue
            data = self._read_some(
                self._chunk_left if size is None else min(size, self._chunk_left),
                line)
            parts.append(data)
            self._chunk_left -= len(data)
            if not self._chunk_left:
                http11.check_chunk_data_end(self.rfile.read(2))
            if size is not None:
                size -= len(data)
            if line and data.endswith(b"\n"):
                break
        return b"".join(parts)

    def _read_some(self, size, line):
        """`size` bytes, or fewer up to a newline when reading a line."""
        read = self.rfile.readline if line else self.rfile.read
        parts = []
        while size:
            # A file's read(n) allocates n bytes first: pieces keep what a
            # client makes us hold to what it has sent.
            want = min(size, READ_PIECE_BYTES)
            piece = read(want)
            parts.append(piece)
            size -= len(piece)
            if line and piece.endswith(b"\n"):
                break
            if len(piece) < want:
                raise http11.BadRequest("Incomplete request body")
        return b"".join(parts)

    def _start_chunk(self):
        size = http11.parse_chunk_line(
            self.rfile.readline(http11.MAX_CHUNK_LINE_BYTES + 1))
        if size:
            self._chunk_left = size
            return
        http11.check_trailer_lines(http11.read_field_lines(
            self.rfile.readline, http11.TRAILER_LIMITS))
        self._last_chunk_read = True


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
    """A refused request line as the access log may show it: escaped, short."""
    return repr(line.rstrip(b"\r\n")[:LOGGED_LINE_CHARS])[2:-1]
