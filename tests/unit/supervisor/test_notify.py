"""systemd notifications over a real datagram socket."""

import os
import socket

from service.supervisor import notify


def test_notify_sends_datagrams_to_notify_socket(tmp_path, monkeypatch):
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(path)
        monkeypatch.setenv("NOTIFY_SOCKET", path)
        notify.ready()
        assert listener.recv(4096).decode().split("\n") == [
            "READY=1", f"MAINPID={os.getpid()}", "STATUS=serving"]
        notify.reloading()
        lines = listener.recv(4096).decode().split("\n")
        assert lines[0] == "RELOADING=1" and lines[1].startswith("MONOTONIC_USEC=")
        notify.stopping()
        assert listener.recv(4096).startswith(b"STOPPING=1")


def test_abstract_socket_address(monkeypatch):
    name = f"service-api-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        notify.notify("STATUS=hello")
        assert listener.recv(100) == b"STATUS=hello"


def test_unreachable_socket_is_logged_not_raised(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    notify.ready()
    assert "Cannot notify systemd" in caplog.text
