"""systemd socket activation (sd_listen_fds): the listening sockets systemd passed, by name.

A .socket unit makes systemd bind the sockets and start the daemon with
them open as descriptors 3, 4, ..., saying so in the environment:
LISTEN_PID (the process they are for), LISTEN_FDS (how many) and
LISTEN_FDNAMES (each one's FileDescriptorName=, colon-separated). An app
named like a passed socket serves that socket instead of binding one, for
as long as the daemon runs: systemd keeps its own copy, so that clients
connecting during a restart wait in the queue instead of being refused.

The variables are taken out of the environment, as sd_listen_fds(1) does:
the apps and whatever they start must not take the sockets for theirs.
"""

import os
import socket

from service.errors import ConfigError

# sd_listen_fds(3): passed descriptors start here.
LISTEN_FDS_START = 3
_VARIABLES = ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES")


def passed_fds(environ, pid):
    """{name: fd} of the sockets `environ` says systemd passed to process `pid`; {} when none were."""
    if environ.get("LISTEN_PID") != str(pid):
        return {}  # meant for another process (our parent, say), or no activation
    try:
        count = int(environ.get("LISTEN_FDS", ""))
    except ValueError:
        raise ConfigError(f"LISTEN_FDS: not a number: {environ.get('LISTEN_FDS')!r}") from None
    names = environ["LISTEN_FDNAMES"].split(":") if environ.get("LISTEN_FDNAMES") else []
    if len(names) != count:
        # systemd names every descriptor ("unknown" without FileDescriptorName=).
        names = (names + ["unknown"] * count)[:count]
    fds = {}
    for offset, name in enumerate(names):
        if name in fds:
            raise ConfigError(f"systemd passed more than one socket named {name}: "
                              "an app serves one (give each its own "
                              "FileDescriptorName=)")
        fds[name] = LISTEN_FDS_START + offset
    return fds


def take_passed_sockets(environ=None):
    """{name: listening socket} of the sockets systemd passed to this process; the variables are removed."""
    environ = os.environ if environ is None else environ
    fds = passed_fds(environ, os.getpid())
    for variable in _VARIABLES:
        environ.pop(variable, None)
    return {name: _listening_socket(name, fd) for name, fd in fds.items()}


def _listening_socket(name, fd):
    # Not for anything the apps may exec; workers get it across the fork.
    try:
        os.set_inheritable(fd, False)
        sock = socket.socket(fileno=fd)
    except OSError as exc:
        raise ConfigError(f"systemd socket {name} (fd {fd}): {exc.strerror}") from None
    if (sock.type != socket.SOCK_STREAM
            or not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)):
        raise ConfigError(f"systemd socket {name} (fd {fd}) is not a listening "
                          "stream socket (ListenStream=)")
    return sock
