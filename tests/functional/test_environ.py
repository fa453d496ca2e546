"""The environ an app gets: what PEP 3333 and gunicorn or uWSGI give, as frameworks read it."""

import json

import pytest

from tests.functional.daemon import Daemon, write_config

PASTE = """
    [app:keys]
    paste.app_factory = tests.environ_apps:keys_factory

    [app:webob]
    paste.app_factory = tests.environ_apps:webob_echo_factory

    [app:validated]
    paste.app_factory = tests.environ_apps:validated_echo_factory
"""


@pytest.fixture
def daemon(shared_daemon):
    def start(directory):
        conf = write_config(directory, {"keys": {}, "webob": {}, "validated": {}}, PASTE)
        return Daemon(directory, "--config-file", conf)
    return shared_daemon(start)


def environ_of(daemon, request):
    reply = daemon.raw("keys", request)
    assert reply.startswith(b"HTTP/1.1 200 "), reply[:200]
    return json.loads(reply.partition(b"\r\n\r\n")[2])


def chunked_post(body_chunks, *fields):
    head = ["POST / HTTP/1.1", "Host: x", "Transfer-Encoding: chunked",
            "Connection: close", *fields]
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in body_chunks)
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body + b"0\r\n\r\n"


def test_webob_reads_a_chunked_body(daemon):
    """WebOb reads a body without Content-Length only where wsgi.input_terminated says it ends."""
    reply = daemon.raw("webob", chunked_post([b"hello", b" world"]))
    assert reply.startswith(b"HTTP/1.1 200 "), reply[:200]
    assert reply.endswith(b"11 bytes: hello world")


def test_input_is_terminated(daemon):
    environ = environ_of(daemon, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert environ["wsgi.input_terminated"] is True


def test_content_type_and_length_only_when_the_client_sent_them(daemon):
    """Falcon answers 415 to a Content-Type the client never sent."""
    environ = environ_of(daemon, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert "CONTENT_TYPE" not in environ and "CONTENT_LENGTH" not in environ
    environ = environ_of(daemon, chunked_post([b"{}"], "Content-Type: application/json"))
    assert environ["CONTENT_TYPE"] == "application/json"
    assert "CONTENT_LENGTH" not in environ
    environ = environ_of(daemon, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                                 b"Content-Length: 3\r\nConnection: close\r\n\r\na,b")
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"]) == ("text/csv", "3")
    assert "HTTP_CONTENT_TYPE" not in environ and "HTTP_CONTENT_LENGTH" not in environ


@pytest.mark.parametrize("target, path, query", [
    ("/a/b", "/a/b", ""),
    ("/a/b?", "/a/b", ""),
    ("/a/b?c=d&e", "/a/b", "c=d&e"),
    ("http://x/a?c", "/a", "c"),
])
def test_query_string_is_always_there(daemon, target, path, query):
    environ = environ_of(daemon, f"GET {target} HTTP/1.1\r\nHost: x\r\n"
                                 "Connection: close\r\n\r\n".encode())
    assert (environ["PATH_INFO"], environ["QUERY_STRING"]) == (path, query)


def test_keys_without_a_prefix_are_cgi_variables_with_str_values(daemon):
    """A key without a dot is a CGI variable (PEP 3333); a server's own keys carry a prefix."""
    environ = environ_of(daemon, b"GET /?q HTTP/1.1\r\nHost: x\r\nX-Thing: 1\r\n"
                                 b"Connection: close\r\n\r\n")
    unprefixed = {key: value for key, value in environ.items() if "." not in key}
    assert [key for key in unprefixed if not key.isupper()] == []
    assert {key: value for key, value in unprefixed.items()
            if not isinstance(value, str)} == {}
    assert environ["HTTP_X_THING"] == "1"


def test_wsgiref_validate_finds_nothing(daemon):
    conn = daemon.connection("validated")
    try:
        for method, target, body, expected in [
                ("GET", "/", None, b" 0 bytes: "),
                ("GET", "/?a=b", None, b"a=b 0 bytes: "),
                ("POST", "/", b"ping", b" 4 bytes: ping"),
                ("POST", "/?c", iter([b"chunk", b"ed"]), b"c 7 bytes: chunked"),
                ("HEAD", "/", None, b"")]:
            conn.request(method, target, body=body)
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, expected), (method, target)
    finally:
        conn.close()
    daemon.wait_for_log(r"\[validated\] .* status: 200 ", count=5)
    for problem in ("Traceback", "AssertionError", "WSGIWarning",
                    "Iterator garbage collected"):
        assert problem not in daemon.log()
