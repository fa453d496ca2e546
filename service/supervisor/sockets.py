"""Listening sockets: bound by the supervisor, inherited by workers across the fork.

No eventlet here. SO_REUSEPORT is never set: a second daemon (or anything
else) on the same port must fail to bind, not silently share it. A Unix
socket's file is never taken from a process that listens on it, and is
removed when the supervisor closes the socket that made it, if it is still
that socket's file.
"""

import errno
import os
import socket
import stat

from service.errors import ConfigError


def socket_key(app):
    """What a socket is for: apps keep their socket across reloads while this is unchanged.

    Port 0 asks the kernel for a fresh port, so such a socket belongs to its
    app alone, and so does a socket systemd passed for the app.
    """
    if app.systemd_socket:
        return ("systemd", app.name)
    if app.unix_socket:
        return ("unix", app.unix_socket)
    if app.port == 0:
        return (app.listen, 0, app.name)
    return (app.listen, app.port)


class UnixListener(socket.socket):
    """A listening Unix socket this daemon bound, and the file its bind made: (path, (st_dev, st_ino))."""

    made_file = None


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
                    _keep_mode(app, bound[key])
                else:
                    bound[key] = bind(app, settings)
                    new.append(bound[key])
    except ConfigError:
        close_all(new)
        raise
    return bound


def bind(app, settings):
    if app.unix_socket:
        return _bind_unix(app, settings)
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


def _bind_unix(app, settings):
    path = app.unix_socket
    where = f"[{app.name}] unix_socket: app {app.name}"
    _remove_stale_file(path, where)
    sock = UnixListener(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        sock.made_file = (path, _identity(os.lstat(path)))
        # Before listen(): until then nobody can connect, whatever the
        # umask let bind() create.
        os.chmod(path, app.unix_socket_mode)
        sock.listen(settings.backlog)
    except OSError as exc:
        close_all([sock])
        raise ConfigError(f"{where}: cannot listen on {path}: {_reason(exc)}") from None
    return sock


def _remove_stale_file(path, where):
    """Remove a socket file nobody listens on (a killed daemon's); ConfigError if someone does, or it is no socket."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ConfigError(f"{where}: cannot use {path}: {_reason(exc)}") from None
    if not stat.S_ISSOCK(mode):
        raise ConfigError(f"{where}: {path} exists and is not a socket")
    if someone_listens_on(path):
        raise ConfigError(f"{where}: cannot listen on {path}: another process "
                          "listens on it")
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ConfigError(f"{where}: cannot replace the stale socket {path}: "
                          f"{_reason(exc)}") from None


def someone_listens_on(path):
    """Whether a process accepts connections on the Unix socket at `path`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        try:
            probe.connect(path)
        except (ConnectionRefusedError, FileNotFoundError):
            return False
        except (BlockingIOError, TimeoutError):
            return True  # its queue is full: it is there, and busy
        except OSError as exc:
            raise ConfigError(f"cannot tell whether a process listens on "
                              f"{path}: {_reason(exc)}") from None
    return True


def _identity(stat_result):
    return (stat_result.st_dev, stat_result.st_ino)


def _keep_mode(app, sock):
    """A socket kept across a reload takes the unix_socket_mode the reload read."""
    made = getattr(sock, "made_file", None)
    if made is None:
        return
    try:
        os.chmod(made[0], app.unix_socket_mode)
    except OSError as exc:
        raise ConfigError(f"[{app.name}] unix_socket_mode: app {app.name}: cannot "
                          f"change the mode of {made[0]}: {_reason(exc)}") from None


def _remove_file(sock):
    """Remove the file a UnixListener's bind made, if it is still that file."""
    made = getattr(sock, "made_file", None)
    if made is None:
        return
    path, identity = made
    try:
        if _identity(os.lstat(path)) == identity:
            os.unlink(path)
    except OSError:
        pass  # gone already, or out of our hands: nothing to clean up


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
    return _service_api_holding(_listening_inodes(port))


def service_api_listening_on_unix(path):
    """The pid of a service-api process listening on the Unix socket `path`, or None (Linux /proc)."""
    return _service_api_holding(_listening_unix_inodes(path))


def _service_api_holding(inodes):
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
# /proc/net/unix: Flags __SO_ACCEPTCON (a listening socket).
_UNIX_ACCEPTCON = 0x10000


def _listening_unix_inodes(path):
    try:
        with open("/proc/net/unix") as f:
            rows = [line.split() for line in f.readlines()[1:]]
    except OSError:
        return set()
    return {row[6] for row in rows
            if len(row) >= 8 and row[7] == path and int(row[3], 16) & _UNIX_ACCEPTCON}


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


def url(sock, https=False, protocol="http"):
    """Where `sock` listens, as the log shows it: http://127.0.0.1:8001, uwsgi://..., uwsgi+unix:/run/x.socket."""
    scheme = "https" if https else protocol
    if sock.family == socket.AF_UNIX:
        return f"{scheme}+unix:{sock.getsockname()}"
    host, port = sock.getsockname()[:2]
    if sock.family == socket.AF_INET6:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


def _show(host, port):
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def close_all(sockets):
    for sock in sockets:
        _remove_file(sock)
        sock.close()
