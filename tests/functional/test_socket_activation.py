"""systemd socket activation: the daemon started as systemd starts it, with the sockets a .socket unit passes.

The test binds the sockets (as systemd would from ListenStream=), and a
launcher (tests/functional/systemd_launcher.py) hands them to the daemon
as descriptors 3, 4, ... with LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES.
"""

import os
import signal
import socket
import sys
import tempfile

import pytest

from tests.functional.daemon import wait_until, write_config
from tests.functional.load import Load, connection

LAUNCHER = [sys.executable, os.path.join(os.path.dirname(__file__), "systemd_launcher.py")]
PASTE = """
    [app:home]
    paste.app_factory = tests.fixture_apps:hello_factory
    text = home

    [app:pub]
    paste.app_factory = tests.fixture_apps:hello_factory
    text = pub
"""


@pytest.fixture
def passed():
    """What a .socket unit would bind: a TCP socket (home), a Unix socket (pub), one no app is named after."""
    run_dir = tempfile.mkdtemp(prefix="sa-")
    tcp = socket.create_server(("127.0.0.1", 0), backlog=64)
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(os.path.join(run_dir, "pub.socket"))
    unix.listen(64)
    orphan = socket.create_server(("127.0.0.1", 0))
    sockets = {"home": tcp, "pub": unix, "orphan": orphan}
    yield sockets
    for sock in sockets.values():
        sock.close()
    os.unlink(os.path.join(run_dir, "pub.socket"))
    os.rmdir(run_dir)


def start(daemons, directory, conf, passed):
    fds = [sock.fileno() for sock in passed.values()]
    launcher = LAUNCHER + [":".join(passed), ",".join(map(str, fds))]
    return daemons(directory, "--config-file", conf, launcher=launcher, pass_fds=fds)


def get(address):
    conn = connection(address, timeout=10)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def listening_inodes(pid):
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def test_apps_serve_the_sockets_systemd_passed_and_keep_them_across_reloads(
        tmp_path, daemons, passed):
    busy = socket.create_server(("127.0.0.1", 0))  # binding this would fail the start
    with busy:
        conf = write_config(tmp_path, {
            "home": {"port": busy.getsockname()[1], "workers": 2},
            "pub": {"port": None}}, PASTE)
        daemon = start(daemons, tmp_path, conf, passed)
        log = daemon.log()
        assert "App home serves the socket systemd passed for it" in log
        assert "App pub serves the socket systemd passed for it" in log
        assert ("systemd passed a socket named orphan, but no app in enabled_apis is "
                "named so: it is not served") in log
        home, pub = passed["home"].getsockname(), passed["pub"].getsockname()
        assert get(home) == (200, b"home\n") and get(pub) == (200, b"pub\n")
        inode = os.fstat(passed["home"].fileno()).st_ino
        assert all(inode in listening_inodes(pid) for pid in daemon.workers("home"))
        with Load(home, keep_alive=2, fresh=4) as load:
            load.wait_for_served(100)
            daemon.signal(signal.SIGHUP)
            daemon.wait_for_log("Reload complete", timeout=30)
            load.wait_for_served(100)
        assert load.failures == []
        # The new generation's workers, once the old ones have drained.
        wait_until(lambda: len(daemon.workers("home")) == 2, timeout=30,
                   message="the old workers to exit")
        assert all(inode in listening_inodes(pid) for pid in daemon.workers("home"))
    daemon.signal(signal.SIGTERM)
    assert daemon.wait_exit() == 0
    # systemd's sockets stay: clients of a restart wait in their queue.
    assert os.path.exists(pub)
    socket.create_connection(home, timeout=5).close()


def test_an_app_without_a_passed_socket_binds_as_usual(tmp_path, daemons, passed):
    del passed["pub"]
    conf = write_config(tmp_path, {"home": {}, "pub": {}}, PASTE)
    daemon = start(daemons, tmp_path, conf, passed)
    assert get(daemon.address("pub")) == (200, b"pub\n")
    assert get(passed["home"].getsockname()) == (200, b"home\n")
