"""The worker's one door to eventlet: every eventlet, eventlet.wsgi and greenlet name the eventlet model uses.

No other module imports eventlet or greenlet. setup.cfg pins the eventlet
series this was tested with, and tests/unit/worker/green/test_door.py checks,
against the installed eventlet, every name used here and every behaviour
listed below: an eventlet that changes one fails that one test module.

What the worker relies on, besides the names:

1. eventlet.wsgi.server(sock, site, protocol=..., custom_pool=..., log=...)
   accepts from sock.accept() in a loop, and for each connection it
   accepted calls protocol([client_address, client_socket, STATE_IDLE],
   server) in a green thread of the pool. `protocol=` is the only hook
   used: serve() passes a function that hands the socket and the address
   to the worker's handler, and reads nothing of the server object.
2. It calls settimeout() on what accept() returned, and shutdown() and
   close() once the protocol has returned: nothing else. serve() gives it
   a stand-in (_Accepted) whose three methods do nothing, because the
   worker's handler owns the socket: it closes it, or hands it to the
   parking lot that keeps idle connections without a green thread.
3. An OSError with errno EPIPE from accept() ends its accept loop without
   a trace; it then waits for the pool's green threads (waitall()) and
   calls close() on the listening socket. serve() turns the listener's
   ServingEnded into that EPIPE.
4. eventlet.websocket (and any app written for eventlet.wsgi that answers
   on the raw socket) sets eventlet.wsgi.WSGI_LOCAL.already_handled = True
   in the request's green thread: the server then writes nothing more and
   closes the connection. already_handled() reads it.
5. The hub: add(READ, fileno, callback, throw_callback, mark_as_closed)
   calls callback(fileno) while the descriptor is readable, until
   remove(); mark_as_closed() when the descriptor is closed behind its
   back. schedule_call_global(seconds, function, *args) returns a timer
   with cancel(). trampoline(fileno, read=True) returns once readable,
   raises IOClosed if the descriptor is closed meanwhile, and lets out an
   exception thrown into the waiting green thread (greenlet.throw).
   hub.switch() suspends the calling green thread until something
   switches to it, and returns what that passed. A greenlet whose parent
   is hub.greenlet goes back to the hub when its run ends; an exception
   it lets out is reported by the hub, which runs on.
6. A GreenSocket's .fd is the non-blocking socket underneath it; hubs.notify_opened(fileno)
   tells the hub a descriptor number is in use again (GreenSocket.accept()
   calls it for each connection it accepts).
7. pyOpenSSL's ZeroReturnError (a stand-in class when pyOpenSSL is
   absent) is reachable as eventlet.greenio.SSL.ZeroReturnError, and
   ChunkReadError (what eventlet's own wsgi.input raises on a broken
   chunked body, which swift catches) as eventlet.wsgi.ChunkReadError.
8. eventlet.green.threading.current_thread() gives a green thread that
   has a link(callback) method a Thread-like wrapper of its own (its name
   GreenThread-N), and calls link() to drop that wrapper when the green
   thread ends.

Imported only in workers of eventlet-model apps, after the fork: a
threads-model worker never loads it (service.worker.model).
"""

import errno
import gc
import warnings

with warnings.catch_warnings():
    # eventlet announces its deprecation on import; operators cannot act on it.
    warnings.simplefilter("ignore")
    import eventlet
    import eventlet.wsgi
    from eventlet import event
    from eventlet import greenio
    from eventlet import hubs
    from eventlet import patcher
    from eventlet import semaphore
    from eventlet.green import select as green_select
import greenlet
from oslo_context import context as oslo_context

# The names the worker uses as they are.
sleep = eventlet.sleep
spawn = eventlet.spawn
spawn_n = eventlet.spawn_n
Event = event.Event
Semaphore = semaphore.Semaphore
Timeout = eventlet.Timeout
current_green_thread = greenlet.getcurrent
# The id of the OS thread running (not of the green thread).
native_thread_id = patcher.original("_thread").get_ident
# What eventlet.wsgi's wsgi.input raises on a broken chunked body (7).
ChunkReadError = eventlet.wsgi.ChunkReadError
# The clean end of a pyOpenSSL stream, which eventlet.wsgi treats as the
# end of a client's stream besides OSError (7).
TlsClosed = greenio.SSL.ZeroReturnError


def green_the_process():
    # NOTE: monkey_patch() collects garbage and then looks at every object
    # the collector tracks for locks it could not green: a fifth of its
    # time in a worker, spent on the objects the supervisor made before the
    # fork and on the modules imported since, none of which is garbage.
    # Frozen, the collector leaves them alone, then and for the worker's
    # life; what the app makes from here on is collected as usual. The
    # price: garbage the supervisor had not yet collected at the fork (a few
    # KiB, bounded by the collector's thresholds) stays for the worker's
    # life, and eventlet's warning about a lock it could not green no longer
    # covers locks made before the patch (the supervisor makes none; the
    # layout test keeps eventlet and the apps out of it).
    gc.freeze()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eventlet.monkey_patch()
    # oslo.context keeps the request context in a threading.local made when
    # the supervisor imported it (through oslo.log), before any patching:
    # one store for every green thread, so that one request's context (and
    # its ids) showed in other requests' log lines. Each green thread gets
    # its own now, as in a service that was patched before its imports.
    oslo_context._request_store = GreenContextStore()


def select_readable(fds, timeout):
    """The descriptors of `fds` readable within `timeout` seconds; other green threads run meanwhile."""
    readable, _, _ = green_select.select(fds, [], [], timeout)
    return readable


def listening(sock):
    """The listening socket as a green one: accept() lets other green threads run."""
    return greenio.GreenSocket(sock)


