"""service-api behind the real front ends of OpenStack deployments: Apache's mod_proxy_uwsgi as devstack configures it, and nginx's uwsgi_pass.

service-api serves the fixture app with protocol = uwsgi on a Unix socket
(mode 0666, devstack's chmod-socket), mounted at /identity by the front
end. Each front end is installed from Debian's packages if missing
(apt-get, as root), and the test is skipped, saying why, only if that fails.
"""

import http.client
import json
import os
import re
import shutil
import signal
import tempfile

import pytest

from tests.functional import frontends
from tests.functional.daemon import free_port, write_config
from tests.functional.load import Load

PASTE = """
    [app:identity]
    paste.app_factory = tests.environ_apps:request_echo_factory
"""


@pytest.fixture(scope="session", params=["apache", "nginx"])
def front_end_kind(request):
    why = frontends.install(request.param)
    if why:
        pytest.skip(f"{request.param} is not installed and cannot be: {why}")
    return request.param


@pytest.fixture
def run_dir():
    """Where the socket and the front end's files live: short, and open to its workers, like /run."""
    path = tempfile.mkdtemp(prefix="fe-")
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def behind(front_end_kind, run_dir, tmp_path, daemons):
    """(service-api serving /identity's app on a uwsgi Unix socket, the front end in front of it)."""
    socket_path = os.path.join(run_dir, "keystone-api.socket")
    conf = write_config(tmp_path, {"identity": {
        "port": None, "unix_socket": socket_path, "unix_socket_mode": "0666",
        "protocol": "uwsgi", "workers": 2}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    port = free_port()
    if front_end_kind == "apache":
        config = frontends.apache_config(run_dir, port, [
            frontends.devstack_proxy_pass("/identity", socket_path, "keystone-api")])
    else:
        config = frontends.nginx_config(run_dir, port, frontends.nginx_uwsgi_location(
            "/identity", socket_path))
    front_end = frontends.FrontEnd(front_end_kind, run_dir, port, config)
    yield daemon, front_end
    front_end.stop()


def call(front_end, method, path, body=None, headers=None, chunked=False):
    conn = http.client.HTTPConnection(*front_end.address, timeout=30)
    try:
        conn.request(method, path, body=iter([body]) if chunked else body,
                     headers=headers or {}, encode_chunked=chunked)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_get_sees_the_mount_and_the_client(behind):
    daemon, front_end = behind
    status, body = call(front_end, "GET", "/identity/v3/users?a=1")
    assert status == 200, front_end.log()
    seen = json.loads(body)
    assert (seen["SCRIPT_NAME"], seen["PATH_INFO"], seen["QUERY_STRING"]) == (
        "/identity", "/v3/users", "a=1")
    assert seen["REMOTE_ADDR"] == "127.0.0.1" and seen["CONTENT_LENGTH"] is None
    daemon.wait_for_log(r'\[identity\] 127\.0\.0\.1 "GET /identity/v3/users\?a=1 HTTP/1\.1" '
                        r'status: 200')
    status, body = call(front_end, "GET", "/identity")
    assert (status, json.loads(body)["SCRIPT_NAME"]) == (200, "/identity")


def test_post_with_a_body(behind):
    _, front_end = behind
    body = b"x" * 100_000 + b"end"
    status, reply = call(front_end, "POST", "/identity/v3/auth/tokens", body=body,
                         headers={"Content-Type": "application/json"})
    seen = json.loads(reply)
    assert status == 200
    assert (seen["CONTENT_LENGTH"], seen["CONTENT_TYPE"]) == (str(len(body)), "application/json")
    assert seen["body"].encode() == body


def test_a_chunked_upload(behind):
    daemon, front_end = behind
    status, reply = call(front_end, "POST", "/identity/upload", body=b"chunky data",
                         chunked=True)
    if front_end.kind == "apache":
        # mod_proxy_uwsgi refuses chunked requests itself (REQUEST_CHUNKED_ERROR),
        # as it does in front of uWSGI: service-api never sees them.
        assert status == 411, reply
        assert "/identity/upload" not in daemon.log()
    else:
        # nginx reads the whole body and sends its length (and the client's
        # Transfer-Encoding, which says nothing about the body it sends).
        seen = json.loads(reply)
        assert status == 200
        assert (seen["CONTENT_LENGTH"], seen["body"]) == ("11", "chunky data")


def test_reloads_under_load_through_the_front_end_lose_no_request(behind):
    daemon, front_end = behind
    with Load(front_end.address, keep_alive=4, fresh=4, path="/identity/v3") as load:
        load.wait_for_served(200)
        for count in (1, 2):
            daemon.signal(signal.SIGHUP)
            daemon.wait_for_log("Reload complete", count=count, timeout=30)
            load.wait_for_served(200)
    assert load.failures == [], front_end.log()
    assert load.served > 400
    assert re.search(r"Worker \d+ of app identity \(generation 2\) stopped", daemon.log())
