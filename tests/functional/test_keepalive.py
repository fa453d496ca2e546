"""HTTP/1.0 and HTTP/1.1 connection persistence, as clients of each version expect it."""

import socket

import pytest

from tests.functional.daemon import read_until_close, write_config

PASTE = """
    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory
"""


@pytest.fixture
def daemon(tmp_path, daemons):
    return daemons(tmp_path, "--config-file",
                   write_config(tmp_path, {"hello": {}}, PASTE))


def exchange(sock, request):
    """Send one request; return (head, body) of its response, read by Content-Length."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    while len(body) < length:
        body += sock.recv(4096)
    return head, body


def test_http_1_0_keep_alive_when_asked(daemon):
    with socket.create_connection(daemon.address("hello"), timeout=10) as sock:
        for _ in range(3):
            head, body = exchange(sock, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            assert b"Connection: keep-alive" in head
            assert body == b"hello\n"


def test_http_1_0_closes_by_default(daemon):
    with socket.create_connection(daemon.address("hello"), timeout=10) as sock:
        head, _ = exchange(sock, b"GET / HTTP/1.0\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert sock.recv(4096) == b""


def test_http_1_1_keeps_alive_until_connection_close(daemon):
    with socket.create_connection(daemon.address("hello"), timeout=10) as sock:
        for _ in range(3):
            head, _ = exchange(sock, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
        head, _ = exchange(sock, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert b"Connection: close" in head
        assert sock.recv(4096) == b""


def test_pipelined_requests_are_answered_in_order(daemon):
    with socket.create_connection(daemon.address("hello"), timeout=10) as sock:
        sock.sendall(b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\n" * 2
                     + b"GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = read_until_close(sock)
    assert data.count(b"HTTP/1.1 200 OK") == 3


def test_wsgi_keep_alive_false_closes_every_connection(tmp_path, daemons):
    daemon = daemons(tmp_path, "--config-file", write_config(
        tmp_path, {"hello": {}}, PASTE, defaults={"wsgi_keep_alive": "false"}))
    with socket.create_connection(daemon.address("hello"), timeout=10) as sock:
        head, _ = exchange(sock, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"Connection: close" in head
        assert sock.recv(4096) == b""
