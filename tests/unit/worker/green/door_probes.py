"""Probes of the eventlet behaviours service.worker.green.door relies on, run with real green threads and sockets.

test_green.py runs them in a process of their own (python -m
tests.unit.worker.green.door_probes): they start eventlet's hub, and the last
one monkey-patches the process. Each probe's outcome is printed as JSON:
"ok", or the traceback of what failed.
"""

import inspect
import io
import json
import socket
import sys
import time
import traceback
import warnings

with warnings.catch_warnings():
    # eventlet announces its deprecation on import.
    warnings.simplefilter("ignore")
    import eventlet
    import eventlet.websocket
    import eventlet.wsgi
    from eventlet import greenio

from service.worker.green import door as green
from service.worker import exchange
from service.worker.green import runners

PROBES = {}
WAIT = 5.0


def probe(function):
    PROBES[function.__name__] = function
    return function


class Stop(Exception):
    """Thrown into the server's green thread, as the worker's StopAccepting is."""


class Listener:
    """What the worker's listener is to green.serve(): accept() until Stop, then ServingEnded."""

    def __init__(self):
        raw = socket.socket()
        raw.bind(("127.0.0.1", 0))
        raw.listen(16)
        self.address = raw.getsockname()
        self.family = raw.family
        self._sock = green.listening(raw)
        self.closed = 0

    def accept(self):
        try:
            return self._sock.accept()
        except Stop:
            raise green.ServingEnded() from None

    def getsockname(self):
        return self._sock.getsockname()

    def close(self):
        self.closed += 1
        self._sock.close()


class Log:
    def __init__(self):
        self.lines = []

    def debug(self, message, *args):
        self.lines.append(message % args if args else message)


def serving(handle, pool=None):
    """(listener, the server's green thread, its pool, its log) of green.serve() running `handle`.

    The pool is the worker's own (runners), as eventlet.wsgi.server gets it.
    """
    listener, log = Listener(), Log()
    pool = pool or runners.Runners(max_idle=10)
    server = green.spawn(green.serve, listener, handle, pool, log)
    green.sleep(0)
    return listener, server, pool, log


def stop(server):
    server.kill(Stop())
    with eventlet.Timeout(WAIT):
        return server.wait()


def wait_for(condition):
    with eventlet.Timeout(WAIT):
        while not condition():
            green.sleep(0.001)


@probe
def serve_hands_each_connection_to_the_handler_in_a_green_thread_of_the_pool():
    seen = []

    def handle(sock, address):
        seen.append((sock, address, pool.running()))
        sock.sendall(b"hi")
        sock.close()

    listener, server, pool, _ = serving(handle)
    client = eventlet.connect(listener.address)
    assert client.recv(10) == b"hi"
    sock, address, running = seen[0]
    assert isinstance(sock, greenio.GreenSocket), type(sock)
    assert address == client.getsockname() and running == 1, seen
    client.close()
    stop(server)


@probe
def the_server_leaves_the_accepted_socket_to_the_handler():
    calls = []

    class Recording(green._Accepted):
        __slots__ = ()

        def settimeout(self, timeout):
            calls.append("settimeout")

        def shutdown(self, how):
            calls.append("shutdown")

        def close(self):
            calls.append("close")

        def __getattr__(self, name):
            calls.append(name)
            raise AttributeError(name)

    kept = []
    green._Accepted, accepted = Recording, green._Accepted
    try:
        listener, server, pool, _ = serving(lambda sock, address: kept.append(sock))
        client = eventlet.connect(listener.address)
        wait_for(lambda: "close" in calls)
    finally:
        green._Accepted = accepted
    # What eventlet did with what accept() returned: only these, and the
    # socket itself is still the handler's to use.
    assert calls == ["settimeout", "shutdown", "close"], calls
    kept[0].sendall(b"still open")
    assert client.recv(20) == b"still open"
    kept[0].close()
    client.close()
    stop(server)


@probe
def serving_ended_ends_serve_quietly_after_the_pool_and_closes_the_listener():
    release = green.Event()
    listener, server, pool, _ = serving(lambda sock, address: release.wait())
    client = eventlet.connect(listener.address)
    wait_for(lambda: pool.running() == 1)
    stderr, sys.stderr = sys.stderr, io.StringIO()
    try:
        server.kill(Stop())
        green.sleep(0.05)
        assert not server.dead, "serve() returned before its pool's green threads ended"
        release.send()
        with eventlet.Timeout(WAIT):
            assert server.wait() is None
        printed = sys.stderr.getvalue()
    finally:
        sys.stderr = stderr
    assert printed == "", printed
    assert listener.closed >= 1
    client.close()


