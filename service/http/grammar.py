"""The HTTP grammar the core parses by: named rules of RFC 5234, RFC 9110 and RFC 9112, each beside its rule.

Patterns are str: lines are decoded as latin-1, which maps every byte to
the code point of the same value, so these classes mean bytes. Compiled
patterns (the _RE names) are what the parsers match whole lines with.
"""

import re

# RFC 5234 B.1: DIGIT = %x30-39; HEXDIG = DIGIT / "A"-"F" (case-insensitive)
DIGIT = "[0-9]"
HEXDIG = "[0-9A-Fa-f]"
# RFC 5234 B.1: VCHAR = %x21-7E; RFC 9110 5.5: obs-text = %x80-FF
VCHAR = r"\x21-\x7e"
OBS_TEXT = r"\x80-\xff"
# RFC 9110 5.6.3: OWS = *( SP / HTAB )
OWS = "[ \t]*"
# RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-"
#                       / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
TCHAR = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]"
# RFC 9110 5.6.2: token = 1*tchar
TOKEN = TCHAR + "+"
# RFC 9110 5.5: field-vchar = VCHAR / obs-text
FIELD_VCHAR = "[" + VCHAR + OBS_TEXT + "]"
# RFC 9110 5.5: field-value = *field-content
#               field-content = field-vchar [ 1*( SP / HTAB / field-vchar ) field-vchar ]
# That is field-vchar, SP and HTAB with no whitespace at either end; the
# field-line pattern matches the characters and the parser strips the ends.
FIELD_CONTENT_CHARS = r"[\t " + VCHAR + OBS_TEXT + "]*"
# RFC 9112 5: field-line = field-name ":" OWS field-value OWS; field-name = token.
# No whitespace between name and colon (RFC 9112 5.1), and no obs-fold: a
# line that starts with SP or HTAB is not a field-line (RFC 9112 5.2).
FIELD_LINE_RE = re.compile("(" + TOKEN + "):" + OWS + "(" + FIELD_CONTENT_CHARS + ")\r\n")
# RFC 9112 2.3: HTTP-version = HTTP-name "/" DIGIT "." DIGIT; HTTP-name = %s"HTTP"
# (case-sensitive, one digit each side).
HTTP_VERSION = "HTTP/" + DIGIT + r"\." + DIGIT
# RFC 9112 3.2: request-target is one of four forms made of URI characters
# (RFC 3986), all visible ASCII; which form is allowed is checked after.
# No form has a fragment (origin-form and absolute-form end at the query),
# so "#" is left out: "#frag" must never reach an app in PATH_INFO or
# QUERY_STRING.
REQUEST_TARGET = r"[\x21\x22\x24-\x7e]+"     # VCHAR except "#"
# RFC 9112 3: request-line = method SP request-target SP HTTP-version;
# RFC 9110 9.1: method = token. Exactly one SP between parts.
REQUEST_LINE_RE = re.compile(
    "(" + TOKEN + ") (" + REQUEST_TARGET + ") (" + HTTP_VERSION + ")\r\n")
# RFC 9112 3.2.2: absolute-form = absolute-URI; only http and https URIs
# (RFC 9110 4.2) name a resource of this server.
ABSOLUTE_FORM_RE = re.compile("(?i:https?)://([^/?#]*)(.*)")
# RFC 3986 3.2.2 (used by RFC 9110 7.2 Host = uri-host [ ":" port ]):
#   IP-literal = "[" ( IPv6address / IPvFuture ) "]", checked for its characters only
#   reg-name = *( unreserved / pct-encoded / sub-delims ), which covers IPv4address
#   unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
#   sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
#   pct-encoded = "%" HEXDIG HEXDIG; port = *DIGIT
IP_LITERAL = r"\[[0-9A-Za-z:.]+\]"
# (Possessive quantifiers: a failing match never backtracks into the runs.)
REG_NAME = "(?:[A-Za-z0-9\\-._~!$&'()*+,;=]++|%" + HEXDIG + HEXDIG + ")*+"
HOST_RE = re.compile("(?:" + IP_LITERAL + "|" + REG_NAME + ")(?::" + DIGIT + "*)?")
# RFC 9110 8.6: Content-Length = 1*DIGIT, bounded to 18 digits here so a
# length always fits in 63 bits.
CONTENT_LENGTH_RE = re.compile(DIGIT + "{1,18}")
# RFC 9110 5.6.4: quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE
#   qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
#   quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
QUOTED_STRING = (r'"(?:[\t \x21\x23-\x5b\x5d-\x7e' + OBS_TEXT + "]"
                 r"|\\[\t " + VCHAR + OBS_TEXT + '])*"')
# RFC 9110 5.6.3: BWS = OWS ("bad" whitespace: a recipient must accept it)
BWS = OWS
# RFC 9112 7.1.1: chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
#   chunk-ext-name = token; chunk-ext-val = token / quoted-string
# Whitespace only there: around ";" and "=", never at the end of the line
# nor inside the chunk-size, so "5 ;x" is size 5 and "5 \r\n" or "5 5" are
# errors. Extensions are thrown away; only the size frames the body.
# (Possessive quantifiers, "*+" and "++": what follows each part can never
# start it, so a failing match has nothing to give back and try again.)
CHUNK_EXT = "(?:{bws};{bws}{token}(?:{bws}={bws}(?:{token}|{quoted}))?+)*+".format(
    bws=BWS + "+", token=TOKEN + "+", quoted=QUOTED_STRING)
# RFC 9112 7.1: chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
#   chunk-size = 1*HEXDIG (nothing else: no "0x", sign, space or "_"),
#   bounded to 16 digits here so a size always fits in 64 bits.
CHUNK_LINE_RE = re.compile(
    ("(" + HEXDIG + "{1,16})" + CHUNK_EXT + "\r\n").encode("latin-1"))
# RFC 9112 7.1: chunk-data is followed by exactly CRLF.
CHUNK_DATA_END = b"\r\n"

SUPPORTED_VERSIONS = ("HTTP/1.1", "HTTP/1.0")
