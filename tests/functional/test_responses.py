"""What the worker writes: response heads and bodies, the access line, fairness between connections."""

import email.utils
import re
import socket
import threading

import pytest

from tests.functional.daemon import read_until_close, write_config

PASTE = """
    [app:shapes]
    paste.app_factory = tests.response_apps:shapes_factory

    [app:counter]
    paste.app_factory = tests.response_apps:counter_factory
"""


@pytest.fixture
def shapes(tmp_path, daemons):
    conf = write_config(tmp_path, {"shapes": {}}, PASTE)
    return daemons(tmp_path, "--config-file", conf)


def _split(reply):
    head, _, body = reply.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return status, [tuple(line.split(": ", 1)) for line in lines], body


def test_list_body_gets_content_length_and_a_date(shapes):
    status, headers, body = _split(shapes.raw("shapes", b"GET /list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert status == "HTTP/1.1 200 OK"
    assert ("Content-Length", "6") in headers and body == b"a list"
    date = dict(headers)["Date"]
    assert email.utils.parsedate_to_datetime(date).tzname() == "UTC"
    assert ("Connection", "close") in headers


def test_app_date_header_is_not_repeated(shapes):
    _, headers, _ = _split(shapes.raw("shapes", b"GET /own-date HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert [value for name, value in headers if name.lower() == "date"] == [
        "Thu, 01 Jan 2004 00:00:00 GMT"]


def test_generator_body_is_chunked_for_http11(shapes):
    _, headers, body = _split(shapes.raw("shapes", b"GET /generator HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert ("Transfer-Encoding", "chunked") in headers
    assert body == b"d\r\none two three\r\n0\r\n\r\n"


def test_generator_body_for_http10_ends_with_the_connection(shapes):
    _, headers, body = _split(shapes.raw("shapes", b"GET /generator HTTP/1.0\r\n\r\n"))
    assert "Transfer-Encoding" not in dict(headers)
    assert ("Connection", "close") in headers and body == b"one two three"


def test_write_callable_and_returned_body(shapes):
    _, headers, body = _split(shapes.raw("shapes", b"GET /write HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert body == b"8\r\nwritten \r\nc\r\nand returned\r\n0\r\n\r\n"


def test_header_names_are_capitalized_and_values_kept(shapes):
    _, headers, _ = _split(shapes.raw("shapes", b"GET /mixed-case HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert ("X-Mixed-Case", "Value-Kept") in headers
    assert ("Content-Type", "text/plain") in headers


def test_head_and_204_get_no_body_framing(shapes):
    """Neither Content-Length nor chunking is added where no body is expected."""
    reply = shapes.raw("shapes",
                      b"GET /no-content HTTP/1.1\r\nHost: x\r\n\r\n"
                      b"GET /list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    no_content, _, rest = reply.partition(b"\r\n\r\n")
    assert no_content.startswith(b"HTTP/1.1 204 No Content\r\n")
    assert b"Content-Length" not in no_content and b"chunked" not in no_content
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n") and rest.endswith(b"a list")
    _, headers, _ = _split(shapes.raw("shapes", b"HEAD /generator HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert "Content-Length" not in dict(headers)
    assert "Transfer-Encoding" not in dict(headers)


@pytest.mark.parametrize("path", [b"/no-content-with-framing",
                                  b"/early-hints-with-framing"])
def test_no_content_length_or_transfer_encoding_on_1xx_and_204(shapes, path):
    """Not even the app's own (RFC 9110 8.6, RFC 9112 6.1)."""
    reply = shapes.raw("shapes", b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n"
                                 b"Connection: close\r\n\r\n")
    status, headers, body = _split(reply)
    assert status.split()[1] in ("204", "103")
    names = {name.lower() for name, *_ in headers}
    assert "content-length" not in names and "transfer-encoding" not in names
    assert body == b""


@pytest.mark.parametrize("request_bytes, length", [
    (b"GET /not-modified-with-length HTTP/1.1", "42"),
    (b"HEAD /with-length HTTP/1.1", "6"),
])
def test_304_and_head_keep_the_apps_content_length(shapes, request_bytes, length):
    reply = shapes.raw("shapes", request_bytes + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
    _, headers, body = _split(reply)
    assert ("Content-Length", length) in headers and body == b""


def test_keep_alive_response_to_http10_keep_alive_client(shapes):
    with socket.create_connection(shapes.address("shapes"), timeout=10) as sock:
        sock.sendall(b"GET /list HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        reply = b""
        while not reply.endswith(b"a list"):
            reply += sock.recv(65536)
        assert b"\r\nConnection: keep-alive\r\n" in reply


def test_custom_access_log_format_shows_every_field(tmp_path, daemons):
    log_format = ("%(client_ip)s:%(client_port)s [%(date_time)s] "
                  "\"%(request_line)s\" %(status_code)s %(body_length)s "
                  "%(wall_seconds).3f")
    conf = write_config(tmp_path, {"shapes": {}}, PASTE,
                        defaults={"wsgi_log_format": log_format})
    daemon = daemons(tmp_path, "--config-file", conf)
    with socket.create_connection(daemon.address("shapes"), timeout=10) as sock:
        sock.sendall(b"GET /list?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = read_until_close(sock)
        client_port = sock.getsockname()[1]
    daemon.wait_for_log(
        r"\[shapes\] 127\.0\.0\.1:(\d+) \[(\d\d/\w{3}/\d{4} \d\d:\d\d:\d\d)\] "
        r'"GET /list\?q=1 HTTP/1\.1" 200 (\d+) \d+\.\d{3}')
    match = re.search(r"127\.0\.0\.1:(\d+) \[[^]]+\] \"GET /list\?q=1 HTTP/1\.1\" 200 (\d+)",
                      daemon.log())
    assert int(match.group(1)) == client_port
    # The length counts what was written: head and body.
    assert int(match.group(2)) == len(reply)


def test_default_access_log_line(shapes):
    shapes.get("shapes", "/list")
    shapes.wait_for_log(
        r'\[shapes\] 127\.0\.0\.1 "GET /list HTTP/1\.1" status: 200  len: \d+ '
        r"time: \d+\.\d{7}")


def test_pipelining_connection_does_not_hold_up_another(tmp_path, daemons):
    """A connection whose next requests are always there yet takes turns with the others."""
    conf = write_config(tmp_path, {"counter": {}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    address = daemon.address("counter")
    pipelined = 10000
    request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.create_connection(address, timeout=30) as busy, \
            socket.create_connection(address, timeout=30) as newcomer:
        newcomer.sendall(request)
        assert _read_response_body(newcomer) == b"1"
        answering = threading.Event()
        received = []

        def read_busy():
            while data := busy.recv(65536):
                received.append(data)
                answering.set()

        reader = threading.Thread(target=read_busy)
        writer = threading.Thread(
            target=busy.sendall, args=(request * (pipelined - 1) + last,))
        reader.start()
        writer.start()
        try:
            assert answering.wait(30)
            newcomer.sendall(request)
            served_before = int(_read_response_body(newcomer))
        finally:
            writer.join()
            reader.join()
    assert b"".join(received).count(b"HTTP/1.1 200 OK") == pipelined
    assert served_before < pipelined


def _read_response_body(sock):
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += sock.recv(4096)
    head, _, body = reply.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    while len(body) < length:
        body += sock.recv(4096)
    return body
