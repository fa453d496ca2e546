"""The worker model's contract (service.worker.model), held against both models in this process.

The real shared pieces (AppServer's Serving, Connection, Exchange, the
drain) run on each model's engine, with a listening socket of their own and
clients in OS threads; the eventlet model's units run in this thread's hub
while the clients do their part (nothing is monkey-patched here). The
functional tests run the same models in real workers.
"""

import http.client
import os
import socket
import threading
import time

import pytest

from service import worker_status
from service.supervisor.plan import AppPlan, WsgiSettings
from service.worker import app_server
from service.worker import model as worker_model
from service.worker.green import door

CONTRACT = ("name", "prepare_process", "concurrency", "engine", "select_readable",
            "access_log", "lock", "sleep", "request_slots", "receive_now", "TlsClosed",
            "BadBody", "app_failures", "expect_raw_answer", "answered_raw")
CONCURRENCY = 2


class Seat:
    def post(self, held):
        pass

    def leave(self):
        pass

    def siblings(self):
        return []


class Server:
    """An AppServer of `model` on a listening socket of its own, without the control loop."""

    def __init__(self, model, app, idle_timeout=0):
        self.model = model
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.address = self.sock.getsockname()
        settings = WsgiSettings(pool_size=CONCURRENCY, max_header_line=16384,
                                keep_alive=True, client_socket_timeout=idle_timeout,
                                log_format="%(request_line)s")
        plan = AppPlan("contract", "127.0.0.1", 0, 1, worker_model=model.name,
                       threads=CONCURRENCY)
        self.status = worker_status.WorkerStatus(CONCURRENCY)
        self.server = app_server.AppServer(app, self.sock, plan, settings, None, Seat(),
                                           model, self.status)
        self.server.engine.start()
        self.stopped = False

    def run_until(self, client, seconds=10):
        """Run `client()` in an OS thread while this model's units serve it; its result."""
        outcome = {}

        def run():
            try:
                outcome["result"] = client()
            except BaseException as exc:
                outcome["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        self.serve_while(thread.is_alive, seconds)
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]

    def serve_while(self, condition, seconds=10):
        deadline = time.monotonic() + seconds
        while condition():
            assert time.monotonic() < deadline, "the server took too long"
            # The eventlet model's units run in this thread's hub meanwhile.
            self.model.sleep(0.005)

    def stop(self):
        """What the control loop does on TERM: stop accepting, drain, finish."""
        if self.stopped:
            return
        self.stopped = True
        engine, connections = self.server.engine, self.server.connections
        engine.stop_accepting()
        if self.model.name == "eventlet":
            door.spawn(connections.drain).wait()
        else:
            connections.drain()
        engine.finish()


def hello(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello " + environ["PATH_INFO"].encode()]


def get(address, path, conn=None):
    conn = conn or http.client.HTTPConnection(*address, timeout=10)
    conn.request("GET", path)
    response = conn.getresponse()
    return response.status, response.read()


@pytest.fixture
def serve(model):
    servers = []

    def start(app=hello, **options):
        servers.append(Server(model, app, **options))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def test_both_models_have_every_member_of_the_contract():
    for name in worker_model.MODELS:
        model = worker_model.load(name)
        assert model.name == name
        assert [member for member in CONTRACT if not hasattr(model, member)] == []
    documented = worker_model.__doc__
    assert [member for member in CONTRACT if member not in documented] == []


def test_an_unknown_model_is_not_loaded():
    with pytest.raises(KeyError):
        worker_model.load("processes")


def test_requests_on_a_kept_alive_connection_are_served_across_idle_pauses(serve):
    server = serve()

    def client():
        conn = http.client.HTTPConnection(*server.address, timeout=10)
        answers = []
        for path in ("/a", "/b", "/c"):
            answers.append(get(server.address, path, conn))
            # Longer than either model waits before parking an idle connection.
            time.sleep(0.3)
        conn.close()
        return answers

    assert server.run_until(client) == [(200, b"hello /a"), (200, b"hello /b"),
                                        (200, b"hello /c")]
    server.serve_while(lambda: server.server.connections.held())


def test_idle_connections_hold_no_unit_that_a_new_client_needs(serve):
    server = serve()

    def client():
        idle = [socket.create_connection(server.address) for _ in range(10 * CONCURRENCY)]
        try:
            time.sleep(0.3)
            return get(server.address, "/new")
        finally:
            for sock in idle:
                sock.close()

    assert server.run_until(client) == (200, b"hello /new")


def test_app_calls_at_once_are_bounded_by_the_models_concurrency(model, serve):
    running, most = [0], [0]

    def slow(environ, start_response):
        running[0] += 1
        most[0] = max(most[0], running[0])
        model.sleep(0.2)
        running[0] -= 1
        return hello(environ, start_response)

    server = serve(slow)

    def clients():
        answers = []
        threads = [threading.Thread(target=lambda n=n: answers.append(
            get(server.address, f"/{n}"))) for n in range(3 * CONCURRENCY)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return answers

    answers = server.run_until(clients)
    assert len(answers) == 3 * CONCURRENCY and {status for status, _ in answers} == {200}
    assert most[0] == CONCURRENCY


def test_a_parked_connection_is_closed_after_the_idle_timeout(serve):
    server = serve(idle_timeout=1)

    def client():
        with socket.create_connection(server.address) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.settimeout(5)
            first = sock.recv(65536)
            started = time.monotonic()
            rest = sock.recv(65536)  # the server closes the idle connection
            return first, rest, time.monotonic() - started

    first, rest, waited = server.run_until(client)
    assert first.startswith(b"HTTP/1.1 200 OK") and rest == b""
    assert 0.5 < waited < 3


def test_a_stop_ends_accepting_and_the_drain_ends_what_is_open(serve):
    server = serve()
    assert server.run_until(lambda: get(server.address, "/")) == (200, b"hello /")
    connections = server.server.connections
    # The first client's connection is gone; then the idle one is accepted
    # (one still in the listening socket's queue would be reset by the stop).
    server.serve_while(lambda: connections.held())
    idle = socket.create_connection(server.address)
    server.serve_while(lambda: not connections.held())
    server.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(server.address, timeout=2)
    idle.settimeout(5)
    assert idle.recv(1) == b""  # the drain closed the idle connection
    assert connections.held() == 0


def test_the_control_loops_wait_ends_with_a_readable_descriptor_or_its_timeout(model):
    # The control loop beats the worker's heartbeat between these waits
    # (service.worker.app_server): a wait must end at its timeout.
    quiet_r, quiet_w = os.pipe()
    ready_r, ready_w = os.pipe()
    try:
        started = time.monotonic()
        assert model.select_readable([quiet_r], 0.05) == []
        assert 0.04 <= time.monotonic() - started < 2
        os.write(ready_w, b"x")
        assert model.select_readable([quiet_r, ready_r], 10) == [ready_r]
    finally:
        for fd in (quiet_r, quiet_w, ready_r, ready_w):
            os.close(fd)
