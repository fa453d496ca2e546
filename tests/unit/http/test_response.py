"""service.http.response: a response's head, its keep-alive decision and its body's framing, without a server."""

import http.client
import io
import time
import wsgiref.handlers

import pytest

from service.http import head as http11
from service.http import response as http_response

NOW = 1_700_000_000.25


def request(data=b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"):
    return http11.parse_request(data)


def head_of(status="200 OK", headers=(("Content-Length", "5"),), req=None,
            keep_alive=True):
    return http_response.response_head(status, list(headers), req or request(),
                                       keep_alive, NOW)


def parsed(head, method="GET"):
    """The head as http.client reads it: (status, headers)."""
    sock = type("Sock", (), {"makefile": lambda self, mode: io.BytesIO(head.data)})()
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    return response.status, response.headers


def test_a_head_http_client_reads():
    head = head_of(headers=[("Content-Type", "text/plain"), ("Content-Length", "5")])
    status, headers = parsed(head)
    assert status == 200 and headers["Content-Length"] == "5"
    assert headers["Date"] == wsgiref.handlers.format_date_time(NOW)
    assert head.data.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n")
    assert not head.close and "Connection" not in headers


KEEP_ALIVE = [
    # (request, server allows, the app's length, close?, Connection header sent)
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True, "5", False, None),
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", False, "5", True, "close"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", True, "5", True, "close"),
    (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n", True, "5", False, "keep-alive"),
    (b"GET / HTTP/1.0\r\n\r\n", True, "5", True, "close"),
    (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True, "5", False, "keep-alive"),
    (b"GET / HTTP/1.0\r\nConnection: keep-alive, x\r\n\r\n", True, "5", True, "close"),
    # No length: chunked for HTTP/1.1, the end of the body is the close for 1.0.
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", True, None, False, None),
    (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True, None, True, "close"),
    (b"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", True, None, False, "keep-alive"),
]


@pytest.mark.parametrize("data, allowed, length, close, connection", KEEP_ALIVE)
def test_keep_alive_or_close(data, allowed, length, close, connection):
    headers = [("Content-Length", length)] if length else []
    head = head_of(headers=headers, req=request(data), keep_alive=allowed)
    assert head.close is close
    method = data.split(b" ")[0].decode()
    assert parsed(head, method)[1].get("Connection") == connection
    assert head.body.chunked is (length is None and b"HTTP/1.1" in data and method != "HEAD")


def test_chunked_framing():
    head = head_of(headers=[])
    assert b"Transfer-Encoding: chunked\r\n" in head.data
    body = head.body
    assert body.frame(b"hello") == b"5\r\nhello\r\n"
    assert body.frame(b"") == b""  # an empty chunk would end the body
    assert body.end() == b"0\r\n\r\n"


def test_a_body_past_its_content_length_is_cut():
    body = head_of(headers=[("Content-Length", "3")]).body
    assert body.frame(b"ab") == b"ab" and not body.overflowed and body.short
    assert body.frame(b"cd") == b"c" and body.overflowed and not body.short
    assert body.frame(b"e") == b"" and body.end() == b""


@pytest.mark.parametrize("status, method", [
    ("204 No Content", "GET"), ("304 Not Modified", "GET"), ("200 OK", "HEAD"),
    ("101 Switching", "GET"), ("200 OK", "CONNECT")])
def test_bodyless_responses_send_no_body(status, method):
    req = request(f"{method} / HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head = head_of(status, [("Content-Length", "5")], req)
    assert head.body.frame(b"hello") == b"" and not head.body.short


@pytest.mark.parametrize("status", ["204 No Content", "100 Continue"])
def test_no_framing_fields_on_1xx_and_204(status):
    head = head_of(status, [("Content-Length", "5"), ("Transfer-Encoding", "chunked"), ("X", "y")])
    assert b"Content-Length" not in head.data and b"Transfer-Encoding" not in head.data
    assert b"X: y\r\n" in head.data


def test_the_apps_date_is_kept():
    head = head_of(headers=[("Date", "then"), ("Content-Length", "0")])
    assert head.data.count(b"Date:") == 1 and b"Date: then\r\n" in head.data


@pytest.mark.parametrize("headers", [
    [("X-A", "b\r\nSet-Cookie: evil")], [("X-A", "b\nc")], [("X-A", "b\0")],
    [("X A", "b")], [("X:A", "b")], [("", "b")], [(b"X-A", "b")],
    [("Content-Length", "five")],
])
def test_headers_http_cannot_carry_are_a_value_error(headers):
    with pytest.raises(ValueError):
        head_of(headers=headers)


def test_headers_outside_latin1_are_an_encode_error_naming_the_rule():
    with pytest.raises(UnicodeEncodeError, match="values must be latin-1"):
        head_of(headers=[("X-A", "\u2603")])
    with pytest.raises(UnicodeEncodeError, match="names must be latin-1"):
        head_of(headers=[("X-\u2603", "a")])


@pytest.mark.parametrize("status", ["200", "OK 200", "2000 x", "200 a\r\nb", 200, "099 x"])
def test_statuses_http_cannot_carry_are_a_value_error(status):
    with pytest.raises((ValueError, AttributeError)):
        head_of(status=status)


@pytest.mark.parametrize("name", ["content-type", "CONTENT-TYPE", "x-WHAT-ever", "etag", "a--b"])
def test_capitalized_names_equal_the_plain_rule_remembered_or_not(name):
    plain = "-".join(part.encode("latin1").capitalize().decode("latin1")
                     for part in name.split("-"))
    assert http_response.capitalized([(name, "v")]) == [(plain, "v")]
    assert http_response.capitalized([(name, "v")]) == [(plain, "v")]


def test_remembered_status_lines_and_name_kinds_equal_the_plain_ones():
    for _ in range(2):
        assert http_response.status_line("404 Not Found") == http_response._status_line("404 Not Found")
        assert http_response.name_kind("Content-Length") is http_response._kind_of("Content-Length")
    with pytest.raises(ValueError):
        http_response.status_line("bad")
    with pytest.raises(ValueError):
        http_response.status_line("bad")  # never remembered


def test_the_date_line_is_made_once_a_second_and_equals_the_plain_one():
    for moment in (NOW, NOW + 0.5, NOW + 1, time.time()):
        assert http_response.date_line(moment) == http_response._date_line(moment)
    assert http_response.date_line(NOW) == (
        b"Date: " + wsgiref.handlers.format_date_time(NOW).encode() + b"\r\n")


def test_continue_response():
    assert http_response.continue_response() == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert http_response.continue_response([("A", "b")]) == (
        b"HTTP/1.1 100 Continue\r\nA: b\r\n\r\n")


@pytest.mark.parametrize("error", [
    http11.BadRequest("Malformed request line"),
    http11.RequestTimeout("Request body timed out"),
    http11.UriTooLong("Request line too long"),
    http11.FieldsTooLarge("Request header field too large"),
    http11.CodingNotImplemented("Transfer-Encoding not supported"),
    http11.VersionNotSupported("HTTP version not supported"),
])
def test_error_response_is_a_complete_closing_response(error):
    response = http_response.error_response(error)
    response_head, _, body = response.partition(b"\r\n\r\n")
    lines = response_head.decode().split("\r\n")
    assert lines[0] == f"HTTP/1.1 {error.status} {error.reason}"
    assert f"Content-Length: {len(body)}" in lines
    assert "Connection: close" in lines
    assert body == error.message.encode() + b"\n"
