"""Fixture apps for the response tests: what the server writes for each kind of WSGI answer."""

import itertools

_served = itertools.count(1)


def counter_factory(global_conf, **local_conf):
    """Answers with how many requests this worker had served before this one."""
    def counter(environ, start_response):
        body = b"%d" % next(_served)
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return counter


def shapes_factory(global_conf, **local_conf):
    """/list, /generator, /write, /mixed-case, /no-content, /own-date, and _AWKWARD's paths."""
    def shapes(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/generator":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return (piece for piece in (b"one ", b"two ", b"three"))
        if path == "/write":
            write = start_response("200 OK", [("Content-Type", "text/plain")])
            write(b"written ")
            return [b"and returned"]
        if path == "/mixed-case":
            start_response("200 OK", [("x-mIXED-case", "Value-Kept"),
                                      ("content-TYPE", "text/plain")])
            return [b"headers"]
        if path == "/no-content":
            start_response("204 No Content", [])
            return []
        if path == "/own-date":
            start_response("200 OK", [("Date", "Thu, 01 Jan 2004 00:00:00 GMT")])
            return [b"dated"]
        if path in _AWKWARD:
            return _AWKWARD[path](environ, start_response)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"a ", b"list"]
    return shapes


def _write_only(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"abc")
    return []


def _empty_write_between(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"abc")
    write(b"")
    write(b"def")
    return []


def _head_with_body(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"a body HEAD must not send"]


def _header_from_query(environ, start_response):
    from urllib.parse import unquote
    start_response("302 Found", [("Location", unquote(environ["QUERY_STRING"]))])
    return [b""]


def _header_name_from_query(environ, start_response):
    from urllib.parse import unquote
    start_response("200 OK", [(unquote(environ["QUERY_STRING"]), "v")])
    return [b"named"]


def _status_from_query(environ, start_response):
    from urllib.parse import unquote
    start_response(unquote(environ["QUERY_STRING"]), [])
    return [b"status"]


def _exits(environ, start_response):
    import sys
    sys.exit("an app calling sys.exit()")


def _length_none(environ, start_response):
    start_response("200 OK", [("Content-Length", None)])
    return [b"abc"]


def _longer_than_declared(environ, start_response):
    start_response("200 OK", [("Content-Length", "3")])
    return [b"abc", b"SMUGGLED"]


def _shorter_than_declared(environ, start_response):
    start_response("200 OK", [("Content-Length", "10")])
    return [b"abc"]


def _status_with_framing(status):
    def answer(environ, start_response):
        start_response(status, [("Content-Length", "0"),
                                ("Transfer-Encoding", "chunked")])
        return []
    return answer


def _not_modified_with_length(environ, start_response):
    # RFC 9110 8.6: the length of the representation a 200 would carry.
    start_response("304 Not Modified", [("Content-Length", "42")])
    return []


def _with_length(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", "6")])
    return [b"a list"]


_AWKWARD = {
    "/no-content-with-framing": _status_with_framing("204 No Content"),
    "/early-hints-with-framing": _status_with_framing("103 Early Hints"),
    "/not-modified-with-length": _not_modified_with_length,
    "/with-length": _with_length,
    "/longer-than-declared": _longer_than_declared,
    "/shorter-than-declared": _shorter_than_declared,
    "/write-only": _write_only,
    "/empty-write-between": _empty_write_between,
    "/head-with-body": _head_with_body,
    "/header-from-query": _header_from_query,
    "/status-from-query": _status_from_query,
    "/header-name-from-query": _header_name_from_query,
    "/length-none": _length_none,
    "/exits": _exits,
}
