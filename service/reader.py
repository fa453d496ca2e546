"""Reading one client connection: its buffer, whole request heads, and body bytes.

A socket file (makefile) reads through three layers of Python per fill
(BufferedReader, SocketIO, GreenSocket) and is built for every connection.
This reader keeps one bytes buffer and calls the green socket's recv
directly, and hands out a request head in one piece when it has arrived
whole, which is what nearly every client sends in one packet.

Imported only in workers, after the fork.
"""

# How much one receive asks of the kernel. A bytes object this size is
# allocated per receive and shrunk to what came.
RECEIVE_BYTES = 65536
_HEAD_END = b"\r\n\r\n"


class SocketReader:
    """The read side of a connection: what eventlet's Input and our parser read from.

    Its read(n) and readline(limit) behave as a binary file's: fewer bytes
    than asked only at the end of the stream.
    """

    __slots__ = ("_sock", "_recv", "_buffer", "closed")

    def __init__(self, sock):
        self._sock = sock
        self._recv = sock.recv
        self._buffer = b""
        self.closed = False

    def buffered(self):
        return len(self._buffer)

    def whole_head(self, max_bytes):
        """The buffered bytes up to and including the first empty line, if within max_bytes; else None.

        It stays in the buffer (skip() takes it out), and nothing is
        received: a head that has not arrived whole is read line by line,
        each line within its limit.
        """
        end = self._buffer.find(_HEAD_END, 0, max_bytes)
        if end < 0:
            return None
        return self._buffer[:end + 4]

    def skip(self, size):
        self._buffer = self._buffer[size:]

    def receive(self):
        """Wait for more bytes from the client; False at the end of the stream."""
        data = self._recv(RECEIVE_BYTES)
        if not data:
            return False
        self._buffer = self._buffer + data if self._buffer else data
        return True

    def receive_now(self):
        """Take what the client has sent without waiting; False when nothing has come.

        A plain (not TLS) green socket only: its descriptor is always
        non-blocking underneath.
        """
        try:
            data = self._sock.fd.recv(RECEIVE_BYTES)
        except BlockingIOError:
            return False
        except OSError:
            return True  # the read that follows meets the error
        if not data:
            return True  # and the end of the stream
        self._buffer += data
        return True

    def readline(self, limit=-1):
        buffer = self._buffer
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end >= 0:
                end += 1
                break
            if 0 <= limit <= len(buffer):
                end = limit
                break
            start = len(buffer)
            if not self.receive():
                end = len(self._buffer)
                break
            buffer = self._buffer
        if 0 <= limit < end:
            end = limit
        self._buffer = buffer[end:]
        return buffer[:end]

    def read(self, size=-1):
        if size is None or size < 0:
            return self._read_to_end()
        buffer = self._buffer
        if len(buffer) >= size:
            self._buffer = buffer[size:]
            return buffer[:size]
        parts = [buffer]
        got = len(buffer)
        self._buffer = b""
        while got < size:
            data = self._recv(min(size - got, RECEIVE_BYTES))
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def _read_to_end(self):
        parts = [self._buffer]
        self._buffer = b""
        while True:
            data = self._recv(RECEIVE_BYTES)
            if not data:
                return b"".join(parts)
            parts.append(data)

    def close(self):
        self.closed = True
        self._buffer = b""
