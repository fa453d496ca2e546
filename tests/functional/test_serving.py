"""Serving: the sample etc/ config, paste constructs, access log, errors, IPv6, bodies."""

import json
import os
import re
import socket

import pytest

from tests.functional.daemon import REPO, model_groups, read_until_close, write_config

ETC = os.path.join(REPO, "etc")

FIXTURE_PASTE = """
    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory
    text = hello from %(here)s

    [app:raising]
    paste.app_factory = tests.fixture_apps:raising_factory

    [app:echo]
    paste.app_factory = tests.fixture_apps:echo_factory
"""


@pytest.fixture
def sample(tmp_path, daemons):
    """The sample etc/svc.conf, with a later --config-file moving its apps to free ports."""
    override = tmp_path / "ports.conf"
    override.write_text("[home]\nport = 0\n[pub]\nport = 0\n" + model_groups("home", "pub"))
    return daemons(tmp_path, "--config-file", os.path.join(ETC, "svc.conf"),
                   "--config-file", str(override))


def test_sample_config_serves_plain_app(sample):
    status, headers, body = sample.get("home", "/")
    assert status == 200
    assert body == b"Hello from the home app\n"


def test_sample_config_serves_urlmap_with_pipeline_filter_app_and_app(sample):
    status, headers, body = sample.get("pub", "/")
    assert status == 200 and b'"versions"' in body
    assert headers["X-Served-By"] == "pub"

    status, headers, body = sample.get("pub", "/echo/thing", method="POST",
                                       body=b"ping")
    assert status == 200
    assert headers["X-Served-By"] == "echo-filter"
    assert b'"script_name":"/echo"' in body and b'"body":"ping"' in body

    status, _, body = sample.get("pub", "/hello")
    assert (status, body) == (200, b"Hello from the pub app\n")


def test_each_app_runs_its_configured_number_of_workers(sample):
    assert len(sample.workers("home")) == 2
    assert len(sample.workers("pub")) == 1


def test_workers_hold_only_their_own_apps_listening_socket(sample):
    ports = {app: sample.address(app)[1] for app in ("home", "pub")}
    for app, port in ports.items():
        workers = sample.workers(app)
        assert workers
        for pid in workers:
            assert _listening_ports(pid) == {port}


def test_supervisor_never_loads_eventlet_and_only_eventlet_workers_do(sample, worker_model):
    with open(f"/proc/{sample.pid}/maps") as maps:
        assert "greenlet" not in maps.read()
    worker = next(iter(sample.workers("home")))
    with open(f"/proc/{worker}/maps") as maps:
        assert ("greenlet" in maps.read()) is (worker_model == "eventlet")


def test_a_worker_runs_its_app_in_its_worker_model(tmp_path, daemons, worker_model):
    daemon = daemons(tmp_path, "--config-file", write_config(
        tmp_path, {"runtime": {"workers": 2}, "single": {}}, """
            [app:runtime]
            paste.app_factory = tests.fixture_apps:runtime_factory
            [app:single]
            paste.app_factory = tests.fixture_apps:runtime_factory
        """))
    facts = json.loads(daemon.get("runtime")[2])
    assert facts["multithread"] is True and facts["multiprocess"] is True
    assert json.loads(daemon.get("single")[2])["multiprocess"] is False
    if worker_model == "threads":
        # Nothing of eventlet, nothing patched, and no eventlet deprecation
        # warning in the log.
        assert facts["eventlet_modules"] == [] and facts["socket_module"] == "socket"
        assert facts["thread"].startswith("request-")
        assert "eventlet" not in daemon.log().lower()
    else:
        assert "eventlet" in facts["eventlet_modules"]
        assert facts["socket_module"].startswith("eventlet.green")
        assert facts["thread"].startswith("GreenThread-")


