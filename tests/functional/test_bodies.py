"""Request bodies: max_request_body_size answers 413 and closes; a body the app leaves unread is thrown away only within a bound."""

import socket
import threading
import time

from tests.functional.daemon import read_until_close, write_config

PASTE = """
    [app:echo]
    paste.app_factory = tests.fixture_apps:echo_factory

    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory
"""
MIB = 1 << 20
PIECE = b"x" * 65536


def start(tmp_path, daemons, **options):
    conf = write_config(tmp_path, {"echo": options, "hello": options}, PASTE)
    return daemons(tmp_path, "--config-file", conf)


def head(request_line, *fields):
    return ("\r\n".join([request_line, "Host: x", *fields]) + "\r\n\r\n").encode()


class Sender(threading.Thread):
    """Sends `pieces` until they run out or the server stops taking them; `sent` counts the bytes."""

    def __init__(self, sock, pieces):
        super().__init__(daemon=True)
        self.sock = sock
        self.pieces = pieces
        self.sent = 0
        self.start()

    def run(self):
        try:
            for piece in self.pieces:
                self.sock.sendall(piece)
                self.sent += len(piece)
        except OSError:
            pass  # closed by the server


def answer_to(daemon, app, request_head, pieces):
    """(the server's answer up to its close, body bytes the client got out, seconds it took)."""
    with socket.create_connection(daemon.address(app), timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(request_head)
        sender = Sender(sock, pieces)
        answer = read_until_close(sock)
        took = time.monotonic() - started
        sender.join(10)
    return answer, sender.sent, took


def test_a_declared_body_past_the_limit_gets_413_before_the_app_runs(tmp_path, daemons):
    daemon = start(tmp_path, daemons, max_request_body_size=MIB)
    request = head("POST /big HTTP/1.1", f"Content-Length: {10 * MIB}")
    answer, sent, _ = answer_to(daemon, "echo", request, [PIECE] * 160)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]
    assert b"\r\nConnection: close\r\n" in answer and b"bytes:" not in answer
    assert sent < 10 * MIB
    daemon.wait_for_log(r'"POST /big HTTP/1\.1" status: 413')


def test_a_client_waiting_for_100_continue_gets_413_instead(tmp_path, daemons):
    daemon = start(tmp_path, daemons, max_request_body_size=MIB)
    request = head("PUT /big HTTP/1.1", f"Content-Length: {10 * MIB}",
                   "Expect: 100-continue")
    answer, _, _ = answer_to(daemon, "echo", request, [])
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]


def test_a_chunked_body_gets_413_as_soon_as_it_passes_the_limit(tmp_path, daemons):
    daemon = start(tmp_path, daemons, max_request_body_size=MIB)
    request = head("POST /chunked HTTP/1.1", "Transfer-Encoding: chunked")
    chunk = b"%x\r\n%s\r\n" % (len(PIECE), PIECE)
    answer, sent, _ = answer_to(daemon, "echo", request, [chunk] * 160)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:100]
    assert b"\r\nConnection: close\r\n" in answer
    assert sent < 10 * MIB  # refused on the way, not at the end


def test_bodies_within_the_limit_are_served(tmp_path, daemons):
    daemon = start(tmp_path, daemons, max_request_body_size=MIB)
    status, _, body = daemon.get("echo", "/", method="POST", body=b"a" * MIB)
    assert status == 200 and body.startswith(b"%d bytes: " % MIB)


def test_a_huge_body_the_app_ignores_is_not_read_the_connection_closes(tmp_path, daemons):
    daemon = start(tmp_path, daemons)
    request = head("POST /ignored HTTP/1.1", f"Content-Length: {10 << 30}")
    answer, _, took = answer_to(daemon, "hello", request, [PIECE] * 4)
    assert answer.startswith(b"HTTP/1.1 200 OK"), answer[:100]
    assert b"\r\nConnection: close\r\n" in answer and answer.endswith(b"hello\n")
    assert took < 5


def test_a_small_body_the_app_ignores_is_read_past_and_the_connection_kept(tmp_path, daemons):
    daemon = start(tmp_path, daemons)
    with socket.create_connection(daemon.address("hello"), timeout=10) as sock:
        sock.sendall(head("POST /ignored HTTP/1.1", "Content-Length: 1000") + b"b" * 1000
                     + head("GET /next HTTP/1.1", "Connection: close"))
        answer = read_until_close(sock)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
