"""Bad requests over raw sockets to the real daemon: a 4xx or a close, never a lost worker.

Cases come from the request smuggling literature and from the invalid-request
tests of gunicorn, waitress and h11, written anew. Each case checks the
answer, that the app's worker is the same process, and that the next client
is served.
"""

import re
import socket

import pytest

from tests.functional.daemon import (
    Daemon, open_sockets, read_until_close, wait_until, write_config)

PASTE = """
    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory

    [app:echo]
    paste.app_factory = tests.fixture_apps:echo_factory

    [app:lazy]
    paste.app_factory = tests.fixture_apps:lazy_echo_factory

    [app:raising]
    paste.app_factory = tests.fixture_apps:raising_factory
"""
APPS = ("hello", "echo", "lazy", "raising")
CLIENT_SOCKET_TIMEOUT = 1


@pytest.fixture
def daemon(shared_daemon):
    """One daemon (per worker model) for the whole battery: every case must leave it as it found it."""
    def start(directory):
        conf = write_config(directory, {app: {} for app in APPS}, PASTE,
                            {"client_socket_timeout": CLIENT_SOCKET_TIMEOUT})
        return Daemon(directory, "--config-file", conf)

    daemon = shared_daemon(start)
    if not hasattr(daemon, "first_workers"):
        daemon.first_workers = daemon.workers()
        assert len(daemon.first_workers) == len(APPS)
    return daemon


@pytest.fixture
def served(daemon):
    """After the test: the same workers, and a new client is answered."""
    yield daemon
    assert daemon.workers() == daemon.first_workers
    for app in ("hello", "echo"):
        assert daemon.get(app, "/next")[0] == 200


def head(request_line, *fields, host=True):
    """A request head in bytes; `Host: x` first unless host=False."""
    lines = [request_line] + (["Host: x"] if host else []) + list(fields)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunked(body, *fields):
    return head("POST / HTTP/1.1", "Transfer-Encoding: chunked", *fields) + body


