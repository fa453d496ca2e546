"""service.worker.exchange: one request and its response, and the keep-alive-or-close decision, without a server."""

import contextlib
import logging
import sys
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # eventlet's deprecation notice
    import eventlet.wsgi

from service.http import environ as http_environ
from service.http import head as http11
from service.worker import model as worker_model
from service.worker.green import door as green
from service.worker.connection import Connection, Serving
from service.worker.exchange import Exchange

GREEN = worker_model.load("eventlet")


class Client:
    """The worker's side of a client connection: what the client sends, one piece per recv; what it got."""

    def __init__(self, *pieces, refuse_sends=None):
        self.pieces = list(pieces)
        self.refuse_sends = refuse_sends
        self.sent = []

    def recv(self, size):
        return self.pieces.pop(0) if self.pieces else b""

    def sendall(self, data):
        if self.refuse_sends is not None:
            raise self.refuse_sends
        self.sent.append(bytes(data))

    def getsockname(self):
        return ("127.0.0.1", 8000)

    def setsockopt(self, *args):
        pass

    timeout = None

    def gettimeout(self):
        return self.timeout

    def settimeout(self, timeout):
        self.timeout = timeout

    @property
    def answer(self):
        return b"".join(self.sent)


class Connections:
    draining = False
    over_share = False

    def sheds_one(self, now):
        return self.over_share


class AccessLog:
    def __init__(self):
        self.lines = []

    def log(self, conn, status, length, seconds):
        self.lines.append((conn.requestline, status, length))


class ReadAtOnce:
    """A connection's wait for a scripted client: the next request is read at once (parking needs real sockets)."""

    @staticmethod
    def for_request(conn, first):
        return True


def serving_for(model, app, connections=None, **settings):
    """What a worker's connections share, as app_server makes it, for `model`."""
    settings = {"keep_alive": True, "socket_timeout": None, **settings}
    return Serving(app=app, connections=connections or Connections(),
                   head_limits=settings.pop("head_limits", http11.HeadLimits()),
                   access_log=AccessLog(), server_environ=http_environ.server_environ(),
                   model=model, waiting=ReadAtOnce(),
                   request_slots=contextlib.nullcontext(), **settings)


def exchange(model, app, request, *body, keep_alive=True, draining=False, over_share=False,
             refuse_sends=None):
    """(whether the connection carries another request, the client, the access log) after one exchange."""
    client = Client(*body, refuse_sends=refuse_sends)
    connections = Connections()
    connections.draining = draining
    connections.over_share = over_share
    serving = serving_for(model, app, connections, keep_alive=keep_alive)
    conn = Connection(client, ("192.0.2.1", 4000), serving)
    head = http11.parse_request(request)
    conn.requestline = head.request_line
    return Exchange(conn, head).run(), client, serving.access_log


GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"


def hello(environ, start_response):
    start_response("200 OK", [("content-type", "text/plain")])
    return [b"hello"]


