"""service.http11: the request grammar and framing rules, without a socket."""

import http.client
import io

import pytest

from service.http import head as http11


def head(request_line, *fields, host=True):
    lines = [request_line] + (["Host: x"] if host else []) + list(fields)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def parse(*args, **kwargs):
    return http11.parse_request(head(*args, **kwargs))


# Valid heads.

def test_simple_get():
    request = parse("GET /a/b?c=d HTTP/1.1", "Accept: */*")
    assert (request.method, request.target, request.version) == (
        "GET", "/a/b?c=d", "HTTP/1.1")
    assert request.request_line == "GET /a/b?c=d HTTP/1.1"
    assert request.fields == [("Host", "x"), ("Accept", "*/*")]
    assert request.content_length is None and not request.chunked
    assert request.keep_alive


def test_field_names_are_case_insensitive_and_first_value_wins():
    request = parse("GET / HTTP/1.1", "X-Thing: one", "x-THING: two")
    assert request.get("X-THING") == "one"
    assert request.get("missing", "default") == "default"
    assert request.fields[1:] == [("X-Thing", "one"), ("x-THING", "two")]


@pytest.mark.parametrize("line, value", [
    ("X-A: value", "value"),
    ("X-A:value", "value"),
    ("X-A: \t value \t ", "value"),
    ("X-A: a  b\tc", "a  b\tc"),
    ("X-A:", ""),
    ("X-A:   ", ""),
    ("X-A: caf\xe9", "caf\xe9"),          # obs-text is allowed
    ("X-A: \"quoted, value\"", "\"quoted, value\""),
    ("X!#$%&'*+-.^_`|~9: v", "v"),      # every tchar
])
def test_field_values_lose_only_surrounding_whitespace(line, value):
    assert parse("GET / HTTP/1.1", line).fields[1][1] == value


@pytest.mark.parametrize("version, connection, keep_alive", [
    ("HTTP/1.1", None, True),
    ("HTTP/1.1", "close", False),
    ("HTTP/1.1", "Keep-Alive, Close", False),
    ("HTTP/1.1", "upgrade", True),
    ("HTTP/1.0", None, False),
    ("HTTP/1.0", "keep-alive", True),
    ("HTTP/1.0", "KEEP-ALIVE", True),
])
def test_keep_alive_follows_version_and_connection(version, connection, keep_alive):
    fields = [f"Connection: {connection}"] if connection else []
    assert parse(f"GET / {version}", *fields).keep_alive is keep_alive


def test_http_1_0_needs_no_host():
    request = http11.parse_request(b"GET / HTTP/1.0\r\n\r\n")
    assert request.version == "HTTP/1.0" and request.fields == []


def test_content_length():
    assert parse("POST / HTTP/1.1", "Content-Length: 42").content_length == 42
    assert parse("POST / HTTP/1.1", "Content-Length: 007").content_length == 7


def test_identical_content_lengths_fold():
    request = parse("POST / HTTP/1.1", "Content-Length: 5", "content-length: 5")
    assert request.content_length == 5 and request.get("content-length") == "5"


@pytest.mark.parametrize("value", ["chunked", "Chunked", "CHUNKED", " chunked "])
def test_chunked(value):
    request = parse("POST / HTTP/1.1", f"Transfer-Encoding: {value}")
    assert request.chunked and request.content_length is None


def test_absolute_form_target_becomes_origin_form_and_names_the_host():
    request = parse("GET http://example.com:8080/a?b HTTP/1.1", "Accept: x")
    assert request.target == "/a?b"
    assert request.get("host") == "example.com:8080"
    assert request.fields == [("Accept", "x"), ("Host", "example.com:8080")]
    assert parse("GET HTTPS://example.com HTTP/1.1").target == "/"
    assert parse("GET http://example.com?q HTTP/1.1").target == "/?q"


