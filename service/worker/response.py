"""Running the app for one request and writing its response, as eventlet.wsgi does, for less.

This is eventlet.wsgi.HttpProtocol.handle_one_response's behaviour, point
by point: the same status line and headers (capitalized names, a Date,
Content-Length from a list's length, chunked for HTTP/1.1 without
Content-Length, nothing for HEAD, 1xx, 204 and 304), the same keep-alive
decision, exc_info in start_response, write(), minimum_chunk_size, close()
on the result, a 500 without a traceback when the app raises, and the same
access line. What it does not do is the per-request work whose result is
always the same: the Date text is made once a second, capitalized header
names are remembered, the head goes out in the same send as a small body.
Where eventlet breaks RFC 9110 it does not follow: a 1xx or 204 response
never carries Content-Length or Transfer-Encoding, not even the app's.
"""

import re
import time
import traceback

import eventlet
import eventlet.wsgi
from oslo_context import context as oslo_context

from service import memo
from service.http import head as http11
from service.worker.request_body import BadBody

_TOKEN = re.compile(http11.TOKEN)
# RFC 9112 4: three digits, a space, a reason of visible text and spaces.
_STATUS = re.compile(r"[1-9][0-9][0-9] [\t \x21-\x7e\x80-\xff]*")

# Header names whose capitalized form is remembered; apps use a handful.
_MAX_CACHED_NAMES = 1024
_capitalized_names = {}


class Response:
    """What start_response() set and what write() has sent, for one request."""

    __slots__ = ("protocol", "headers_set", "headers_sent", "chunked", "length",
                 "status_code", "bodyless", "ended", "declared_length",
                 "body_sent")

    def __init__(self, protocol, request_input):
        self.protocol = protocol
        self.headers_set = None
        # Shared with the request's Input: no 100 Continue once this is true.
        self.headers_sent = request_input.headers_sent = []
        self.chunked = False
        self.length = 0
        self.status_code = 200
        self.bodyless = False
        self.ended = False
        # The app's own Content-Length, once the head is out; body bytes so far.
        self.declared_length = None
        self.body_sent = 0

    def start_response(self, status, response_headers, exc_info=None):
        self.status_code = code = int(status.split(" ", 1)[0])
        if exc_info:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        command = self.protocol.command
        self.bodyless = (code in (204, 304) or command == "HEAD"
                         or 100 <= code < 200
                         or (command == "CONNECT" and 200 <= code < 300))
        if self.protocol.capitalize_response_headers:
            known = _capitalized_names
            response_headers = [(known.get(name) or _capitalized(name), value)
                                for name, value in response_headers]
        self.headers_set = [status, response_headers]
        return self.write

    def write(self, data):
        """The write() callable of start_response, and the body's way out."""
        if not self.headers_set:
            raise AssertionError("write() before start_response()")
        if not data and self.headers_sent:
            return  # an empty chunk would end a chunked body
        # The head goes out with the first piece of body, in one send.
        head = b"" if self.headers_sent else self._head()
        if self.bodyless:
            # HEAD, 204, 304: a client reads no body, so any bytes sent
            # would be taken for the start of the next response.
            data = b""
        elif self.chunked and data:
            data = b"%x\r\n" % len(data) + data + b"\r\n"
        elif self.declared_length is not None:
            data = self._within_declared_length(data)
        self._send(head + data)

    def _within_declared_length(self, data):
        """Bytes past the app's Content-Length would be read as the next response."""
        room = self.declared_length - self.body_sent
        if len(data) > room:
            self.protocol.close_connection = 1
            self.protocol.server.log.error(
                f"App sent more than its Content-Length of "
                f"{self.declared_length} for {self.protocol.requestline!r}: "
                "dropped the excess and closed the connection")
            data = data[:max(room, 0)]
        self.body_sent += len(data)
        return data

    def end(self):
        """Send the head if it has not gone yet, and end a chunked body, once."""
        if not self.headers_sent:
            self.write(b"")
        if self.chunked and not self.ended:
            self._send(b"0\r\n\r\n")
        if (self.declared_length is not None and not self.bodyless
                and self.body_sent < self.declared_length):
            # The client waits for bytes that will never come: only a close
            # tells it the response is over (and short).
            self.protocol.close_connection = 1
        self.ended = True

    def _send(self, out):
        if out:
            self.protocol.connection.sendall(out)
            self.length += len(out)

    def _head(self):
        protocol = self.protocol
        status, response_headers = self.headers_set
        if self.status_code == 204 or self.status_code < 200:
            # RFC 9110 8.6, RFC 9112 6.1: never on a 1xx or 204, whatever
            # the app set (a 304 or HEAD keeps the app's Content-Length).
            response_headers = _without_framing(response_headers)
        header_lines, length, has_date = _encode_headers(response_headers)
        lines = [_status_line(protocol.protocol_version, status), header_lines]
        if length is not _ABSENT:
            self.declared_length = _content_length(length)
        self.headers_sent.append(1)
        if not has_date:
            lines.append(_date_line())
        server = protocol.server
        client_conn = protocol.headers.first.get("connection", "").lower()
        send_keep_alive = False
        if (protocol.close_connection == 0 and server.keepalive
                and (client_conn == "keep-alive"
                     or (protocol.request_version == "HTTP/1.1"
                         and client_conn != "close"))):
            # Only to clients that asked: it is redundant for HTTP/1.1.
            send_keep_alive = client_conn == "keep-alive"
            protocol.close_connection = 0
        else:
            protocol.close_connection = 1
        if length is _ABSENT and not self.bodyless:
            if protocol.request_version == "HTTP/1.1":
                self.chunked = True
                lines.append(b"Transfer-Encoding: chunked\r\n")
            else:
                # An HTTP/1.0 client reads the body up to the close.
                protocol.close_connection = 1
        if protocol.close_connection:
            lines.append(b"Connection: close\r\n")
        elif send_keep_alive:
            lines.append(b"Connection: keep-alive\r\n")
            # Sub-second timeouts are allowed, though the header says whole seconds.
            whole_seconds = int(server.keepalive or 0)
            if not isinstance(server.keepalive, bool) and whole_seconds:
                lines.append(b"Keep-Alive: timeout=%d\r\n" % whole_seconds)
        lines.append(b"\r\n")
        return b"".join(lines)


