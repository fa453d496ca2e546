"""service-api alone: 10,000 idle keep-alive connections on one worker, and new clients meanwhile."""

import dataclasses
import re
import selectors
import socket
import time

from .console import BenchError, progress
from .load import run_wrk
from .places import HOST, IDLE_CONNECTIONS
from .processes import rss_kib
from .service_api import SERVICE_API, VARIANTS, start_service_api
from .stats import percentile
from .waiting import http_get, split_url


def measure_idle_connections(procs, options, report, nofile, name=SERVICE_API):
    """`name`: service-api or one of its variants (the threads model)."""
    count = min(IDLE_CONNECTIONS, nofile - 200)
    server = start_service_api(procs, "idle", "hello", workers=1,
                               variant=VARIANTS[name])
    try:
        worker = server.worker_pids()[0]
        host, port, _ = split_url(server.url)
        run_wrk(procs, server.url, options.warmup)
        before = _probe(procs, options, server)
        rss_before = rss_kib(worker)
        progress(f"idle10k: opening {count} keep-alive connections to {name}")
        opened_at = time.monotonic()
        idle = open_idle_connections(host, port, count)
        try:
            open_seconds = time.monotonic() - opened_at
            time.sleep(1.0)
            rss_after = rss_kib(worker)
            during = _probe(procs, options, server)
            still_open = _count_still_open(idle)
        finally:
            for sock in idle:
                sock.close()
        report.idle_connections(name, dict(
            wanted=IDLE_CONNECTIONS, opened=len(idle), nofile=nofile,
            open_seconds=open_seconds, still_open=still_open,
            rss_before_kib=rss_before, rss_after_kib=rss_after,
            before=before, during=during))
    finally:
        procs.stop(server.proc)


def _probe(procs, options, server):
    """Latency of new connections one at a time, then wrk's view, on `server`."""
    samples = []
    for _ in range(options.probes):
        started = time.perf_counter()
        status = http_get(server.url)[0]
        samples.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise BenchError(f"probe answered {status}")
    load = run_wrk(procs, server.url, options.probe_seconds)
    return dict(p50_ms=percentile(samples, 50), p99_ms=percentile(samples, 99),
                wrk=dataclasses.asdict(load))


REQUEST = (f"GET / HTTP/1.1\r\nHost: {HOST}\r\n\r\n").encode()


def open_idle_connections(host, port, count, batch=250):
    """`count` connections that each completed one request and stay open, idle."""
    opened = []
    try:
        while len(opened) < count:
            opened += _open_batch(host, port, min(batch, count - len(opened)))
    except BaseException:
        for sock in opened:
            sock.close()
        raise
    return opened


def _open_batch(host, port, size):
    batch = []
    try:
        for _ in range(size):
            sock = socket.create_connection((host, port), timeout=10)
            batch.append(sock)
            sock.sendall(REQUEST)
        for sock in batch:
            _read_one_response(sock)
    except BaseException:
        for sock in batch:
            sock.close()
        raise
    return batch


def _read_one_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        data += _recv(sock)
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise BenchError(f"idle connection answered {head[:40]!r}")
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        body += _recv(sock)


def _recv(sock):
    chunk = sock.recv(65536)
    if not chunk:
        raise BenchError("an idle connection was closed before its response")
    return chunk


def _count_still_open(socks):
    """Connections the server has not closed: none of them is readable (no EOF)."""
    with selectors.DefaultSelector() as selector:
        for sock in socks:
            selector.register(sock, selectors.EVENT_READ)
        closed = len(selector.select(timeout=0.2))
    return len(socks) - closed