def test_absolute_form_target_gives_an_http_1_0_request_its_host():
    request = http11.parse_request(b"GET http://example.com/a HTTP/1.0\r\n\r\n")
    assert request.get("host") == "example.com"
    assert request.fields == [("Host", "example.com")]


def test_asterisk_form_for_options():
    assert parse("OPTIONS * HTTP/1.1").target == "*"


def test_leading_slashes_collapse_as_in_http_server():
    assert parse("GET //evil.example/x HTTP/1.1").target == "/evil.example/x"


@pytest.mark.parametrize("host", [
    "", "example.com", "example.com:80", "127.0.0.1:8080", "[::1]:80",
    "xn--bcher-kva.example", "a_b.example", "%41.example",
])
def test_valid_hosts(host):
    assert parse("GET / HTTP/1.1", f"Host: {host}", host=False).get("host") == host


def test_empty_lines_before_the_request_are_skipped():
    request = http11.parse_request(b"\r\n" + head("GET / HTTP/1.1"))
    assert request.method == "GET"


def test_agrees_with_the_standard_library_on_a_valid_head():
    data = head("POST /v2/servers?x=1 HTTP/1.1", "Content-Type: application/json",
                "Content-Length: 2", "X-Auth-Token: abc", "Accept:  */* ")
    request = http11.parse_request(data)
    rfile = io.BytesIO(data)
    method, target, version = rfile.readline().decode().split()
    stdlib = http.client.parse_headers(rfile)
    assert (request.method, request.target, request.version) == (method, target, version)
    assert [(n, v) for n, v in request.fields] == [
        (n, v.strip()) for n, v in stdlib.items()]


# Invalid heads, with the status a server answers.

TOO_LONG_LINE = "X-Long: " + "a" * 16384

