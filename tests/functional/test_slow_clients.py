"""Slow clients cannot hold connections: a head must come within request_head_timeout; accepting backs off when descriptors run out."""

import re
import resource
import socket
import time

from tests.functional.daemon import read_until_close, wait_until, write_config

PASTE = """
    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory
"""


def trickle(sock, data, interval, seconds):
    """Send `data` a byte every `interval` seconds until the server closes or `seconds` pass; what it answered."""
    sock.settimeout(interval)
    end = time.monotonic() + seconds
    answer = b""
    for byte in data:
        if time.monotonic() > end:
            break
        try:
            sock.sendall(bytes([byte]))
            answer += sock.recv(65536)
        except TimeoutError:
            continue  # nothing yet: the next byte
        except (BrokenPipeError, ConnectionResetError):
            break
        if answer:
            break
    sock.settimeout(5)
    return answer + read_until_close(sock)


def test_a_head_trickling_in_gets_408_at_request_head_timeout(tmp_path, daemons):
    # Each byte comes well within client_socket_timeout: only the head's
    # own deadline can end it.
    conf = write_config(tmp_path, {"hello": {}}, PASTE,
                        {"request_head_timeout": 2, "client_socket_timeout": 10})
    daemon = daemons(tmp_path, "--config-file", conf)
    with socket.create_connection(daemon.address("hello")) as sock:
        sock.sendall(b"GET /slowly HTTP/1.1\r\n")
        started = time.monotonic()
        answer = trickle(sock, b"X-Padding: " + b"a" * 200, interval=0.2, seconds=12)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer[:100]
    assert b"\r\nConnection: close\r\n" in answer
    assert 1.5 < waited < 2 + 2, waited
    daemon.wait_for_log(r'"GET /slowly HTTP/1\.1" status: 408')
    assert daemon.get("hello")[0] == 200


def test_a_head_that_stops_coming_gets_408_at_request_head_timeout(tmp_path, daemons):
    conf = write_config(tmp_path, {"hello": {}}, PASTE,
                        {"request_head_timeout": 1, "client_socket_timeout": 30})
    daemon = daemons(tmp_path, "--config-file", conf)
    with socket.create_connection(daemon.address("hello"), timeout=10) as sock:
        sock.sendall(b"GET /stopped HTTP/1.1\r\nHost: x\r\n")
        assert read_until_close(sock).startswith(b"HTTP/1.1 408 ")


def test_accepting_backs_off_when_descriptors_run_out_and_says_so_once(
        tmp_path, daemons, worker_model):
    conf = write_config(tmp_path, {"hello": {}}, PASTE)

    def few_descriptors():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    daemon = daemons(tmp_path, "--config-file", conf, preexec_fn=few_descriptors)
    clients = []
    try:
        # More than the worker can hold: it runs out, the rest wait queued.
        for _ in range(80):
            clients.append(socket.create_connection(daemon.address("hello")))
        warning = (r"WARNING .*App hello cannot accept connections: Too many open files; "
                   r"retrying every 0\.1 s until it can")
        daemon.wait_for_log(warning)
        time.sleep(2)  # twenty retries meanwhile
        assert len(re.findall(warning, daemon.log())) == 1
    finally:
        for sock in clients:
            sock.close()
    daemon.wait_for_log(r"INFO .*App hello accepts connections again, after [\d.]+ s")
    wait_until(lambda: daemon.get("hello")[0] == 200, message="a request served again")
    assert "Traceback" not in daemon.log()
