"""Tiny WSGI apps and factories the functional tests load through paste."""

import os
import signal
import sys
import time


def _text(start_response, status, text, extra=()):
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain"),
                            ("Content-Length", str(len(body))),
                            ("X-Worker-Pid", str(os.getpid()))] + list(extra))
    return [body]


def hello_factory(global_conf, text="hello", **local_conf):
    def hello(environ, start_response):
        return _text(start_response, "200 OK", text + "\n")
    return hello


def sleepy_factory(global_conf, **local_conf):
    """Sleeps ?seconds (default 1) before answering: an in-flight request."""
    def sleepy(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        seconds = float(query.partition("=")[2] or 1)
        print(f"sleepy: sleeping {seconds} in {os.getpid()}", file=sys.stderr,
              flush=True)
        time.sleep(seconds)
        return _text(start_response, "200 OK", f"slept {seconds}\n")
    return sleepy


def echo_factory(global_conf, **local_conf):
    """Answers with the length and content of the request body."""
    def echo(environ, start_response):
        body = environ["wsgi.input"].read()
        return _text(start_response, "200 OK",
                     f"{len(body)} bytes: {body.decode('latin-1')}")
    return echo


def raising_factory(global_conf, **local_conf):
    def raising(environ, start_response):
        raise RuntimeError("secret internal detail")
    return raising


def suicidal_factory(global_conf, **local_conf):
    """Kills its own worker on every request: a crash loop under load."""
    def suicidal(environ, start_response):
        os.kill(os.getpid(), signal.SIGKILL)
    return suicidal


def refusing_factory(global_conf, **local_conf):
    raise ValueError("factory refused to build")


def marker_filter_factory(global_conf, marker="filtered", **local_conf):
    def make_filter(app):
        def marked(environ, start_response):
            def start(status, headers, exc_info=None):
                return start_response(status, headers + [("X-Marker", marker)],
                                      exc_info)
            return app(environ, start)
        return marked
    return make_filter


def slow_build_factory(global_conf, seconds="1", **local_conf):
    """Takes `seconds` to build: a worker that is not serving yet."""
    print(f"slow_build: building in {os.getpid()}", file=sys.stderr, flush=True)
    time.sleep(float(seconds))
    return hello_factory(global_conf)


def lazy_echo_factory(global_conf, **local_conf):
    """Like echo, but reads the body only while its result is iterated."""
    def lazy_echo(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        body = environ["wsgi.input"].read()
        yield f"{len(body)} bytes: {body.decode('latin-1')}".encode()
    return lazy_echo


def environ_factory(global_conf, **local_conf):
    """Answers with the request's CGI variables, one NAME=value a line."""
    def show_environ(environ, start_response):
        lines = [f"{key}={value}\n" for key, value in sorted(environ.items())
                 if key.isupper()]
        return _text(start_response, "200 OK", "".join(lines))
    return show_environ


def request_context_factory(global_conf, **local_conf):
    """Sets an oslo.context RequestContext for /req-* requests, as OpenStack apps do."""
    from oslo_context import context

    def with_context(environ, start_response):
        request_id = environ["PATH_INFO"].rpartition("/")[2]
        if request_id.startswith("req-"):
            context.RequestContext(request_id=request_id, overwrite=True)
        return _text(start_response, "200 OK", request_id + "\n")
    return with_context


def websocket_echo_factory(global_conf, **local_conf):
    # Imported here, in the worker: the tests' own process stays without eventlet.
    from eventlet import websocket

    @websocket.WebSocketWSGI
    def echo(ws):
        # One message, then the server ends the websocket.
        message = ws.wait()
        if message is not None:
            ws.send(message)

    return echo


def dies_on_request_factory(global_conf, **local_conf):
    """Answers with its pid; a request for /die ends its worker (exit status 5)."""
    def fragile(environ, start_response):
        if environ["PATH_INFO"] == "/die":
            os._exit(5)
        return _text(start_response, "200 OK", f"{os.getpid()}\n")
    return fragile


def slow_refusing_factory(global_conf, seconds="1", **local_conf):
    """Takes `seconds`, then refuses to build: a reload that fails late."""
    time.sleep(float(seconds))
    raise ValueError("factory refused to build, late")


def exiting_factory(global_conf, **local_conf):
    """Calls sys.exit(3) instead of returning an app."""
    sys.exit(3)


def process_ending_factory(global_conf, **local_conf):
    """Ends its process (status 7) without a word, as a C extension's abort might."""
    os._exit(7)


def hanging_factory(global_conf, **local_conf):
    """Never returns: a factory waiting for a database it cannot reach."""
    while True:
        time.sleep(3600)


def exit_handler_factory(global_conf, path, **local_conf):
    """Registers an atexit handler that writes `path`, as glance registers drain_workers."""
    import atexit

    def write_on_exit():
        with open(path, "a") as f:
            f.write(f"exit handler ran in {os.getpid()}\n")

    atexit.register(write_on_exit)
    return hello_factory(global_conf)


def runtime_factory(global_conf, **local_conf):
    """Answers with what the worker's process runs on: eventlet loaded, sockets patched, the request's thread."""
    import json
    import socket
    import threading

    def runtime(environ, start_response):
        facts = {
            "eventlet_modules": sorted(name for name in sys.modules
                                       if name.split(".")[0] in ("eventlet", "greenlet")),
            "socket_module": socket.socket.__module__,
            "thread": threading.current_thread().name,
            "multithread": environ["wsgi.multithread"],
            "multiprocess": environ["wsgi.multiprocess"],
        }
        return _text(start_response, "200 OK", json.dumps(facts))
    return runtime


def spin_factory(global_conf, **local_conf):
    """Keeps the processor busy for ?seconds (default 1) before answering: a CPU-heavy request."""
    def spin(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        seconds = float(query.partition("=")[2] or 1)
        print(f"spin: spinning {seconds} in {os.getpid()}", file=sys.stderr,
              flush=True)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pass
        return _text(start_response, "200 OK", f"spun {seconds}\n")
    return spin


def _query_number(environ, default):
    """The number after the '=' of the query string (?seconds=2, ?mib=100), else `default`."""
    return float(environ.get("QUERY_STRING", "").partition("=")[2] or default)


def streaming_factory(global_conf, **local_conf):
    """Streams 16 KiB pieces, one every 10 ms, for ?seconds (default 30): a response a client can leave in the middle of."""
    def streaming(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        end = time.monotonic() + _query_number(environ, 30)
        while time.monotonic() < end:
            yield b"x" * 16384
            time.sleep(0.01)
    return streaming


def growing_factory(global_conf, **local_conf):
    """Keeps ?mib (default 100) more MiB for the rest of its worker's life, written so that they are resident."""
    kept = []

    def growing(environ, start_response):
        kept.append(bytearray(b"\1" * (int(_query_number(environ, 100)) << 20)))
        return _text(start_response, "200 OK", f"{len(kept)} pieces\n")
    return growing


def refusing_once_flagged_factory(global_conf, flag, **local_conf):
    """Builds the hello app, unless the file `flag` exists: then it refuses, as a broken deployment would."""
    if os.path.exists(flag):
        raise ValueError(f"{flag} exists: refusing to build")
    return hello_factory(global_conf)
