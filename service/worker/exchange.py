"""The exchange: one request and its response, from the parsed head to the access line.

It runs the app with the request's environ and wsgi.input, writes what the
app answers (service.worker.response), reads and throws away what the app
left of the body (within a bound), runs eventlet's posthooks, logs the
access line, and decides whether the connection carries another request.
eventlet.wsgi's behaviour, point by point: exc_info in start_response,
write(), Content-Length from a list's length, minimum_chunk_size, close()
on the result, a 500 without a traceback when the app raises, the same
access line. While the app runs, the request is in flight in the worker's
status (service.worker_status), where the supervisor sees how long it has
run.

Rule 1: the exchange alone decides keep-alive or close. It starts from the
client's wish and the server's setting (keep_alive); the response head
adds what its framing allows (service.http.response); then every event
that leaves the connection's next bytes in doubt closes it: an app that
raised or answered on the raw socket, a body past or short of its
Content-Length, a 100 Continue never sent, a request body that broke its
framing or could not be read to its end, or was left unread past what may
be thrown away (the response says so when it is made, if it knows then).
Rule 2: an exception from the app fails its request only, never the
worker (SystemExit included).
Rule 3: a client that goes away mid-response is news, not an error: one
INFO line, never a traceback; only a failure of the exchange's own send
to the client is taken for it, not an error the app meets elsewhere.

Imported only in workers, after the fork.
"""

import errno
import logging
import sys
import time
import traceback
from typing import TYPE_CHECKING

from oslo_context import context as oslo_context

from service.http import head as http11
from service.http import response as http_response
from service.http.head import RequestHead
from service.worker.request_body import BadBody, RequestBody
from service.worker.response import Response

if TYPE_CHECKING:
    from service.worker.connection import Connection  # which imports this module

LOG = logging.getLogger(__name__)

# eventlet.wsgi's default: an app's small pieces of body are gathered to
# this size before a send (environ["eventlet.minimum_write_chunk_size"]
# sets another for one request).
MINIMUM_CHUNK_SIZE = 4096
# send() errors that mean the client is gone.
_BROKEN_ERRNOS = frozenset((errno.EPIPE, errno.ECONNRESET, errno.ESHUTDOWN))


class ClientGone(Exception):
    """Sending the response to the client failed: it is gone, or stopped reading (Rule 3)."""


class ServedCount:
    """The requests a worker has served; it tells the supervisor once when they reach its max_requests.

    The supervisor reads the exact count from the worker's status and
    decides; this only spares it waiting for its next look. Request threads
    may lose an increment to each other: the tell comes a request late.
    """

    def __init__(self, limit=0, tell=None):
        self._left = limit
        self._tell = tell if limit else None

    def one_more(self):
        self._left -= 1
        if self._left <= 0 and self._tell is not None:
            tell, self._tell = self._tell, None
            tell()


