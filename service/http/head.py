"""The HTTP/1.1 request head and chunked framing, parsed strictly (RFC 9110, RFC 9112), by the grammar of service.http.grammar.

Pure: bytes in, a RequestHead or an HttpError out. No sockets and no
eventlet, so every rule here is tested without a server.

Rule 1: framing (where a request's body ends) is decided here and only
here. Two parsers reading one message's length differently is how requests
are smuggled, so any doubt is an error, never a guess.
Rule 2: every error carries the status a server should answer with, and a
message that is fixed text written here: never bytes the client sent.
Rule 3: limits are checked as lines arrive (read_field_lines), so a client
can never make the server hold more than the limits allow.
"""

import dataclasses
import http
import io

from service.http.grammar import (
    ABSOLUTE_FORM_RE, CHUNK_DATA_END, CHUNK_LINE_RE, CONTENT_LENGTH_RE,
    FIELD_LINE_RE, HOST_RE, REQUEST_LINE_RE, SUPPORTED_VERSIONS)

# --- Limits -----------------------------------------------------------------

# eventlet.wsgi's url_length_limit: the longest request line, in bytes.
MAX_REQUEST_LINE_BYTES = 8192
# A whole head (field lines), and how many field lines it may hold.
MAX_HEAD_BYTES = 64 * 1024
MAX_FIELDS = 100
# RFC 9112 2.2 asks servers to skip at least one empty line before a request.
MAX_EMPTY_LINES_BEFORE_REQUEST = 2
# A chunk-size line, extensions included.
MAX_CHUNK_LINE_BYTES = 4096


