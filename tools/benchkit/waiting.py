"""Waiting for a condition, and the small HTTP client that tells a server serves."""

import http.client
import re
import socket
import time
from pathlib import Path

from .console import BenchError
from .places import HOST


def wait_until(condition, timeout, what, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{what}: the process exited with "
                             f"{proc.returncode}{log_tail(log)}")
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout} s waiting for "
                             f"{what}{log_tail(log)}")
        time.sleep(0.005)


def log_tail(log):
    if not log or not Path(log).exists():
        return ""
    return "\n--- " + str(log) + ":\n" + Path(log).read_text(errors="replace")[-2000:]


def http_get(url, timeout=5.0, headers=None):
    """(status, headers, body) of one GET on a new connection."""
    host, port, path = split_url(url)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def split_url(url):
    """(host, port, path) of an http:// URL; the path is at least "/"."""
    match = re.match(r"http://([^:/]+):(\d+)(/\S*)?$", url)
    return match.group(1), int(match.group(2)), match.group(3) or "/"


def failure_reason(exc, limit=160):
    """One line saying why a server did not start: its log's last error line, or the message's first line."""
    text = str(exc)
    message, _, tail = text.partition("\n--- ")
    lines = [line.strip() for line in tail.splitlines()[1:] if line.strip()]
    for marker in ("error:", "ERROR", "Error", "error"):
        found = [line for line in lines if marker in line]
        if found:
            return _shorten(f"{message.splitlines()[0]}: {found[-1]}", limit)
    return _shorten(message.splitlines()[0] if message else text, limit)


def _shorten(text, limit):
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def wait_serving(url, timeout, what, proc, log):
    def serving():
        try:
            return http_get(url, timeout=1.0)[0] == 200
        except OSError:
            return False
    wait_until(serving, timeout, what, proc, log)


def first_200(url, started, proc, log, what, timeout=60):
    """Seconds from `started` to the first 200 from `url`."""
    wait_serving(url, timeout, what, proc, log)
    return time.monotonic() - started


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]