def respond(protocol):
    """Run the app on protocol.environ, write its response, log the access line."""
    started = time.time()
    environ = protocol.environ
    request_input = environ["eventlet.input"]
    response = Response(protocol, request_input)
    result = None
    try:
        try:
            eventlet.wsgi.WSGI_LOCAL.already_handled = False
            result = protocol.run_app(environ, response.start_response)
            _complete_headers(protocol, response, result, request_input)
            if _write_body(protocol, response, result):
                protocol.close_connection = 1
                return
        except (Exception, eventlet.Timeout, SystemExit, KeyboardInterrupt):
            # An app calling sys.exit() must not take the worker and its
            # other requests down: it fails this request only.
            protocol.close_connection = 1
            tb = traceback.format_exc()
            protocol.server.log.info(tb)
            if not response.headers_sent:
                body = tb.encode() if protocol.server.debug else b""
                response.start_response("500 Internal Server Error",
                                        [("Content-type", "text/plain"),
                                         ("Content-length", len(body))])
                response.write(body)
    finally:
        _finish(protocol, response, result, request_input, started)


def _complete_headers(protocol, response, result, request_input):
    """Content-Length of a response whose body is all there (a list, a tuple)."""
    if (response.headers_set and not response.headers_sent
            and hasattr(result, "__len__")):
        headers = response.headers_set[1]
        if not response.bodyless and "Content-Length" not in [
                name for name, _ in headers]:
            headers.append(("Content-Length", str(sum(map(len, result)))))
        if request_input.awaits_continue:
            # The body was never asked for: the client may be sending it or
            # not, so the connection cannot carry another request.
            protocol.close_connection = 1


def _write_body(protocol, response, result):
    """Write the app's result; True when the app's answer was handled otherwise."""
    minimum = int(protocol.environ.get("eventlet.minimum_write_chunk_size",
                                       protocol.minimum_chunk_size))
    pending = []
    pending_size = 0
    for data in result:
        if not data:
            continue
        if isinstance(data, str):
            data = data.encode("ascii")
        pending.append(data)
        pending_size += len(data)
        if pending_size >= minimum:
            response.write(b"".join(pending))
            pending = []
            pending_size = 0
    if eventlet.wsgi.WSGI_LOCAL.already_handled:
        return True
    if pending:
        response.write(b"".join(pending))
    response.end()
    return False


def _finish(protocol, response, result, request_input, started):
    if hasattr(result, "close"):
        try:
            result.close()
        except Exception:
            # The response is out; what failed is the app's clean-up.
            protocol.close_connection = 1
            protocol.server.log.info(traceback.format_exc())
    if request_input.awaits_continue:
        # The final response went out instead of 100 Continue: whether the
        # client sends the body anyway is unknown.
        protocol.close_connection = 1
    if not request_input.complete:
        _discard_body(protocol, request_input)
    finished = time.time()
    environ = protocol.environ
    for hook, args, kwargs in environ["eventlet.posthooks"]:
        hook(environ, *args, **kwargs)
    protocol._log_access(response.status_code, response.length,
                         finished - started)
    _forget_request_context()


