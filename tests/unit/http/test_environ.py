"""service.http.environ: a request's environ from its head and its connection's facts, without a server."""

import sys
import wsgiref.validate

import pytest

from service.http import environ as http_environ
from service.http import head as http11

SERVER = http_environ.server_environ()
CONNECTION = http_environ.connection_environ(SERVER, ("10.0.0.1", 8001), ("192.0.2.7", 40000))


def environ_of(data, connection=CONNECTION):
    return http_environ.request_environ(connection, http11.parse_request(data))


def test_the_cgi_variables_of_a_request():
    environ = environ_of(b"GET /a%20b/c?x=1&y HTTP/1.1\r\nHost: h\r\nX-Thing: v\r\n\r\n")
    cgi = {key: value for key, value in environ.items() if key.isupper()}
    assert cgi == {
        "REQUEST_METHOD": "GET", "SCRIPT_NAME": "", "PATH_INFO": "/a b/c",
        "RAW_PATH_INFO": "/a%20b/c", "QUERY_STRING": "x=1&y",
        "SERVER_NAME": "10.0.0.1", "SERVER_PORT": "8001",
        "REMOTE_ADDR": "192.0.2.7", "REMOTE_PORT": "40000",
        "SERVER_PROTOCOL": "HTTP/1.1", "GATEWAY_INTERFACE": "CGI/1.1",
        "HTTP_HOST": "h", "HTTP_X_THING": "v",
    }


def test_the_wsgi_keys():
    environ = environ_of(b"GET / HTTP/1.0\r\n\r\n")
    assert environ["wsgi.version"] == (1, 0)
    assert environ["wsgi.url_scheme"] == "http" and "HTTPS" not in environ
    assert environ["wsgi.input_terminated"] is True
    assert environ["wsgi.errors"] is sys.stderr
    assert (environ["wsgi.multithread"], environ["wsgi.multiprocess"],
            environ["wsgi.run_once"]) == (True, False, False)


def test_https():
    connection = http_environ.connection_environ(
        http_environ.server_environ(https=True), ("::1", 443, 0, 0), ("::1", 5000, 0, 0))
    environ = environ_of(b"GET / HTTP/1.0\r\n\r\n", connection)
    assert environ["wsgi.url_scheme"] == "https" and environ["HTTPS"] == "on"
    assert (environ["SERVER_NAME"], environ["REMOTE_PORT"]) == ("::1", "5000")


def test_content_type_and_length_only_as_sent():
    environ = environ_of(b"GET / HTTP/1.0\r\n\r\n")
    assert "CONTENT_TYPE" not in environ and "CONTENT_LENGTH" not in environ
    environ = environ_of(b"POST / HTTP/1.0\r\nContent-Type: a/b\r\nContent-Length: 0\r\n\r\n")
    assert (environ["CONTENT_TYPE"], environ["CONTENT_LENGTH"]) == ("a/b", "0")
    assert "HTTP_CONTENT_TYPE" not in environ


def test_repeated_fields_are_joined_and_names_with_underscores_left_out():
    environ = environ_of(b"GET / HTTP/1.0\r\nAccept: a\r\naccept: b\r\nX_Forwarded_For: evil\r\n\r\n")
    assert environ["HTTP_ACCEPT"] == "a,b"
    assert not any("FORWARDED" in key for key in environ)


@pytest.mark.parametrize("name, key", [
    ("Content-Type", "CONTENT_TYPE"), ("x-foo-bar", "HTTP_X_FOO_BAR"),
    ("HOST", "HTTP_HOST"), ("X_Foo", None),
])
def test_environ_keys_agree_with_the_plain_rule_remembered_or_not(name, key):
    assert http_environ.environ_key(name) == key
    assert http_environ.environ_key(name) == key  # remembered
    assert http_environ._key_of(name) == key


def test_each_request_gets_its_own_dict():
    first = environ_of(b"GET /one HTTP/1.0\r\n\r\n")
    second = environ_of(b"GET /two HTTP/1.0\r\n\r\n")
    assert first["PATH_INFO"] == "/one" and second["PATH_INFO"] == "/two"
    assert "PATH_INFO" not in CONNECTION


def test_a_unix_socket_address_is_shown_as_eventlet_shows_it():
    assert http_environ.host_and_port("/run/api.sock") == ("unix", "")
    assert http_environ.host_and_port(("::1", 80, 0, 0)) == ("::1", 80)


def test_wsgiref_validate_accepts_it():
    environ = environ_of(b"POST /x?y HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
    environ["wsgi.input"] = _EmptyInput()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]

    result = wsgiref.validate.validator(app)(environ, lambda status, headers, exc_info=None: None)
    list(result)
    result.close()


class _EmptyInput:
    def read(self, size=-1):
        return b""

    def readline(self, size=-1):
        return b""

    def readlines(self, hint=-1):
        return []

    def __iter__(self):
        return iter(())
