"""threads model: a client connection's socket that tries each call at once and waits only when it must.

A Python socket with a timeout waits for readiness (poll) before every
recv() and send(), even when the data is already there: two system calls,
and under threads two releases of the interpreter lock, where one would
do. Request threads contend for that lock, so each release costs a hand-
over between threads. This socket is non-blocking underneath and calls
recv() or send() first; only when the kernel says it would block does it
poll, up to the timeout: eventlet's green sockets do the same.

TLS connections keep Python's SSLSocket: the TLS layer does its own reads
and writes.

Imported only in workers of threads-model apps, after the fork.
"""

import select

from service.worker import accepting

_READ = select.POLLIN | select.POLLPRI
_WRITE = select.POLLOUT


class ClientSocket:
    """What the worker's shared code and wsgi.input use of a client socket, over a non-blocking one."""

    __slots__ = ("_sock", "_timeout_ms", "_timeout", "fileno", "getsockname",
                 "getpeername", "setsockopt", "getsockopt", "shutdown", "close")

    def __init__(self, sock, timeout):
        sock.setblocking(False)
        self._sock = sock
        self.settimeout(timeout)
        # The rest as the socket has them.
        self.fileno = sock.fileno
        self.getsockname = sock.getsockname
        self.getpeername = sock.getpeername
        self.setsockopt = sock.setsockopt
        self.getsockopt = sock.getsockopt
        self.shutdown = sock.shutdown
        self.close = sock.close

    def settimeout(self, timeout):
        """How long one wait may last; None for no limit."""
        self._timeout = timeout
        self._timeout_ms = -1 if timeout is None else max(0, round(timeout * 1000))

    def gettimeout(self):
        return self._timeout

    def recv(self, size):
        while True:
            try:
                return self._sock.recv(size)
            except BlockingIOError:
                self._wait(_READ)

    def recv_now(self, size):
        """What has come, without waiting: BlockingIOError when nothing has."""
        return self._sock.recv(size)

    def sendall(self, data):
        send = self._sock.send
        view = memoryview(data)
        while view:
            try:
                view = view[send(view):]
            except BlockingIOError:
                self._wait(_WRITE)

    def _wait(self, events):
        poll = select.poll()
        poll.register(self._sock, events)
        if not poll.poll(self._timeout_ms):
            raise TimeoutError("timed out")

    def __repr__(self):
        return f"<ClientSocket {self._sock!r}>"


def prepared(client, tls_context, timeout):
    """A newly accepted socket as a request thread serves it: a ClientSocket, or TLS-wrapped if the app serves TLS."""
    if tls_context is not None:
        return accepting.prepared(client, tls_context, timeout)
    return ClientSocket(client, timeout)


def receive_now(sock, size):
    """What a plain client socket has now, without waiting; BlockingIOError when nothing has come."""
    return sock.recv_now(size)
