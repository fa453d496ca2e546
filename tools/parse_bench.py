"""Time parsing typical request heads: service.http11 against eventlet's stock path.

Both sides do what a server does with one request's head already in its
read buffer. eventlet's stock path reads the request line and the field
lines from a file object and parses them with http.server's parse_request
(request line, then http.client.parse_headers and the email parser) behind
eventlet's FileObjectForHeaders. Ours is what service.protocol does with a
head that arrived whole: http11.parse_whole_head on the buffered bytes.

    .venv/bin/python tools/parse_bench.py [--count N] [--repeat R]
"""

import argparse
import http.server
import io
import os
import sys
import timeit
import warnings

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # eventlet announces its deprecation
    import eventlet.wsgi

from service.http import head as http11  # noqa: E402

TOKEN = "gAAAAABm" + "x" * 180   # the size of a Keystone fernet token

HEADS = {
    "curl GET": (
        b"GET /v2.1/servers HTTP/1.1\r\n"
        b"Host: compute.example.com:8774\r\n"
        b"User-Agent: curl/8.5.0\r\n"
        b"Accept: */*\r\n\r\n"),
    "keystoneauth GET": (
        "GET /v2.1/servers/detail?limit=50&marker=4f1c HTTP/1.1\r\n"
        "Host: compute.example.com:8774\r\n"
        "User-Agent: python-novaclient keystoneauth1/5.6.0 python-requests/2.31.0 CPython/3.11\r\n"
        "Accept-Encoding: gzip, deflate\r\n"
        "Accept: application/json\r\n"
        "Connection: keep-alive\r\n"
        f"X-Auth-Token: {TOKEN}\r\n"
        "X-OpenStack-Nova-API-Version: 2.90\r\n"
        "OpenStack-API-Version: compute 2.90\r\n"
        "X-Forwarded-For: 10.0.0.7\r\n\r\n").encode(),
    "JSON POST": (
        "POST /v3/auth/tokens HTTP/1.1\r\n"
        "Host: identity.example.com:5000\r\n"
        "User-Agent: openstacksdk/3.0.0 keystoneauth1/5.6.0\r\n"
        "Accept-Encoding: gzip, deflate\r\n"
        "Accept: application/json\r\n"
        "Connection: keep-alive\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 235\r\n\r\n").encode(),
}


class StockHandler(http.server.BaseHTTPRequestHandler):
    """Just enough of a handler for parse_request, as eventlet's HttpProtocol calls it."""

    def __init__(self):
        pass  # no socket: the test sets rfile and raw_requestline


def parse_stock(data):
    rfile = io.BytesIO(data)
    handler = StockHandler()
    handler.raw_requestline = rfile.readline(eventlet.wsgi.MAX_REQUEST_LINE)
    handler.rfile = eventlet.wsgi.FileObjectForHeaders(rfile)
    assert handler.parse_request()
    return handler.headers


LIMITS = http11.HeadLimits()


def parse_ours(data):
    head = http11.parse_whole_head(data, http11.MAX_REQUEST_LINE_BYTES, LIMITS)
    assert head is not None
    return head


def best_seconds(parse, data, count, repeat):
    return min(timeit.repeat(lambda: parse(data), number=count, repeat=repeat))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20000,
                        help="heads parsed per timing")
    parser.add_argument("--repeat", type=int, default=9,
                        help="timings per parser; the best counts")
    args = parser.parse_args()
    print(f"{'head':<18} {'stock us':>9} {'ours us':>9} {'ratio':>6}")
    total_stock = total_ours = 0.0
    for name, data in HEADS.items():
        stock = best_seconds(parse_stock, data, args.count, args.repeat)
        ours = best_seconds(parse_ours, data, args.count, args.repeat)
        total_stock += stock
        total_ours += ours
        print(f"{name:<18} {stock / args.count * 1e6:9.2f} "
              f"{ours / args.count * 1e6:9.2f} {stock / ours:6.2f}")
    print(f"stock / ours over all heads: {total_stock / total_ours:.2f}x")


if __name__ == "__main__":
    main()