VALID = {
    "plain get": ("hello", head("GET / HTTP/1.1", "Connection: close"), b"hello\n"),
    "http/1.0 without host": ("hello", b"GET / HTTP/1.0\r\n\r\n", b"hello\n"),
    "empty line before the request": (
        "hello", b"\r\n" + head("GET / HTTP/1.1", "Connection: close"), b"hello\n"),
    "identical content-lengths fold": (
        "echo", head("POST / HTTP/1.1", "Content-Length: 2", "Content-Length: 2",
                     "Connection: close") + b"ok", b"2 bytes: ok"),
    "chunk extensions": (
        "echo", chunked(b'5;name=value\r\nhello\r\n1;q="a b"\r\n!\r\n0\r\n'
                        b"Trailer: yes\r\n\r\n", "Connection: close"),
        b"6 bytes: hello!"),
    "chunk extensions with whitespace": (
        "echo", chunked(b"5 ;name = value\r\nhello\r\n1\t;\tq = \"a b\" ; r\r\n!\r\n"
                        b"0 ; last\r\n\r\n", "Connection: close"),
        b"6 bytes: hello!"),
    "upper-case hex chunk size": (
        "echo", chunked(b"A\r\n0123456789\r\n0\r\n\r\n", "Connection: close"),
        b"10 bytes: 0123456789"),
    "absolute-form target": (
        "hello", b"GET http://x/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"hello\n"),
}


@pytest.mark.parametrize("app, request_bytes, body", VALID.values(), ids=VALID)
def test_valid_request_is_served(served, app, request_bytes, body):
    reply = exchange(served, app, request_bytes)
    assert status_of(reply) == 200
    assert reply.endswith(body)


TOO_LONG_FIELD = "X-Long: " + "a" * 20000
MANY_FIELDS = [f"X-Field-{n}: {n}" for n in range(101)]
LARGE_HEAD = [f"X-Big-{n}: " + "b" * 10000 for n in range(8)]

BAD_HEADS = {
    # The request line.
    "http/0.9": (b"GET /\r\n\r\n", 400),
    "http/2.0": (head("GET / HTTP/2.0"), 505),
    "http/1.2": (head("GET / HTTP/1.2"), 505),
    "h2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    "lower-case version": (head("GET / http/1.1"), 400),
    "two-digit major version": (head("GET / HTTP/11.1"), 400),
    "three parts and more": (head("GET / HTTP/1.1 x"), 400),
    "two spaces": (head("GET  / HTTP/1.1"), 400),
    "tab separator": (head("GET\t/ HTTP/1.1"), 400),
    "method not a token": (head("GE(T / HTTP/1.1"), 400),
    "nul in target": (head("GET /a\x00b HTTP/1.1"), 400),
    "non-ascii target": (head("GET /caf\xe9 HTTP/1.1"), 400),
    "bare lf line ends": (b"GET / HTTP/1.1\nHost: x\n\n", 400),
    "asterisk without options": (head("GET * HTTP/1.1"), 400),
    "fragment in target": (head("GET /a?b=c#frag HTTP/1.1"), 400),
    "url too long": (head("GET /" + "u" * 9000 + " HTTP/1.1"), 414),
    # Field lines.
    "field without colon": (head("GET / HTTP/1.1", "X-Field value"), 400),
    "space before colon": (head("GET / HTTP/1.1", "X-Field : value"), 400),
    "empty field name": (head("GET / HTTP/1.1", ": value"), 400),
    "field name not a token": (head("GET / HTTP/1.1", "X(Field): value"), 400),
    "non-ascii field name": (head("GET / HTTP/1.1", "Content-Length\xff: 3"), 400),
    "obs-fold": (head("GET / HTTP/1.1", "X-Field: a", " folded"), 400),
    "obs-fold with tab": (head("GET / HTTP/1.1", "X-Field: a", "\tfolded"), 400),
    "nul in value": (head("GET / HTTP/1.1", "X-Field: a\x00b"), 400),
    "ctl in value": (head("GET / HTTP/1.1", "X-Field: a\x01b"), 400),
    "bare cr in value": (head("GET / HTTP/1.1", "X-Field: a\rb"), 400),
    "del in value": (head("GET / HTTP/1.1", "X-Field: a\x7fb"), 400),
    "missing host": (head("GET / HTTP/1.1", host=False), 400),
    "two hosts": (head("GET / HTTP/1.1", "Host: y"), 400),
    "invalid host": (head("GET / HTTP/1.1", "Host: a/b", host=False), 400),
    "too long field line": (head("GET / HTTP/1.1", TOO_LONG_FIELD), 431),
    "too many fields": (head("GET / HTTP/1.1", *MANY_FIELDS), 431),
    "head too large": (head("GET / HTTP/1.1", *LARGE_HEAD), 431),
    # Body framing.
    "negative content-length": (head("POST / HTTP/1.1", "Content-Length: -1"), 400),
    "plus content-length": (head("POST / HTTP/1.1", "Content-Length: +1") + b"x", 400),
    "non-digit content-length": (head("POST / HTTP/1.1", "Content-Length: 1x"), 400),
    "listed content-length": (head("POST / HTTP/1.1", "Content-Length: 1, 1") + b"x", 400),
    "huge content-length": (head("POST / HTTP/1.1", "Content-Length: " + "9" * 30), 400),
    "empty content-length": (head("POST / HTTP/1.1", "Content-Length:"), 400),
    "te and cl": (head("POST / HTTP/1.1", "Content-Length: 5",
                       "Transfer-Encoding: chunked") + b"0\r\n\r\n", 400),
    "te gzip, chunked": (head("POST / HTTP/1.1", "Transfer-Encoding: gzip, chunked"), 501),
    "te chunked, identity": (
        head("POST / HTTP/1.1", "Transfer-Encoding: chunked, identity"), 400),
    "te gzip": (head("POST / HTTP/1.1", "Transfer-Encoding: gzip"), 400),
    "te identity": (head("POST / HTTP/1.1", "Transfer-Encoding: identity"), 400),
    "te twice": (head("POST / HTTP/1.1", "Transfer-Encoding: chunked",
                      "Transfer-Encoding: chunked"), 400),
    "te in http/1.0": (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"0\r\n\r\n", 400),
    "te empty element": (head("POST / HTTP/1.1", "Transfer-Encoding: ,chunked"), 400),
}


@pytest.mark.parametrize("request_bytes, status", BAD_HEADS.values(), ids=BAD_HEADS)
def test_bad_head_is_refused_and_closed(served, request_bytes, status):
    reply = exchange(served, "echo", request_bytes)
    assert_refused(reply, status)


BAD_CHUNKED_BODIES = {
    "hex prefix": b"0x5\r\nhello\r\n0\r\n\r\n",
    "plus sign": b"+5\r\nhello\r\n0\r\n\r\n",
    "minus sign": b"-5\r\nhello\r\n0\r\n\r\n",
    "leading space": b" 5\r\nhello\r\n0\r\n\r\n",
    "space after extension": b"5;ext \r\nhello\r\n0\r\n\r\n",
    "space after extension value": b"5;a=b \r\nhello\r\n0\r\n\r\n",
    "trailing space": b"5 \r\nhello\r\n0\r\n\r\n",
    "underscore": b"5_0\r\n" + b"x" * 80 + b"\r\n0\r\n\r\n",
    "huge size": b"F" * 40 + b"\r\nhello\r\n0\r\n\r\n",
    "empty size": b"\r\nhello\r\n0\r\n\r\n",
    "bad extension": b"5;=x\r\nhello\r\n0\r\n\r\n",
    "unterminated quoted extension": b'5;a="b\r\nhello\r\n0\r\n\r\n',
    "too long extension": b"5;" + b"e" * 5000 + b"\r\nhello\r\n0\r\n\r\n",
    "data longer than size": b"5\r\nhelloXX\r\n0\r\n\r\n",
    "lf only after data": b"5\r\nhello\n0\r\n\r\n",
    "bad trailer": b"5\r\nhello\r\n0\r\nnot a field\r\n\r\n",
    "obs-fold trailer": b"5\r\nhello\r\n0\r\nA: b\r\n c\r\n\r\n",
}


@pytest.mark.parametrize("app", ["echo", "lazy"])
@pytest.mark.parametrize("body", BAD_CHUNKED_BODIES.values(), ids=BAD_CHUNKED_BODIES)
def test_bad_chunked_body_is_400_and_closed(served, app, body):
    reply = exchange(served, app, chunked(body))
    assert_refused(reply, 400)


def test_bad_chunked_body_the_app_never_reads_closes_the_connection(served):
    """hello ignores the body; eventlet discards it, meets the bad framing, and must close."""
    smuggled = b"GET /smuggled-after-chunks HTTP/1.1\r\nHost: x\r\n\r\n"
    request = (head("POST /unread HTTP/1.1", "Transfer-Encoding: chunked")
               + b"0x5\r\nhello\r\n0\r\n\r\n" + smuggled)
    reply = exchange(served, "hello", request)
    assert status_of(reply) == 200
    assert reply.count(b"HTTP/1.1 ") == 1
    served.wait_for_log(r'"POST /unread HTTP/1.1" status: 200')
    assert "/smuggled-after-chunks" not in served.log()


SMUGGLERS = {
    "differing content-lengths": head(
        "POST /cl-cl HTTP/1.1", "Content-Length: 5", "Content-Length: 48") + b"hello",
    "te and cl": head("POST /te-cl HTTP/1.1", "Content-Length: 5",
                      "Transfer-Encoding: chunked") + b"0\r\n\r\n",
    "te with space before colon": head(
        "POST /te-space HTTP/1.1", "Transfer-Encoding : chunked",
        "Content-Length: 5") + b"0\r\n\r\n",
}


@pytest.mark.parametrize("request_bytes", SMUGGLERS.values(), ids=SMUGGLERS)
def test_smuggled_request_in_leftover_bytes_is_never_served(served, request_bytes):
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    path = request_bytes.split(b" ")[1].decode()
    reply = exchange(served, "echo", request_bytes + smuggled)
    assert_refused(reply, 400)
    served.wait_for_log(rf'"POST {path} HTTP/1.1" status: 400')
    assert "/smuggled" not in served.log()


@pytest.mark.parametrize("app", ["echo", "lazy"])
def test_truncated_body_is_400_not_a_short_body(served, app):
    request = head("POST / HTTP/1.1", "Content-Length: 10") + b"hello"
    reply = exchange(served, app, request, half_close=True)
    assert_refused(reply, 400)
    assert b"bytes: hello" not in reply


def test_truncated_chunked_body_is_400(served):
    reply = exchange(served, "echo", chunked(b"a\r\nhello"), half_close=True)
    assert_refused(reply, 400)


@pytest.mark.parametrize("request_bytes", [
    head("POST / HTTP/1.1", "Content-Length: " + "9" * 18) + b"hello",
    chunked(b"F" * 16 + b"\r\nhello"),
], ids=["content-length", "chunk size"])
def test_huge_announced_body_that_never_comes_is_400(served, request_bytes):
    reply = exchange(served, "echo", request_bytes, half_close=True)
    assert_refused(reply, 400)


def test_client_leaving_mid_body_does_not_reach_the_app_as_a_body(served):
    with socket.create_connection(served.address("echo"), timeout=10) as sock:
        sock.sendall(head("POST /left HTTP/1.1", "Content-Length: 10") + b"hello")
    served.wait_for_log(r'"POST /left HTTP/1.1" status: 400')


def test_client_that_sends_nothing_is_closed(served):
    with socket.create_connection(served.address("hello"), timeout=10) as sock:
        assert read_until_close(sock) == b""


def test_client_that_stops_mid_head_gets_408(served):
    with socket.create_connection(served.address("hello"), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        assert_refused(read_until_close(sock), 408)


def test_client_that_stops_mid_request_line_gets_408_logged_with_what_it_sent(served):
    with socket.create_connection(served.address("hello"), timeout=10) as sock:
        sock.sendall(b"GET /stalled-line")
        assert_refused(read_until_close(sock), 408)
    served.wait_for_log(r'"GET /stalled-line" status: 408')


def test_client_that_stops_mid_body_gets_408(served):
    with socket.create_connection(served.address("echo"), timeout=10) as sock:
        sock.sendall(head("POST / HTTP/1.1", "Content-Length: 10") + b"hello")
        assert_refused(read_until_close(sock), 408)


def test_app_exception_is_a_500_with_an_empty_body(served):
    reply = exchange(served, "raising", head("GET / HTTP/1.1", "Connection: close"))
    assert status_of(reply) == 500
    assert reply.endswith(b"\r\n\r\n")
    served.wait_for_log(r"RuntimeError: secret internal detail")


def test_pipelined_requests_are_all_served(served):
    request = head("GET /one HTTP/1.1") + head("GET /two HTTP/1.1", "Connection: close")
    reply = exchange(served, "hello", request)
    assert reply.count(b"HTTP/1.1 200 OK") == 2


def test_keep_alive_continues_after_a_chunked_body(served):
    request = (chunked(b"5\r\nfirst\r\n0\r\n\r\n")
               + chunked(b"6\r\nsecond\r\n0\r\n\r\n", "Connection: close"))
    reply = exchange(served, "echo", request)
    assert reply.count(b"HTTP/1.1 200 OK") == 2
    assert b"5 bytes: first" in reply and reply.endswith(b"6 bytes: second")


def test_server_protocol_is_the_version_the_client_spoke(tmp_path, daemons):
    paste = PASTE + """
    [app:environ]
    paste.app_factory = tests.fixture_apps:environ_factory
    """
    conf = write_config(tmp_path, {"environ": {}}, paste)
    daemon = daemons(tmp_path, "--config-file", conf)
    for version in ("1.0", "1.1"):
        request = head(f"GET / HTTP/{version}", "Connection: close")
        reply = exchange(daemon, "environ", request)
        assert f"SERVER_PROTOCOL=HTTP/{version}\n".encode() in reply


IDLE_CONNECTIONS = 1000


def test_idle_and_half_sent_connections_do_not_starve_the_pool(
        tmp_path, daemons, room_for_sockets):
    room_for_sockets(IDLE_CONNECTIONS)
    conf = write_config(tmp_path, {"hello": {}}, PASTE,
                        {"wsgi_default_pool_size": 100, "client_socket_timeout": 0})
    daemon = daemons(tmp_path, "--config-file", conf)
    [worker] = daemon.workers("hello")
    held = []
    try:
        for n in range(IDLE_CONNECTIONS):
            sock = socket.create_connection(daemon.address("hello"), timeout=10)
            if n % 2:
                sock.sendall(b"GET /half HTTP/1.1\r\nHost: x\r\n")
            held.append(sock)
        wait_until(lambda: open_sockets(worker) >= IDLE_CONNECTIONS, timeout=30,
                   message=f"the worker to hold {IDLE_CONNECTIONS} connections")
        assert daemon.get("hello", "/")[0] == 200
    finally:
        for sock in held:
            sock.close()


# Helpers.

def exchange(daemon, app, request, half_close=False):
    return daemon.raw(app, request, half_close)


def status_of(reply):
    match = re.match(rb"HTTP/1\.[01] (\d{3}) ", reply)
    assert match, f"no status line in {reply[:200]!r}"
    return int(match.group(1))


def assert_refused(reply, status):
    """One error response with a status line, a fixed short text and Connection: close."""
    assert status_of(reply) == status, reply[:300]
    response_head, _, body = reply.partition(b"\r\n\r\n")
    assert b"\r\nConnection: close" in response_head
    assert reply.count(b"HTTP/1.1 ") == 1
    assert len(body) < 100 and b"Traceback" not in body and b"Error" not in body
