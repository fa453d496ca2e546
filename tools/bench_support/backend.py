"""The io20ms scenario's backend: answers each request 20 ms after it arrives, then closes.

Usage: backend.py PORT_FILE MAX_SECONDS

A plain TCP service on 127.0.0.1, in its own process: a client connects,
sends one line, and after DELAY seconds gets b"ok\\n" and the end of the
connection. One connection per request, as a service that calls another
service without a connection pool does; the backend closes first so that
TIME_WAIT lands on its side and the apps never run out of ephemeral ports.

It must never be the bottleneck: a timer per request on one asyncio loop
(no coroutine, no HTTP parsing) costs about a tenth of a millisecond with
the accept and the close, so the most that 50 clients can get through 20 ms
waits (2,500 requests per second) takes about a third of one core. The
bench prints the share of a core it used in each io20ms round. Every
server pays the same for it, since each request costs the backend the same.
"""

import asyncio
import os
import signal
import sys

DELAY = 0.020
ANSWER = b"ok\n"
BACKLOG = 4096


class _Delayed(asyncio.Protocol):
    """One client connection: the first newline starts the timer; the answer closes it."""

    def connection_made(self, transport):
        self.transport = transport
        self.timer = None

    def data_received(self, data):
        if self.timer is None and b"\n" in data:
            loop = asyncio.get_running_loop()
            self.timer = loop.call_later(DELAY, self._answer)

    def _answer(self):
        self.transport.write(ANSWER)
        self.transport.close()

    def connection_lost(self, exc):
        if self.timer is not None:
            self.timer.cancel()


async def serve(port_file, max_seconds):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Delayed, "127.0.0.1", 0,
                                      backlog=BACKLOG)
    port = server.sockets[0].getsockname()[1]
    with open(port_file + ".tmp", "w") as f:
        f.write(str(port))
    os.rename(port_file + ".tmp", port_file)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.call_later(max_seconds, stop.set)
    await stop.wait()
    server.close()


def main():
    port_file, max_seconds = sys.argv[1:]
    asyncio.run(serve(port_file, int(max_seconds)))


if __name__ == "__main__":
    main()
