"""service.worker.socket_reader: a connection's buffered reads, against a binary file's."""

import io
import itertools
import random
import socket

from service.worker.socket_reader import SocketReader
from service.worker.threads import sockets


def reader_of(data, sizes=(1, 2, 3)):
    """A reader of `data`, received a few bytes at a time so that reads cross receives."""
    stream = io.BytesIO(data)
    sizes = itertools.cycle(sizes)

    class Source:
        @staticmethod
        def recv(size):
            return stream.read(min(size, next(sizes)))

    return SocketReader(Source, receive_now=None)


def test_readline_spans_receives_and_keeps_the_rest():
    reader = reader_of(b"abc\ndef\n")
    assert reader.readline() == b"abc\n"
    assert reader.readline() == b"def\n"
    assert reader.readline() == b""


def test_readline_stops_at_its_limit():
    reader = reader_of(b"abcdef\n")
    assert reader.readline(4) == b"abcd"
    assert reader.readline(10) == b"ef\n"


def test_readline_returns_a_partial_line_at_the_end():
    assert reader_of(b"abc").readline(10) == b"abc"


def unread_view(reader):
    data, start = reader.view()
    return data[start:]


def test_whole_head_is_found_in_the_buffer_only():
    reader = reader_of(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody", sizes=(100,))
    assert reader.whole_head(1000) is None  # nothing received yet
    assert reader.receive()
    head = reader.whole_head(1000)
    assert head == b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    assert reader.whole_head(10) is None    # not within the bound
    reader.skip(len(head))
    assert reader.buffered() == 4 and reader.unread() == b"body"
    assert unread_view(reader) == b"body"


def test_lines_agree_with_a_binary_file():
    rng = random.Random(5)
    for _ in range(3000):
        data = bytes(rng.choice(b"ab\r\n") for _ in range(rng.randint(0, 40)))
        sizes = [rng.randint(1, 7) for _ in range(5)]
        reader, file = reader_of(data, sizes), io.BytesIO(data)
        for _ in range(10):
            size = rng.choice((None, -1, 0, 1, 3, 8, 50))
            assert reader.readline(size) == file.readline(size), (data, sizes)
            assert reader.unread() == data[file.tell():][:reader.buffered()]
            assert unread_view(reader) == reader.unread()


class Green:
    """What the reader uses of eventlet's GreenSocket: recv, and the
    non-blocking socket underneath as .fd."""

    def __init__(self, sock):
        sock.setblocking(False)
        self.fd = sock
        self.recv = sock.recv


def socket_as_served(model, sock):
    """`sock` as a connection of `model` is served on: green under eventlet, a request thread's ClientSocket under threads."""
    if model.name == "eventlet":
        return Green(sock)
    return sockets.prepared(sock, None, 900)


def test_receive_now_never_waits(model):
    server, client = socket.socketpair()
    try:
        reader = SocketReader(socket_as_served(model, server), model.receive_now)
        assert not reader.receive_now() and reader.buffered() == 0
        client.sendall(b"GET")
        assert reader.receive_now() and unread_view(reader) == b"GET"
        reader.skip(3)
        client.close()
        assert reader.receive_now()  # the end of the stream, for the next read
        assert not reader.receive()
    finally:
        server.close()
        client.close()