class Exchange:
    """One request on a connection and its response."""

    def __init__(self, conn: "Connection", head: RequestHead):
        self.conn = conn
        self.head = head
        self.serving = conn.serving
        # Whether the connection may carry another request, as far as this
        # exchange knows so far (Rule 1).
        self.keep_alive = head.keep_alive
        self.body = RequestBody.for_head(head, conn.reader, conn.sock,
                                         self.serving.model, self._send_continue,
                                         self.serving.max_body_size)
        self.response = Response(self._send, head, self._may_keep_alive)
        # The app's answer went out otherwise: nothing more is written.
        self.answered = False

    def run(self):
        """Serve the request; True when the connection may carry another one."""
        if self._body_too_large():
            return False
        environ = self.conn.environ_for(self.head)
        environ["wsgi.input"] = environ["eventlet.input"] = self.body
        environ["eventlet.posthooks"] = []
        self.serving.counts.started()
        status = self.serving.status
        try:
            with self.serving.request_slots:
                entry = status.request_started(self.head.method, self._path(),
                                               time.monotonic())
                try:
                    self._respond(environ)
                finally:
                    status.request_ended(entry)
                    self.serving.served.one_more()
        except ClientGone:
            return False
        except OSError as exc:
            if exc.errno not in _BROKEN_ERRNOS:
                raise
            return False  # the client is gone
        return self._keeps_alive()

    def _path(self):
        return self.head.target.partition("?")[0]

    def _may_keep_alive(self):
        """Asked when the response head is made."""
        serving = self.serving
        connections = serving.connections
        return (self.keep_alive and serving.keep_alive
                and not connections.draining and self.body.failure is None
                and self.body.may_discard_rest()
                and not connections.sheds_one(time.monotonic()))

    def _keeps_alive(self):
        head = self.response.head
        return (self.keep_alive and head is not None and not head.close
                and not head.body.overflowed and not head.body.short
                and self.body.failure is None)

    # Running the app.

    def _respond(self, environ):
        started = time.time()
        result = None
        model = self.serving.model
        if "upgrade" in self.head.first:
            model.expect_raw_answer()
        try:
            try:
                result = self._run_app(environ)
                self._complete_headers(result)
                self._write_body(result, environ)
            except ClientGone as gone:
                self._tell_client_gone(gone)
            except (Exception, SystemExit, KeyboardInterrupt, *model.app_failures):
                # An app calling sys.exit() must not take the worker and its
                # other requests down: it fails this request only.
                self._fail()
        finally:
            self._finish(result, environ, started)

    def _run_app(self, environ):
        try:
            result = self.serving.app(environ, self.response.start_response)
        except BadBody as exc:
            return self._answer_bad_body(exc.error)
        if hasattr(result, "__len__"):
            return result  # its length gives the Content-Length
        return _BodyGuardedResult(result, self._answer_bad_body)

    def _complete_headers(self, result):
        """Content-Length of a response whose body is all there (a list, a tuple)."""
        response = self.response
        if (response.headers_set and not response.head_sent
                and hasattr(result, "__len__")):
            headers = response.headers_set[1]
            if not response.bodyless and "Content-Length" not in [
                    name for name, _ in headers]:
                headers.append(("Content-Length", str(sum(map(len, result)))))
            if self.body.awaits_continue:
                # The body was never asked for: the client may be sending it or
                # not, so the connection cannot carry another request.
                self.keep_alive = False

    def _write_body(self, result, environ):
        """Write the app's result, in pieces of at least the minimum chunk size."""
        write = self.response.write
        minimum = int(environ.get("eventlet.minimum_write_chunk_size", MINIMUM_CHUNK_SIZE))
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
                write(b"".join(pending))
                pending = []
                pending_size = 0
        if self.answered or (self.response.headers_set is None
                             and self.serving.model.answered_raw()):
            self.keep_alive = False
            return
        self.response.end(b"".join(pending))

    def _fail(self):
        self._log_failure()
        response = self.response
        if not response.head_sent:
            response.start_response("500 Internal Server Error",
                                    [("Content-type", "text/plain"), ("Content-length", "0")])
            response.write(b"")

    def _log_failure(self):
        self.keep_alive = False
        LOG.error("Request failed with an unhandled exception:\n%s",
                  traceback.format_exc().rstrip())

    def _answer_bad_body(self, error):
        """Answer a body that broke its framing or stopped coming, unless the answer has begun."""
        self.keep_alive = False
        self.answered = True
        if not self.response.head_sent:
            # Replaces any status the app set, for the access log.
            self.response.start_response(f"{error.status} {error.reason}", [],
                                         sys.exc_info())
            self.conn.send_error(error)
        LOG.debug("Request %r from %s: %s", self.head.request_line,
                  self.conn.client_address, error.message)
        return []

    def _send(self, data):
        """The response's way to the client: its failure is ClientGone (Rule 3)."""
        try:
            self.conn.sock.sendall(data)
        except (OSError, self.serving.model.TlsClosed) as exc:
            raise ClientGone(getattr(exc, "strerror", None) or str(exc) or type(exc).__name__)

    def _tell_client_gone(self, gone):
        self.keep_alive = False
        LOG.info("App %s: client %s went away after %d bytes of the response to %s %s (%s)",
                 self.serving.app_name, self.conn.get_client_address()[0],
                 self.response.length, self.head.method, self._path(), gone)

    def _body_too_large(self):
        """Answer 413 to a declared body past max_request_body_size, before the app runs; True if it was."""
        limit = self.serving.max_body_size
        length = self.head.content_length
        if not limit or length is None or length <= limit:
            return False
        started = time.time()
        answer = self.conn.send_error(http11.ContentTooLarge("Request body too large"))
        LOG.debug("Refused request %r from %s: a body of %d bytes, past "
                  "max_request_body_size (%d)", self.head.request_line,
                  self.conn.client_address, length, limit)
        seconds = time.time() - started
        self.serving.counts.refused(self.head.method, 413, len(answer), self.conn.reader, seconds)
        self.serving.access_log.log(self.conn, 413, len(answer), seconds)
        return True

    def _send_continue(self, headers):
        # Too late once the response has begun.
        if not self.response.head_sent:
            self.conn.sock.sendall(http_response.continue_response(headers))

    # After the response.

    def _finish(self, result, environ, started):
        if hasattr(result, "close"):
            try:
                result.close()
            except Exception:
                # The response is out; what failed is the app's clean-up.
                self._log_failure()
        if self.body.awaits_continue:
            # The final response went out instead of 100 Continue: whether the
            # client sends the body anyway is unknown.
            self.keep_alive = False
        if not self.body.complete:
            self._discard_body()
        self._tell_overflow()
        for hook, args, kwargs in environ["eventlet.posthooks"]:
            hook(environ, *args, **kwargs)
        response = self.response
        seconds = time.time() - started
        # Counted as logged: the requests counted are the access log's lines.
        self.serving.counts.finished(self.head.method, response.status_code,
                                     response.length, self.conn.reader, seconds)
        self.serving.access_log.log(self.conn, response.status_code, response.length,
                                    seconds)
        forget_request_context()

    def _discard_body(self):
        """Throw away what the app left of the body, within a bound, if the connection is to serve another request."""
        if self._keeps_alive():
            try:
                if self.body.discard_rest():
                    return
            except BadBody as exc:
                self._tell_discard_failed(exc)
        self.keep_alive = False
        # The client may still be sending it: its response must not be lost
        # to a reset when the connection closes with those bytes unread.
        self.conn.lingers = True

    def _tell_discard_failed(self, exc):
        if exc.error.status != 400:
            return  # it stopped coming, or went past max_request_body_size
        LOG.error('chunked encoding error while discarding request body. '
                  'client=%s request="%s" error="%s"',
                  self.conn.get_client_address()[0], self.head.request_line, exc)

    def _tell_overflow(self):
        head = self.response.head
        if head is not None and head.body.overflowed:
            LOG.error("App sent more than its Content-Length of %s for %r: "
                      "dropped the excess and closed the connection",
                      head.body.declared_length, self.head.request_line)


def forget_request_context():
    """The request is over: a context its app set must not show in the lines of the unit's next request.

    oslo.context keeps it in its _request_store (a thread-local; under
    eventlet, per green thread), which a green thread or a request thread
    keeps from one connection to the next.
    """
    store = oslo_context._request_store
    if getattr(store, "context", None) is not None:
        del store.context


class _BodyGuardedResult:
    """An app's lazy result, answering a bad body met while it is produced."""

    def __init__(self, result, answer_bad_body):
        self._result = result
        self._answer_bad_body = answer_bad_body

    def __iter__(self):
        try:
            yield from self._result
        except BadBody as exc:
            yield from self._answer_bad_body(exc.error)

    def close(self):
        close = getattr(self._result, "close", None)
        if close is not None:
            close()
