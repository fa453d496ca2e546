"""service.http.uwsgi: uwsgi request packets parsed, refused and made into environs, without a socket."""

import io
import struct
import sys
import wsgiref.validate

import pytest

from service.http import environ as http_environ
from service.http import head as http11
from service.http import uwsgi
from tests.uwsgi_client import apache_vars, packet

SERVER = http_environ.server_environ()
PEER = ("unix", "")


def parse(data, limits=http11.HeadLimits()):
    parsed = uwsgi.parse_packet(data, 0, limits)
    assert parsed is not None, "the packet was taken as incomplete"
    request, length = parsed
    assert length == len(data)
    return request


def refusal(data, limits=http11.HeadLimits()):
    with pytest.raises(http11.HttpError) as caught:
        uwsgi.parse_packet(data, 0, limits)
    return caught.value.status, caught.value.message


def environ_of(pairs, modifier1=0):
    return uwsgi.request_environ(SERVER, parse(packet(pairs, modifier1)), PEER)


# What Apache and nginx send.

def test_apache_vars_become_the_environ_with_the_mount_as_sent():
    environ = environ_of(apache_vars("POST", "/v3/auth/tokens", "/identity", query="a=1",
                                     body=b"{}", headers=[("CONTENT_TYPE", "application/json"),
                                                          ("HTTP_X_AUTH_TOKEN", "t")]))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/identity", "/v3/auth/tokens")
    assert environ["REQUEST_METHOD"] == "POST" and environ["QUERY_STRING"] == "a=1"
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"]) == ("application/json", "2")
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("192.0.2.9", "51000")
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("api.example", "8080")
    assert environ["HTTP_X_AUTH_TOKEN"] == "t" and environ["HTTP_HOST"] == "api.example:8080"
    assert environ["REQUEST_URI"] == "/identity/v3/auth/tokens?a=1"
    assert environ["wsgi.url_scheme"] == "http" and environ["wsgi.input_terminated"] is True
    assert environ["wsgi.errors"] is sys.stderr and environ["wsgi.version"] == (1, 0)


def test_the_environ_passes_wsgiref_validate():
    environ = environ_of(apache_vars("GET", "/v3", "/identity"))
    environ["wsgi.input"] = io.BytesIO(b"")
    wsgiref.validate.check_environ(environ)


def test_the_head_the_exchange_serves():
    request = parse(packet(apache_vars("PUT", "/a b", "/identity", body=b"abc",
                                       headers=[("HTTP_EXPECT", "100-continue")])))
    head = request.head
    assert (head.method, head.content_length, head.chunked) == ("PUT", 3, False)
    # Answered as to an HTTP/1.0 client that closes: no 100 Continue, no
    # chunked response, the front end reads to the close.
    assert (head.version, head.keep_alive, head.first) == ("HTTP/1.0", False, {})
    assert head.request_line == "PUT /identity/a b HTTP/1.1"
    assert request.client_address == ("192.0.2.9", "51000")


def test_apache_trailing_slash_mount_is_made_one_path():
    # mod_proxy_uwsgi sends SCRIPT_NAME "/identity/" and PATH_INFO "/" for /identity/.
    environ = environ_of(apache_vars("GET", "/", "/identity/"))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/identity", "/")
    environ = environ_of(apache_vars("GET", "/", "/"))
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("", "/")


def test_nginx_empty_content_vars_are_left_out():
    pairs = [("QUERY_STRING", ""), ("REQUEST_METHOD", "GET"), ("CONTENT_TYPE", ""),
             ("CONTENT_LENGTH", ""), ("REQUEST_URI", "/v3"), ("PATH_INFO", "/v3"),
             ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_SCHEME", "http"),
             ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "39404"),
             ("SERVER_PORT", "80"), ("SERVER_NAME", ""), ("HTTP_HOST", "127.0.0.1")]
    request = parse(packet(pairs))
    assert "CONTENT_TYPE" not in request.cgi and "CONTENT_LENGTH" not in request.cgi
    assert request.head.content_length is None
    assert request.cgi["SCRIPT_NAME"] == ""


def test_nginx_chunked_upload_copies_of_the_content_vars_are_left_out():
    pairs = apache_vars("POST", "/up", body=b"chunkydata", headers=[
        ("CONTENT_TYPE", "text/plain"), ("HTTP_TRANSFER_ENCODING", "chunked"),
        ("HTTP_CONTENT_TYPE", "text/plain")])
    request = parse(packet(pairs))
    assert "HTTP_CONTENT_TYPE" not in request.cgi
    assert request.head.content_length == 10 and not request.head.chunked


def test_nginx_modifier_30_takes_script_name_off_path_info():
    pairs = apache_vars("GET", "/identity/v3", "/identity")
    assert environ_of(pairs, modifier1=30)["PATH_INFO"] == "/v3"
    assert environ_of(apache_vars("GET", "/identity", "/identity"), 30)["PATH_INFO"] == ""
    # Only at a segment's end: /identityx is not under /identity.
    assert environ_of(apache_vars("GET", "/identityx", "/identity"), 30)["PATH_INFO"] == "/identityx"
    # Without the modifier, PATH_INFO is as sent.
    assert environ_of(pairs)["PATH_INFO"] == "/identity/v3"


def test_a_var_sent_twice_counts_with_its_last_value():
    pairs = apache_vars("GET", "/identity/v3", "/identity") + [("PATH_INFO", "/v3")]
    assert environ_of(pairs)["PATH_INFO"] == "/v3"


