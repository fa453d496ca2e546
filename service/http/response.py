"""A response's head and the framing of its body: pure, from the app's status and headers and the request's facts.

What eventlet.wsgi sends, point by point: capitalized header names, a Date,
chunked for HTTP/1.1 without Content-Length, nothing for HEAD, 1xx, 204
and 304, `Connection: close` or `keep-alive` as the request and the server
allow. Where eventlet breaks RFC 9110 it is not followed: a 1xx or 204
response never carries Content-Length or Transfer-Encoding, not even the
app's, and no header text can forge a line.

Rule 1: whether the connection stays open after a response is decided
once, when its head is made (response_head), from the request, the server's
permission and the body's framing: the head says what was decided.
Rule 2: an app's status or header that HTTP cannot carry is a ValueError
(or UnicodeEncodeError) before a byte is sent: the server answers 500.
Rule 3: what a key always gives (a capitalized name, a checked status
line) is remembered in a BoundedMemo, and the Date text once a second in
a OncePerInterval: each equals its plain computation (tested).

No sockets, no clock of its own (the caller says what time it is).
"""

import dataclasses
import re
import wsgiref.handlers

from service import memo
from service.http.grammar import TOKEN

VERSION = "HTTP/1.1"
LAST_CHUNK = b"0\r\n\r\n"

# RFC 9112 4: three digits, a space, a reason of visible text and spaces.
_STATUS_RE = re.compile(r"[1-9][0-9][0-9] [\t \x21-\x7e\x80-\xff]*")
_TOKEN_RE = re.compile(TOKEN)
# Header names and statuses whose checked form is remembered: apps use a handful.
MAX_REMEMBERED_NAMES = 1024
MAX_REMEMBERED_STATUSES = 256


class ResponseBody:
    """The framing of an app's body bytes: chunks, a cut at its own Content-Length, or nothing at all."""

    __slots__ = ("chunked", "bodyless", "declared_length", "sent", "overflowed")

    def __init__(self, chunked, bodyless, declared_length):
        self.chunked = chunked
        self.bodyless = bodyless
        # The app's Content-Length, and the body bytes framed so far.
        self.declared_length = declared_length
        self.sent = 0
        # Bytes past the app's Content-Length would be read as the next
        # response: they are dropped, and the connection must close.
        self.overflowed = False

    def frame(self, data):
        """What goes on the wire for `data`, a piece of the app's body."""
        if self.bodyless:
            # HEAD, 204, 304: a client reads no body, so any bytes sent
            # would be taken for the start of the next response.
            return b""
        if self.chunked:
            return b"%x\r\n" % len(data) + data + b"\r\n" if data else b""
        if self.declared_length is not None:
            room = self.declared_length - self.sent
            if len(data) > room:
                self.overflowed = True
                data = data[:max(room, 0)]
            self.sent += len(data)
        return data

    def end(self):
        """What ends the body on the wire."""
        return LAST_CHUNK if self.chunked else b""

    @property
    def short(self):
        """Fewer bytes than the app's Content-Length: only a close tells the client the response is over."""
        return (self.declared_length is not None and not self.bodyless
                and self.sent < self.declared_length)


@dataclasses.dataclass(slots=True)
class ResponseHead:
    data: bytes           # the status line, the header lines, the empty line
    close: bool           # the connection closes after this response (the head says so)
    body: ResponseBody


def response_head(status, headers, request, keep_alive, now):
    """The head of the app's response to `request` (a RequestHead) at time `now`.

    `headers` are the app's, names capitalized (capitalized()).
    `keep_alive` is the server's permission to keep the connection open
    after this response: the client's wish and the body's framing decide
    the rest.
    """
    code = status_code(status)
    bodyless = is_bodyless(request.method, code)
    if code == 204 or code < 200:
        # RFC 9110 8.6, RFC 9112 6.1: never on a 1xx or 204, whatever the
        # app set (a 304 or HEAD keeps the app's Content-Length).
        headers = _without_framing(headers)
    field_lines, length, has_date = encode_fields(headers)
    unframed = length is _ABSENT and not bodyless
    body = ResponseBody(chunked=unframed and request.version == "HTTP/1.1",
                        bodyless=bodyless,
                        declared_length=None if length is _ABSENT else _content_length(length))
    asked = request.first.get("connection", "").lower()
    # An HTTP/1.0 client reads a body of unknown length up to the close.
    close = (unframed and not body.chunked) or not _keeps_alive(keep_alive, asked, request.version)
    lines = [status_line(status), field_lines, b"" if has_date else date_line(now),
             _transfer_and_connection(body.chunked, close, asked), b"\r\n"]
    return ResponseHead(b"".join(lines), close, body)


def _keeps_alive(allowed, asked, version):
    """RFC 9112 9.3: HTTP/1.1 keeps the connection unless asked to close; HTTP/1.0 only when asked to keep it."""
    return allowed and (asked == "keep-alive" or (version == "HTTP/1.1" and asked != "close"))


