"""A connection from a web server in front that speaks the uwsgi protocol (protocol = uwsgi): one request, then the close.

A Connection (service.worker.connection) whose requests are read another
way; the exchange, the access log and the drain meet it as any other. It
overrides what a connection says about its request, and only that:

- head_is_decided() and _parse_head(): the next request's head comes from a
  uwsgi packet, parsed by service.http.uwsgi;
- environ_for(): the environ is the packet's vars (SCRIPT_NAME, REMOTE_ADDR,
  ... as the front end sent them), not one made from an HTTP head;
- get_client_address(): the access log shows the front end's client
  (REMOTE_ADDR and REMOTE_PORT), not the front end.

As uWSGI, it serves one request per connection (the head it reads never
keeps the connection: the exchange ends it) and answers as HTTP, with the
body ending at the close (the front end reads to it). A packet it
refuses gets the refusal's status as an HTTP answer (the front end relays
it) and one INFO line, and the connection closes.

Imported only in workers, after the fork.
"""

import logging

from service.http import environ as http_environ
from service.http import head as http11
from service.http import uwsgi
from service.worker import connection

LOG = logging.getLogger(__name__)


class UwsgiConnection(connection.Connection):
    """One connection from a web server in front, carrying one forwarded request."""

    # The request the front end forwarded (service.http.uwsgi), once read.
    forwarded = None

    def head_is_decided(self):
        buffer, position = self.reader.view()
        try:
            return uwsgi.parse_packet(buffer, position, self.serving.head_limits) is not None
        except http11.HttpError:
            return True  # refused already

    def _parse_head(self):
        reader = self.reader
        while True:
            buffer, position = reader.view()
            parsed = uwsgi.parse_packet(buffer, position, self.serving.head_limits)
            if parsed is not None:
                break
            if not reader.receive():
                raise uwsgi.incomplete()
        self.forwarded, length = parsed
        reader.skip(length)
        return self.forwarded.head

    def environ_for(self, head):
        return uwsgi.request_environ(self.serving.server_environ, self.forwarded,
                                     http_environ.host_and_port(self.client_address))

    def get_client_address(self):
        forwarded = self.forwarded
        if forwarded is not None and forwarded.client_address is not None:
            return forwarded.client_address
        return http_environ.host_and_port(self.client_address)

    def _refuse(self, error, line, started):
        # A front end does not send bad packets by chance: its configuration
        # (or what listens where) is wrong, and the operator is told so.
        LOG.info("Refused a uwsgi request from %s: %s", self.client_address or "unix",
                 error.message)
        # The packet's bytes are no request line for the access log.
        super()._refuse(error, b"", started)
