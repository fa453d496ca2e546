"""The uwsgi protocol's request packet, as a web server in front sends it (Apache mod_proxy_uwsgi, nginx uwsgi_pass).

Pure: bytes in, a ForwardedRequest or an HttpError out. No sockets, so every
rule here is tested without a server.

A packet (uWSGI's "uwsgi protocol"): a 4-byte header (modifier1, a u8; the
size of the vars block, a u16 little-endian; modifier2, a u8), then the
vars block: pairs of a u16 LE key length, the key, a u16 LE value length,
the value. The vars are the request's CGI variables, its header fields as
HTTP_* among them. The request body follows the packet: CONTENT_LENGTH
bytes, as the front end read them from its client. Neither front end ever
forwards a chunked body: Apache answers a chunked request 411 itself, and
nginx reads the whole body and sends its length.

Rule 1: where the body ends is decided here and only here, from
CONTENT_LENGTH, held to HTTP's Content-Length rules: one value, digits only.
Rule 2: every error carries the status to answer, with fixed text written
here (the names of our own vars at most, never bytes the front end sent).
The front end relays the answer to its client; the connection then closes.
Rule 3: the limits are HTTP's: a var (key and value) no longer than a
field line may be (max_header_line), the block no bigger than a head, and
no more vars than a head has fields, plus room for the CGI ones.
Rule 4: vars are taken as the front end sends them, as uWSGI takes them: a
var sent twice counts once, with its last value (nginx sends a
`uwsgi_param` given twice, twice). What is changed is listed in
forwarded_request().
"""

import dataclasses
import re
import struct
import sys

from service.http import grammar
from service.http import head as http11

HEADER_BYTES = 4
# modifier1 0: a WSGI request. 30: the same, with SCRIPT_NAME to be taken
# off the front of PATH_INFO (nginx's `uwsgi_modifier1 30`, which uWSGI
# honours). Any other modifier asks for something this server is not.
WSGI_REQUEST = 0
WSGI_REQUEST_STRIP_SCRIPT_NAME = 30
# Vars that are not header fields: the CGI variables and the front end's
# own (Apache sends about 25, nginx's uwsgi_params 15).
MAX_CGI_VARS = 64
# Length prefixes of a key or a value.
_LENGTH = struct.Struct("<H")
# RFC 9110 5.6.2: token, in ASCII. A var name is one, and so is a method (9.1).
TOKEN_RE = re.compile(grammar.TOKEN)
HTTP_VERSION_RE = re.compile(grammar.HTTP_VERSION)
# The vars a request must have: what Apache and nginx (with its
# uwsgi_params) always send. Without them a front end is misconfigured, and
# an app would be served a request it cannot route.
REQUIRED_VARS = ("REQUEST_METHOD", "SERVER_PROTOCOL", "PATH_INFO",
                 "SERVER_NAME", "SERVER_PORT")
# Sent by nginx beside CONTENT_TYPE and CONTENT_LENGTH for a chunked upload;
# PEP 3333 has only the CGI names for these fields.
_HEADER_COPIES_OF_CGI_VARS = ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH")
# How the exchange answers a forwarded request: as it answers an HTTP/1.0
# client that does not keep its connection, which is how uWSGI answers a
# front end. No 100 Continue (the front end talks to its client about
# that), no chunked body: the response ends where the connection does.
ANSWERED_AS = "HTTP/1.0"
_HTTPS_ON = ("on", "1")
_SCHEMES = ("http", "https")


@dataclasses.dataclass(slots=True)
class ForwardedRequest:
    """A request a web server forwarded: the head the exchange serves, and the CGI variables its environ starts from."""
    head: http11.RequestHead
    cgi: dict                 # name -> value (latin-1 text, as PEP 3333 asks)
    url_scheme: str
    client_address: tuple     # (REMOTE_ADDR, REMOTE_PORT), or None when not sent


def incomplete():
    """The error for a packet whose front end closed before sending all of it."""
    return http11.BadRequest("Incomplete uwsgi packet")


def parse_packet(data, start=0, limits=http11.HeadLimits()):
    """(ForwardedRequest, its packet's length) from data[start:]; None while the packet has not arrived whole."""
    if len(data) - start < HEADER_BYTES:
        return None
    modifier1, size = _check_header(data, start, limits)
    end = start + HEADER_BYTES + size
    if len(data) < end:
        return None
    pairs = parse_vars(data, start + HEADER_BYTES, end, limits)
    return forwarded_request(pairs, modifier1), end - start


def _check_header(data, start, limits):
    modifier1, size, modifier2 = data[start], _LENGTH.unpack_from(data, start + 1)[0], data[start + 3]
    if modifier1 not in (WSGI_REQUEST, WSGI_REQUEST_STRIP_SCRIPT_NAME) or modifier2 != 0:
        raise http11.BadRequest("Not a uwsgi request packet")
    if size > limits.max_head_bytes:
        raise http11.FieldsTooLarge("Request header fields too large")
    return modifier1, size


def parse_vars(data, start, end, limits=http11.HeadLimits()):
    """[(key, value)] of the vars block data[start:end], in order, within limits."""
    pairs = []
    position = start
    max_vars = limits.max_fields + MAX_CGI_VARS
    while position < end:
        key, position = _string(data, position, end)
        value, position = _string(data, position, end)
        if len(key) + len(value) + 4 > limits.max_header_line:
            raise http11.FieldsTooLarge("Request header field too large")
        if len(pairs) >= max_vars:
            raise http11.FieldsTooLarge("Request header fields too large")
        name = key.decode("latin-1")
        if not TOKEN_RE.fullmatch(name):
            raise http11.BadRequest("Malformed uwsgi var name")
        pairs.append((name, value.decode("latin-1")))
    return pairs


