"""Operating the daemon: log rotation with USR1, and systemd's notify protocol."""

import re
import signal
import socket
import textwrap

from tests.functional.daemon import wait_until, write_config

PASTE = """
    [app:hello]
    paste.app_factory = tests.fixture_apps:hello_factory
"""


def test_usr1_reopens_log_files_in_supervisor_and_workers(tmp_path, daemons):
    log = tmp_path / "svc.log"
    rotated = tmp_path / "svc.log.1"
    # A plain FileHandler never notices that its file moved: only USR1 helps.
    logging_conf = tmp_path / "logging.conf"
    logging_conf.write_text(textwrap.dedent(f"""
        [loggers]
        keys = root
        [handlers]
        keys = file
        [formatters]
        keys = plain
        [logger_root]
        level = INFO
        handlers = file
        [handler_file]
        class = FileHandler
        args = ({str(log)!r},)
        formatter = plain
        [formatter_plain]
        format = %(asctime)s %(process)d %(levelname)s %(name)s %(message)s
    """))
    conf = write_config(tmp_path, {"hello": {"workers": 2}}, PASTE,
                        defaults={"log_config_append": logging_conf})
    daemon = daemons(tmp_path, "--config-file", conf, log_path=str(log))
    workers = daemon.workers("hello")
    assert len(workers) == 2
    daemon.get("hello", "/before")
    daemon.wait_for_log(r'"GET /before HTTP/1.1" status: 200')

    log.rename(rotated)
    daemon.signal(signal.SIGUSR1)
    wait_until(lambda: log.exists() and "log files reopened" in log.read_text(),
               message="the supervisor to reopen its log")
    # Each worker reopens on its own signal: every one of them logs into the
    # new file, and every request from now on lands there.
    wait_until(lambda: _served_into(daemon, log, "/after", workers), timeout=10,
               message="every worker to log into the new file")
    for index in range(20):
        daemon.get("hello", f"/after-{index}")
    wait_until(lambda: log.read_text().count('"GET /after-') == 20,
               message="every request logged in the new file")
    assert "/after-" not in rotated.read_text()


def _served_into(daemon, log, path, workers):
    """Whether each of `workers` has logged a request for `path` into `log` (after one more request)."""
    daemon.get("hello", path)
    text = log.read_text()
    # Lines are "asctime pid level name message".
    return all(re.search(rf" {pid} INFO service\.access .*\"GET {path} HTTP", text)
               for pid in workers)


def test_systemd_notifications(tmp_path, daemons):
    notify_path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify_socket:
        notify_socket.bind(notify_path)
        notify_socket.settimeout(20)
        conf = write_config(tmp_path, {"hello": {"workers": 2}}, PASTE)
        daemon = daemons(tmp_path, "--config-file", conf, ready=False,
                         env={"NOTIFY_SOCKET": notify_path})

        ready = _receive(notify_socket)
        assert "READY=1" in ready and f"MAINPID={daemon.pid}" in ready
        # READY=1 comes only once every worker serves.
        assert "Serving: every worker of every app is ready" in daemon.log()
        daemon.wait_ready()
        assert daemon.get("hello")[0] == 200

        daemon.signal(signal.SIGHUP)
        reloading = _receive(notify_socket)
        assert "RELOADING=1" in reloading and "MONOTONIC_USEC=" in reloading
        assert "READY=1" in _receive(notify_socket)
        assert "Reload complete" in daemon.log()

        daemon.signal(signal.SIGTERM)
        assert "STOPPING=1" in _receive(notify_socket)
        assert daemon.wait_exit() == 0


def _receive(sock):
    return sock.recv(4096).decode()
