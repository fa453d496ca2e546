"""The admin endpoint of a running daemon: /metrics while it serves, loses a worker, reloads; /healthz through start, serve and stop.

Every exposition is parsed with prometheus_client's own parser, and once
with promtool (Debian's prometheus package, installed here when missing).
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service import count_sheet
from tests.functional import debian
from tests.functional import daemon as daemon_module
from tests.functional.daemon import free_port, pid_alive, wait_until, write_config
from tests.functional.test_stop import SlowRequest

PASTE = """
    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory

    [app:sleepy]
    paste.app_factory = tests.fixture_apps:sleepy_factory

    [app:slow]
    paste.app_factory = tests.fixture_apps:slow_build_factory
    seconds = 2
"""
ACCESS_LINE = re.compile(r'service\.access .*?"(.*?)" status: (\d+)')


class Admin:
    """A daemon's admin endpoint."""

    def __init__(self, port):
        self.port = port

    def get(self, path, method="GET"):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def text(self):
        status, headers, body = self.get("/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        return body.decode()

    def samples(self):
        """{(name, sorted label pairs): value} of every sample, as prometheus_client parses it."""
        return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
                for family in text_string_to_metric_families(self.text())
                for sample in family.samples}

    def value(self, name, **labels):
        """The sum of the samples of `name` whose labels include `labels`."""
        return sum(value for (found, pairs), value in self.samples().items()
                   if found == name and set(labels.items()) <= set(pairs))

    def health(self):
        status, headers, body = self.get("/healthz")
        assert headers["Content-Type"] == "application/json"
        assert body.count(b"\n") == 1 and body.endswith(b"\n")  # one line
        return status, json.loads(body)


@pytest.fixture
def start(tmp_path, daemons):
    """start(apps, ready=True) -> (daemon, Admin) with an admin endpoint on a free port."""
    def start_daemon(apps, ready=True):
        port = free_port()
        conf = write_config(tmp_path, apps, PASTE, {"metrics_port": port})
        daemon = daemons(tmp_path, "--config-file", conf, ready=ready)
        daemon.rewrite = lambda apps, paste: write_config(tmp_path, apps, paste,
                                                          {"metrics_port": port})
        return daemon, Admin(port)
    return start_daemon


def access_lines(daemon):
    """[(method label, code)] of the access log's lines."""
    return [(_method_label(request_line), code)
            for request_line, code in ACCESS_LINE.findall(daemon.log())]


def _method_label(request_line):
    method = request_line.partition(" ")[0]
    return method if method in count_sheet.METHODS else count_sheet.OTHER


def counted(admin):
    """[(method, code)] as service_api_requests_total counts them, one entry per request."""
    pairs = []
    for (name, labels), value in admin.samples().items():
        if name == "service_api_requests_total":
            labels = dict(labels)
            pairs += [(labels["method"], labels["code"])] * int(value)
    return pairs


def counts_match_the_log(daemon, admin, total):
    """Wait until `total` requests are in the access log and counted, the same by method and code."""
    def matching():
        logged = sorted(access_lines(daemon))
        return len(logged) == total and sorted(counted(admin)) == logged
    wait_until(matching, message=f"{total} requests logged and counted alike:\n"
               f"logged {sorted(access_lines(daemon))}\ncounted {sorted(counted(admin))}")


def serve_some(daemon):
    """Requests of several methods and answers, a refused one among them: how many."""
    for method in ("GET", "GET", "POST", "HEAD", "DELETE"):
        assert daemon.get("hello", method=method, body=b"x" * 10)[0] == 200
    # A method outside the known set, and a request line the server refuses.
    brew = b"BREW /pot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    assert daemon.raw("hello", brew).startswith(b"HTTP/1.1 200")
    assert daemon.raw("hello", b"GET / HTTP/9.9\r\n\r\n").startswith(b"HTTP/1.1 505")
    return 7


