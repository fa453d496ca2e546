"""service.worker.threads.sockets: a client socket that calls first and waits only when it must."""

import socket
import threading
import time

import pytest

from service.worker.threads import sockets


@pytest.fixture
def pair():
    server, client = socket.socketpair()
    yield sockets.ClientSocket(server, 5), client
    server.close()
    client.close()


def test_recv_gives_what_came_and_waits_for_more_up_to_the_timeout(pair):
    sock, client = pair
    client.sendall(b"abc")
    assert sock.recv(10) == b"abc"
    threading.Timer(0.1, client.sendall, args=(b"later",)).start()
    assert sock.recv(10) == b"later"
    sock.settimeout(0.1)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        sock.recv(10)
    assert 0.05 < time.monotonic() - started < 2


def test_recv_now_never_waits(pair):
    sock, client = pair
    with pytest.raises(BlockingIOError):
        sock.recv_now(10)
    client.sendall(b"x")
    assert sock.recv_now(10) == b"x"
    client.close()
    assert sock.recv_now(10) == b""  # the end of the stream


def test_sendall_sends_everything_even_past_the_socket_buffer(pair):
    sock, client = pair
    data = bytes(range(256)) * 20000  # 5 MB: far more than the kernel holds
    received = bytearray()

    def read_all():
        while len(received) < len(data):
            received.extend(client.recv(1 << 16))

    reader = threading.Thread(target=read_all)
    reader.start()
    sock.sendall(data)
    reader.join(10)
    assert bytes(received) == data


def test_sendall_times_out_when_the_client_reads_nothing(pair):
    sock, client = pair
    sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sock.sendall(b"x" * (50 << 20))


def test_no_timeout_waits_as_long_as_it_takes(pair):
    sock, client = pair
    sock.settimeout(None)
    assert sock.gettimeout() is None
    threading.Timer(0.2, client.sendall, args=(b"eventually",)).start()
    assert sock.recv(20) == b"eventually"


def test_a_tls_connection_keeps_its_ssl_socket():
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server, client = socket.socketpair()
    try:
        prepared = sockets.prepared(server, context, 5)
        assert isinstance(prepared, ssl.SSLSocket) and prepared.gettimeout() == 5
    finally:
        server.close()
        client.close()
