"""The WSGI apps and filters every benchmarked server loads through paste.

Plain WSGI, no framework, so that the servers are measured and not the app.
Every response names the worker process that produced it (X-Pid), which is
how the benchmark sees requests spread over a server's workers.
"""

import json
import os
import socket
import time
import uuid

HELLO = b"Hello, World!\n"
READ_CHUNK = 65536
BACKEND_REQUEST = b"GET\n"
SERVERS_IN_LIST = 4


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


def backend_call_factory(global_conf, **local_conf):
    """paste.app_factory: each request waits for the bench's backend (20 ms), as an API that calls a service.

    Plain blocking socket calls: a server with one thread per worker
    waits here; under eventlet's monkey_patch the socket is green and the
    worker serves other requests meanwhile. One connection per request, as
    a client without a pool opens; the backend answers and closes.
    """
    host, port = os.environ["BENCH_BACKEND"].rsplit(":", 1)
    address = (host, int(port))

    def io20ms(environ, start_response):
        answer = _call_backend(address)
        start_response("200 OK", _headers(len(answer)))
        return [answer]
    return io20ms


def _call_backend(address):
    with socket.create_connection(address, timeout=30) as conn:
        conn.sendall(BACKEND_REQUEST)
        answer = b""
        while True:
            chunk = conn.recv(READ_CHUNK)
            if not chunk:
                return answer
            answer += chunk


def servers_factory(global_conf, **local_conf):
    """paste.app_factory: a WebOb app answering with a ~2 KiB JSON server list, as nova's API does.

    The document is serialised for every request, as an API does with data
    that it just read; the request id comes from oslo.middleware's filter.
    """
    import webob
    import webob.dec

    @webob.dec.wsgify
    def servers(request):
        document = {"servers": [_server(i) for i in range(SERVERS_IN_LIST)],
                    "request_id": request.environ.get("openstack.request_id"),
                    "scheme": request.scheme}
        response = webob.Response(body=json.dumps(document).encode(),
                                  content_type="application/json",
                                  charset=None)
        response.headers["X-Pid"] = str(os.getpid())
        return response
    return servers


def _server(index):
    uid = f"6f0e2c1a-0b7d-4c59-9d0e-{index:012d}"
    return {"id": uid, "name": f"bench-server-{index}", "status": "ACTIVE",
            "tenant_id": "4f6a1c0e9b7d4e2f8a3b5c6d7e8f9a0b",
            "created": "2026-11-29T19:00:00Z",
            "links": [{"rel": "self",
                       "href": f"http://127.0.0.1/v2.1/servers/{uid}"},
                      {"rel": "bookmark",
                       "href": f"http://127.0.0.1/servers/{uid}"}],
            "flavor": {"id": "1", "links": []},
            "addresses": {"private": [{"addr": f"10.0.0.{index + 10}",
                                       "version": 4}]}}