def _forget_request_context():
    """The request is over: a context its app set must not show in the lines of the next one.

    The green thread goes on to the connection's next request, and
    oslo.context keeps the context in a green-thread local.
    """
    store = oslo_context._request_store
    if getattr(store, "context", None) is not None:
        del store.context


def _discard_body(protocol, request_input):
    """Read what the app left of the body, if the connection is to serve another request."""
    if protocol.close_connection != 0:
        return
    try:
        request_input.discard()
        return
    except BadBody as exc:
        problem, error = "chunked encoding error", exc
    except OSError as exc:
        problem, error = "I/O error", exc
    protocol.close_connection = 1
    protocol.server.log.error(
        f"{problem} while discarding request body. "
        f"client={protocol.get_client_address()[0]} "
        f'request="{protocol.requestline}" error="{error}"')


def _capitalized(name):
    """CONTent-TYpe -> Content-Type, as eventlet sends header names."""
    capitalized = _capitalized_names.get(name)
    if capitalized is None:
        capitalized = "-".join(
            part.encode("latin1").capitalize().decode("latin1")
            for part in name.split("-"))
        if len(_capitalized_names) < _MAX_CACHED_NAMES:
            _capitalized_names[name] = capitalized
    return capitalized


_FRAMING_NAMES = frozenset(("content-length", "transfer-encoding"))


def _without_framing(headers):
    return [(name, value) for name, value in headers
            if not (isinstance(name, str) and name.lower() in _FRAMING_NAMES)]


def _encode_headers(headers):
    """(the header lines, the first Content-Length value or _ABSENT, whether a Date is set).

    Header lines are latin-1 (PEP 3333), with eventlet's errors for what is
    not. A name that is not a token, or a CR, LF or NUL in a value, would
    let text an app copied from a request forge header lines or a whole
    response: ValueError, which answers 500 instead.
    """
    try:
        text = "".join([f"{name}: {value}\r\n" for name, value in headers])
        encoded = text.encode("latin-1")
    except UnicodeEncodeError:
        encoded = b"".join(map(eventlet.wsgi._encode_header_line, headers))
    lines = len(headers)
    if (encoded.count(b"\n") != lines or encoded.count(b"\r") != lines
            or b"\0" in encoded):
        raise ValueError("response header name or value not allowed in HTTP")
    length = _ABSENT
    has_date = False
    known = _name_kinds
    for name, value in headers:
        kind = known.get(name)
        if kind is None:
            kind = _name_kind(name)
        if kind is _CONTENT_LENGTH:
            if length is _ABSENT:
                length = value  # any value: one that is not a number answers 500
        elif kind is _DATE:
            has_date = True
    return encoded, length, has_date


# No Content-Length among an app's headers (None is a value: not a number).
_ABSENT = object()
# What a response header name is to _head(), by the name as the app gave it.
_CONTENT_LENGTH = "content-length"
_DATE = "date"
_OTHER = ""
_KINDS = {_CONTENT_LENGTH: _CONTENT_LENGTH, _DATE: _DATE}
_name_kinds = {}


def _name_kind(name):
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise ValueError("response header name or value not allowed in HTTP")
    kind = _KINDS.get(name.lower(), _OTHER)
    if len(_name_kinds) < _MAX_CACHED_NAMES:
        _name_kinds[name] = kind
    return kind


def _content_length(value):
    value = str(value)
    if not value.isdigit():
        raise ValueError(f"response Content-Length not a number: {value!r}")
    return int(value)


# Status lines already checked, by (HTTP version, status).
_MAX_CACHED_STATUSES = 256
_status_lines = {}


def _status_line(version, status):
    line = _status_lines.get((version, status))
    if line is None:
        if not isinstance(status, str) or not _STATUS.fullmatch(status):
            raise ValueError(f"response status not allowed in HTTP: {status!r}")
        line = ("%s %s\r\n" % (version, status)).encode()
        if len(_status_lines) < _MAX_CACHED_STATUSES:
            _status_lines[version, status] = line
    return line


_date_line = memo.per_second_of_now(
    lambda now: b"Date: %s\r\n" % eventlet.wsgi.format_date_time(now).encode())