def _transfer_and_connection(chunked, close, asked):
    transfer = b"Transfer-Encoding: chunked\r\n" if chunked else b""
    if close:
        return transfer + b"Connection: close\r\n"
    if asked == "keep-alive":
        return transfer + b"Connection: keep-alive\r\n"  # redundant for HTTP/1.1: only to those who asked
    return transfer


def status_code(status):
    """The code of a WSGI status ("404 Not Found" -> 404): ValueError for one that has none."""
    return int(status.split(" ", 1)[0])


def is_bodyless(method, code):
    """Whether a response has no body, whatever the app gives (RFC 9110 6.4.1)."""
    return (code in (204, 304) or method == "HEAD" or 100 <= code < 200
            or (method == "CONNECT" and 200 <= code < 300))


def capitalized(headers):
    """The app's headers with their names as eventlet sends them: CONTent-TYpe -> Content-Type."""
    return [(capitalized_name(name), value) for name, value in headers]


def _capitalize(name):
    return "-".join(part.encode("latin1").capitalize().decode("latin1")
                    for part in name.split("-"))


capitalized_name = memo.BoundedMemo(_capitalize, MAX_REMEMBERED_NAMES)


def encode_fields(headers):
    """(the header lines, the first Content-Length value or _ABSENT, whether a Date is set).

    Header lines are latin-1 (PEP 3333). A name that is not a token, or a
    CR, LF or NUL in a value, would let text an app copied from a request
    forge header lines or a whole response: ValueError instead.
    """
    try:
        encoded = "".join([f"{name}: {value}\r\n" for name, value in headers]).encode("latin-1")
    except UnicodeEncodeError:
        _raise_not_latin1(headers)
        raise
    lines = len(headers)
    if (encoded.count(b"\n") != lines or encoded.count(b"\r") != lines
            or b"\0" in encoded):
        raise ValueError("response header name or value not allowed in HTTP")
    length = _ABSENT
    has_date = False
    kind_of = name_kind
    for name, value in headers:
        kind = kind_of(name)
        if kind is _CONTENT_LENGTH:
            if length is _ABSENT:
                length = value  # any value: one that is not a number is a ValueError
        elif kind is _DATE:
            has_date = True
    return encoded, length, has_date


def _raise_not_latin1(headers):
    """The error that names which part of which header is not latin-1, as eventlet.wsgi words it."""
    for name, value in headers:
        for text, rule in ((name, "WSGI header names must be latin-1 (PEP 3333)."),
                           (value, "WSGI response header values must be latin-1 (PEP 3333).")):
            try:
                str(text).encode("latin-1")
            except UnicodeEncodeError as error:
                raise UnicodeEncodeError(error.encoding, error.object, error.start,
                                         error.end, rule) from None


# No Content-Length among an app's headers (None is a value: not a number).
_ABSENT = object()
# What a response header name is to response_head(), by the name as the app gave it.
_CONTENT_LENGTH = "content-length"
_DATE = "date"
_OTHER = ""
_KINDS = {_CONTENT_LENGTH: _CONTENT_LENGTH, _DATE: _DATE}


def _kind_of(name):
    if not isinstance(name, str) or not _TOKEN_RE.fullmatch(name):
        raise ValueError("response header name or value not allowed in HTTP")
    return _KINDS.get(name.lower(), _OTHER)


name_kind = memo.BoundedMemo(_kind_of, MAX_REMEMBERED_NAMES)


def _content_length(value):
    value = str(value)
    if not value.isdigit():
        raise ValueError(f"response Content-Length not a number: {value!r}")
    return int(value)


def _without_framing(headers):
    return [(name, value) for name, value in headers
            if not (isinstance(name, str) and name.lower() in _FRAMING_NAMES)]


_FRAMING_NAMES = frozenset(("content-length", "transfer-encoding"))


def _status_line(status):
    if not isinstance(status, str) or not _STATUS_RE.fullmatch(status):
        raise ValueError(f"response status not allowed in HTTP: {status!r}")
    return ("%s %s\r\n" % (VERSION, status)).encode()


status_line = memo.BoundedMemo(_status_line, MAX_REMEMBERED_STATUSES)


def _date_line(now):
    return b"Date: %s\r\n" % wsgiref.handlers.format_date_time(now).encode()


date_line = memo.OncePerInterval(_date_line)


def continue_response(headers=None):
    """The interim response to `Expect: 100-continue`, with the headers an app set for it."""
    lines = [b"HTTP/1.1 100 Continue\r\n"]
    lines += [("%s: %s\r\n" % header).encode() for header in headers or ()]
    lines.append(b"\r\n")
    return b"".join(lines)


def error_response(error):
    """The bytes that answer an HttpError (service.http.head); the connection closes after them."""
    body = (error.message + "\n").encode("ascii")
    return (f"HTTP/1.1 {error.status} {error.reason}\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode("ascii") + body