def accept_waiting(listening):
    """Accept the connection waiting on a green listening socket, without waiting: BlockingIOError when none is (6)."""
    client, address = listening.fd.accept()
    if not isinstance(client, greenio.GreenSocket):
        # Not monkey-patched: made green as GreenSocket.accept() does.
        hubs.notify_opened(client.fileno())
        client = greenio.GreenSocket(client)
    return client, address


def receive_now(green_socket, size):
    """What has come on a plain green socket, without waiting: BlockingIOError when nothing has (6)."""
    return green_socket.fd.recv(size)


def wait_readable(sock):
    """Return once `sock` is readable, or was closed meanwhile (5).

    An exception thrown into this green thread meanwhile comes out here.
    """
    try:
        hubs.trampoline(sock.fileno(), read=True)
    except hubs.IOClosed:
        pass  # the next read meets the closed socket


def watch_readable(fileno, on_readable, on_gone):
    """Have the hub call on_readable(fileno) while `fileno` is readable, with no green thread waiting (5).

    on_gone() is called instead if the descriptor is closed behind the
    watch's back. Returns the watch, for stop_watching().
    """
    hub = hubs.get_hub()
    return hub.add(hub.READ, fileno, on_readable, _no_green_thread_to_tell, on_gone)


def stop_watching(watch):
    hubs.get_hub().remove(watch)


def _no_green_thread_to_tell(exc):
    """The hub throws into the green thread that added a watch: a watch without one has none."""


def call_later(seconds, function, *args):
    """Have the hub call function(*args) in `seconds`; returns a timer with cancel() (5)."""
    return hubs.get_hub().schedule_call_global(seconds, function, *args)


def new_green_thread(run):
    """A bare green thread: run(value) starts at its first switch(value), and it returns to the hub when done (5).

    No GreenThread around it: no Event, no result (service.worker.green.runners
    keeps its own books).
    """
    return _BareGreenThread(run, hubs.get_hub().greenlet)


class _BareGreenThread(greenlet.greenlet):
    """A greenlet with link(), which is all a GreenThread offers that eventlet's threading asks for (8).

    eventlet.green.threading.current_thread() wraps a green thread that has
    link() once, names it GreenThread-N, and links the wrapper's removal to
    its end; for a greenlet without link() it looks through every thread at
    each call and answers MainThread. Apps' log lines that show the thread
    name see a green thread's name either way.
    """

    def __init__(self, target, parent):
        super().__init__(parent=parent)
        self._target = target
        self._links = []

    def run(self, value):
        try:
            return self._target(value)
        finally:
            for callback, args in self._links:
                callback(self, *args)

    def link(self, callback, *args):
        self._links.append((callback, args))


def wait_for_switch():
    """Suspend this green thread until something switches to it; returns what it was given (5)."""
    return hubs.get_hub().switch()


def expect_already_handled():
    """Ready eventlet's already_handled flag (4) for a request that asks to upgrade its connection.

    eventlet.wsgi sets it to False before each request, and some apps
    (Flask-Sock) set it to True only where they find it: it must be there.
    The apps that set it are websocket servers, and a websocket begins
    with a request to upgrade: only those get it, since a write to
    eventlet's green-thread local costs about a twentieth of what a new
    connection costs.
    """
    eventlet.wsgi.WSGI_LOCAL.already_handled = False


def already_handled():
    """Whether this green thread's app answered on the raw socket itself (4), once its result is consumed.

    Only asked of an app that never called start_response (every app that
    sets the flag, eventlet.websocket first, answers that way): an
    access to eventlet's green-thread local costs a few microseconds, and
    every other request is spared it.
    """
    local = eventlet.wsgi.WSGI_LOCAL
    if getattr(local, "already_handled", False):
        local.already_handled = False
        return True
    return False


class ServingEnded(Exception):
    """Raised by a listener's accept() to end serve()."""


def serve(listener, handle_connection, pool, log):
    """eventlet.wsgi.server on `listener` until its accept() raises ServingEnded (1, 2, 3).

    Each accepted connection is served by handle_connection(sock,
    client_address) in a green thread of `pool`; it owns the socket. What
    eventlet itself logs (starting up, exited) goes to log.debug.
    """
    eventlet.wsgi.server(
        _Listening(listener), None,
        protocol=lambda conn_state, server: handle_connection(
            conn_state[1].sock, conn_state[0]),
        custom_pool=pool, log=_Chatter(log),
        # Nothing of the server's own request handling runs: the protocol
        # above replaces it. Tracebacks go to the log, never to clients.
        debug=False)


class _Listening:
    """The listener as eventlet.wsgi.server uses it (1, 3)."""

    __slots__ = ("_listener",)

    def __init__(self, listener):
        self._listener = listener

    def accept(self):
        try:
            sock, address = self._listener.accept()
        except ServingEnded:
            raise OSError(errno.EPIPE, "stopped accepting") from None
        return _Accepted(sock), address

    def getsockname(self):
        return self._listener.getsockname()

    @property
    def family(self):
        return self._listener.family

    def close(self):
        self._listener.close()


class _Accepted:
    """What eventlet.wsgi.server holds of an accepted socket: the worker's handler owns the socket itself (2)."""

    __slots__ = ("sock",)

    def __init__(self, sock):
        self.sock = sock

    def settimeout(self, timeout):
        pass  # the listener set the worker's own

    def shutdown(self, how):
        pass

    def close(self):
        pass


class _Chatter:
    """eventlet.wsgi.server's own log lines, as debug lines of the worker's log."""

    __slots__ = ("_log",)

    def __init__(self, log):
        self._log = log

    def info(self, message, *args, **kwargs):
        self._log.debug(message)

    debug = error = info


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
