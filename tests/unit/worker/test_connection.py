"""service.worker.connection: the connection loop, its refusals and its bookkeeping, over a scripted client.

Parking needs the hub's watches and a real socket: the functional tests
of idle connections see it happen (tests/functional/test_idle_connections.py).
"""

import logging
import socket

import pytest

from service.http import head as http11
from service.worker import connection as connection_module
from service.worker.connection import Connection
from tests.unit.worker.test_exchange import Client, hello, serving_for


class Connections:
    def __init__(self):
        self.draining = False
        self.events = []

    def sheds_one(self, now):
        return False

    def opened(self, conn):
        self.events.append("opened")

    def closed(self, conn):
        self.events.append("closed")


class ScriptedClient(Client):
    """A client whose recv() may also raise: a piece that is an exception is raised."""

    def __init__(self, *pieces):
        super().__init__(*pieces)
        self.shut = []

    def recv(self, size):
        piece = self.pieces.pop(0) if self.pieces else b""
        if isinstance(piece, BaseException):
            raise piece
        return piece

    def shutdown(self, how):
        self.shut.append(how)

    def settimeout(self, timeout):
        pass


def serve(model, *pieces, app=hello, head_limits=http11.HeadLimits()):
    """(what serve() returned, the client, the Connections, the access log)."""
    client = ScriptedClient(*pieces)
    connections = Connections()
    serving = serving_for(model, app, connections, head_limits=head_limits)
    parked = Connection(client, ("192.0.2.1", 4000), serving).serve()
    return parked, client, connections, serving.access_log


GET = b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n"


def test_requests_are_served_in_order_until_the_client_closes(model):
    parked, client, connections, log = serve(model, GET % 1 + GET % 2, GET % 3)
    assert parked is False
    assert client.answer.count(b"HTTP/1.1 200 OK") == 3
    assert [line[0] for line in log.lines] == ["GET /1 HTTP/1.1", "GET /2 HTTP/1.1",
                                               "GET /3 HTTP/1.1"]
    assert connections.events == ["opened", "closed"]


def test_a_head_in_pieces_is_read_line_by_line(model):
    parked, client, _, log = serve(model, b"GET /slow HT", b"TP/1.1\r\nHo", b"st: x\r\n\r\n")
    assert client.answer.startswith(b"HTTP/1.1 200 OK")
    assert log.lines[0][:2] == ("GET /slow HTTP/1.1", 200)


def test_the_connection_closes_after_a_response_that_says_so(model):
    _, client, _, log = serve(model, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                              + GET % 2)
    assert client.answer.count(b"HTTP/1.1 ") == 1 and len(log.lines) == 1


@pytest.mark.parametrize("request_bytes, status", [
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    (b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
])
def test_a_refused_head_is_answered_logged_and_lingered_over(model, request_bytes, status):
    _, client, connections, log = serve(model, request_bytes + GET % 2)
    assert client.answer.startswith(b"HTTP/1.1 %d " % status)
    assert client.answer.count(b"HTTP/1.1 ") == 1  # nothing after the refusal
    assert client.shut == [socket.SHUT_WR]         # the linger
    assert log.lines[0][1] == status and len(log.lines[0][0]) <= 200
    assert connections.events == ["opened", "closed"]


def test_a_refused_line_is_logged_escaped(model):
    _, _, _, log = serve(model, b"GET /\x01\xff HTTP/1.1\r\nHost: x\r\n\r\n")
    assert log.lines[0][0] == "GET /\\x01\\xff HTTP/1.1"


def test_a_head_that_stops_coming_is_a_408(model):
    _, client, _, log = serve(model, b"GET / HTTP/1.1\r\nHost: x\r\n", TimeoutError("timed out"))
    assert client.answer.startswith(b"HTTP/1.1 408 ")
    assert log.lines[0][:2] == ("GET / HTTP/1.1", 408)


@pytest.mark.parametrize("end", [b"", TimeoutError("timed out"),
                                 ConnectionResetError(104, "reset")],
                         ids=["closed", "silent", "reset"])
def test_a_client_that_sends_nothing_is_closed_without_an_answer(model, caplog, end):
    caplog.set_level(logging.DEBUG)
    parked, client, connections, log = serve(model, end)
    assert parked is False and client.answer == b"" and log.lines == []
    assert connections.events == ["opened", "closed"]


def test_the_access_log_shows_x_forwarded_for_first(model):
    conn = Connection(ScriptedClient(), ("192.0.2.1", 4000), serving_for(model, hello))
    assert conn.get_client_address() == ("192.0.2.1", 4000)
    conn.headers = http11.parse_request(
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n\r\n")
    assert conn.get_client_address() == ("10.0.0.1,10.0.0.2,192.0.2.1", 4000)


def test_a_drain_wakes_only_a_connection_waiting_for_its_next_request(model):
    client = ScriptedClient()
    conn = Connection(client, ("192.0.2.1", 4000), serving_for(model, hello))
    conn.close_if_idle()
    assert client.shut == []
    conn.idle_since = 1.0
    conn.close_if_idle()
    assert client.shut == [socket.SHUT_RDWR]


def test_the_environ_starts_from_the_connections_addresses(model):
    serving = serving_for(model, hello, server_address=("10.1.1.1", 80))
    conn = Connection(ScriptedClient(), ("192.0.2.1", 4000), serving)
    environ = conn.environ_for(http11.parse_request(GET % 1))
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("10.1.1.1", "80")
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("192.0.2.1", "4000")
    assert conn.environ_for(http11.parse_request(GET % 2)) is not environ


def test_the_longest_request_line_is_eventlets():
    assert connection_module.URL_LENGTH_LIMIT == 8192