def test_one_access_log_line_per_request(sample):
    for path in ("/a", "/b", "/c"):
        sample.get("home", path)
    for path in ("/a", "/b", "/c"):
        sample.wait_for_log(rf'"GET {path} HTTP/1.1" status: 200  len: \d+ time: ')
    assert len(re.findall(r'"GET /[abc] HTTP', sample.log())) == 3


def test_app_exception_is_500_without_traceback_and_logged(tmp_path, daemons):
    conf = write_config(tmp_path, {"raising": {}, "hello": {}}, FIXTURE_PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    status, _, body = daemon.get("raising", "/")
    assert status == 500
    assert b"secret" not in body and b"Traceback" not in body
    daemon.wait_for_log(r"(?s)Traceback.*RuntimeError: secret internal detail")
    # The worker survived and serves the next request.
    assert daemon.get("raising", "/")[0] == 500
    assert daemon.get("hello", "/")[0] == 200


def test_paste_here_and_global_conf(tmp_path, daemons):
    conf = write_config(tmp_path, {"hello": {}}, FIXTURE_PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    assert daemon.get("hello", "/")[2] == f"hello from {tmp_path}\n".encode()


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 in this kernel")
def test_ipv6_listen(tmp_path, daemons):
    conf = write_config(tmp_path, {"hello": {"listen": "::1"}}, FIXTURE_PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    assert daemon.urls["hello"].startswith("http://[::1]:")
    assert daemon.get("hello", "/")[0] == 200


def test_chunked_upload(tmp_path, daemons):
    conf = write_config(tmp_path, {"echo": {}}, FIXTURE_PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    reply = daemon.raw("echo", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         b"Connection: close\r\n\r\n"
                         b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200")
    assert reply.endswith(b"11 bytes: hello world")


def test_expect_100_continue(tmp_path, daemons):
    conf = write_config(tmp_path, {"echo": {}}, FIXTURE_PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    with socket.create_connection(daemon.address("echo"), timeout=10) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                     b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(b"ping")
        assert read_until_close(sock).endswith(b"4 bytes: ping")


def test_no_100_continue_to_an_http10_client(tmp_path, daemons):
    """An HTTP/1.0 client's Expect: 100-continue is ignored (RFC 9110 10.1.1, 15.2)."""
    conf = write_config(tmp_path, {"echo": {}}, FIXTURE_PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    reply = daemon.raw("echo", b"POST / HTTP/1.0\r\nContent-Length: 4\r\n"
                               b"Expect: 100-continue\r\n\r\nping")
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n"), reply[:100]
    assert b"100 Continue" not in reply
    assert reply.endswith(b"4 bytes: ping")


def test_keep_alive_serves_several_requests_on_one_connection(tmp_path, daemons):
    conf = write_config(tmp_path, {"hello": {}}, FIXTURE_PASTE, defaults={
        "wsgi_log_format": '%(client_ip)s:%(client_port)s "%(request_line)s"'})
    daemon = daemons(tmp_path, "--config-file", conf)
    conn = daemon.connection("hello")
    conn.connect()
    sock = conn.sock
    port = sock.getsockname()[1]
    for number in range(3):
        conn.request("GET", f"/keep-alive-{number}")
        response = conn.getresponse()
        assert response.status == 200 and response.read()
        # After a response that closes the connection, http.client would
        # open a new one for the next request without a word.
        assert conn.sock is sock, "the server closed the connection"
    # The server's side: three requests from the one client port.
    daemon.wait_for_log(rf'127\.0\.0\.1:{port} "GET /keep-alive-\d HTTP/1\.1"',
                        count=3)
    conn.close()


def test_console_script_reports_version(tmp_path):
    import subprocess
    import sys

    from service import __version__
    script = os.path.join(os.path.dirname(sys.executable), "service-api")
    result = subprocess.run([script, "--version"], capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0
    assert __version__ in result.stdout + result.stderr


def _listening_ports(pid):
    """Ports of the TCP sockets in LISTEN state that process `pid` holds."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
