"""service.reader: a connection's buffered reads, over a real socket pair."""

import socket
import threading

import pytest

from service.reader import SocketReader


@pytest.fixture
def pair():
    server, client = socket.socketpair()
    server.settimeout(5)
    yield server, client
    server.close()
    client.close()


def send_later(client, *pieces):
    """Send each piece in its own send, then close: reads cross receives."""
    def send():
        for piece in pieces:
            client.sendall(piece)
        client.shutdown(socket.SHUT_WR)
    thread = threading.Thread(target=send)
    thread.start()
    return thread


def test_readline_spans_receives_and_keeps_the_rest(pair):
    server, client = pair
    send_later(client, b"ab", b"c\nde", b"f\n")
    reader = SocketReader(server)
    assert reader.readline() == b"abc\n"
    assert reader.readline() == b"def\n"
    assert reader.readline() == b""


def test_readline_stops_at_its_limit(pair):
    server, client = pair
    send_later(client, b"abcdef\n")
    reader = SocketReader(server)
    assert reader.readline(4) == b"abcd"
    assert reader.readline(10) == b"ef\n"


def test_readline_returns_a_partial_line_at_the_end(pair):
    server, client = pair
    send_later(client, b"abc")
    assert SocketReader(server).readline(10) == b"abc"


def test_read_returns_all_asked_for_unless_the_stream_ends(pair):
    server, client = pair
    send_later(client, b"12", b"345", b"6789")
    reader = SocketReader(server)
    assert reader.read(4) == b"1234"
    assert reader.read(0) == b""
    assert reader.read(100) == b"56789"
    assert reader.read(1) == b""


def test_read_without_a_size_reads_to_the_end(pair):
    server, client = pair
    send_later(client, b"ab\n", b"cd")
    reader = SocketReader(server)
    assert reader.readline() == b"ab\n"
    assert reader.read() == b"cd"


def test_whole_head_is_found_in_the_buffer_only(pair):
    server, client = pair
    send_later(client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody")
    reader = SocketReader(server)
    assert reader.whole_head(1000) is None  # nothing received yet
    while reader.receive():
        pass
    head = reader.whole_head(1000)
    assert head == b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    assert reader.whole_head(10) is None    # not within the bound
    reader.skip(len(head))
    assert reader.buffered() == 4 and reader.read(4) == b"body"


class Green:
    """What the reader uses of eventlet's GreenSocket (not imported here: it
    would hook os.fork for every later test): recv, and the non-blocking
    socket underneath as .fd."""

    def __init__(self, sock):
        sock.setblocking(False)
        self.fd = sock
        self.recv = sock.recv


def test_receive_now_never_waits():
    server, client = socket.socketpair()
    try:
        reader = SocketReader(Green(server))
        assert not reader.receive_now() and reader.buffered() == 0
        client.sendall(b"GET")
        assert reader.receive_now() and reader.read(3) == b"GET"
        client.close()
        assert reader.receive_now()  # the end of the stream, for the next read
        assert reader.read(1) == b""
    finally:
        server.close()
        client.close()
