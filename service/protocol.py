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

    def handle_one_request(self):
        super().handle_one_request()
        if self.connections.draining:
            self.close_connection = 1

    def handle_one_response(self):
        if self.connections.draining:
            # eventlet then answers with `Connection: close`.
            self.close_connection = 1
        with self.connections.request_slots:
            super().handle_one_response()

    def stop_keeping_alive(self):
        """Answer the request in progress, if any, with `Connection: close`."""
        self.close_connection = 1

    def close_if_idle(self):
        if self.idle_since is not None:
            eventlet.greenio.shutdown_safe(self.connection)