def test_url_scheme():
    assert environ_of(apache_vars() + [("HTTPS", "on")])["wsgi.url_scheme"] == "https"
    assert environ_of(apache_vars() + [("HTTPS", "off")])["wsgi.url_scheme"] == "http"
    https = [p if p[0] != "REQUEST_SCHEME" else ("REQUEST_SCHEME", "https") for p in apache_vars()]
    assert environ_of(https)["wsgi.url_scheme"] == "https"
    assert environ_of(https + [("UWSGI_SCHEME", "http")])["wsgi.url_scheme"] == "http"


def test_values_are_latin1_text_as_pep_3333_asks():
    environ = environ_of(apache_vars("GET", "/caf\xc3\xa9"))
    assert environ["PATH_INFO"] == "/caf\xc3\xa9"
    assert environ["PATH_INFO"].encode("latin-1").decode("utf-8") == "/café"


def test_without_remote_addr_the_connection_gives_it():
    pairs = [p for p in apache_vars() if p[0] not in ("REMOTE_ADDR", "REMOTE_PORT")]
    request = parse(packet(pairs))
    assert request.client_address is None
    environ = uwsgi.request_environ(SERVER, request, ("unix", ""))
    assert (environ["REMOTE_ADDR"], environ["REMOTE_PORT"]) == ("unix", "")


# Arriving in pieces.

def test_a_packet_is_taken_only_once_whole_and_from_where_it_starts():
    data = packet(apache_vars("POST", "/x", body=b"body")) + b"body"
    packet_length = len(data) - 4
    for cut in range(0, packet_length):
        assert uwsgi.parse_packet(data[:cut]) is None
    request, length = uwsgi.parse_packet(b"junk" + data, 4)
    assert length == packet_length and request.head.content_length == 4


# Refused: every malformed packet gets a status, never an exception of another kind.

def test_wrong_modifiers_are_refused():
    vars_ = apache_vars()
    assert refusal(packet(vars_, modifier1=5)) == (400, "Not a uwsgi request packet")
    assert refusal(packet(vars_, modifier2=1)) == (400, "Not a uwsgi request packet")
    # Plain HTTP sent to a uwsgi socket.
    assert refusal(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") == (400, "Not a uwsgi request packet")


@pytest.mark.parametrize("block", [
    b"\x09\x00PATH_INFO",                       # a key without its value's length
    b"\x09\x00PATH_INFO\x05\x00/",              # a value running past the block
    b"\x20\x00PATH",                            # a key running past the block
    b"\x09\x00PATH_INFO\x01\x00/\x07",          # one byte left over
])
def test_malformed_lengths_are_refused(block):
    data = struct.pack("<BHB", 0, len(block), 0) + block
    assert refusal(data) == (400, "Malformed uwsgi vars block")


@pytest.mark.parametrize("name", [b"", b"PATH INFO", b"HTTP_X\xe9", b"HTTP_\xc3\xa9", b"A:B", b"\x00"])
def test_var_names_that_are_not_ascii_tokens_are_refused(name):
    data = packet(apache_vars() + [(name, "v")])
    assert refusal(data) == (400, "Malformed uwsgi var name")


@pytest.mark.parametrize("missing", uwsgi.REQUIRED_VARS)
def test_a_missing_required_var_is_refused_by_name(missing):
    data = packet([p for p in apache_vars() if p[0] != missing])
    assert refusal(data) == (400, f"uwsgi request without {missing}")


@pytest.mark.parametrize("name, value, message", [
    ("REQUEST_METHOD", "GE T", "Malformed REQUEST_METHOD"),
    ("REQUEST_METHOD", "", "Malformed REQUEST_METHOD"),
    ("SERVER_PROTOCOL", "HTTP/1", "Malformed SERVER_PROTOCOL"),
    ("SERVER_PROTOCOL", "SPDY/3.1", "Malformed SERVER_PROTOCOL"),
    ("CONTENT_LENGTH", "-1", "Invalid CONTENT_LENGTH"),
    ("CONTENT_LENGTH", "1e3", "Invalid CONTENT_LENGTH"),
    ("CONTENT_LENGTH", " 5", "Invalid CONTENT_LENGTH"),
    ("CONTENT_LENGTH", "9" * 19, "Invalid CONTENT_LENGTH"),
])
def test_malformed_values_are_refused(name, value, message):
    pairs = [p for p in apache_vars() if p[0] != name] + [(name, value)]
    assert refusal(packet(pairs)) == (400, message)


def test_two_different_content_lengths_are_refused():
    pairs = apache_vars(body=b"abc") + [("CONTENT_LENGTH", "4")]
    assert refusal(packet(pairs)) == (400, "Invalid CONTENT_LENGTH")
    assert parse(packet(apache_vars(body=b"abc") + [("CONTENT_LENGTH", "3")])).head.content_length == 3


def test_limits_are_those_of_an_http_head():
    limits = http11.HeadLimits(max_header_line=100, max_head_bytes=600, max_fields=10)
    assert refusal(packet(apache_vars() + [("HTTP_X_BIG", "x" * 100)]), limits) == (
        431, "Request header field too large")
    many = [(f"HTTP_X_{n}", "v") for n in range(10 + uwsgi.MAX_CGI_VARS)]
    assert refusal(packet(apache_vars() + many),
                   http11.HeadLimits(max_fields=10)) == (431, "Request header fields too large")
    # The vars block is judged by its announced size, before it is read.
    assert refusal(struct.pack("<BHB", 0, 601, 0), limits) == (431, "Request header fields too large")


def test_a_var_as_long_as_max_header_line_allows_is_taken():
    limits = http11.HeadLimits(max_header_line=100)
    value = "x" * (100 - len("HTTP_X_BIG") - 4)
    assert parse(packet(apache_vars() + [("HTTP_X_BIG", value)]), limits).cgi["HTTP_X_BIG"] == value


def test_the_incomplete_packet_error():
    error = uwsgi.incomplete()
    assert (error.status, error.message) == (400, "Incomplete uwsgi packet")
