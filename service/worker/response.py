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

import time
import traceback

import eventlet
import eventlet.wsgi
from oslo_context import context as oslo_context

from service.http import response as http_response
from service.worker.request_body import BadBody


class Response:
    """What start_response() set and what write() has sent, for one request."""

    __slots__ = ("protocol", "headers_set", "headers_sent", "length",
                 "status_code", "bodyless", "ended", "body")

    def __init__(self, protocol, request_input):
        self.protocol = protocol
        self.headers_set = None
        # Shared with the request's input: no 100 Continue once this is true.
        self.headers_sent = request_input.headers_sent = []
        self.length = 0
        self.status_code = 200
        self.bodyless = False
        self.ended = False
        # The framing of the body (service.http.response), once the head is out.
        self.body = None

    def start_response(self, status, response_headers, exc_info=None):
        self.status_code = code = http_response.status_code(status)
        if exc_info:
            try:
                if self.headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        self.bodyless = http_response.is_bodyless(self.protocol.command, code)
        self.headers_set = [status, http_response.capitalized(response_headers)]
        return self.write

    def write(self, data):
        """The write() callable of start_response, and the body's way out."""
        if not self.headers_set:
            raise AssertionError("write() before start_response()")
        if not data and self.headers_sent:
            return  # an empty chunk would end a chunked body
        # The head goes out with the first piece of body, in one send.
        head = b"" if self.headers_sent else self._head()
        overflowed = self.body.overflowed
        out = head + self.body.frame(data)
        if self.body.overflowed and not overflowed:
            self.protocol.close_connection = 1
            self.protocol.server.log.error(
                f"App sent more than its Content-Length of "
                f"{self.body.declared_length} for {self.protocol.requestline!r}: "
                "dropped the excess and closed the connection")
        self._send(out)

    def end(self):
        """Send the head if it has not gone yet, and end a chunked body, once."""
        if not self.headers_sent:
            self.write(b"")
        if not self.ended:
            self._send(self.body.end())
        if self.body.short:
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
        head = http_response.response_head(
            status, response_headers, protocol.headers,
            protocol.close_connection == 0 and protocol.server.keepalive,
            time.time())
        self.headers_sent.append(1)
        self.body = head.body
        protocol.close_connection = 1 if head.close else 0
        return head.data


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