@dataclasses.dataclass(frozen=True)
class HeadLimits:
    max_header_line: int = 16384   # one field line, CRLF included
    max_head_bytes: int = MAX_HEAD_BYTES
    max_fields: int = MAX_FIELDS

    @classmethod
    def for_max_header_line(cls, max_header_line):
        # An operator who raises max_header_line past the head limit means
        # such a line to fit, with room for an ordinary head beside it.
        return cls(max_header_line,
                   max(MAX_HEAD_BYTES, max_header_line + MAX_HEAD_BYTES // 4))


# Trailer fields after a chunked body are read and thrown away (as eventlet
# always did), so they get a small budget of their own.
TRAILER_LIMITS = HeadLimits(max_header_line=8192, max_head_bytes=16384,
                            max_fields=32)


# --- Errors -----------------------------------------------------------------

class HttpError(Exception):
    """A request this server will not serve: answer `status`, then close.

    `message` is fixed text from this module, safe to send to the client.
    """
    status = 400

    def __init__(self, message):
        super().__init__(message)
        self.message = message

    @property
    def reason(self):
        return http.HTTPStatus(self.status).phrase


class BadRequest(HttpError):
    status = 400


class RequestTimeout(HttpError):
    status = 408


class ContentTooLarge(HttpError):
    # RFC 9110 15.5.14; http.HTTPStatus gives it its older name.
    status = 413


class UriTooLong(HttpError):
    status = 414


class FieldsTooLarge(HttpError):
    status = 431


class CodingNotImplemented(HttpError):
    status = 501


class VersionNotSupported(HttpError):
    status = 505


# --- The request head -------------------------------------------------------

@dataclasses.dataclass(slots=True)
class RequestLine:
    method: str
    target: str
    version: str
    text: str      # the line without CRLF, for the access log


@dataclasses.dataclass(slots=True)
class RequestHead:
    method: str
    target: str           # origin-form (absolute-form reduced to it) or "*"
    version: str          # one of SUPPORTED_VERSIONS
    request_line: str
    fields: list          # [(name as sent, value)], in order
    first: dict           # lower-case name -> its first value
    content_length: int   # None when absent
    chunked: bool
    keep_alive: bool

    def get(self, name, default=None):
        return self.first.get(name.lower(), default)


def read_field_lines(readline, limits):
    """The field lines of a head, up to the empty line that ends it, read within limits.

    `readline` is a binary file's: it gets the most it may return, and a
    line that long is over the limit.
    """
    line_limit = limits.max_header_line + 1
    return take_field_lines(iter(lambda: readline(line_limit), None), limits)


def take_field_lines(lines, limits):
    """The field lines from `lines` (an iterator) up to the empty line, checked against limits.

    Lines longer than the limit may come cut to it (as readline cuts them)
    or whole: either is over the limit.
    """
    taken = []
    room = limits.max_head_bytes
    line_limit = limits.max_header_line + 1
    max_fields = limits.max_fields
    for line in lines:
        if line == b"\r\n":
            return taken
        if len(line) >= line_limit:
            raise FieldsTooLarge("Request header field too large")
        if line[-1:] != b"\n":
            raise BadRequest("Incomplete request header")
        room -= len(line)
        if room < 0 or len(taken) >= max_fields:
            raise FieldsTooLarge("Request header fields too large")
        taken.append(line)
    raise BadRequest("Incomplete request header")


def parse_whole_head(head, max_request_line=MAX_REQUEST_LINE_BYTES,
                     limits=HeadLimits()):
    """A head that arrived whole, up to its empty line: the RequestHead reading it line by line gives.

    None when that reading could differ: a line ending in LF or CR alone,
    or an empty line before the request line. Such a head is read line by
    line, with the rules for those.
    """
    line_ends = head.count(b"\r\n")
    if (head.count(b"\n") != line_ends or head.count(b"\r") != line_ends
            or head.startswith(b"\r\n")):
        return None
    lines = head.splitlines(keepends=True)
    request_line = parse_request_line(lines[0], max_request_line)
    return parse_request_head(request_line,
                              take_field_lines(iter(lines[1:]), limits))


def parse_request_line(line, max_length=MAX_REQUEST_LINE_BYTES):
    """The request line as readline(max_length) returned it, CRLF included."""
    if len(line) >= max_length:
        raise UriTooLong("Request line too long")
    text = line.decode("latin-1")
    match = REQUEST_LINE_RE.fullmatch(text)
    if match is None:
        raise BadRequest("Malformed request line")
    method, target, version = match.groups()
    if version not in SUPPORTED_VERSIONS:
        raise VersionNotSupported("HTTP version not supported")
    return RequestLine(method, target, version, text[:-2])


def parse_request_head(request_line, field_lines):
    """The head of a request whose request line is parsed and field lines collected."""
    fields, first, framing = parse_fields(field_lines)
    version = request_line.version
    target, authority = _target_and_authority(request_line.method,
                                              request_line.target)
    _check_hosts(framing.get("host", ()), version)
    if authority is not None:
        fields, first = _with_host(fields, first, authority)
    content_length, chunked = _body_framing(
        framing.get("content-length", ()), framing.get("transfer-encoding", ()),
        version)
    return RequestHead(
        method=request_line.method, target=target, version=version,
        request_line=request_line.text, fields=fields, first=first,
        content_length=content_length, chunked=chunked,
        keep_alive=_keeps_alive(framing.get("connection", ()), version))


def parse_request(data, limits=HeadLimits(),
                  max_request_line=MAX_REQUEST_LINE_BYTES):
    """A head given as bytes, read line by line as a server reads it from a socket."""
    return _read_request(io.BytesIO(data).readline, limits, max_request_line)


def is_decided(data, limits=HeadLimits(), max_request_line=MAX_REQUEST_LINE_BYTES):
    """Whether reading a head line by line from `data` ends, in a head or an HttpError, before `data` does.

    A server that must not wait in the middle of a head (the threads
    model's request threads) reads it only once this is true: then the
    same reading gives the same answer, and never needs a byte more.
    """
    readline = _BufferedLines(data).readline
    try:
        _read_request(readline, limits, max_request_line)
    except _MoreNeeded:
        return False
    except HttpError:
        pass
    return True


def _read_request(readline, limits, max_request_line):
    line = readline(max_request_line)
    for _ in range(MAX_EMPTY_LINES_BEFORE_REQUEST):
        if line != b"\r\n":
            break
        line = readline(max_request_line)
    request_line = parse_request_line(line, max_request_line)
    return parse_request_head(request_line, read_field_lines(readline, limits))


class _MoreNeeded(Exception):
    """A line of the head goes on past the bytes at hand."""


class _BufferedLines:
    """readline(limit) over bytes that may end in the middle of a line: _MoreNeeded there."""

    __slots__ = ("_stream",)

    def __init__(self, data):
        self._stream = io.BytesIO(data)

    def readline(self, limit=-1):
        line = self._stream.readline(limit)
        if line[-1:] != b"\n" and (limit is None or limit < 0 or len(line) < limit):
            raise _MoreNeeded()
        return line


def parse_fields(lines):
    """(fields, first value by name, all values of the framing fields by name) of field lines."""
    fields = []
    first = {}
    framing = {}
    match_line = FIELD_LINE_RE.fullmatch
    for line in lines:
        match = match_line(line.decode("latin-1"))
        if match is None:
            raise BadRequest("Malformed request header field")
        name, value = match.groups()
        value = value.rstrip(" \t")
        fields.append((name, value))
        key = name.lower()
        if key not in first:
            first[key] = value
        if key in _FRAMING_FIELDS:
            framing.setdefault(key, []).append(value)
    return fields, first, framing


# The fields that decide the framing of a message and its connection.
_FRAMING_FIELDS = frozenset(
    ("host", "content-length", "transfer-encoding", "connection"))


def _target_and_authority(method, target):
    """(target in origin-form or "*", the authority of an absolute-form target or None)."""
    if target.startswith("/"):
        return _origin_form(target), None
    if target == "*" and method == "OPTIONS":
        # RFC 9112 3.2.4: asterisk-form is for OPTIONS only.
        return target, None
    match = ABSOLUTE_FORM_RE.fullmatch(target)
    if match is None or not HOST_RE.fullmatch(match.group(1)):
        raise BadRequest("Malformed request target")
    authority, rest = match.groups()
    return _origin_form("/" + rest), authority


def _origin_form(target):
    # As http.server does (gh-87389): "//x" would read as a network-path
    # reference to host "x" to anything that builds a URL from the path.
    if target.startswith("//"):
        return "/" + target.lstrip("/")
    return target


def _with_host(fields, first, authority):
    # RFC 9112 3.2.2: the authority of an absolute-form target replaces the
    # Host field.
    fields = [(name, value) for name, value in fields if name.lower() != "host"]
    fields.append(("Host", authority))
    return fields, dict(first, host=authority)


def _check_hosts(hosts, version):
    # RFC 9112 3.2: an HTTP/1.1 request has exactly one Host field with a
    # valid value; HTTP/1.0 clients may leave it out.
    if len(hosts) > 1:
        raise BadRequest("More than one Host header")
    if not hosts and version == "HTTP/1.1":
        raise BadRequest("Missing Host header")
    if hosts and not HOST_RE.fullmatch(hosts[0]):
        raise BadRequest("Invalid Host header")


def _body_framing(lengths, codings, version):
    """(Content-Length or None, chunked) of a request (RFC 9112 6.1 to 6.3)."""
    if codings:
        if lengths:
            raise BadRequest("Both Transfer-Encoding and Content-Length")
        if version == "HTTP/1.0":
            # RFC 9112 6.1: a 1.0 recipient may not understand it; a proxy
            # in front might have read the body another way.
            raise BadRequest("Transfer-Encoding in an HTTP/1.0 request")
        _check_chunked(codings)
        return None, True
    return _content_length(lengths), False


def _check_chunked(values):
    codings = [coding.strip(" \t").lower()
               for value in values for coding in value.split(",")]
    if codings[-1] != "chunked" or "" in codings or codings.count("chunked") > 1:
        # RFC 9112 6.3: without chunked last, and only once, the body length
        # of a request cannot be known.
        raise BadRequest("Transfer-Encoding not ending in chunked")
    if len(codings) > 1:
        raise CodingNotImplemented("Transfer-Encoding not supported")


def _content_length(values):
    if not values:
        return None
    # RFC 9110 8.6: identical copies may be folded into one; different ones
    # mean two parsers could frame the body differently.
    if len(set(values)) > 1 or not CONTENT_LENGTH_RE.fullmatch(values[0]):
        raise BadRequest("Invalid Content-Length")
    return int(values[0])


def _keeps_alive(values, version):
    """Whether the client keeps the connection open after this request (RFC 9112 9.3)."""
    options = {option.strip(" \t").lower()
               for value in values for option in value.split(",")}
    if "close" in options:
        return False
    return version == "HTTP/1.1" or "keep-alive" in options


# --- Chunked bodies ---------------------------------------------------------

def parse_chunk_line(line):
    """A chunk's size, from its size line as readline(MAX_CHUNK_LINE_BYTES + 1) returned it."""
    if len(line) > MAX_CHUNK_LINE_BYTES:
        raise BadRequest("Invalid chunked body")
    match = CHUNK_LINE_RE.fullmatch(line)
    if match is None:
        raise BadRequest("Invalid chunked body")
    return int(match.group(1), 16)


def check_chunk_data_end(data):
    if data != CHUNK_DATA_END:
        raise BadRequest("Invalid chunked body")


def check_trailer_lines(lines):
    """Trailer fields are thrown away, but must still be field lines (RFC 9112 7.1.2)."""
    for line in lines:
        if FIELD_LINE_RE.fullmatch(line.decode("latin-1")) is None:
            raise BadRequest("Invalid chunked body")
