"""Our HttpProtocol for eventlet.wsgi.server: one client connection, one request at a time.

It keeps the worker's Connections informed (open, idle, busy) so that a
drain can finish in-flight requests, tell busy clients `Connection: close`,
and close idle keep-alive connections without cutting off a client that is
already sending.
"""

import time

import eventlet.wsgi


class HttpProtocol(eventlet.wsgi.HttpProtocol):

    def __init__(self, conn_state, server, connections):
        self.connections = connections
        self.server = server
        # When this connection started waiting for its next request; None
        # while a request is being read or answered.
        self.idle_since = None
        connections.opened(self)
        try:
            super().__init__(conn_state, server)
        finally:
            connections.closed(self)

    def _read_request_line(self):
        self.idle_since = time.monotonic()
        try:
            return super()._read_request_line()
        finally:
            self.idle_since = None

    def handle_one_response(self):
        with self.connections.request_slots:
            super().handle_one_response()

    def stop_keeping_alive(self):
        """From now on every response of this worker says `Connection: close`.

        eventlet decides keep-alive when it writes a response head, from
        server.keepalive. Switching that off (rather than closing
        connections) never cuts off a client whose last response promised
        keep-alive: its next request is answered, then the connection closes.
        """
        self.server.keepalive = False

    def close_if_idle(self):
        if self.idle_since is not None:
            eventlet.greenio.shutdown_safe(self.connection)
