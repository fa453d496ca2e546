"""uwsgi request packets as a web server in front makes them, for tests that play the front end."""

import socket
import struct


def packet(pairs, modifier1=0, modifier2=0):
    """A request packet (no body) of `pairs`: [(key, value)] as bytes or str, in order."""
    block = b"".join(_string(key) + _string(value) for key, value in pairs)
    return struct.pack("<BHB", modifier1, len(block), modifier2) + block


def _string(text):
    data = text if isinstance(text, bytes) else text.encode("latin-1")
    return struct.pack("<H", len(data)) + data


def apache_vars(method="GET", path_info="/", script_name="", query="", body=None,
                headers=(), remote=("192.0.2.9", "51000")):
    """The vars Apache's mod_proxy_uwsgi sends for a request (the ones that matter here), in its order."""
    pairs = [("PATH_INFO", path_info), ("HTTP_HOST", "api.example:8080")]
    pairs += list(headers)
    if body is not None:
        pairs.append(("CONTENT_LENGTH", str(len(body))))
    uri = script_name + path_info + ("?" + query if query else "")
    pairs += [("SERVER_NAME", "api.example"), ("SERVER_PORT", "8080"),
              ("REMOTE_ADDR", remote[0]), ("REQUEST_SCHEME", "http"),
              ("REMOTE_PORT", remote[1]), ("GATEWAY_INTERFACE", "CGI/1.1"),
              ("SERVER_PROTOCOL", "HTTP/1.1"), ("REQUEST_METHOD", method),
              ("QUERY_STRING", query), ("REQUEST_URI", uri),
              ("SCRIPT_NAME", script_name)]
    return pairs


def request(address, data, family=socket.AF_INET, timeout=10, half_close=False):
    """Send `data` on a new connection to `address` (then close our side with `half_close`); everything received until the server closes."""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(address)
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before reading it all
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        return received
