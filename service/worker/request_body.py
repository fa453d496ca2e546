"""wsgi.input: a request's body as its framing delimits it (service.http.body), read from the connection.

It holds the client to the framing it announced (RFC 9112 6 and 7.1): a
broken chunk, a body cut short, a client that stops sending and a body past
max_request_body_size are each a BadBody carrying the status to answer,
raised again on every later read, and never a short body handed out as if
complete. It answers `Expect: 100-continue` on the first read, and keeps
the methods of eventlet.wsgi's Input that apps written for it call (swift
sets the 100 Continue's headers and sends a second one). What an app
leaves unread is thrown away only within a bound (discard_rest), so that a
client cannot make the worker read a huge body for nothing.

Imported only in workers, after the fork.
"""

import sys
import time
from typing import Callable, Optional, Union

from service.http import body as framing
from service.http import head as http11
from service.http import response as http_response
from service.worker.socket_reader import SocketReader

# The most one discard() reads at once: what an app leaves of a body is
# read and thrown away before the connection serves its next request.
DISCARD_BYTES = 16 << 10
# ... but only this much of it, and for this long: past either, the
# connection closes instead (its response said so when it could know).
MAX_DISCARD_BYTES = 64 << 10
MAX_DISCARD_SECONDS = 1.0


class BadBody(ValueError):
    """The request body broke its framing or stopped coming; `error` is the answer.

    What is raised is the worker model's subclass (its BadBody): under
    eventlet also a ChunkReadError, which eventlet.wsgi's own wsgi.input
    raises and apps written for it (swift) catch when they read a body.
    """

    def __init__(self, error):
        super().__init__(error.message)
        self.error = error


class RequestBody:
    """wsgi.input (and eventlet.input) of one request."""

    def __init__(self, reader: SocketReader,
                 body_framing: Union[framing.FixedLengthBody, framing.ChunkedBody], sock,
                 model, send_continue: Optional[Callable] = None, max_size=0):
        self._reader = reader
        self._framing = body_framing
        # max_request_body_size (0: none), and the body bytes read so far.
        self._max_size = max_size
        self._size = 0
        self._sock = sock
        # The worker model's BadBody, and what its TLS sockets raise at their end.
        self._bad_body = model.BadBody
        self._tls_closed = model.TlsClosed
        # send_continue(headers) sends a 100 Continue unless the response
        # has begun; None when the client does not wait for one.
        self._send_continue = send_continue
        self._continue_headers = None
        self.awaits_continue = send_continue is not None
        self.failure = None

    @classmethod
    def for_head(cls, head, reader, sock, model, send_continue, max_size=0):
        """The body `head` announces; send_continue is used only if the client waits for 100 Continue."""
        body_framing = (framing.ChunkedBody() if head.chunked
                        else framing.FixedLengthBody(head.content_length or 0))
        return cls(reader, body_framing, sock, model,
                   send_continue if _expects_continue(head) else None, max_size)

    @property
    def complete(self):
        """Whether the whole body has been read, to its last byte (or its last chunk's trailers)."""
        return self._framing.ended

    def may_discard_rest(self):
        """Whether what is left of the body may fit what discard_rest() reads: False when it is known not to.

        A chunked body's size is known only once read: discard_rest() tells.
        """
        body_framing = self._framing
        return not (isinstance(body_framing, framing.FixedLengthBody)
                    and body_framing.left > MAX_DISCARD_BYTES)

    def discard_rest(self):
        """Read and throw away what the app left of the body, within MAX_DISCARD_BYTES and MAX_DISCARD_SECONDS; True when it ended."""
        reader = self._reader
        reader.deadline = time.monotonic() + MAX_DISCARD_SECONDS
        left = MAX_DISCARD_BYTES
        try:
            while left > 0 and not self._framing.ended:
                left -= len(self.read(min(left, DISCARD_BYTES)))
        finally:
            reader.lift_deadline()
        return self._framing.ended

    # The file-like methods of PEP 3333.

    def read(self, size=None):
        return self._guarded(size, False)

    def readline(self, size=None):
        return self._guarded(size, True)

    def readlines(self, hint=None):
        lines = []
        size = 0
        for line in iter(self.readline, b""):
            lines.append(line)
            size += len(line)
            if hint and 0 < hint <= size:
                break
        return lines

    def __iter__(self):
        return iter(self.read, b"")

    # What eventlet.wsgi's Input offers besides.

    def get_socket(self):
        """The connection's socket (eventlet.websocket takes it over)."""
        return self._sock

    def set_hundred_continue_response_headers(self, headers,
                                              capitalize_response_headers=True):
        if capitalize_response_headers:
            headers = http_response.capitalized(headers)
        self._continue_headers = headers

    def send_hundred_continue_response(self):
        """A 100 Continue now, unless the response has begun or the client did not ask for one."""
        if self._send_continue is not None:
            self._send_continue(self._continue_headers)

    def discard(self, buffer_size=DISCARD_BYTES):
        while self.read(buffer_size):
            pass

    # Reading.

    def _guarded(self, size, line):
        if self.failure is not None:
            raise self.failure
        try:
            if self.awaits_continue:
                self.awaits_continue = False
                self.send_hundred_continue_response()
            return self._body_bytes(sys.maxsize if size is None or size < 0 else size, line)
        except http11.HttpError as error:
            self.failure = self._bad_body(error)
        except TimeoutError:
            self.failure = self._bad_body(http11.RequestTimeout("Request body timed out"))
        except (OSError, self._tls_closed):
            self.failure = self._bad_body(http11.BadRequest("Incomplete request body"))
        raise self.failure

    def _body_bytes(self, most, line):
        """Up to `most` body bytes (to a newline with `line`), receiving only what the framing needs."""
        reader = self._reader
        body_framing = self._framing
        parts = []
        while most and not body_framing.ended:
            data, start = reader.view()
            consumed, body = body_framing.received(data, start, most, line)
            reader.skip(consumed)
            if body:
                parts.append(body)
                most -= len(body)
                self._count(len(body))
                if line and body[-1:] == b"\n":
                    break
            elif not consumed and not reader.receive():
                raise body_framing.incomplete()
        return b"".join(parts)

    def _count(self, size):
        self._size += size
        if self._max_size and self._size > self._max_size:
            raise http11.ContentTooLarge("Request body too large")


def _expects_continue(head):
    """Only an HTTP/1.1 client waits for 100 Continue: an HTTP/1.0 one may not know 1xx responses (RFC 9110 10.1.1, 15.2)."""
    if head.version != "HTTP/1.1" or "expect" not in head.first:
        return False
    # As the environ's HTTP_EXPECT shows them: every Expect field, joined.
    expect = ",".join(value for name, value in head.fields if name.lower() == "expect")
    return expect.lower() == "100-continue"