@probe
def the_servers_own_lines_go_to_the_debug_log():
    listener, server, pool, log = serving(lambda sock, address: sock.close())
    eventlet.connect(listener.address).close()
    green.sleep(0.01)
    stop(server)
    text = "\n".join(log.lines)
    assert "starting up" in text and "exited" in text, log.lines


@probe
def already_handled_is_ready_for_apps_and_read_once():
    local = eventlet.wsgi.WSGI_LOCAL
    outcome = []

    def request(sets_it):
        green.expect_already_handled()
        # Flask-Sock sets it only where it finds it.
        assert hasattr(local, "already_handled") and local.already_handled is False
        if sets_it:
            local.already_handled = True
        outcome.append((green.already_handled(), green.already_handled()))

    green.spawn(request, True).wait()
    green.spawn(request, False).wait()
    assert outcome == [(True, False), (False, False)], outcome
    # eventlet.websocket says so after it has answered on the socket, which
    # it takes from environ["eventlet.input"].
    source = inspect.getsource(eventlet.websocket.WebSocketWSGI)
    assert "wsgi.WSGI_LOCAL.already_handled = True" in source
    assert "environ['eventlet.input'].get_socket()" in source


@probe
def a_hub_watch_calls_back_while_readable_until_stopped():
    a, b = socket.socketpair()
    calls = []
    watch = green.watch_readable(a.fileno(), calls.append, lambda: calls.append("gone"))
    green.sleep(0.01)
    assert calls == []
    b.sendall(b"x")
    wait_for(lambda: calls)
    assert calls[0] == a.fileno() and "gone" not in calls
    green.stop_watching(watch)
    count = len(calls)
    green.sleep(0.02)
    assert len(calls) == count
    a.close()
    b.close()


@probe
def a_hub_watch_is_told_when_its_descriptor_is_reused():
    a, b = socket.socketpair()
    fileno = a.fileno()
    gone = []
    watch = green.watch_readable(fileno, lambda fileno: None, lambda: gone.append(True))
    a.close()  # behind the hub's back
    # A green socket made (or accepted) with that number: eventlet notices.
    reused = greenio.GreenSocket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        assert reused.fileno() == fileno, "the descriptor's number was not reused"
        assert gone == [True]
    finally:
        if not gone:
            green.stop_watching(watch)
        reused.close()
        b.close()


@probe
def call_later_runs_in_the_hub_and_cancel_stops_it():
    calls = []
    green.call_later(0.01, calls.append, 1)
    green.call_later(0.01, calls.append, 2).cancel()
    green.sleep(0.05)
    assert calls == [1], calls


@probe
def wait_readable_returns_when_readable_or_closed_and_lets_a_throw_out():
    a, b = socket.socketpair()
    green_a = greenio.GreenSocket(a)
    waiter = green.spawn(green.wait_readable, green_a)
    green.sleep(0.01)
    assert not waiter.dead
    b.sendall(b"x")
    with eventlet.Timeout(WAIT):
        waiter.wait()
    # Closed meanwhile, its number reused: the wait ends without an error.
    c, d = socket.socketpair()
    green_c = greenio.GreenSocket(c)
    waiter = green.spawn(green.wait_readable, green_c)
    green.sleep(0.01)
    fileno = c.fileno()
    c.close()
    reused = greenio.GreenSocket(socket.AF_INET, socket.SOCK_STREAM)
    assert reused.fileno() == fileno
    with eventlet.Timeout(WAIT):
        waiter.wait()
    # A throw into the waiting green thread, from the hub as the parking
    # lot's sweep does it, comes out of the wait.
    def wait_for_a_throw(sock):
        try:
            green.wait_readable(sock)
        except Stop:
            return "thrown"
        return "readable"

    e, f = socket.socketpair()
    waiter = green.spawn(wait_for_a_throw, greenio.GreenSocket(e))
    green.sleep(0.01)
    assert not waiter.dead
    green.call_later(0, waiter.throw, Stop())
    with eventlet.Timeout(WAIT):
        assert waiter.wait() == "thrown"
    for sock in (green_a, b, reused, d, e, f):
        sock.close()


@probe
def receive_now_never_waits():
    a, b = socket.socketpair()
    green_a = greenio.GreenSocket(a)
    try:
        green.receive_now(green_a, 10)
    except BlockingIOError:
        pass
    else:
        raise AssertionError("receive_now waited for nothing, or got bytes")
    b.sendall(b"abc")
    green.sleep(0.01)
    assert green.receive_now(green_a, 10) == b"abc"
    b.close()
    green.sleep(0.01)
    assert green.receive_now(green_a, 10) == b""
    green_a.close()


