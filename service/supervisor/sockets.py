"""Listening sockets: bound by the supervisor, inherited by workers across the fork.

No eventlet here. SO_REUSEPORT is never set: a second daemon (or anything
else) on the same port must fail to bind, not silently share it.
"""

import errno
import os
import socket

from service.errors import ConfigError


def socket_key(app):
    """What a socket is for: apps keep their socket across reloads while this is unchanged.

    Port 0 asks the kernel for a fresh port, so such a socket belongs to its app alone.
    """
    if app.port == 0:
        return (app.listen, 0, app.name)
    return (app.listen, app.port)


def bind_all(apps, settings, existing):
    """Return {socket_key: socket} for `apps`, reusing sockets in `existing`.

    Newly bound sockets are closed again if any app cannot bind, so a
    failure leaves nothing listening that was not listening before.
    """
    bound = {}
    new = []
    try:
        for app in apps:
            key = socket_key(app)
            if key not in bound:
                if key in existing:
                    bound[key] = existing[key]
                else:
                    bound[key] = bind(app, settings)
                    new.append(bound[key])
    except ConfigError:
        close_all(new)
        raise
    return bound


def bind(app, settings):
    family, address = _resolve(app)
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigError(f"[{app.name}] listen: app {app.name}: cannot "
                          f"create a socket: {_reason(exc)}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        _enable_tcp_keepalive(sock, settings.tcp_keepidle)
        _send_without_delay(sock)
        sock.bind(address)
        sock.listen(settings.backlog)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"[{app.name}] listen/port: app {app.name}: cannot "
                          f"listen on {_show(app.listen, app.port)}: "
                          f"{_reason(exc)}") from None
    return sock


def _resolve(app):
    try:
        family, _, _, _, address = socket.getaddrinfo(
            app.listen, app.port, type=socket.SOCK_STREAM,
            flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as exc:
        raise ConfigError(f"[{app.name}] listen: app {app.name}: cannot "
                          f"resolve {app.listen!r}: {exc.strerror}") from None
    return family, address


def _enable_tcp_keepalive(sock, idle_seconds):
    # Accepted connections inherit these from the listening socket on Linux.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if hasattr(socket, "TCP_KEEPIDLE"):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle_seconds)


def _send_without_delay(sock):
    # No Nagle: a response written in pieces (a head, then a body the app
    # yields later, or a stream's last chunk) goes out at once instead of
    # waiting up to a delayed ACK (40 ms on Linux) for the piece before.
    # Set once here, since accepted connections inherit it on Linux.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _reason(exc):
    if exc.errno == errno.EADDRINUSE:
        return "address already in use"
    if exc.errno == errno.EACCES:
        return "permission denied"
    return exc.strerror or str(exc)


def service_api_listening_on(port):
    """The pid of a service-api process listening on TCP `port`, or None (Linux /proc)."""
    inodes = _listening_inodes(port)
    for pid in filter(str.isdigit, _listdir("/proc")):
        if _holds_any(pid, inodes) and _is_service_api(pid):
            return int(pid)
    return None


def _listening_inodes(port):
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                rows = [line.split() for line in f.readlines()[1:]]
        except OSError:
            continue
        inodes.update(row[9] for row in rows
                      if row[3] == _TCP_LISTEN
                      and int(row[1].rsplit(":", 1)[1], 16) == port)
    return inodes


_TCP_LISTEN = "0A"


def _holds_any(pid, inodes):
    for fd in _listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def _is_service_api(pid):
    """By its process title, or without setproctitle by the script it runs."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return argv[0].startswith(b"service-api: ") or any(
        os.path.basename(arg) == b"service-api" for arg in argv[:2])


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def url(sock, https=False):
    host, port = sock.getsockname()[:2]
    if sock.family == socket.AF_INET6:
        host = f"[{host}]"
    return f"{'https' if https else 'http'}://{host}:{port}"


def _show(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def close_all(sockets):
    for sock in sockets:
        sock.close()
