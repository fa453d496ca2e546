"""The environ an app gets: what PEP 3333 and gunicorn or uWSGI give, as frameworks read it."""

import json

import pytest

from tests.functional.daemon import Daemon, write_config

PASTE = """
    [app:keys]
    paste.app_factory = tests.environ_apps:keys_factory

    [app:webob]
    paste.app_factory = tests.environ_apps:webob_echo_factory
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    directory = tmp_path_factory.mktemp("environ")
    conf = write_config(directory, {"keys": {}, "webob": {}}, PASTE)
    daemon = Daemon(directory, "--config-file", conf)
    try:
        daemon.wait_ready()
        yield daemon
    finally:
        daemon.stop()


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