def test_requests_counted_equal_the_access_log_across_a_crash_and_a_reload(start):
    daemon, admin = start({"hello": {"workers": 2}})
    total = serve_some(daemon)
    counts_match_the_log(daemon, admin, total)
    assert admin.value("service_api_requests_total", method="GET", code="505") == 1
    assert admin.value("service_api_requests_total", method="other", code="200") == 1
    assert admin.value("service_api_request_duration_seconds_count") == total
    assert admin.value("service_api_request_bytes_total") > 0
    assert admin.value("service_api_response_bytes_total") > 0

    # A worker killed: one crash, its replacement a start; nothing it counted is lost.
    os.kill(next(iter(daemon.workers("hello"))), signal.SIGKILL)
    wait_until(lambda: admin.value("service_api_worker_exits_total", reason="crash") == 1
               and admin.value("service_api_workers", state="serving") == 2,
               message="the crash counted and the worker replaced")
    assert admin.value("service_api_worker_starts_total", app="hello") == 3
    counts_match_the_log(daemon, admin, total)

    # A reload: one success, a new generation, the old workers' exits; the
    # endpoint answers throughout and keeps its counters.
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log(r"Reload complete")
    wait_until(lambda: admin.value("service_api_worker_exits_total", reason="reload") == 2,
               message="the old generation's exits")
    assert admin.value("service_api_reloads_total", outcome="success") == 1
    assert admin.value("service_api_reloads_total", outcome="failed") == 0
    assert admin.value("service_api_generation") == 2
    total += serve_some(daemon)
    counts_match_the_log(daemon, admin, total)
    models = {dict(labels)["worker_model"] for (name, labels) in admin.samples()
              if name == "service_api_requests_total"}
    assert models == {daemon_module.WORKER_MODEL or "eventlet"}


def test_a_recycled_worker_counts_one_recycle_and_keeps_its_requests(start):
    daemon, admin = start({"hello": {"max_requests": 5}})
    first = set(daemon.workers("hello"))
    for _ in range(8):
        assert daemon.get("hello")[0] == 200
    wait_until(lambda: admin.value("service_api_worker_exits_total", reason="recycle") == 1,
               message="the recycle counted")
    assert set(daemon.workers("hello")).isdisjoint(first)
    assert admin.value("service_api_worker_exits_total") == 1
    assert admin.value("service_api_worker_starts_total") == 2
    counts_match_the_log(daemon, admin, 8)


def test_a_reload_whose_app_fails_to_build_counts_one_failure(start):
    daemon, admin = start({"hello": {}})
    daemon.rewrite({"hello": {}}, PASTE.replace("tests.fixture_apps:hello_factory",
                                                "tests.fixture_apps:refusing_factory"))
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log(r"Reload failed")
    wait_until(lambda: admin.value("service_api_reloads_total", outcome="failed") == 1,
               message="the failed reload counted")
    assert admin.value("service_api_reloads_total", outcome="success") == 0
    assert admin.value("service_api_worker_exits_total", reason="build_failed") == 1
    assert admin.value("service_api_generation") == 1
    assert admin.health()[0] == 200


def test_gauges_show_requests_in_flight_and_idle_connections(start):
    daemon, admin = start({"sleepy": {}, "hello": {}})
    slow = SlowRequest(daemon, 3)
    daemon.wait_for_log(r"sleepy: sleeping 3")
    assert admin.value("service_api_requests_in_flight", app="sleepy") == 1
    assert admin.value("service_api_connections_open", app="sleepy") == 1
    keep_alive = daemon.connection("hello")
    keep_alive.request("GET", "/")
    keep_alive.getresponse().read()
    # Parked between requests: at once under threads, after a moment under eventlet.
    wait_until(lambda: admin.value("service_api_connections_idle", app="hello") == 1,
               message="the keep-alive connection idle")
    keep_alive.close()
    wait_until(lambda: admin.value("service_api_connections_open", app="hello") == 0,
               message="the closed connection gone")
    slow.join(10)
    assert admin.value("service_api_requests_in_flight", app="sleepy") == 0


