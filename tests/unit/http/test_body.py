"""service.http.body: body framing without sockets, fed as a connection would feed it, in any split."""

import io

import pytest

from service.http import body as framing
from service.http import head as http11


def read_all(body_framing, data, piece=None, most=1 << 30, line=False):
    """The body bytes a reader gets from `data` arriving `piece` bytes at a time, and what it left unread.

    It reads as service.worker.request_body does: it hands over what has
    arrived, receives more only when the framing needs it, and answers the
    framing's incomplete() when the stream ends first.
    """
    arrivals = [data[i:i + piece] for i in range(0, len(data), piece)] if piece else [data]
    buffer, start, parts = b"", 0, []
    while most and not body_framing.ended:
        consumed, body = body_framing.received(buffer, start, most, line)
        start += consumed
        parts.append(body)
        most -= len(body)
        if line and body.endswith(b"\n"):
            break
        if not consumed:
            if not arrivals:
                raise body_framing.incomplete()
            buffer, start = buffer[start:] + arrivals.pop(0), 0
    return b"".join(parts), buffer[start:] + b"".join(arrivals)


def plain_chunked(data):
    """The body of a chunked `data`, read line by line with service.http.head's functions (the plain path)."""
    stream = io.BytesIO(data)
    parts = []
    while True:
        size = http11.parse_chunk_line(stream.readline(http11.MAX_CHUNK_LINE_BYTES + 1))
        if not size:
            break
        chunk = stream.read(size)
        if len(chunk) < size:
            raise http11.BadRequest("Incomplete request body")
        parts.append(chunk)
        http11.check_chunk_data_end(stream.read(2))
    http11.check_trailer_lines(http11.read_field_lines(stream.readline, http11.TRAILER_LIMITS))
    return b"".join(parts), stream.read()


def outcome(read, *args):
    try:
        return read(*args)
    except http11.HttpError as error:
        return type(error), error.status, error.message


NEXT = b"GET /next HTTP/1.1\r\n\r\n"

CHUNKED = {
    "one chunk": b"5\r\nhello\r\n0\r\n\r\n",
    "two chunks": b"5\r\nhello\r\n1\r\n!\r\n0\r\n\r\n",
    "extensions": b'5;a=b ; c="d e"\r\nhello\r\n0 ; last\r\n\r\n',
    "upper-case hex": b"A\r\n0123456789\r\n0\r\n\r\n",
    "trailers": b"5\r\nhello\r\n0\r\nExpires: never\r\nX-A: b\r\n\r\n",
    "lines in data": b"8\r\nab\ncd\nef\r\n0\r\n\r\n",
    "empty body": b"0\r\n\r\n",
    # Broken framing: each must give the plain path's error.
    "hex prefix": b"0x5\r\nhello\r\n0\r\n\r\n",
    "data longer than size": b"5\r\nhelloXX\r\n0\r\n\r\n",
    "lf only after data": b"5\r\nhello\n0\r\n\r\n",
    "bad trailer": b"5\r\nhello\r\n0\r\nnot a field\r\n\r\n",
    "bad trailer then a long one": b"0\r\nnot a field\r\nA: " + b"b" * 9000 + b"\r\n\r\n",
    "long trailer": b"0\r\nA: " + b"b" * 9000 + b"\r\n\r\n",
    "many trailers": b"0\r\n" + b"A: b\r\n" * 40 + b"\r\n",
    "too long size line": b"5;" + b"e" * 5000 + b"\r\nhello\r\n0\r\n\r\n",
    "huge size": b"F" * 40 + b"\r\nhello\r\n0\r\n\r\n",
    # Cut short by the end of the stream.
    "cut in size line": b"5\r\nhello\r\n1",
    "cut in data": b"a\r\nhello",
    "cut before data end": b"5\r\nhello\r",
    "cut in trailers": b"5\r\nhello\r\n0\r\nA: b",
    "nothing": b"",
}


@pytest.mark.parametrize("data", CHUNKED.values(), ids=CHUNKED)
@pytest.mark.parametrize("piece", [None, 1, 2, 7])
def test_chunked_body_is_what_the_line_reader_reads_in_any_split(data, piece):
    expected = outcome(plain_chunked, data + NEXT)
    assert outcome(read_all, framing.ChunkedBody(), data + NEXT, piece) == expected


def test_chunked_errors_carry_their_status():
    assert outcome(read_all, framing.ChunkedBody(), CHUNKED["hex prefix"])[1] == 400
    assert outcome(read_all, framing.ChunkedBody(), CHUNKED["long trailer"])[1] == 431
    assert outcome(read_all, framing.ChunkedBody(), CHUNKED["cut in data"])[:2] == (
        http11.BadRequest, 400)


def test_chunked_body_stops_at_most_and_leaves_the_chunk_end_for_the_next_read():
    body = framing.ChunkedBody()
    data = b"5\r\nhello\r\n0\r\n\r\n"
    consumed, piece = body.received(data, 0, 5)
    assert piece == b"hello" and consumed == 8 and not body.ended
    consumed, piece = body.received(data, 8, 5)
    assert piece == b"" and consumed == len(data) - 8 and body.ended


def test_chunked_line_reads_stop_after_a_newline():
    data = CHUNKED["lines in data"]
    body = framing.ChunkedBody()
    assert read_all(body, data, line=True)[0] == b"ab\n"


def test_fixed_length_body_takes_its_length_and_not_a_byte_more():
    assert read_all(framing.FixedLengthBody(5), b"hello" + NEXT, 2) == (b"hello", NEXT)
    assert read_all(framing.FixedLengthBody(0), NEXT) == (b"", NEXT)


def test_fixed_length_body_cut_short_is_incomplete():
    with pytest.raises(http11.BadRequest, match="Incomplete request body"):
        read_all(framing.FixedLengthBody(10), b"hello", 2)


def test_fixed_length_reads_by_most_and_by_line():
    body = framing.FixedLengthBody(8)
    data = b"ab\ncd\nef"
    assert body.received(data, 0, 2) == (2, b"ab")
    assert body.received(data, 2, 100, line=True) == (1, b"\n")
    assert body.received(data, 3, 100, line=True) == (3, b"cd\n")
    assert body.received(data, 6, 100, line=True) == (2, b"ef")
    assert body.ended
