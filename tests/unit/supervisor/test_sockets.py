"""Binding listening sockets: errors that name the app, never a shared port."""

import socket

import pytest

from service.supervisor import sockets
from service.errors import ConfigError
from service.supervisor.plan import AppPlan, SocketSettings

SETTINGS = SocketSettings(backlog=16, tcp_keepidle=600)


def test_bind_listens_without_reuseport():
    sock = sockets.bind(AppPlan("a", "127.0.0.1", 0, 1), SETTINGS)
    try:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sockets.url(sock).startswith("http://127.0.0.1:")
        socket.create_connection(sock.getsockname(), timeout=5).close()
    finally:
        sock.close()


def test_accepted_connections_send_without_delay():
    sock = sockets.bind(AppPlan("a", "127.0.0.1", 0, 1), SETTINGS)
    try:
        client = socket.create_connection(sock.getsockname(), timeout=5)
        accepted, _ = sock.accept()
        with client, accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        sock.close()


def test_port_in_use_names_the_app_and_the_cause():
    busy = sockets.bind(AppPlan("first", "127.0.0.1", 0, 1), SETTINGS)
    try:
        port = busy.getsockname()[1]
        with pytest.raises(ConfigError) as error:
            sockets.bind(AppPlan("second", "127.0.0.1", port, 1), SETTINGS)
        assert str(error.value) == (
            f"[second] listen/port: app second: cannot listen on 127.0.0.1:{port}: "
            "address already in use")
    finally:
        busy.close()


def test_unresolvable_listen_address():
    with pytest.raises(ConfigError, match=r"\[a\] listen: app a: cannot resolve"):
        sockets.bind(AppPlan("a", "no-such-host.invalid", 0, 1), SETTINGS)


def test_bind_all_reuses_existing_sockets_and_undoes_a_partial_failure(monkeypatch):
    keep = AppPlan("keep", "127.0.0.1", 0, 1)
    first = sockets.bind_all([keep], SETTINGS, {})
    busy = first[sockets.socket_key(keep)]
    port = busy.getsockname()[1]
    newly_bound = []
    real_bind = sockets.bind

    def bind_and_note(app, settings):
        sock = real_bind(app, settings)
        newly_bound.append(sock)
        return sock
    monkeypatch.setattr(sockets, "bind", bind_and_note)
    try:
        new = AppPlan("new", "127.0.0.1", 0, 1)
        again = sockets.bind_all([keep, new], SETTINGS, first)
        assert again[sockets.socket_key(keep)] is busy
        assert newly_bound == [again[sockets.socket_key(new)]]
        newly_bound.pop().close()
        # Two new sockets bound, then an app that cannot bind (the port of
        # an existing one): the new ones are closed, the existing one kept.
        others = [AppPlan("x", "127.0.0.1", 0, 1), AppPlan("y", "127.0.0.1", 0, 1)]
        clash = AppPlan("clash", "127.0.0.1", port, 1)
        with pytest.raises(ConfigError):
            sockets.bind_all([keep, *others, clash], SETTINGS, first)
        assert len(newly_bound) == 2
        assert [sock.fileno() for sock in newly_bound] == [-1, -1]
        assert busy.fileno() != -1
        socket.create_connection(busy.getsockname(), timeout=5).close()
    finally:
        for sock in newly_bound:
            sock.close()
        busy.close()


def test_port_zero_sockets_belong_to_one_app():
    a, b = AppPlan("a", "::", 0, 1), AppPlan("b", "::", 0, 1)
    assert sockets.socket_key(a) != sockets.socket_key(b)
    assert sockets.socket_key(AppPlan("a", "::", 80, 1)) == sockets.socket_key(
        AppPlan("b", "::", 80, 1))
