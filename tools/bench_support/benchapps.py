"""The WSGI apps and filters every benchmarked server loads through paste.

Plain WSGI, no framework, so that the servers are measured and not the app.
Every response names the worker process that produced it (X-Pid), which is
how the benchmark sees requests spread over a server's workers.
"""

import os
import time
import uuid

HELLO = b"Hello, World!\n"
READ_CHUNK = 65536


def _headers(length, extra=()):
    return [("Content-Type", "text/plain"),
            ("Content-Length", str(length)),
            ("X-Pid", str(os.getpid()))] + list(extra)


def hello_factory(global_conf, **local_conf):
    """paste.app_factory: a 14-byte greeting."""
    def hello(environ, start_response):
        start_response("200 OK", _headers(len(HELLO)))
        return [HELLO]
    return hello


def blob_factory(global_conf, size="65536", **local_conf):
    """paste.app_factory: a body of `size` bytes, built once."""
    body = b"b" * int(size)

    def blob(environ, start_response):
        start_response("200 OK", _headers(len(body)))
        return [body]
    return blob


def upload_factory(global_conf, **local_conf):
    """paste.app_factory: reads the whole request body, answers with its length."""
    def upload(environ, start_response):
        stream = environ["wsgi.input"]
        received = 0
        while True:
            chunk = stream.read(READ_CHUNK)
            if not chunk:
                break
            received += len(chunk)
        body = f"received {received} bytes\n".encode()
        start_response("200 OK", _headers(len(body)))
        return [body]
    return upload


def request_id_filter_factory(global_conf, **local_conf):
    """paste.filter_factory: a request id in the environ and the response, as OpenStack's."""
    def make_filter(app):
        def request_id(environ, start_response):
            rid = "req-" + str(uuid.uuid4())
            environ["bench.request_id"] = rid

            def start(status, headers, exc_info=None):
                return start_response(status, headers + [("X-Request-Id", rid)],
                                      exc_info)
            return app(environ, start)
        return request_id
    return make_filter


def timing_filter_factory(global_conf, **local_conf):
    """paste.filter_factory: how long the rest of the pipeline took to start answering."""
    def make_filter(app):
        def timing(environ, start_response):
            started = time.monotonic()

            def start(status, headers, exc_info=None):
                elapsed = f"{time.monotonic() - started:.6f}"
                return start_response(status, headers + [("X-Elapsed", elapsed)],
                                      exc_info)
            return app(environ, start)
        return timing
    return make_filter


def header_filter_factory(global_conf, name="bench", **local_conf):
    """paste.filter_factory: a fixed response header."""
    def make_filter(app):
        def header(environ, start_response):
            def start(status, headers, exc_info=None):
                return start_response(status, headers + [("X-Served-By", name)],
                                      exc_info)
            return app(environ, start)
        return header
    return make_filter