INVALID = {
    # Request line.
    "empty": (b"\r\n\r\n\r\n\r\n", 400),
    "http/0.9": (b"GET /\r\n\r\n", 400),
    "http/2.0": (head("GET / HTTP/2.0"), 505),
    "http/1.2": (head("GET / HTTP/1.2"), 505),
    "http/0.1": (head("GET / HTTP/0.1"), 505),
    "h2 preface": (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    "lower-case name": (head("GET / http/1.1"), 400),
    "no minor": (head("GET / HTTP/1"), 400),
    "two-digit minor": (head("GET / HTTP/1.10"), 400),
    "two-digit major": (head("GET / HTTP/11.1"), 400),
    "extra part": (head("GET / HTTP/1.1 x"), 400),
    "leading space": (head(" GET / HTTP/1.1"), 400),
    "double space": (head("GET  / HTTP/1.1"), 400),
    "trailing space": (head("GET / HTTP/1.1 "), 400),
    "tab": (head("GET\t/ HTTP/1.1"), 400),
    "method not a token": (head("GE@T / HTTP/1.1"), 400),
    "empty method": (head(" / HTTP/1.1"), 400),
    "nul in target": (head("GET /\x00 HTTP/1.1"), 400),
    "del in target": (head("GET /\x7f HTTP/1.1"), 400),
    "obs-text in target": (head("GET /\xe9 HTTP/1.1"), 400),
    "relative target": (head("GET a/b HTTP/1.1"), 400),
    "authority-form": (head("CONNECT example.com:443 HTTP/1.1"), 400),
    "asterisk not options": (head("GET * HTTP/1.1"), 400),
    "unknown scheme": (head("GET ftp://x/ HTTP/1.1"), 400),
    "bad authority": (head("GET http://a b/ HTTP/1.1"), 400),
    # RFC 9112 3.2: no form of request-target has a fragment.
    "fragment in path": (head("GET /a#frag HTTP/1.1"), 400),
    "fragment in query": (head("GET /a?b=c#frag HTTP/1.1"), 400),
    "empty fragment": (head("GET /# HTTP/1.1"), 400),
    "fragment in absolute-form": (head("GET http://x/a#frag HTTP/1.1"), 400),
    "fragment after authority": (head("GET http://x#frag HTTP/1.1"), 400),
    "bare lf": (b"GET / HTTP/1.1\nHost: x\n\n", 400),
    "bare cr": (b"GET / HTTP/1.1\rHost: x\r\n\r\n", 400),
    "no line end": (b"GET / HTTP/1.1", 400),
    # Field lines.
    "no colon": (head("GET / HTTP/1.1", "X-A value"), 400),
    "space before colon": (head("GET / HTTP/1.1", "X-A : value"), 400),
    "tab before colon": (head("GET / HTTP/1.1", "X-A\t: value"), 400),
    "space in name": (head("GET / HTTP/1.1", "X A: value"), 400),
    "empty name": (head("GET / HTTP/1.1", ": value"), 400),
    "separator in name": (head("GET / HTTP/1.1", "X(A): value"), 400),
    "obs-text in name": (head("GET / HTTP/1.1", "X\xe9: value"), 400),
    "obs-fold": (head("GET / HTTP/1.1", "X-A: a", " b"), 400),
    "obs-fold tab": (head("GET / HTTP/1.1", "X-A: a", "\tb"), 400),
    "fold as first field": (b"GET / HTTP/1.1\r\n Host: x\r\n\r\n", 400),
    "nul in value": (head("GET / HTTP/1.1", "X-A: a\x00b"), 400),
    "ctl in value": (head("GET / HTTP/1.1", "X-A: a\x1bb"), 400),
    "cr in value": (head("GET / HTTP/1.1", "X-A: a\rb"), 400),
    "del in value": (head("GET / HTTP/1.1", "X-A: \x7f"), 400),
    "bare lf field": (b"GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n", 400),
    "head never ends": (b"GET / HTTP/1.1\r\nHost: x\r\n", 400),
    # Host.
    "missing host": (head("GET / HTTP/1.1", host=False), 400),
    "two hosts": (head("GET / HTTP/1.1", "Host: y"), 400),
    "two hosts in 1.0": (b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    "host with path": (head("GET / HTTP/1.1", "Host: a/b", host=False), 400),
    "host with space": (head("GET / HTTP/1.1", "Host: a b", host=False), 400),
    "host with userinfo": (head("GET / HTTP/1.1", "Host: u@a", host=False), 400),
    "host with bad port": (head("GET / HTTP/1.1", "Host: a:8o", host=False), 400),
    # Content-Length.
    "negative length": (head("POST / HTTP/1.1", "Content-Length: -1"), 400),
    "plus length": (head("POST / HTTP/1.1", "Content-Length: +1"), 400),
    "hex length": (head("POST / HTTP/1.1", "Content-Length: 0x1"), 400),
    "decimal length": (head("POST / HTTP/1.1", "Content-Length: 1.0"), 400),
    "underscore length": (head("POST / HTTP/1.1", "Content-Length: 1_0"), 400),
    "empty length": (head("POST / HTTP/1.1", "Content-Length:"), 400),
    "listed length": (head("POST / HTTP/1.1", "Content-Length: 1,1"), 400),
    "space in length": (head("POST / HTTP/1.1", "Content-Length: 1 1"), 400),
    "huge length": (head("POST / HTTP/1.1", "Content-Length: 1" + "0" * 18), 400),
    "unicode digit length": (head("POST / HTTP/1.1", "Content-Length: \xb2"), 400),
    "differing lengths": (head("POST / HTTP/1.1", "Content-Length: 1",
                               "Content-Length: 2"), 400),
    # Transfer-Encoding.
    "te and cl": (head("POST / HTTP/1.1", "Transfer-Encoding: chunked",
                       "Content-Length: 1"), 400),
    "cl and te": (head("POST / HTTP/1.1", "Content-Length: 1",
                       "Transfer-Encoding: chunked"), 400),
    "te in 1.0": (b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
    "gzip, chunked": (head("POST / HTTP/1.1", "Transfer-Encoding: gzip, chunked"), 501),
    "gzip then chunked": (head("POST / HTTP/1.1", "Transfer-Encoding: gzip",
                               "Transfer-Encoding: chunked"), 501),
    "chunked, identity": (head("POST / HTTP/1.1",
                               "Transfer-Encoding: chunked, identity"), 400),
    "chunked, gzip": (head("POST / HTTP/1.1", "Transfer-Encoding: chunked, gzip"), 400),
    "gzip": (head("POST / HTTP/1.1", "Transfer-Encoding: gzip"), 400),
    "identity": (head("POST / HTTP/1.1", "Transfer-Encoding: identity"), 400),
    "chunked twice": (head("POST / HTTP/1.1", "Transfer-Encoding: chunked, chunked"), 400),
    "empty te": (head("POST / HTTP/1.1", "Transfer-Encoding:"), 400),
    "empty element": (head("POST / HTTP/1.1", "Transfer-Encoding: chunked,"), 400),
    "chunked with parameter": (head("POST / HTTP/1.1",
                                    "Transfer-Encoding: chunked;q=1"), 400),
    "quoted chunked": (head("POST / HTTP/1.1", 'Transfer-Encoding: "chunked"'), 400),
    # Limits.
    "url too long": (head("GET /" + "u" * 8192 + " HTTP/1.1"), 414),
    "field line too long": (head("GET / HTTP/1.1", TOO_LONG_LINE), 431),
    "too many fields": (head("GET / HTTP/1.1", *[f"X-{n}: v" for n in range(100)]), 431),
    "head too large": (head("GET / HTTP/1.1", *[f"X-{n}: " + "v" * 16000
                                                for n in range(5)]), 431),
}


@pytest.mark.parametrize("data, status", INVALID.values(), ids=INVALID)
def test_invalid_head_has_the_status_to_answer(data, status):
    with pytest.raises(http11.HttpError) as raised:
        http11.parse_request(data)
    assert raised.value.status == status


def test_error_messages_never_carry_client_bytes():
    secret = "GET /secret\x01 HTTP/1.1"
    with pytest.raises(http11.HttpError) as raised:
        parse(secret, "X-Secret: s\x00")
    assert "secret" not in str(raised.value).lower()


# Limits.

def test_field_line_limit_counts_the_crlf():
    limits = http11.HeadLimits(max_header_line=20)
    fits = "X-A: " + "a" * 13          # 18 bytes + CRLF = 20
    assert http11.parse_request(head("GET / HTTP/1.1", fits), limits)
    with pytest.raises(http11.FieldsTooLarge):
        http11.parse_request(head("GET / HTTP/1.1", fits + "a"), limits)


def test_field_count_limit():
    limits = http11.HeadLimits(max_fields=3)
    assert http11.parse_request(head("GET / HTTP/1.1", "A: 1", "B: 2"), limits)
    with pytest.raises(http11.FieldsTooLarge):
        http11.parse_request(head("GET / HTTP/1.1", "A: 1", "B: 2", "C: 3"), limits)


def test_head_size_limit():
    limits = http11.HeadLimits(max_head_bytes=30)
    fits = "A: " + "1" * 25                # 28 bytes + CRLF = 30
    assert http11.parse_request(head("GET / HTTP/1.0", fits, host=False), limits)
    with pytest.raises(http11.FieldsTooLarge):
        http11.parse_request(head("GET / HTTP/1.0", fits + "1", host=False), limits)


def test_request_line_limit():
    line = b"GET /" + b"a" * 10 + b" HTTP/1.1\r\n"
    assert http11.parse_request_line(line, len(line) + 1).target == "/" + "a" * 10
    with pytest.raises(http11.UriTooLong):
        http11.parse_request_line(line, len(line))


def test_head_limit_grows_with_a_larger_max_header_line():
    assert http11.HeadLimits.for_max_header_line(16384).max_head_bytes == \
        http11.MAX_HEAD_BYTES
    assert http11.HeadLimits.for_max_header_line(100000).max_head_bytes > 100000


def test_field_lines_are_read_with_a_bound_one_past_the_limit():
    asked = []

    def readline(size):
        asked.append(size)
        return [b"A: b\r\n", b"\r\n"][len(asked) - 1]

    lines = http11.read_field_lines(readline, http11.HeadLimits(max_header_line=100))
    assert lines == [b"A: b\r\n"] and asked == [101, 101]


# Chunked bodies.

@pytest.mark.parametrize("line, size", [
    (b"0\r\n", 0),
    (b"5\r\n", 5),
    (b"a\r\n", 10),
    (b"Ff\r\n", 255),
    (b"000000000000000F\r\n", 15),
    (b"FFFFFFFFFFFFFFFF\r\n", 2 ** 64 - 1),
    (b"5;name\r\n", 5),
    (b"5;name=value;other\r\n", 5),
    (b'5;name="quoted \\" value"\r\n', 5),
    # RFC 9112 7.1.1: BWS around ";" and "=".
    (b"5 ;name\r\n", 5),
    (b"5; name\r\n", 5),
    (b"5;name =value\r\n", 5),
    (b"5;name= value\r\n", 5),
    (b"5 ;name = value\r\n", 5),
    (b"5\t;\tname\t=\tvalue\r\n", 5),
    (b"5 \t ; a = b ; c\r\n", 5),
    (b'a ; a = "b c" ;d\r\n', 10),
])
def test_chunk_size_lines(line, size):
    assert http11.parse_chunk_line(line) == size


@pytest.mark.parametrize("line", [
    b"0x5\r\n", b"+5\r\n", b"-5\r\n", b" 5\r\n", b"5 \r\n", b"5\t\r\n",
    b"5_0\r\n", b"5;=v\r\n", b"5 5\r\n", b"5 ;5 5\r\n",
    b"5;a=b c\r\n", b'5;a="b\r\n', b"5;a=\x00\r\n", b"\r\n", b"5\n", b"5",
    # BWS only around ";" and "=": none before CRLF, none without them.
    b"5;a \r\n", b"5;a=b \r\n", b"5;a=b\t\r\n", b'5;a="b" \r\n', b"5 ;\r\n",
    b"5; \r\n", b"5;a= \r\n", b"5;a =\r\n", b"5 a\r\n", b"5 ; \r\n",
    b"5\r ;a\r\n",
    b"g\r\n", b"\xd9\xa5\r\n", b"1" * 17 + b"\r\n",
    b"5;" + b"e" * http11.MAX_CHUNK_LINE_BYTES + b"\r\n",
])
def test_bad_chunk_size_lines(line):
    with pytest.raises(http11.BadRequest):
        http11.parse_chunk_line(line)


def test_chunk_data_ends_with_exactly_crlf():
    http11.check_chunk_data_end(b"\r\n")
    for end in (b"\n", b"XX", b"\r", b""):
        with pytest.raises(http11.BadRequest):
            http11.check_chunk_data_end(end)


def test_trailer_lines_must_be_field_lines():
    http11.check_trailer_lines([b"Expires: never\r\n"])
    for line in (b"no colon\r\n", b" folded\r\n", b"A : b\r\n", b"A: \x00\r\n"):
        with pytest.raises(http11.BadRequest):
            http11.check_trailer_lines([line])


# A head that arrived whole, parsed in one piece.

def _outcome(parse, *args):
    try:
        return parse(*args)
    except http11.HttpError as error:
        return type(error), error.message


def _whole(data):
    return data[:data.index(b"\r\n\r\n") + 4]


def _crlf_lines_only(data):
    bare = data.replace(b"\r\n", b"")
    return b"\r" not in bare and b"\n" not in bare and not data.startswith(b"\r\n")


WHOLE_HEADS = [data for data, _ in INVALID.values()
               if b"\r\n\r\n" in data and _crlf_lines_only(_whole(data))] + [
    head("GET /a?b=c HTTP/1.1", "Accept: */*", "X-A:  v  "),
    head("POST / HTTP/1.1", "Content-Length: 5", "Content-Length: 5"),
    head("POST / HTTP/1.1", "Transfer-Encoding: chunked"),
    head("GET http://h:1/p HTTP/1.1"),
    head("GET / HTTP/1.0", "Connection: keep-alive", host=False),
    head("GET / HTTP/1.1", "X-A: " + "a" * 16371),    # the longest line that fits
    head("GET / HTTP/1.1", *[f"X-{n}: v" for n in range(99)]),  # the most fields
    head("GET / HTTP/1.1", "Bad Name: v"),
    head("GET / HTTP/1.1", " folded"),
    head("GET / HTTP/1.1", "X-A: \x7f"),
]


@pytest.mark.parametrize("data", WHOLE_HEADS)
def test_a_whole_head_parses_as_when_read_line_by_line(data):
    limits = http11.HeadLimits()
    whole = _outcome(http11.parse_whole_head, _whole(data), 8192, limits)
    assert whole is not None
    assert whole == _outcome(http11.parse_request, data, limits, 8192)


@pytest.mark.parametrize("data", [
    b"GET / HTTP/1.1\nHost: x\r\n\r\n",          # a line ending in LF alone
    b"GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n",  # a CR alone
    b"GET / HTTP/1.1\r\nHost: x\r\r\n\r\n",
    b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",    # an empty line first
])
def test_a_whole_head_with_other_line_ends_is_left_to_the_line_reader(data):
    assert http11.parse_whole_head(_whole(data)) is None


def test_whole_head_limits_are_those_of_the_line_reader():
    limits = http11.HeadLimits(max_header_line=20, max_head_bytes=30,
                               max_fields=3)
    for fields in (["X-A: " + "a" * 13], ["X-A: " + "a" * 14],
                   ["A: 1", "B: 2"], ["A: 1", "B: 2", "C: 3"],
                   ["A: " + "1" * 25], ["A: " + "1" * 26]):
        data = head("GET / HTTP/1.0", *fields, host=False)
        assert (_outcome(http11.parse_whole_head, data, 8192, limits)
                == _outcome(http11.parse_request, data, limits, 8192))
    data = head("GET /" + "a" * 10 + " HTTP/1.1")
    for limit in (25, 26, 27):
        assert (_outcome(http11.parse_whole_head, data, limit)
                == _outcome(http11.parse_request, data, http11.HeadLimits(), limit))


@pytest.mark.parametrize("data", [
    b"", b"GET", b"GET / HTTP/1.1\r\n", b"GET / HTTP/1.1\r\nHost: x\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\n\r", b"\r\n", b"\r\nGET / HTTP/1.1\r\nHo",
    # Field lines are judged once the head is whole, as when read from a socket.
    b"GET / HTTP/1.1\r\nBad Field: x\r\n",
])
def test_a_head_cut_short_is_not_decided(data):
    assert not http11.is_decided(data)


@pytest.mark.parametrize("data", [
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",                  # whole
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST / HT",        # whole, and more
    b"GARBAGE\r\n",                                        # a refused line, rest to come
    b"GET / HTTP/1.1\n",                                   # LF alone
    b"GET / HTTP/2.0\r\n",                                 # 505
    b"GET /" + b"a" * 9000,                                # too long, unfinished
    b"GET / HTTP/1.1\r\nX: " + b"y" * 17000,               # a field line too long
    b"\r\n\r\n\r\nGET / HTTP/1.1\r\n",                     # too many empty lines first
])
def test_a_head_that_is_whole_or_already_refused_is_decided(data):
    assert http11.is_decided(data)


def test_a_decided_head_reads_the_same_from_its_bytes_alone():
    # What is_decided() says is decided, parse_request() decides, without more.
    for data in (b"GARBAGE\r\n", b"GET / HTTP/2.0\r\n", b"GET / HTTP/1.1\r\nX: " + b"y" * 17000):
        with pytest.raises(http11.HttpError):
            http11.parse_request(data)
