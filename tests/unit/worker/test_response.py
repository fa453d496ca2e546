"""service.worker.response: start_response() and write(), sending what service.http.response makes."""

import sys

import pytest

from service.http import head as http11
from service.worker.response import Response

GET = http11.parse_request(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")


def response_to(request=GET, keep_alive=True):
    sent = []
    return Response(sent.append, request, lambda: keep_alive), sent


def test_the_head_goes_out_with_the_first_piece_of_body():
    response, sent = response_to()
    write = response.start_response("200 OK", [("content-length", "5")])
    assert sent == [] and not response.head_sent
    write(b"hel")
    assert len(sent) == 1 and sent[0].startswith(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n")
    assert sent[0].endswith(b"\r\n\r\nhel")
    write(b"lo")
    response.end()
    assert sent[1:] == [b"lo"]
    assert response.length == sum(map(len, sent))
    assert not response.head.close and not response.head.body.short


def test_an_empty_write_sends_nothing_once_the_head_is_out():
    response, sent = response_to()
    write = response.start_response("200 OK", [])
    write(b"a")
    write(b"")
    response.end()
    assert sent[1:] == [b"0\r\n\r\n"]  # the last chunk only


def test_the_last_piece_goes_out_with_the_end_of_the_body():
    response, sent = response_to()
    write = response.start_response("200 OK", [])
    write(b"first")
    response.end(b"last")
    assert sent[1:] == [b"4\r\nlast\r\n0\r\n\r\n"]
    response, sent = response_to()
    response.start_response("200 OK", [])
    response.end(b"all")
    assert len(sent) == 1 and sent[0] == response.head.data + b"3\r\nall\r\n0\r\n\r\n"
    response, sent = response_to()
    response.start_response("200 OK", [("Content-Length", "3")])
    response.end(b"all")
    assert sent == [response.head.data + b"all"] and response.length == len(sent[0])


def test_end_sends_a_head_that_has_not_gone():
    response, sent = response_to(keep_alive=False)
    response.start_response("204 No Content", [])
    response.end()
    assert sent == [response.head.data] and response.head.close


def test_write_before_start_response_is_an_error():
    response, _ = response_to()
    with pytest.raises(AssertionError):
        response.write(b"x")


def test_exc_info_replaces_a_response_not_yet_sent_and_raises_once_sent():
    response, sent = response_to()
    response.start_response("200 OK", [])
    try:
        raise RuntimeError("app failed")
    except RuntimeError:
        response.start_response("500 Internal Server Error", [], sys.exc_info())
    assert response.status_code == 500
    response.write(b"x")
    try:
        raise RuntimeError("again")
    except RuntimeError:
        with pytest.raises(RuntimeError, match="again"):
            response.start_response("500 Internal Server Error", [], sys.exc_info())


def test_the_keep_alive_question_is_asked_when_the_head_is_made():
    asked = []
    response = Response(lambda data: None, GET, lambda: asked.append(True) or True)
    response.start_response("200 OK", [("Content-Length", "0")])
    assert asked == []
    response.end()
    assert asked == [True]


def test_a_head_http_cannot_carry_sends_nothing():
    response, sent = response_to()
    response.start_response("200 OK", [("X", "a\r\nb")])
    with pytest.raises(ValueError):
        response.write(b"x")
    assert sent == [] and not response.head_sent
