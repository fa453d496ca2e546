"""Apps on Unix sockets: made with their mode, kept across HUP (same inode, no gap), removed on stop, never stolen."""

import json
import os
import signal
import socket
import stat
import subprocess
import tempfile

import pytest

from tests.functional.daemon import Daemon, REPO, SERVICE_API, write_config
from tests.functional.load import Load, connection

PASTE = """
    [app:home]
    paste.app_factory = tests.fixture_apps:hello_factory
    text = home

    [app:keys]
    paste.app_factory = tests.environ_apps:keys_factory
"""


@pytest.fixture
def run_dir():
    """A short directory for sockets (a socket's path must fit in 107 bytes), open to all like /run."""
    with tempfile.TemporaryDirectory(prefix="sa-") as path:
        os.chmod(path, 0o755)
        yield path


def get(path, url="/", headers=None):
    conn = connection(path, timeout=10)
    try:
        conn.request("GET", url, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def mode_and_inode(path):
    info = os.lstat(path)
    assert stat.S_ISSOCK(info.st_mode)
    return stat.S_IMODE(info.st_mode), info.st_ino


def test_made_with_its_mode_kept_across_reloads_and_removed_on_stop(tmp_path, run_dir, daemons):
    path = os.path.join(run_dir, "home.socket")
    conf = write_config(tmp_path, {"home": {"port": None, "unix_socket": path,
                                            "unix_socket_mode": "0640", "workers": 2}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    assert f"App home: http+unix:{path} with 2 worker(s)" in daemon.log()
    mode, inode = mode_and_inode(path)
    assert mode == 0o640
    assert get(path) == (200, b"home\n")
    with Load(path, keep_alive=2, fresh=4) as load:
        load.wait_for_served(100)
        for count in (1, 2):
            daemon.signal(signal.SIGHUP)
            daemon.wait_for_log("Reload complete", count=count, timeout=30)
            load.wait_for_served(100)
    assert load.failures == []
    assert mode_and_inode(path) == (0o640, inode)
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0
    assert not os.path.exists(path)


def test_a_reload_moves_an_app_to_another_socket_and_removes_the_old_one(tmp_path, run_dir, daemons):
    old, new = os.path.join(run_dir, "old.socket"), os.path.join(run_dir, "new.socket")
    conf = write_config(tmp_path, {"home": {"port": None, "unix_socket": old}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    write_config(tmp_path, {"home": {"port": None, "unix_socket": new}}, PASTE)
    daemon.signal(signal.SIGHUP)
    daemon.wait_for_log("Reload complete", timeout=30)
    assert get(new) == (200, b"home\n")
    assert not os.path.exists(old)


def test_the_file_a_killed_daemon_left_is_replaced(tmp_path, run_dir, daemons):
    path = os.path.join(run_dir, "home.socket")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()
    conf = write_config(tmp_path, {"home": {"port": None, "unix_socket": path}}, PASTE)
    daemons(tmp_path, "--config-file", conf)
    assert get(path) == (200, b"home\n")


def test_a_socket_another_process_listens_on_is_a_configuration_error(tmp_path, run_dir):
    path = os.path.join(run_dir, "home.socket")
    other = socket.socket(socket.AF_UNIX)
    other.bind(path)
    other.listen(1)
    try:
        conf = write_config(tmp_path, {"home": {"port": None, "unix_socket": path}}, PASTE)
        daemon = Daemon(tmp_path, "--config-file", conf)
        try:
            assert daemon.wait_exit() == 1
            assert (f"service-api: error: [home] unix_socket: app home: cannot listen on "
                    f"{path}: another process listens on it") in daemon.log()
        finally:
            daemon.stop()
        other.settimeout(5)
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)  # still the other process's
            other.accept()[0].close()
    finally:
        other.close()


def test_http_on_a_unix_socket_shows_what_non_tcp_addresses_show(tmp_path, run_dir, daemons):
    path = os.path.join(run_dir, "keys.socket")
    conf = write_config(tmp_path, {"keys": {"port": None, "unix_socket": path}}, PASTE)
    daemon = daemons(tmp_path, "--config-file", conf)
    status, body = get(path, "/x?y=1", {"Host": "api.example"})
    environ = json.loads(body)
    assert status == 200
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("unix", "")
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("unix", "")
    assert (environ["PATH_INFO"], environ["QUERY_STRING"]) == ("/x", "y=1")
    daemon.wait_for_log(r'\] unix "GET /x\?y=1 HTTP/1.1" status: 200')


def test_check_config_binds_and_removes_and_knows_its_own_daemon(tmp_path, run_dir, daemons):
    path = os.path.join(run_dir, "home.socket")
    conf = write_config(tmp_path, {"home": {"port": None, "unix_socket": path,
                                            "protocol": "uwsgi"}}, PASTE)
    check = [*SERVICE_API, "--check-config", "--config-file", conf]
    env = dict(os.environ, PYTHONPATH=REPO)
    result = subprocess.run(check, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"home  uwsgi+unix:{path}" in result.stdout
    assert not os.path.exists(path)
    daemon = daemons(tmp_path, "--config-file", conf)
    result = subprocess.run(check, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (f"App home: its address is held by the running service-api (pid {daemon.pid})"
            in result.stdout)
    assert os.path.exists(path)