def lazy(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield environ["wsgi.input"].read()


def echo(environ, start_response):
    body = environ["wsgi.input"].read()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def test_a_keep_alive_request_gets_a_framed_response_and_keeps_the_connection(model):
    keeps, client, log = exchange(model, hello, GET)
    assert keeps
    head, _, body = client.answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n")
    assert b"Connection" not in head and body == b"hello"
    assert log.lines == [("GET / HTTP/1.1", 200, len(client.answer))]
    assert len(client.sent) == 1  # the head goes with the body


@pytest.mark.parametrize("request_bytes, app, options, connection_field", [
    (b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", hello, {}, b"close"),
    (GET, hello, {"keep_alive": False}, b"close"),
    (GET, hello, {"draining": True}, b"close"),
    (GET, hello, {"over_share": True}, b"close"),
    (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", lazy, {}, b"close"),
], ids=["client asks", "server setting", "draining", "worker over its share",
        "http/1.0 body to the close"])
def test_the_head_says_close_when_the_connection_closes(model, request_bytes, app, options,
                                                        connection_field):
    keeps, client, _ = exchange(model, app, request_bytes, **options)
    assert not keeps
    assert b"\r\nConnection: " + connection_field + b"\r\n" in client.answer


def test_an_http10_client_that_asks_keeps_its_connection(model):
    keeps, client, _ = exchange(model, hello, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert keeps and b"\r\nConnection: keep-alive\r\n" in client.answer


def test_an_app_that_raises_gets_a_500_and_the_connection_closes(model, caplog):
    def raising(environ, start_response):
        raise RuntimeError("secret")

    keeps, client, log = exchange(model, raising, GET)
    assert not keeps and client.answer.startswith(b"HTTP/1.1 500 ")
    assert b"\r\nContent-Length: 0\r\n" in client.answer
    assert client.answer.endswith(b"\r\nConnection: close\r\n\r\n")
    assert b"secret" not in client.answer
    assert "RuntimeError: secret" in caplog.text
    assert log.lines[0][1] == 500


def test_sys_exit_in_an_app_fails_its_request_only(model):
    def exiting(environ, start_response):
        sys.exit(3)

    keeps, client, _ = exchange(model, exiting, GET)
    assert not keeps and client.answer.startswith(b"HTTP/1.1 500 ")


def test_an_app_that_answers_on_the_raw_socket_gets_nothing_more_written():
    def websocket_like(environ, start_response):
        environ["eventlet.input"].get_socket().sendall(b"raw")
        eventlet.wsgi.WSGI_LOCAL.already_handled = True
        return []

    keeps, client, _ = exchange(GREEN, websocket_like, GET)
    assert not keeps and client.answer == b"raw"


def test_an_upgrade_finds_the_flag_an_app_sets_only_where_it_finds_it():
    def flask_sock_like(environ, start_response):
        environ["eventlet.input"].get_socket().sendall(b"raw")
        if hasattr(eventlet.wsgi.WSGI_LOCAL, "already_handled"):
            eventlet.wsgi.WSGI_LOCAL.already_handled = True
        return []

    upgrade = b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    # In a green thread of its own, as a connection is served: a new one
    # has no flag until something sets it.
    keeps, client, _ = green.spawn(exchange, GREEN, flask_sock_like, upgrade).wait()
    assert not keeps and client.answer == b"raw"


def test_an_app_that_never_starts_a_response_gets_a_500(model):
    keeps, client, _ = exchange(model, lambda environ, start_response: [], GET)
    assert not keeps and client.answer.startswith(b"HTTP/1.1 500 ")


@pytest.mark.parametrize("body, sent", [(b"abcdef", b"abc"), (b"ab", b"ab")],
                         ids=["longer", "shorter"])
def test_a_body_other_than_its_content_length_closes_the_connection(model, caplog, body, sent):
    def wrong_length(environ, start_response):
        start_response("200 OK", [("Content-Length", "3")])
        return iter([body])

    keeps, client, _ = exchange(model, wrong_length, GET)
    assert not keeps and client.answer.endswith(b"\r\n\r\n" + sent)
    assert ("more than its Content-Length" in caplog.text) is (len(body) > 3)


EXPECTING = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"


def test_100_continue_then_the_response_when_the_app_reads_the_body(model):
    keeps, client, _ = exchange(model, echo, EXPECTING, b"ok")
    assert keeps
    assert client.sent[0] == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert client.sent[1].endswith(b"\r\n\r\nok")


def test_no_100_continue_and_a_close_when_the_app_never_reads_the_body(model):
    keeps, client, _ = exchange(model, hello, EXPECTING, b"ok")
    assert not keeps and b"100 Continue" not in client.answer
    assert b"\r\nConnection: close\r\n" in client.answer


CHUNKED = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize("app", [echo, lazy])
def test_a_bad_body_the_app_reads_is_answered_with_its_status(model, app):
    keeps, client, log = exchange(model, app, CHUNKED, b"0x5\r\nhello\r\n0\r\n\r\n")
    assert not keeps
    assert client.answer.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert client.answer.endswith(b"Invalid chunked body\n")
    assert log.lines[0][1] == 400


def test_a_bad_body_the_app_never_reads_closes_after_the_response(model, caplog):
    keeps, client, log = exchange(model, hello, CHUNKED, b"0x5\r\nhello\r\n0\r\n\r\n")
    assert not keeps and client.answer.startswith(b"HTTP/1.1 200 OK")
    assert "chunked encoding error while discarding request body" in caplog.text


def test_a_body_the_app_never_reads_is_read_past_before_the_next_request(model):
    client_sends = [b"5\r\nhel", b"lo\r\n0\r\n\r\nGET /next HTTP/1.1\r\n"]
    keeps, client, _ = exchange(model, hello, CHUNKED, *client_sends)
    assert keeps and client.pieces == []


def test_posthooks_run_after_the_response(model):
    ran = []

    def with_hook(environ, start_response):
        environ["eventlet.posthooks"].append((lambda env, arg: ran.append(arg), ("after",), {}))
        return hello(environ, start_response)

    exchange(model, with_hook, GET)
    assert ran == ["after"]


def test_a_result_whose_close_fails_closes_the_connection(model, caplog):
    class Result(list):
        def close(self):
            raise RuntimeError("clean-up failed")

    def app(environ, start_response):
        start_response("200 OK", [])
        return Result([b"x"])

    keeps, client, _ = exchange(model, app, GET)
    assert not keeps and client.answer.endswith(b"\r\n\r\nx")
    assert "clean-up failed" in caplog.text


def test_small_pieces_go_out_together(model):
    def pieces(environ, start_response):
        start_response("200 OK", [])
        return iter([b"a"] * 10)

    keeps, client, _ = exchange(model, pieces, GET)
    assert keeps and len(client.sent) == 1  # the head, the body and the last chunk
    assert client.sent[0].endswith(b"a\r\naaaaaaaaaa\r\n0\r\n\r\n")


@pytest.mark.parametrize("error", [BrokenPipeError(32, "gone"), TimeoutError("timed out")])
def test_a_client_gone_or_stuck_while_answered_ends_the_connection(model, error):
    keeps, _, log = exchange(model, hello, GET, refuse_sends=error)
    assert not keeps and log.lines[0][1] == 200


def test_the_environ_is_the_http_cores_with_what_the_worker_adds(model):
    seen = {}

    def show(environ, start_response):
        seen.update(environ)
        return hello(environ, start_response)

    exchange(model, show, GET)
    assert seen["PATH_INFO"] == "/" and seen["REMOTE_ADDR"] == "192.0.2.1"
    assert seen["wsgi.input"] is seen["eventlet.input"]
    assert seen["eventlet.posthooks"] == []


@pytest.fixture(autouse=True)
def _debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
