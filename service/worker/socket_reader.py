"""Reading one client connection: its buffer, whole request heads, and body bytes.

A socket file (makefile) reads through three layers of Python per fill
(BufferedReader, SocketIO, GreenSocket) and is built for every connection.
This reader keeps one bytes buffer and calls the socket's recv
directly, and hands out a request head in one piece when it has arrived
whole, which is what nearly every client sends in one packet.

A deadline bounds every wait until it is lifted, however the bytes trickle
in (each byte would restart the socket's own timeout): a request head must
arrive within request_head_timeout, and what an app left of a body is
discarded only for so long. It lives here, with the bytes it bounds, so
that it survives a parking with them (the threads model parks a partial
head with its reader).

Imported only in workers, after the fork.
"""

import time

# How much one receive asks of the kernel. A bytes object this size is
# allocated per receive and shrunk to what came.
RECEIVE_BYTES = 65536
_HEAD_END = b"\r\n\r\n"
# The socket's own timeout, while a deadline has not shortened it.
_NOT_SHORTENED = object()


class SocketReader:
    """The read side of a connection: what the head parser and wsgi.input read from.

    Its readline(limit) behaves as a binary file's: a line cut short only
    by the limit or the end of the stream. What has been read is skipped
    by a position, not cut off the buffer: small reads (chunk lines, short
    body lines) never copy what follows them.
    """

    __slots__ = ("_sock", "_recv", "_receive_now", "_buffer", "_position", "_received",
                 "deadline", "_own_timeout")

    def __init__(self, sock, receive_now):
        self._sock = sock
        self._recv = sock.recv
        # The worker model's: what the socket has now, without waiting.
        self._receive_now = receive_now
        self._buffer = b""
        self._position = 0
        # Bytes received and not yet taken by the worker's counts.
        self._received = 0
        # time.monotonic() by which what is awaited must have come; None: none.
        self.deadline = None
        self._own_timeout = _NOT_SHORTENED

    def overdue(self, now):
        return self.deadline is not None and now >= self.deadline

    def lift_deadline(self):
        """No deadline from now on: each wait is the socket's own again."""
        self.deadline = None
        if self._own_timeout is not _NOT_SHORTENED:
            self._sock.settimeout(self._own_timeout)
            self._own_timeout = _NOT_SHORTENED

    def buffered(self):
        return len(self._buffer) - self._position

    def unread(self):
        """What has been received and not read yet (for a log line)."""
        return self._buffer[self._position:]

    def whole_head(self, max_bytes):
        """The buffered bytes up to and including the first empty line, if within max_bytes; else None.

        They stay in the buffer (skip() takes them out), and nothing is
        received: a head that has not arrived whole is read line by line,
        each line within its limit.
        """
        start = self._position
        end = self._buffer.find(_HEAD_END, start, start + max_bytes)
        if end < 0:
            return None
        return self._buffer[start:end + 4]

    def view(self):
        """(buffer, position): the unread bytes are buffer[position:], handed over without a copy."""
        return self._buffer, self._position

    def skip(self, size):
        self._position += size

    def receive(self):
        """Wait for more bytes from the client; False at the end of the stream.

        TimeoutError when the socket's timeout or the deadline passes first.
        """
        if self.deadline is not None:
            self._wait_no_later_than_deadline()
        data = self._recv(RECEIVE_BYTES)
        if not data:
            return False
        self._keep(data)
        return True

    def _wait_no_later_than_deadline(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        sock = self._sock
        if self._own_timeout is _NOT_SHORTENED:
            self._own_timeout = sock.gettimeout()
        own = self._own_timeout
        sock.settimeout(left if own is None else min(left, own))

    def receive_now(self):
        """Take what the client has sent without waiting; False when nothing has come.

        A plain (not TLS) socket only: a TLS one may hold decrypted bytes.
        """
        try:
            data = self._receive_now(self._sock, RECEIVE_BYTES)
        except BlockingIOError:
            return False
        except OSError:
            return True  # the read that follows meets the error
        if data:
            self._keep(data)
        return True  # data, or the end of the stream for the next read

    def take_received(self):
        """The bytes received since the last call (service.worker.counting counts them)."""
        received, self._received = self._received, 0
        return received

    def _keep(self, data):
        self._received += len(data)
        if self._position >= len(self._buffer):
            self._buffer = data
        else:
            self._buffer = self._buffer[self._position:] + data
        self._position = 0

    def readline(self, limit=-1):
        if limit is None:
            limit = -1
        start = self._position
        searched = start
        while True:
            buffer = self._buffer
            end = buffer.find(b"\n", searched)
            if end >= 0:
                end += 1
                break
            if 0 <= limit <= len(buffer) - start:
                end = len(buffer)
                break
            searched = len(buffer)
            if not self.receive():
                end = len(self._buffer)
                break
            # receive() moved what was unread to the front of the buffer.
            searched -= start
            start = 0
        if 0 <= limit < end - start:
            end = start + limit
        self._position = end
        return self._buffer[start:end]
