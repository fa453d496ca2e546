"""The worker's one door to eventlet: every eventlet, greenlet and eventlet.wsgi name the worker uses.

Imported only in workers, after the fork.
"""

import warnings

with warnings.catch_warnings():
    # eventlet announces its deprecation on import; operators cannot act on it.
    warnings.simplefilter("ignore")
    import eventlet
    import eventlet.wsgi
    from eventlet import greenio
import greenlet
from oslo_context import context as oslo_context

# What eventlet.wsgi's wsgi.input raises on a broken chunked body. Ours
# raises a subclass: apps written for eventlet.wsgi (swift) catch it.
ChunkReadError = eventlet.wsgi.ChunkReadError
# pyOpenSSL's clean end of a TLS stream, as eventlet names it (a stand-in
# class when pyOpenSSL is absent): what eventlet.wsgi treats as the end of
# a client's stream besides OSError.
TlsClosed = greenio.SSL.ZeroReturnError


def green_the_process():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eventlet.monkey_patch()
    # oslo.context keeps the request context in a threading.local made when
    # the supervisor imported it (through oslo.log), before any patching:
    # one store for every green thread, so that one request's context (and
    # its ids) showed in other requests' log lines. Each green thread gets
    # its own now, as in a service that was patched before its imports.
    oslo_context._request_store = GreenContextStore()
    # eventlet.wsgi's green-thread local: every request sets and reads its
    # already_handled (which eventlet.websocket sets).
    eventlet.wsgi.WSGI_LOCAL = GreenLocal("_eventlet_wsgi_")


class GreenLocal:
    """A green-thread local whose attributes are kept on the running green thread itself.

    eventlet's own looks the green thread up in a weak dictionary at every
    access (two weak references made), and a callback removes its entry
    when the green thread ends: for every connection, in a worker that
    closes one per request.
    """

    __slots__ = ("_prefix",)

    def __init__(self, prefix):
        object.__setattr__(self, "_prefix", prefix)

    def __getattr__(self, name):
        try:
            return greenlet.getcurrent().__dict__[self._prefix + name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        greenlet.getcurrent().__dict__[self._prefix + name] = value

    def __delattr__(self, name):
        try:
            del greenlet.getcurrent().__dict__[self._prefix + name]
        except KeyError:
            raise AttributeError(name) from None


class GreenContextStore:
    """oslo.context's store of the request context, kept on the running green thread itself.

    A green threading.local looks the green thread up in a weak dictionary
    at every access (about 1 µs), and every request reads the store: its
    access line is written directly only without a context. A green
    thread's own attributes are a dictionary lookup away. Reading the
    context where none was set gives None, as oslo.context's getattr does.
    """

    __slots__ = ()

    @property
    def context(self):
        return greenlet.getcurrent().__dict__.get(_CONTEXT_ATTRIBUTE)

    @context.setter
    def context(self, context):
        greenlet.getcurrent().__dict__[_CONTEXT_ATTRIBUTE] = context

    @context.deleter
    def context(self):
        greenlet.getcurrent().__dict__.pop(_CONTEXT_ATTRIBUTE, None)


_CONTEXT_ATTRIBUTE = "_service_request_context"
