"""Workers: dead ones are replaced, crash loops back off, other apps never notice; they share connections out."""

import os
import re
import signal
import socket
import threading
import time

from tests.functional.daemon import open_sockets, read_until_close, wait_until, write_config

PASTE = """
    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory

    [app:suicidal]
    paste.app_factory = tests.fixture_apps:suicidal_factory
"""


def test_dead_worker_is_replaced_and_its_death_logged(tmp_path, daemons):
    conf = write_config(tmp_path, {"hello": {"workers": 2}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    victim, survivor = sorted(daemon.workers("hello"))
    os.kill(victim, signal.SIGKILL)
    daemon.wait_for_log(rf"Worker {victim} of app hello \(generation 1\) "
                        r"was killed by signal SIGKILL")
    wait_until(lambda: len(daemon.workers("hello")) == 2
               and victim not in daemon.workers("hello"),
               message="a replacement worker")
    assert survivor in daemon.workers("hello")
    assert daemon.get("hello", "/")[0] == 200


def test_worker_exit_status_is_logged(tmp_path, daemons):
    conf = write_config(tmp_path, {"hello": {}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    (victim,) = daemon.workers("hello")
    os.kill(victim, signal.SIGUSR2)  # default action: terminate
    daemon.wait_for_log(rf"Worker {victim} of app hello .* was killed by "
                        r"signal SIGUSR2")


def test_crash_loop_backs_off_and_other_apps_never_notice(tmp_path, daemons):
    conf = write_config(tmp_path, {"hello": {}, "suicidal": {"workers": 2}},
                        PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    hello_workers = set(daemon.workers("hello"))
    assert len(hello_workers) == 1
    stop_at = time.monotonic() + 10
    hello_failures = []

    def hammer_suicidal():
        while time.monotonic() < stop_at:
            try:
                daemon.get("suicidal", "/")
            except OSError:
                pass

    def use_hello():
        while time.monotonic() < stop_at:
            try:
                assert daemon.get("hello", "/")[0] == 200
            except Exception as exc:
                hello_failures.append(exc)

    threads = [threading.Thread(target=f) for f in
               (hammer_suicidal, hammer_suicidal, use_hello)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    deaths = len(re.findall(r"of app suicidal \(generation 1\) was killed",
                            daemon.log()))
    assert 2 <= deaths <= 40
    assert "App suicidal keeps losing workers: next one in" in daemon.log()
    assert hello_failures == []
    assert set(daemon.workers("hello")) == hello_workers


BURST = 50


def test_a_burst_of_connections_is_shared_out_between_workers(tmp_path, daemons):
    conf = write_config(tmp_path, {"hello": {"workers": 2}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    workers = list(daemon.workers("hello"))
    assert len(workers) == 2
    before = {pid: open_sockets(pid) for pid in workers}
    for _ in range(10):
        assert daemon.get("hello")[0] == 200
    wait_until(lambda: before == {pid: open_sockets(pid) for pid in workers},
               message="the workers to close the warm-up connections")
    # All at once, as a proxy opening its pool or a load test does: the
    # first worker to wake would otherwise take most of them.
    burst = []
    try:
        for _ in range(BURST):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(daemon.address("hello"))
            burst.append(sock)

        def held():
            return {pid: open_sockets(pid) - before[pid] for pid in workers}
        wait_until(lambda: sum(held().values()) == BURST,
                   message=f"the workers to accept all {BURST} connections")
        assert min(held().values()) >= 20, held()
        # Each of them is served.
        for sock in burst:
            sock.setblocking(True)
            sock.settimeout(10)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert read_until_close(sock).startswith(b"HTTP/1.1 200")
    finally:
        for sock in burst:
            sock.close()


SPIN_PASTE = """
    [composite:busy]
    use = egg:Paste#urlmap
    / = hello
    /spin = spin

    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory

    [app:spin]
    paste.app_factory = tests.fixture_apps:spin_factory
"""
KEPT_ALIVE = 8


def test_keep_alive_clients_that_landed_on_one_worker_are_shared_out(tmp_path, daemons):
    # A worker busy in a CPU-heavy request takes no connections (under
    # eventlet its whole hub is held), so clients that come meanwhile all
    # land on its sibling, and with keep-alive would stay there, each with
    # a smaller share of it. The fuller worker lets one go now and then
    # until both hold as many.
    conf = write_config(tmp_path, {"busy": {"workers": 2}}, SPIN_PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    spinning = threading.Thread(target=daemon.get, args=("busy", "/spin?seconds=3"))
    spinning.start()
    daemon.wait_for_log("spin: spinning")
    clients = [daemon.connection("busy") for _ in range(KEPT_ALIVE)]
    try:
        def served_by():
            pids = []
            for client in clients:
                client.request("GET", "/")
                response = client.getresponse()
                response.read()
                assert response.status == 200
                pids.append(response.getheader("X-Worker-Pid"))
            return pids

        served_by()  # every client connects, most while one worker spins
        spinning.join()
        shares = wait_until(
            lambda: (lambda pids: pids if min(pids.count(pid) for pid in set(pids)) >= 3
                     and len(set(pids)) == 2 else None)(served_by()),
            timeout=30, interval=0.05, message="both workers to serve their share")
        assert sorted(shares.count(pid) for pid in set(shares)) in ([3, 5], [4, 4])
    finally:
        for client in clients:
            client.close()
