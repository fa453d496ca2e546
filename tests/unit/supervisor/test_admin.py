"""The admin endpoint's responder on a real selector and real sockets: answers, and clients that cannot hold the loop."""

import selectors
import socket
import threading
import time

import pytest

from service.errors import ConfigError
from service.supervisor import admin
from service.supervisor.plan import MetricsSettings


class Pages:
    def get(self, path):
        if path == "/boom":
            raise RuntimeError("rendering failed")
        return 200, "text/plain", f"page {path}\n".encode()


class Loop:
    """The supervisor's loop, reduced to the admin endpoint: select, call back, expire."""

    def __init__(self):
        self.selector = selectors.DefaultSelector()
        sock = admin.bind(MetricsSettings("127.0.0.1", 0))
        self.address = sock.getsockname()
        self.server = admin.AdminServer(sock, self.selector, Pages())
        self._stop = False
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self):
        while not self._stop:
            for key, _ in self.selector.select(0.02):
                key.data()
            self.server.expire(time.monotonic())

    def close(self):
        self._stop = True
        self._thread.join()
        self.server.close()
        self.selector.close()

    def request(self, data, timeout=5):
        with socket.create_connection(self.address, timeout=timeout) as sock:
            sock.sendall(data)
            return receive_all(sock)


def receive_all(sock):
    """Everything until the endpoint closes (a reset, when it closed unread data, ends it too)."""
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except ConnectionResetError:
        pass
    return answer


@pytest.fixture
def loop():
    running = Loop()
    yield running
    running.close()


def test_a_get_is_answered_with_the_page_and_the_connection_closed(loop):
    answer = loop.request(b"GET /metrics?name=x HTTP/1.1\r\nHost: a\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Length: 14\r\n" in answer and b"Connection: close\r\n" in answer
    assert answer.endswith(b"\r\n\r\npage /metrics\n")


def test_head_has_no_body_and_other_methods_are_405(loop):
    answer = loop.request(b"HEAD /healthz HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.endswith(b"\r\n\r\n")
    answer = loop.request(b"POST /metrics HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 405 ") and b"Allow: GET, HEAD\r\n" in answer


def test_bad_and_oversized_requests_and_a_failing_page_are_answered(loop):
    assert loop.request(b"nonsense\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    big = b"GET / HTTP/1.1\r\nX: " + b"x" * (admin.MAX_HEAD_BYTES + 10)
    assert loop.request(big).startswith(b"HTTP/1.1 431 ")
    assert loop.request(b"GET /boom HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 500 ")


def test_a_client_that_stalls_holds_nothing_but_its_slot_until_its_deadline(loop, monkeypatch):
    monkeypatch.setattr(admin, "CONNECTION_SECONDS", 0.5)
    with socket.create_connection(loop.address, timeout=5) as stalled:
        stalled.sendall(b"GET /metr")
        started = time.monotonic()
        assert loop.request(b"GET /other HTTP/1.1\r\n\r\n").endswith(b"page /other\n")
        # Dropped at its deadline, unanswered.
        assert receive_all(stalled) == b""
        assert time.monotonic() - started < 5


def test_clients_past_the_limit_are_closed_and_the_endpoint_serves_once_they_go(loop):
    idle = [socket.create_connection(loop.address, timeout=5)
            for _ in range(admin.MAX_CONNECTIONS)]
    try:
        with socket.create_connection(loop.address, timeout=5) as extra:
            extra.sendall(b"GET / HTTP/1.1\r\n\r\n")
            assert receive_all(extra) == b""
    finally:
        for sock in idle:
            sock.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        answer = loop.request(b"GET /again HTTP/1.1\r\n\r\n")
        if answer:
            break
    assert answer.endswith(b"page /again\n")


def test_a_port_in_use_is_a_configuration_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"metrics_port: cannot listen on "
                                              f"127.0.0.1:{port}: address already in use"):
            admin.bind(MetricsSettings("127.0.0.1", port))