@probe
def accept_waiting_takes_a_waiting_connection_as_a_green_socket_and_never_waits():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    green_listener = green.listening(listener)
    try:
        green.accept_waiting(green_listener)
    except BlockingIOError:
        pass
    else:
        raise AssertionError("accept_waiting accepted a connection no one made")
    client = socket.create_connection(listener.getsockname())
    green.wait_readable(green_listener)
    accepted, address = green.accept_waiting(green_listener)
    assert isinstance(accepted, greenio.GreenSocket), type(accepted)
    assert address == client.getsockname()
    client.sendall(b"abc")
    assert accepted.recv(3) == b"abc"  # a green recv: waits in the hub if need be
    for sock in (accepted, client, green_listener):
        sock.close()


@probe
def select_readable_waits_for_one_of_several_or_for_its_timeout():
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    d.sendall(b"x")
    assert green.select_readable([a.fileno(), c.fileno()], 10) == [c.fileno()]
    ran = []
    green.spawn_n(ran.append, "other green threads run meanwhile")
    started = time.monotonic()
    assert green.select_readable([a.fileno()], 0.05) == []
    assert time.monotonic() - started >= 0.04 and ran
    for sock in (a, b, c, d):
        sock.close()


@probe
def a_bare_green_thread_waits_for_switches_and_goes_back_to_the_hub():
    got = []

    def run(value):
        got.append(value)
        got.append(green.wait_for_switch())
        if got[-1] == "fail":
            raise ValueError("reported by the hub")

    thread = green.new_green_thread(run)
    green.call_later(0, thread.switch, "first")
    green.sleep(0)
    assert got == ["first"] and not thread.dead, got
    green.call_later(0, thread.switch, "second")
    green.sleep(0)
    assert got == ["first", "second"] and thread.dead, got
    # An exception it lets out goes to the hub, which reports it and runs on.
    thread = green.new_green_thread(run)
    green.call_later(0, thread.switch, "x")
    green.sleep(0)
    stderr, sys.stderr = sys.stderr, io.StringIO()
    try:
        green.call_later(0, thread.switch, "fail")
        green.sleep(0)
        printed = sys.stderr.getvalue()
    finally:
        sys.stderr = stderr
    assert thread.dead and "reported by the hub" in printed, printed
    green.sleep(0.001)  # the hub still runs


@probe
def a_bare_green_thread_has_a_thread_name_of_its_own_until_it_ends():
    from eventlet.green import threading as green_threading
    names = []
    ended = []

    def run(value):
        names.append(green_threading.current_thread().name)
        names.append(green_threading.current_thread().name)
        green.wait_for_switch()

    thread = green.new_green_thread(run)
    thread.link(lambda ended_thread: ended.append(ended_thread))
    green.call_later(0, thread.switch, None)
    green.sleep(0)
    green.call_later(0, thread.switch, "end")
    green.sleep(0)
    # Its own name, the same at every call (not MainThread), and its links
    # called when it ended.
    assert names[0] == names[1] and names[0].startswith("GreenThread-"), names
    assert thread.dead and ended == [thread], ended


@probe
def green_the_process_patches_it_and_keeps_a_context_per_green_thread():
    from eventlet import patcher
    from oslo_context import context

    green.green_the_process()
    assert patcher.is_monkey_patched("socket") and patcher.is_monkey_patched("thread")
    assert isinstance(context._request_store, green.GreenContextStore)
    seen = []

    def request(name):
        context.RequestContext(request_id=name)  # stores itself
        green.sleep(0.01)
        seen.append((name, context.get_current().request_id))
        exchange.forget_request_context()
        seen.append((name, context.get_current()))

    threads = [green.spawn(request, name) for name in ("req-a", "req-b")]
    for thread in threads:
        thread.wait()
    assert sorted(seen, key=str) == sorted(
        [("req-a", "req-a"), ("req-b", "req-b"), ("req-a", None), ("req-b", None)], key=str), seen


def main(names):
    outcomes = {}
    for name in names or PROBES:
        try:
            with eventlet.Timeout(WAIT * 2):
                PROBES[name]()
            outcomes[name] = "ok"
        except BaseException:
            outcomes[name] = traceback.format_exc()
    print(json.dumps(outcomes))


if __name__ == "__main__":
    main(sys.argv[1:])