def _string(data, position, end):
    """The length-prefixed string at `position`, and where the next one starts."""
    if end - position < _LENGTH.size:
        raise http11.BadRequest("Malformed uwsgi vars block")
    length = _LENGTH.unpack_from(data, position)[0]
    position += _LENGTH.size
    if end - position < length:
        raise http11.BadRequest("Malformed uwsgi vars block")
    return data[position:position + length], position + length


def forwarded_request(pairs, modifier1=WSGI_REQUEST):
    """The request the vars `pairs` describe.

    What is changed from the vars as sent: an empty CONTENT_TYPE or
    CONTENT_LENGTH is left out (nginx sends them empty when the client sent
    none), and so are HTTP_CONTENT_TYPE and HTTP_CONTENT_LENGTH; SCRIPT_NAME
    and QUERY_STRING are "" when absent; SCRIPT_NAME is never "/" and never
    ends in "/" before a PATH_INFO that begins with one (mod_proxy_uwsgi
    sends "/identity/" and "/" for a request to /identity/), so that
    SCRIPT_NAME + PATH_INFO is the path; with modifier1 30, SCRIPT_NAME is
    taken off the front of PATH_INFO.
    """
    cgi = dict(pairs)
    _check_required(cgi)
    content_length = _content_length(pairs, cgi)
    for name in _HEADER_COPIES_OF_CGI_VARS:
        cgi.pop(name, None)
    if not cgi.get("CONTENT_TYPE", True):
        del cgi["CONTENT_TYPE"]
    cgi.setdefault("QUERY_STRING", "")
    cgi["SCRIPT_NAME"], cgi["PATH_INFO"] = _mount(
        cgi.get("SCRIPT_NAME", ""), cgi["PATH_INFO"],
        modifier1 == WSGI_REQUEST_STRIP_SCRIPT_NAME)
    method = cgi["REQUEST_METHOD"]
    target = cgi.get("REQUEST_URI") or _target(cgi)
    head = http11.RequestHead(
        method=method, target=target, version=ANSWERED_AS,
        request_line=f"{method} {target} {cgi['SERVER_PROTOCOL']}",
        fields=[], first={}, content_length=content_length, chunked=False,
        keep_alive=False)
    client = (cgi["REMOTE_ADDR"], cgi.get("REMOTE_PORT", "")) if "REMOTE_ADDR" in cgi else None
    return ForwardedRequest(head, cgi, url_scheme(cgi), client)


def _check_required(cgi):
    for name in REQUIRED_VARS:
        if name not in cgi:
            raise http11.BadRequest(f"uwsgi request without {name}")
    if not TOKEN_RE.fullmatch(cgi["REQUEST_METHOD"]):
        raise http11.BadRequest("Malformed REQUEST_METHOD")
    if not HTTP_VERSION_RE.fullmatch(cgi["SERVER_PROTOCOL"]):
        raise http11.BadRequest("Malformed SERVER_PROTOCOL")


def _content_length(pairs, cgi):
    """The body's length from CONTENT_LENGTH (Rule 1); None without one. Leaves an empty one out of `cgi`."""
    values = {value for name, value in pairs if name == "CONTENT_LENGTH"}
    if not values or values == {""}:
        cgi.pop("CONTENT_LENGTH", None)
        return None
    if len(values) > 1 or not grammar.CONTENT_LENGTH_RE.fullmatch(cgi["CONTENT_LENGTH"]):
        raise http11.BadRequest("Invalid CONTENT_LENGTH")
    return int(cgi["CONTENT_LENGTH"])


def _mount(script_name, path_info, strip_script_name):
    """(SCRIPT_NAME, PATH_INFO) as PEP 3333 has them: together, the path."""
    if strip_script_name and script_name and (
            path_info == script_name or path_info.startswith(script_name.rstrip("/") + "/")):
        path_info = path_info[len(script_name.rstrip("/")):]
    if script_name.endswith("/") and (path_info.startswith("/") or script_name == "/"):
        script_name = script_name.rstrip("/")
    return script_name, path_info


def _target(cgi):
    query = cgi["QUERY_STRING"]
    path = cgi["SCRIPT_NAME"] + cgi["PATH_INFO"]
    return path + "?" + query if query else path


def url_scheme(cgi):
    """wsgi.url_scheme: UWSGI_SCHEME if set, else https when HTTPS is on, else REQUEST_SCHEME, else http."""
    scheme = cgi.get("UWSGI_SCHEME", "").lower()
    if scheme in _SCHEMES:
        return scheme
    if cgi.get("HTTPS", "").lower() in _HTTPS_ON:
        return "https"
    scheme = cgi.get("REQUEST_SCHEME", "").lower()
    return scheme if scheme in _SCHEMES else "http"


def request_environ(server_environ, request, peer_address):
    """The environ of a forwarded request, without wsgi.input: the server's keys, then the front end's vars.

    `peer_address` is the connection's own (host, port) as
    service.http.environ shows it: REMOTE_ADDR and REMOTE_PORT when the
    front end sent none.
    """
    environ = dict(server_environ)
    environ.update(request.cgi)
    environ["wsgi.url_scheme"] = request.url_scheme
    # wsgi.input ends with the body, at CONTENT_LENGTH.
    environ["wsgi.input_terminated"] = True
    environ["wsgi.errors"] = sys.stderr
    if "REMOTE_ADDR" not in environ:
        environ["REMOTE_ADDR"], port = peer_address
        environ["REMOTE_PORT"] = str(port)
    return environ
