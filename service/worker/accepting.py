"""What both worker models do around accept(): its errors, the back-off when descriptors run out, and a new socket's settings.

Imported only in workers, after the fork.
"""

import errno
import logging

LOG = logging.getLogger(__name__)

# accept() errors that concern one connection or a passing shortage, never
# the listening socket.
RETRY_ERRNOS = frozenset((errno.ECONNABORTED, errno.EPROTO, errno.EPERM))
# Out of descriptors or memory: accepting again at once would fail again.
BACKOFF_ERRNOS = frozenset((errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM))
BACKOFF_SECONDS = 0.1


class AcceptErrors:
    """accept() errors met by one listener: what to wait, and one WARNING per shortage, not ten a second."""

    def __init__(self, app_name, sleep):
        self._app_name = app_name
        self._sleep = sleep       # the model's: other requests go on meanwhile
        self._short_since = None  # the first failure of the shortage going on

    def failed(self, exc, now):
        """Cope with accept()'s OSError `exc`, raised again unless it concerns one connection or a shortage."""
        if exc.errno in BACKOFF_ERRNOS:
            if self._short_since is None:
                self._short_since = now
                LOG.warning("App %s cannot accept connections: %s; retrying "
                            "every %.1f s until it can", self._app_name,
                            exc.strerror, BACKOFF_SECONDS)
            self._sleep(BACKOFF_SECONDS)
        elif exc.errno not in RETRY_ERRNOS:
            raise exc

    def accepted(self, now):
        if self._short_since is not None:
            LOG.info("App %s accepts connections again, after %.1f s", self._app_name,
                     now - self._short_since)
            self._short_since = None


def prepared(client, tls_context, socket_timeout):
    """A newly accepted socket as a connection is served on: TLS-wrapped if the app serves TLS, its timeout set."""
    if tls_context is not None:
        # The handshake happens on the first read, where the connection is
        # served: a slow client never holds up accept().
        client = tls_context.wrap_socket(
            client, server_side=True, do_handshake_on_connect=False)
    client.settimeout(socket_timeout)
    return client