def test_healthz_is_503_while_starting_or_without_a_serving_worker_and_200_between(start):
    daemon, admin = start({"slow": {}}, ready=False)
    wait_until(lambda: _answers(admin), message="the admin endpoint to answer")
    status, body = admin.health()
    assert (status, body["status"]) == (503, "starting"), body
    daemon.wait_ready()
    assert admin.health() == (200, {"status": "serving", "generation": 1,
                                    "apps": {"slow": {"serving": 1, "workers": 1}}})
    os.kill(next(iter(daemon.workers("slow"))), signal.SIGKILL)
    # Its replacement takes 2 s to build: the app has no serving worker.
    wait_until(lambda: admin.health()[1]["status"] == "unavailable",
               message="healthz to tell the app has no serving worker")
    assert admin.health()[0] == 503
    wait_until(lambda: admin.health()[0] == 200, message="the replacement to serve")


def test_healthz_is_503_during_a_term_drain_and_metrics_still_answer(start):
    daemon, admin = start({"sleepy": {}})
    slow = SlowRequest(daemon, 3)
    daemon.wait_for_log(r"sleepy: sleeping 3")
    assert admin.health()[0] == 200
    daemon.signal(signal.SIGTERM)
    wait_until(lambda: admin.health() == (503, {"status": "stopping", "generation": 1,
                                                "apps": {}}),
               message="healthz to say stopping")
    assert slow.is_alive()
    assert admin.value("service_api_requests_in_flight") == 1
    slow.join(10)
    assert slow.result[0] == 200
    assert daemon.wait_exit() == 0


def test_only_the_supervisor_holds_the_admin_socket(start):
    daemon, admin = start({"hello": {"workers": 2}})
    holders = _pids_holding_listener(admin.port, [daemon.pid, *daemon.workers()])
    assert holders == [daemon.pid]


def test_the_endpoint_answers_only_get_and_head_of_its_two_pages(start):
    daemon, admin = start({"hello": {}})
    assert admin.get("/nope")[0] == 404
    status, headers, _ = admin.get("/metrics", method="POST")
    assert (status, headers["Allow"]) == (405, "GET, HEAD")
    status, headers, body = admin.get("/metrics", method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    # A client that sends half a request holds nothing but its own slot.
    with socket.create_connection(("127.0.0.1", admin.port)) as idle:
        idle.sendall(b"GET /metr")
        assert admin.health()[0] == 200


@pytest.mark.any_model
def test_a_taken_metrics_port_is_a_configuration_error(tmp_path, daemons):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        conf = write_config(tmp_path, {"hello": {}}, PASTE, {"metrics_port": port})
        daemon = daemons(tmp_path, "--config-file", conf, ready=False)
        assert daemon.wait_exit() == 1
    log = daemon.log()
    assert f"metrics_port: cannot listen on 127.0.0.1:{port}: address already in use" in log
    assert "Traceback" not in log
    assert not [pid for pid in daemon.workers() if pid_alive(pid)]


@pytest.fixture(scope="session")
def promtool():
    """promtool's path, installed from Debian's prometheus package if it is missing."""
    return debian.program_or_skip("promtool", "prometheus", recommends=False)


def test_promtool_accepts_the_exposition(start, promtool):
    daemon, admin = start({"hello": {"workers": 2}})
    serve_some(daemon)
    os.kill(next(iter(daemon.workers("hello"))), signal.SIGKILL)
    wait_until(lambda: admin.value("service_api_worker_exits_total") == 1,
               message="the crash counted")
    result = subprocess.run([promtool, "check", "metrics"], input=admin.text(),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def _answers(admin):
    try:
        admin.get("/healthz")
    except OSError:
        return False
    return True


def _pids_holding_listener(port, pids):
    """Which of `pids` hold the socket listening on 127.0.0.1:`port`."""
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    inodes = {row[9] for row in rows
              if row[3] == "0A" and int(row[1].rsplit(":", 1)[1], 16) == port}
    assert inodes, f"nothing listens on port {port}"
    holders = []
    for pid in pids:
        targets = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                targets.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
        if {f"socket:[{inode}]" for inode in inodes} & targets:
            holders.append(pid)
    return holders
