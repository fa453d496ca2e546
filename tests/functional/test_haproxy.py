"""Two service-api hosts behind HAProxy as etc/haproxy/ ships them: reloads, restarts lose nothing.

The daemons run the shipped svc.conf and api-paste.ini (with the Flask
fixture app as the API, so that a response shows what the app saw), and
HAProxy runs the shipped haproxy.cfg with loopback addresses in place of
the example ones.
"""

import http.client
import json
import os
import re
import signal
import subprocess

import pytest

from tests.functional import debian
from tests.functional.daemon import (
    REPO, free_port, model_options, port_is_closed, wait_until)
from tests.functional.load import Load

ETC_HAPROXY = os.path.join(REPO, "etc", "haproxy")
# HAProxy's connections to the hosts come from this address, the clients'
# from 127.0.0.1: an app that sees 127.0.0.1 was told it by X-Forwarded-For.
HAPROXY_SOURCE = "127.0.0.2"
TEST_GLOBAL = """global
    log stdout format raw local0 info
"""


@pytest.fixture(scope="session")
def haproxy_binary():
    """HAProxy's path, installed from the distribution's packages if it is missing."""
    return debian.program_or_skip("haproxy", "haproxy")


def haproxy_config(listen_port, server_ports):
    """The shipped haproxy.cfg on loopback: our global, our bind, one server per port."""
    with open(os.path.join(ETC_HAPROXY, "haproxy.cfg")) as f:
        shipped = f.read()
    lines, section = [TEST_GLOBAL], None
    for line in shipped.splitlines():
        if re.match(r"[a-z]", line):
            section = line.split()[0]
        if section == "global" or line.lstrip().startswith("#"):
            continue
        if line.lstrip().startswith("bind "):
            line = f"    bind 127.0.0.1:{listen_port}"
        elif line.lstrip().startswith("server "):
            if not server_ports:
                continue
            line = f"    source {HAPROXY_SOURCE}\n" + "\n".join(
                f"    server host{n} 127.0.0.1:{port}"
                for n, port in enumerate(server_ports, 1))
            server_ports = ()
        lines.append(line)
    return "\n".join(lines) + "\n"


class HAProxy:
    def __init__(self, binary, directory, listen_port, server_ports):
        self.address = ("127.0.0.1", listen_port)
        self.config = directory / "haproxy.cfg"
        self.config.write_text(haproxy_config(listen_port, server_ports))
        self.log_path = directory / "haproxy.log"
        check = subprocess.run([binary, "-c", "-f", str(self.config)],
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stdout + check.stderr
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen([binary, "-db", "-f", str(self.config)],
                                        stdout=self._log, stderr=subprocess.STDOUT)

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture
def hosts(tmp_path, daemons):
    """start(name, port) -> a ready service-api host running the shipped files on 127.0.0.1:port."""
    with open(os.path.join(ETC_HAPROXY, "api-paste.ini")) as f:
        paste = f.read().replace("service.demo:versions_app_factory",
                                 "tests.flask_app:app_factory")

    def start(name, port):
        directory = tmp_path / name
        directory.mkdir()
        (directory / "api-paste.ini").write_text(paste)
        (directory / "here.conf").write_text(
            "[DEFAULT]\napi_paste_config = api-paste.ini\n"
            f"[api]\nlisten = 127.0.0.1\nport = {port}\nworkers = 2\n"
            + "".join(f"{key} = {value}\n" for key, value in model_options().items())
            +
            f"[healthcheck]\ndisable_by_file_path = {directory / 'maintenance'}\n")
        return daemons(directory, "--config-file",
                       os.path.join(ETC_HAPROXY, "svc.conf"),
                       "--config-file", str(directory / "here.conf"))

    return start


@pytest.fixture
def haproxy(tmp_path, haproxy_binary):
    """start(server_ports) -> HAProxy serving them on a free port, killed after the test."""
    started = []

    def start(server_ports):
        proxy = HAProxy(haproxy_binary, tmp_path, free_port(), server_ports)
        started.append(proxy)
        wait_until(lambda: proxy.process.poll() is not None
                   or not port_is_closed(*proxy.address),
                   message="HAProxy to listen")
        assert proxy.process.poll() is None, proxy.log()
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


def serves_through(host, count=1):
    """Wait until `host` has served `count` requests for / (not health checks)."""
    host.wait_for_log(r'"GET / HTTP/1\.1" status: 200', count=count, timeout=30)


def restart(hosts, host, name):
    host.signal(signal.SIGTERM)
    assert host.wait_exit() == 0
    return hosts(name, host.address("api")[1])


def test_shipped_haproxy_config_is_valid(tmp_path, haproxy_binary):
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(free_port(), [free_port(), free_port()]))
    result = subprocess.run([haproxy_binary, "-c", "-f", str(config)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr


def test_haproxy_replaces_forwarded_headers_a_client_sent(hosts, haproxy):
    host = hosts("host1", free_port())
    proxy = haproxy([host.address("api")[1]])
    conn = http.client.HTTPConnection(*proxy.address, timeout=10)
    conn.request("GET", "/", headers={
        "X-Forwarded-For": "198.51.100.9", "X-Forwarded-Host": "evil.example",
        "Forwarded": "for=198.51.100.9;proto=https;host=evil.example"})
    response = conn.getresponse()
    seen = json.loads(response.read())
    conn.close()
    assert response.status == 200
    # The app sees the client (not HAProxy's 127.0.0.2) and the address the
    # client used, and nothing the client claimed.
    assert seen["remote_addr"] == "127.0.0.1"
    assert seen["url_root"] == "http://127.0.0.1:%d/" % proxy.address[1]


def test_reloads_and_restarts_behind_haproxy_lose_no_request(hosts, haproxy):
    pair = [hosts("host1", free_port()), hosts("host2", free_port())]
    proxy = haproxy([host.address("api")[1] for host in pair])
    with Load(proxy.address, keep_alive=4, fresh=4) as load:
        for host in pair:
            serves_through(host)
        for round_, (reloaded, restarted) in enumerate(((0, 1), (1, 0)), 1):
            pair[reloaded].signal(signal.SIGHUP)
            pair[reloaded].wait_for_log(r"Reload complete", timeout=30)
            load.wait_for_served(200)
            pair[restarted] = restart(hosts, pair[restarted],
                                      f"host{restarted + 1}-restart{round_}")
            serves_through(pair[restarted])
            load.wait_for_served(200)
    assert load.failures == [], proxy.log()[-3000:]
    assert load.served > 800
