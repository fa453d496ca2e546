"""Quiet, honest logs: what is not an error is not logged as one, and what is an error says so in one line."""

import signal
import socket
import struct
import subprocess

import pytest

from tests.functional.daemon import REPO, SERVICE_API, write_config

PASTE = """
    [app:streaming]
    paste.app_factory = tests.fixture_apps:streaming_factory

    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory

    [app:slow]
    paste.app_factory = tests.fixture_apps:slow_build_factory
    seconds = 3
"""


def test_a_client_gone_mid_response_is_one_info_line(tmp_path, daemons):
    conf = write_config(tmp_path, {"streaming": {}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    with socket.create_connection(daemon.address("streaming"), timeout=10) as sock:
        sock.sendall(b"GET /stream?seconds=30 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
        # Gone at once, without reading the rest: a reset, as a killed client's.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    daemon.wait_for_log(r"INFO .*App streaming: client 127\.0\.0\.1 went away after \d+ "
                        r"bytes of the response to GET /stream \(.+\)")
    log = daemon.log()
    assert "Traceback" not in log and "ERROR" not in log
    assert daemon.get("streaming", "/?seconds=0")[0] == 200


@pytest.mark.any_model
@pytest.mark.parametrize("option", ["--log-file", "--log-dir"])
def test_a_log_file_that_cannot_be_opened_is_one_line_and_exit_1(tmp_path, option):
    conf = write_config(tmp_path, {"hello": {}}, PASTE)
    # A directory where the file should be (as root, permissions would not stop it).
    where = str(tmp_path) if option == "--log-file" else str(tmp_path / "missing" / "dir")
    result = subprocess.run(SERVICE_API + ["--config-file", conf, option, where],
                            cwd=tmp_path, capture_output=True, text=True, timeout=30,
                            env={"PYTHONPATH": REPO, "PATH": "/usr/bin:/bin"})
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"service-api: error: {option} {where}: cannot open the log file ")


def test_a_reload_replaced_by_a_newer_hup_is_news_not_an_error(tmp_path, daemons):
    conf = write_config(tmp_path, {"hello": {}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    write_config(tmp_path, {"hello": {}, "slow": {}}, PASTE)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log(r"slow_build: building")
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log(r"INFO .*The reload to generation 2 is replaced by this one")
    daemon.wait_for_log(r"Reload complete: generation 3 is serving", timeout=20)
    assert "ERROR" not in daemon.log()
