"""Where a request body ends (RFC 9112 6.3, 7.1): fixed-length and chunked framing, as small state machines.

Pure: bytes in; body bytes, the end, or an HttpError with its status out.
No sockets: service.worker.request_body feeds them from the connection, and
a reader on native threads could feed them the same way.

Both framings keep one contract, as waitress's receivers do:

    received(data, start, most, line=False) -> (consumed, body)

They read `data` from `start`, and return how many of its bytes they used
and the body bytes among those: at most `most`, and with `line`, none past
the first newline. (0, b"") means they need bytes that `data` does not hold
yet. `ended` is true once the body is complete, and `incomplete()` is the
error to answer when the client's stream ends before that.

Rule 1: a framing never consumes a byte past its body (the next request's
bytes stay where they are) nor a body byte past `most`.
Rule 2: what ends a piece of body is read lazily. A read that has its body
bytes returns them without waiting for the CRLF after a chunk's data or
for the next chunk's size line: the next read checks those.
Rule 3: the errors, and which one wins when several apply, are those the
line-by-line reader of service.http.head gives (its limits, its messages).
"""

from service.http.grammar import FIELD_LINE_RE
from service.http.head import (
    MAX_CHUNK_LINE_BYTES, TRAILER_LIMITS, BadRequest, FieldsTooLarge,
    check_chunk_data_end, parse_chunk_line)


class FixedLengthBody:
    """A body of Content-Length bytes (RFC 9112 6.2); a request without one has a body of 0 bytes (6.3)."""

    __slots__ = ("left",)

    def __init__(self, length):
        self.left = length

    @property
    def ended(self):
        return not self.left

    def received(self, data, start, most, line=False):
        body = _piece(data, start, min(self.left, most), line)
        self.left -= len(body)
        return len(body), body

    @staticmethod
    def incomplete():
        return BadRequest("Incomplete request body")


class ChunkedBody:
    """A chunked body (RFC 9112 7.1): chunks of data, a last chunk of size 0, trailer fields, an empty line.

    Its state is the function that reads what comes next: a size line,
    chunk data, the CRLF after it, a trailer line; None once the body has
    ended.
    """

    __slots__ = ("_next", "_chunk_left", "_trailer_room", "_trailer_count",
                 "_trailer_malformed")

    def __init__(self):
        self._next = ChunkedBody._size_line
        self._chunk_left = 0
        self._trailer_room = TRAILER_LIMITS.max_head_bytes
        self._trailer_count = 0
        self._trailer_malformed = False

    @property
    def ended(self):
        return self._next is None

    def received(self, data, start, most, line=False):
        position = start
        while self._next is not None:
            if self._next is ChunkedBody._data:
                used, body = self._data(data, position, most, line)
                return position + used - start, body
            used = self._next(self, data, position)
            if not used:
                break
            position += used
        return position - start, b""

    def incomplete(self):
        # What the line-by-line reader met at the end of the stream: a cut
        # size line or chunk end is no chunk syntax, a cut trailer no field.
        if self._next is ChunkedBody._data:
            return BadRequest("Incomplete request body")
        if self._next is ChunkedBody._trailer_line:
            return BadRequest("Incomplete request header")
        return BadRequest("Invalid chunked body")

    def _size_line(self, data, start):
        line = _line(data, start, MAX_CHUNK_LINE_BYTES + 1)
        if line is None:
            return 0
        size = parse_chunk_line(line)
        if size:
            self._chunk_left = size
            self._next = ChunkedBody._data
        else:
            self._next = ChunkedBody._trailer_line
        return len(line)

    def _data(self, data, start, most, line):
        body = _piece(data, start, min(self._chunk_left, most), line)
        self._chunk_left -= len(body)
        if not self._chunk_left:
            self._next = ChunkedBody._data_end
        return len(body), body

    def _data_end(self, data, start):
        if len(data) - start < 2:
            return 0
        check_chunk_data_end(data[start:start + 2])
        self._next = ChunkedBody._size_line
        return 2

    def _trailer_line(self, data, start):
        limit = TRAILER_LIMITS.max_header_line + 1
        line = _line(data, start, limit)
        if line is None:
            return 0
        if line == b"\r\n":
            if self._trailer_malformed:
                raise BadRequest("Invalid chunked body")
            self._next = None
            return 2
        self._count_trailer_line(line, limit)
        return len(line)

    def _count_trailer_line(self, line, limit):
        """The checks of service.http.head.take_field_lines, then the field-line syntax (checked last there)."""
        if len(line) >= limit:
            raise FieldsTooLarge("Request header field too large")
        self._trailer_room -= len(line)
        if self._trailer_room < 0 or self._trailer_count >= TRAILER_LIMITS.max_fields:
            raise FieldsTooLarge("Request header fields too large")
        self._trailer_count += 1
        if FIELD_LINE_RE.fullmatch(line.decode("latin-1")) is None:
            self._trailer_malformed = True


def _piece(data, start, size, line):
    """Up to `size` bytes of `data` from `start`; with `line`, none past the first newline."""
    end = start + size
    if line:
        newline = data.find(b"\n", start, end)
        if newline >= 0:
            end = newline + 1
    return data[start:end]


def _line(data, start, limit):
    """The line at `start`, newline included, as readline(limit) would return it; None until it has all come."""
    newline = data.find(b"\n", start, start + limit)
    if newline >= 0:
        return data[start:newline + 1]
    if len(data) - start >= limit:
        return data[start:start + limit]  # too long: the caller refuses it
    return None
