"""Unix sockets per app: the mode asked for, stale files replaced, live ones never taken, files removed when closed."""

import os
import socket
import stat
import tempfile

import pytest

from service.errors import ConfigError
from service.supervisor import sockets
from service.supervisor.plan import AppPlan, SocketSettings

SETTINGS = SocketSettings(backlog=16, tcp_keepidle=600)


@pytest.fixture
def directory():
    # Not tmp_path: a socket's path must fit in 107 bytes.
    with tempfile.TemporaryDirectory(prefix="sa-") as path:
        yield path


def unix_app(path, name="a", mode=0o660):
    return AppPlan(name, "0.0.0.0", None, 1, unix_socket=path, unix_socket_mode=mode)


def mode_of(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize("mode", [0o660, 0o600, 0o666, 0o777])
def test_the_socket_gets_the_mode_asked_for_whatever_the_umask(directory, mode):
    path = os.path.join(directory, "a.socket")
    old_umask = os.umask(0o077)
    try:
        sock = sockets.bind(unix_app(path, mode=mode), SETTINGS)
    finally:
        os.umask(old_umask)
    try:
        assert stat.S_ISSOCK(os.lstat(path).st_mode) and mode_of(path) == mode
        assert sockets.url(sock) == f"http+unix:{path}"
        assert sockets.url(sock, protocol="uwsgi") == f"uwsgi+unix:{path}"
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)
    finally:
        sockets.close_all([sock])
    assert not os.path.exists(path)


def test_a_stale_socket_file_is_replaced(directory):
    path = os.path.join(directory, "a.socket")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # a killed daemon's: the file stays, nobody listens
    sock = sockets.bind(unix_app(path), SETTINGS)
    try:
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)
            accepted, _ = sock.accept()
            accepted.close()
    finally:
        sockets.close_all([sock])


def test_a_socket_another_process_listens_on_is_never_taken(directory):
    path = os.path.join(directory, "a.socket")
    live = socket.socket(socket.AF_UNIX)
    live.bind(path)
    live.listen(1)
    try:
        with pytest.raises(ConfigError) as error:
            sockets.bind(unix_app(path), SETTINGS)
        assert str(error.value) == (f"[a] unix_socket: app a: cannot listen on {path}: "
                                    "another process listens on it")
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)  # still the other one's
    finally:
        live.close()


def test_a_file_that_is_not_a_socket_is_left_alone(directory):
    path = os.path.join(directory, "a.socket")
    with open(path, "w") as f:
        f.write("data")
    with pytest.raises(ConfigError, match="exists and is not a socket"):
        sockets.bind(unix_app(path), SETTINGS)
    with open(path) as f:
        assert f.read() == "data"


def test_a_missing_directory_is_named(directory):
    path = os.path.join(directory, "missing", "a.socket")
    with pytest.raises(ConfigError) as error:
        sockets.bind(unix_app(path), SETTINGS)
    assert str(error.value) == (f"[a] unix_socket: app a: cannot listen on {path}: "
                                "No such file or directory")


def test_closing_removes_only_the_file_the_socket_made(directory):
    path = os.path.join(directory, "a.socket")
    sock = sockets.bind(unix_app(path), SETTINGS)
    os.unlink(path)
    other = socket.socket(socket.AF_UNIX)
    other.bind(path)  # someone else's now
    try:
        sockets.close_all([sock])
        assert os.path.exists(path)
    finally:
        other.close()


def test_a_kept_socket_takes_the_mode_a_reload_reads(directory):
    path = os.path.join(directory, "a.socket")
    app = unix_app(path)
    bound = sockets.bind_all([app], SETTINGS, {})
    inode = os.lstat(path).st_ino
    try:
        again = sockets.bind_all([unix_app(path, mode=0o666)], SETTINGS, bound)
        assert again[sockets.socket_key(app)] is bound[sockets.socket_key(app)]
        assert mode_of(path) == 0o666 and os.lstat(path).st_ino == inode
    finally:
        sockets.close_all(bound.values())


def test_socket_keys_keep_a_unix_socket_whatever_else_changes(directory):
    path = os.path.join(directory, "a.socket")
    assert sockets.socket_key(unix_app(path)) == ("unix", path)
    assert sockets.socket_key(AppPlan("a", "0.0.0.0", 8001, 1, unix_socket=path,
                                      protocol="uwsgi")) == ("unix", path)
    assert sockets.socket_key(AppPlan("a", "0.0.0.0", 8001, 1, systemd_socket=True)) == (
        "systemd", "a")


def test_a_running_service_api_is_found_by_its_unix_socket(directory):
    path = os.path.join(directory, "a.socket")
    sock = sockets.bind(unix_app(path), SETTINGS)
    try:
        assert sockets._listening_unix_inodes(path) == {
            str(os.fstat(sock.fileno()).st_ino)}
        assert sockets.service_api_listening_on_unix(path) is None  # pytest is no service-api
    finally:
        sockets.close_all([sock])
    assert sockets._listening_unix_inodes(path) == set()
