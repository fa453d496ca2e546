"""protocol = uwsgi: the test plays the web server in front, packet by packet, on TCP and on a Unix socket."""

import json
import os
import re
import shutil
import socket
import tempfile

import pytest

from tests.functional.daemon import Daemon, write_config
from tests.uwsgi_client import apache_vars, packet, request

PASTE = """
    [app:keys]
    paste.app_factory = tests.environ_apps:keys_factory

    [app:validated]
    paste.app_factory = tests.environ_apps:validated_echo_factory

    [app:lazy]
    paste.app_factory = tests.fixture_apps:lazy_echo_factory

    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory
"""


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    directory = tmp_path_factory.mktemp("uwsgi")
    run_dir = tempfile.mkdtemp(prefix="sa-")
    apps = {name: {"protocol": "uwsgi"} for name in ("keys", "validated", "lazy")}
    apps["hello"] = {"protocol": "uwsgi", "port": None,
                     "unix_socket": os.path.join(run_dir, "hello.socket")}
    conf = write_config(directory, apps, PASTE)
    daemon = Daemon(directory, "--config-file", conf)
    try:
        daemon.wait_ready()
        daemon.urls = dict(re.findall(r"App (\S+): uwsgi://(\S+) with", daemon.log()))
        daemon.hello_socket = apps["hello"]["unix_socket"]
        yield daemon
    finally:
        daemon.stop()
        shutil.rmtree(run_dir)


def address(daemon, app):
    host, port = daemon.urls[app].rsplit(":", 1)
    return host, int(port)


def send(daemon, app, data):
    return request(address(daemon, app), data)


def head_and_body(reply):
    head, _, body = reply.partition(b"\r\n\r\n")
    return head.decode("latin-1").split("\r\n"), body


def test_the_front_ends_vars_are_the_environ(daemon):
    reply = send(daemon, "keys", packet(apache_vars(
        "GET", "/v3/users", "/identity", query="a=1",
        headers=[("HTTP_X_AUTH_TOKEN", "secret"), ("HTTP_EXPECT", "100-continue")])))
    lines, body = head_and_body(reply)
    assert lines[0] == "HTTP/1.1 200 OK"
    environ = json.loads(body)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/identity", "/v3/users")
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("192.0.2.9", "51000")
    assert environ["HTTP_X_AUTH_TOKEN"] == "secret"
    assert environ["REQUEST_URI"] == "/identity/v3/users?a=1"
    assert environ["wsgi.input_terminated"] is True
    assert not any(key.startswith("HTTP_CONTENT") for key in environ)
    # The access line shows the front end's client and the request it forwarded.
    daemon.wait_for_log(r'\[keys\] 192\.0\.2\.9 "GET /identity/v3/users\?a=1 HTTP/1\.1" '
                        r'status: 200')


def test_a_body_and_wsgiref_validate(daemon):
    reply = send(daemon, "validated",
                 packet(apache_vars("POST", "/x", query="q", body=b"hello body")) + b"hello body")
    lines, body = head_and_body(reply)
    assert lines[0] == "HTTP/1.1 200 OK", reply
    assert body == b"q 10 bytes: hello body"


def test_a_response_without_length_ends_at_the_close_never_chunked(daemon):
    reply = send(daemon, "lazy", packet(apache_vars("PUT", "/", body=b"abc")) + b"abc")
    lines, body = head_and_body(reply)
    assert lines[0] == "HTTP/1.1 200 OK"
    assert not any(line.lower().startswith(("transfer-encoding", "content-length"))
                   for line in lines)
    assert body == b"3 bytes: abc"


def test_a_unix_socket(daemon):
    reply = request(daemon.hello_socket, packet(apache_vars("GET", "/")), family=socket.AF_UNIX)
    lines, answer = head_and_body(reply)
    assert lines[0] == "HTTP/1.1 200 OK" and answer == b"hello\n"


def test_a_body_the_app_never_read_does_not_reset_the_answer(daemon):
    # The front end sends the whole body, then reads the answer: unread
    # bytes at the close would reset the connection under it (TCP).
    body = b"x" * (4 << 20)
    for _ in range(3):
        reply = send(daemon, "keys", packet(apache_vars("POST", "/", body=body)) + body)
        lines, answer = head_and_body(reply)
        assert lines[0] == "HTTP/1.1 200 OK" and json.loads(answer)["CONTENT_LENGTH"] == str(len(body))


BAD_PACKETS = {
    "http on a uwsgi socket": (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400,
                               "Not a uwsgi request packet"),
    "modifier": (packet(apache_vars(), modifier1=7), 400, "Not a uwsgi request packet"),
    "lengths": (b"\x00\x05\x00\x00\x09\x00PAT", 400, "Malformed uwsgi vars block"),
    "name": (packet(apache_vars() + [("BAD NAME", "x")]), 400, "Malformed uwsgi var name"),
    "missing var": (packet([p for p in apache_vars() if p[0] != "PATH_INFO"]), 400,
                    "uwsgi request without PATH_INFO"),
    "content length": (packet(apache_vars() + [("CONTENT_LENGTH", "x")]), 400,
                       "Invalid CONTENT_LENGTH"),
    "oversized var": (packet(apache_vars() + [("HTTP_X_BIG", "x" * 20000)]), 431,
                      "Request header field too large"),
    "truncated": (packet(apache_vars())[:40], 400, "Incomplete uwsgi packet"),
}


@pytest.mark.parametrize("data, status, message", BAD_PACKETS.values(), ids=BAD_PACKETS)
def test_a_bad_packet_is_answered_logged_and_harms_no_one(daemon, data, status, message):
    with socket.create_connection(address(daemon, "keys"), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)  # a truncated packet: the front end gave up
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    lines, body = head_and_body(reply)
    assert lines[0].startswith(f"HTTP/1.1 {status} "), reply
    assert body == message.encode() + b"\n"
    daemon.wait_for_log(re.escape("Refused a uwsgi request from ") + r".*" + re.escape(message))
    workers = daemon.workers("keys")
    reply = send(daemon, "keys", packet(apache_vars("GET", "/after")))
    assert json.loads(head_and_body(reply)[1])["PATH_INFO"] == "/after"
    assert daemon.workers("keys") == workers
    assert "Traceback" not in daemon.log() and " ERROR " not in daemon.log()


def test_a_front_end_that_connects_and_sends_nothing_is_let_go_quietly(daemon):
    # Apache does so when it answers a chunked upload 411 itself.
    assert request(address(daemon, "keys"), b"", half_close=True) == b""
    reply = send(daemon, "keys", packet(apache_vars("GET", "/next")))
    assert head_and_body(reply)[0][0] == "HTTP/1.1 200 OK"
