"""Apps that answer awkwardly must never corrupt the connection or take the worker down."""

import base64
import hashlib
import os
import socket

import pytest

from tests.functional.daemon import write_config

PASTE = """
    [app:shapes]
    paste.app_factory = tests.response_apps:shapes_factory

    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory
"""


@pytest.fixture
def daemon(tmp_path, daemons):
    return daemons(tmp_path, "--config-file",
                   write_config(tmp_path, {"shapes": {}, "hello": {}}, PASTE))


def get(path, method=b"GET", close=False):
    return (method + b" " + path + b" HTTP/1.1\r\nHost: x\r\n"
            + (b"Connection: close\r\n" if close else b"") + b"\r\n")


def test_head_never_sends_the_body_an_app_returns(daemon):
    reply = daemon.raw("shapes", get(b"/head-with-body", b"HEAD") + get(b"/list", close=True))
    first, _, rest = reply.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200")
    assert rest.startswith(b"HTTP/1.1 200"), rest[:80]
    assert b"must not send" not in reply


def test_write_callable_body_is_terminated(daemon):
    reply = daemon.raw("shapes", get(b"/write-only") + get(b"/list", close=True))
    assert b"Transfer-Encoding: chunked" in reply
    assert b"\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200" in reply


def test_empty_write_does_not_end_a_chunked_body(daemon):
    reply = daemon.raw("shapes", get(b"/empty-write-between", close=True))
    assert reply.endswith(b"\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n")


@pytest.mark.parametrize("path", [
    b"/header-from-query?http://a%0d%0aSet-Cookie:%20evil=1",
    b"/header-from-query?http://a%0aSet-Cookie:%20evil=1",
    b"/status-from-query?200%20OK%0d%0aX-Evil:%201",
])
def test_crlf_from_an_app_never_forges_a_header(daemon, path):
    workers = daemon.workers()
    assert len(workers) == 2
    reply = daemon.raw("shapes", get(path, close=True))
    assert reply.startswith(b"HTTP/1.1 500")
    assert b"evil" not in reply.lower()
    assert daemon.workers() == workers


@pytest.mark.parametrize("name", [b"Bad%20Name", b"X-A:%20b", b"X%0d%0aSet-Cookie",
                                  b"", b"X-%C3%A9"])
def test_a_header_name_that_is_not_a_token_answers_500(daemon, name):
    # Twice: the second answer comes from what the worker remembers of names.
    for _ in range(2):
        reply = daemon.raw("shapes", get(b"/header-name-from-query?" + name, close=True))
        assert reply.startswith(b"HTTP/1.1 500"), reply[:80]
        assert b"named" not in reply
    reply = daemon.raw("shapes", get(b"/header-name-from-query?X-Good", close=True))
    assert reply.startswith(b"HTTP/1.1 200") and b"\r\nX-Good: v\r\n" in reply


def test_a_content_length_that_is_not_a_number_answers_500(daemon):
    # None included: it is no Content-Length, and no chunked body either.
    reply = daemon.raw("shapes", get(b"/length-none", close=True))
    assert reply.startswith(b"HTTP/1.1 500"), reply[:120]
    assert b"None" not in reply and b"chunked" not in reply


def test_sys_exit_in_an_app_fails_only_its_request(daemon):
    workers = daemon.workers()
    assert len(workers) == 2
    reply = daemon.raw("shapes", get(b"/exits", close=True))
    assert reply.startswith(b"HTTP/1.1 500")
    assert b"sys.exit" not in reply
    assert daemon.workers() == workers
    assert daemon.get("shapes", "/list")[0] == 200


def test_body_longer_than_its_content_length_is_cut_and_closed(daemon):
    reply = daemon.raw("shapes", get(b"/longer-than-declared") + get(b"/list"))
    assert reply.endswith(b"\r\n\r\nabc")
    assert b"SMUGGLED" not in reply
    daemon.wait_for_log(r"App sent more than its Content-Length of 3")


def test_body_shorter_than_its_content_length_closes_the_connection(daemon):
    reply = daemon.raw("shapes", get(b"/shorter-than-declared") + get(b"/list"))
    assert reply.endswith(b"\r\n\r\nabc")
    assert reply.count(b"HTTP/1.1 200") == 1


def _websocket_frame(opcode, payload):
    """A client's frame (RFC 6455 5.2): final, masked, under 126 bytes."""
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


def _receive_exactly(sock, size):
    data = b""
    while len(data) < size:
        piece = sock.recv(size - len(data))
        assert piece, f"closed after {data!r}"
        data += piece
    return data


@pytest.mark.worker_models("eventlet")
def test_eventlet_websocket_app_owns_its_connection_to_the_end(tmp_path, daemons):
    # An eventlet.wsgi feature: eventlet.websocket answers the handshake itself and marks the request
    # handled (eventlet.wsgi's green-thread local): nothing may be written
    # after its frames, neither a response head nor an error.
    daemon = daemons(tmp_path, "--config-file", write_config(
        tmp_path, {"ws": {}}, """
            [app:ws]
            paste.app_factory = tests.fixture_apps:websocket_echo_factory
        """))
    key = base64.b64encode(os.urandom(16))
    with socket.create_connection(daemon.address("ws"), timeout=10) as sock:
        sock.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                     b"Sec-WebSocket-Key: " + key + b"\r\n\r\n")
        head = b""
        while not head.endswith(b"\r\n\r\n"):
            head += _receive_exactly(sock, 1)
        assert head.startswith(b"HTTP/1.1 101")
        accept = base64.b64encode(hashlib.sha1(
            key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        assert b"Sec-WebSocket-Accept: " + accept in head
        sock.sendall(_websocket_frame(0x1, b"hello"))
        assert _receive_exactly(sock, 7) == b"\x81\x05hello"
        # The app returned: its closing frame, then the end of the connection.
        closing = _receive_exactly(sock, 2)
        assert closing[0] == 0x88
        _receive_exactly(sock, closing[1])
        assert sock.recv(4096) == b""
    # The worker serves on.
    assert daemon.get("ws", "/plain")[0] == 400  # not a websocket request
