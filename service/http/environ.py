"""The WSGI environ of a request: a pure function of its parsed head and its connection's facts.

What PEP 3333 asks, in the shape the servers these apps also run under
(uWSGI, gunicorn) give it: wsgi.input_terminated is true, CONTENT_TYPE and
CONTENT_LENGTH appear only when the client sent them, QUERY_STRING always,
and header names map to keys as eventlet.wsgi maps them. The values that
only a server can give (wsgi.input, and the eventlet.* keys that apps
written for eventlet.wsgi use) are added by the worker that serves it.

No sockets and no eventlet: tested without a server, usable by any worker.
"""

import sys
import urllib.parse

from service import memo

# What eventlet.wsgi's Server.get_environ() gives every request, besides
# wsgi.errors: request_environ() sets that to sys.stderr as it is then.
_SERVER_ENVIRON = {
    "wsgi.version": (1, 0),
    "wsgi.multithread": True,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
    "wsgi.url_scheme": "http",
}
_HTTPS_ENVIRON = {"wsgi.url_scheme": "https", "HTTPS": "on"}

# Header names whose environ key is remembered; clients send a handful.
MAX_REMEMBERED_KEYS = 1024


def server_environ(https=False, multiprocess=False):
    """What every request of a server starts with.

    wsgi.multithread is true in both worker models (green threads and OS
    threads both run requests at once); wsgi.multiprocess is true when the
    app has more than one worker, as PEP 3333 defines it.
    """
    environ = dict(_SERVER_ENVIRON)
    if https:
        environ.update(_HTTPS_ENVIRON)
    if multiprocess:
        environ["wsgi.multiprocess"] = True
    return environ


def connection_environ(server_environ, server_address, client_address):
    """What every request on one connection starts with: the server's keys and the two ends' addresses."""
    server_host, server_port = host_and_port(server_address)
    client_host, client_port = host_and_port(client_address)
    environ = dict(server_environ, SCRIPT_NAME="",
                   SERVER_NAME=server_host, SERVER_PORT=str(server_port),
                   REMOTE_ADDR=client_host, REMOTE_PORT=str(client_port),
                   GATEWAY_INTERFACE="CGI/1.1")
    # wsgi.input ends where the body does, chunked or not: WebOb (nova,
    # cinder, every wsgify app) reads a body that has no Content-Length
    # only when told so, as gunicorn and uWSGI do.
    environ["wsgi.input_terminated"] = True
    return environ


def request_environ(connection_environ, head):
    """The environ of the request whose head is `head`, without wsgi.input (the worker's reader)."""
    environ = connection_environ.copy()
    environ["wsgi.errors"] = sys.stderr
    environ["REQUEST_METHOD"] = head.method
    path, _, query = head.target.partition("?")
    environ["RAW_PATH_INFO"] = path
    environ["PATH_INFO"] = (path if "%" not in path
                            else urllib.parse.unquote(path, encoding="latin1"))
    # Always there, as PEP 3333 and CGI say; "" without a query.
    environ["QUERY_STRING"] = query
    # CONTENT_TYPE and CONTENT_LENGTH only as the client sent them: a
    # default type makes frameworks (Falcon) refuse a body-less request.
    first = head.first
    if "content-type" in first:
        environ["CONTENT_TYPE"] = first["content-type"]
    if "content-length" in first:
        environ["CONTENT_LENGTH"] = first["content-length"]
    environ["SERVER_PROTOCOL"] = head.version
    _add_header_keys(environ, head.fields)
    return environ


def host_and_port(address):
    """(host, port) of a socket address; ("unix", "") for one that is not (host, port, ...), as eventlet.wsgi shows it."""
    if isinstance(address, tuple):
        return address[0], address[1]
    return "unix", ""


def _key_of(name):
    """Content-Type -> CONTENT_TYPE, X-Foo -> HTTP_X_FOO; None for names with "_".

    A name with an underscore would share its key with the hyphenated name
    (RFC 9110 allows both), so, as eventlet, such fields are left out.
    """
    if "_" in name:
        return None
    key = name.replace("-", "_").upper()
    if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        key = "HTTP_" + key
    return key


environ_key = memo.BoundedMemo(_key_of, MAX_REMEMBERED_KEYS)


def _add_header_keys(environ, fields):
    key_of = environ_key
    for name, value in fields:
        key = key_of(name)
        if key is None or key[0] == "C":
            continue  # CONTENT_TYPE and CONTENT_LENGTH are set from the head
        if key in environ:
            environ[key] += "," + value
        else:
            environ[key] = value
