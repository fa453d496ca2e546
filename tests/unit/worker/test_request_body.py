"""service.worker.request_body: wsgi.input over a connection's reader, without a server."""

import pytest

from service.http import head as http11
from service.worker.request_body import BadBody, RequestBody
from service.worker.socket_reader import SocketReader


class Client:
    """A socket whose client sends `pieces`, one per recv, then ends its stream (or raises `then`)."""

    def __init__(self, *pieces, then=None):
        self.pieces = list(pieces)
        self.then = then
        self.sent = []

    def recv(self, size):
        if self.pieces:
            return self.pieces.pop(0)
        if self.then is not None:
            raise self.then
        return b""

    def sendall(self, data):
        self.sent.append(data)


def body_of(model, request_head, *pieces, then=None, response_begun=False):
    """(wsgi.input for `request_head`, its client); the body comes in `pieces`."""
    head = http11.parse_request(request_head)
    client = Client(*pieces, then=then)

    def send_continue(headers):
        if not response_begun:
            client.sendall(b"100 Continue with %r" % (headers,))

    return RequestBody.for_head(head, SocketReader(client, model.receive_now), client,
                                model, send_continue), client


POST = b"POST / HTTP/1.1\r\nHost: x\r\n"
SIZED = POST + b"Content-Length: 11\r\n\r\n"
CHUNKED = POST + b"Transfer-Encoding: chunked\r\n\r\n"
EXPECTING = POST + b"Content-Length: 2\r\nExpect: 100-continue\r\n\r\n"


def test_read_gives_the_body_and_not_a_byte_of_what_follows(model):
    body, _ = body_of(model, SIZED, b"hello", b" world", b"GET /next")
    assert body.read() == b"hello world"
    assert body.complete and body.read() == b""


def test_read_size_readline_readlines_and_iteration(model):
    body, _ = body_of(model, SIZED, b"ab\ncd", b"\nefghi")
    assert body.read(1) == b"a"
    assert body.readline() == b"b\n"
    assert body.readline(1) == b"c"
    assert body.readlines() == [b"d\n", b"efghi"]
    body, _ = body_of(model, SIZED, b"ab\ncd\nefghi")
    assert list(body) == [b"ab\ncd\nefghi"]


def test_chunked_body_is_read_to_its_trailers(model):
    body, _ = body_of(model, CHUNKED, b"5\r\nhel", b"lo\r\n6\r\n world\r\n0\r\nX: y\r\n\r\n")
    assert body.readline() == b"hello world"
    assert body.complete


@pytest.mark.parametrize("request_head, pieces, status, message", [
    (SIZED, [b"hello"], 400, "Incomplete request body"),
    (CHUNKED, [b"0x5\r\nhello\r\n0\r\n\r\n"], 400, "Invalid chunked body"),
    (CHUNKED, [b"5\r\nhello"], 400, "Invalid chunked body"),
])
def test_a_broken_body_is_a_bad_body_raised_again_on_every_read(model,
        request_head, pieces, status, message):
    body, _ = body_of(model, request_head, *pieces)
    with pytest.raises(BadBody) as first:
        body.read()
    assert (first.value.error.status, first.value.error.message) == (status, message)
    with pytest.raises(BadBody) as again:
        body.read(1)
    assert again.value is first.value and body.failure is first.value


def test_a_client_that_stops_sending_is_a_408_and_one_that_leaves_a_400(model):
    body, _ = body_of(model, SIZED, b"hel", then=TimeoutError("timed out"))
    with pytest.raises(BadBody) as timed_out:
        body.read()
    assert timed_out.value.error.status == 408
    body, _ = body_of(model, SIZED, b"hel", then=ConnectionResetError())
    with pytest.raises(BadBody) as reset:
        body.read()
    assert reset.value.error.message == "Incomplete request body"


def test_a_bad_body_is_what_apps_written_for_eventlet_catch():
    from eventlet.wsgi import ChunkReadError
    from service.worker import model as worker_model
    assert issubclass(worker_model.load("eventlet").BadBody, ChunkReadError)


def test_100_continue_goes_out_on_the_first_read_only(model):
    body, client = body_of(model, EXPECTING, b"ok")
    assert body.awaits_continue and client.sent == []
    body.set_hundred_continue_response_headers([("x-one", "1")])
    assert body.read(1) == b"o"
    assert body.read() == b"k"
    assert client.sent == [b"100 Continue with [('X-One', '1')]"]
    assert not body.awaits_continue


def test_a_second_100_continue_on_request(model):
    # swift's multiphase commit: another 100 Continue after the body.
    body, client = body_of(model, EXPECTING, b"ok")
    body.read()
    body.send_hundred_continue_response()
    assert len(client.sent) == 2


def test_no_100_continue_once_the_response_has_begun(model):
    body, client = body_of(model, EXPECTING, b"ok", response_begun=True)
    assert body.read() == b"ok" and client.sent == []


@pytest.mark.parametrize("request_head", [
    POST + b"Content-Length: 2\r\n\r\n",
    b"POST / HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n",
    POST + b"Content-Length: 2\r\nExpect: something-else\r\n\r\n",
], ids=["not asked", "http/1.0", "other expectation"])
def test_no_100_continue_unless_an_http11_client_waits_for_it(model, request_head):
    body, client = body_of(model, request_head, b"ok")
    assert not body.awaits_continue
    assert body.read() == b"ok" and client.sent == []


def test_discard_reads_the_rest_of_the_body(model):
    body, client = body_of(model, CHUNKED, b"5\r\nhello\r\n", b"0\r\n\r\nGET /next")
    body.read(2)
    body.discard()
    assert body.complete


def test_get_socket_is_the_connection(model):
    body, client = body_of(model, SIZED)
    assert body.get_socket() is client
