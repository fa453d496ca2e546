"""The keystone scenario's load: clients that each keep one connection, issue a token and validate it, again and again.

A small Python load generator rather than wrk: each client needs the token
its last request got (X-Subject-Token) for its next one, and the scenario
reports what each client got (requests per client, and which worker held
its connection), which wrk's Lua cannot tell apart per connection. At
keystone's pace (tens of requests per second, each costing the server tens
of milliseconds of CPU) a thread per client costs the bench next to nothing
beside the server.
"""

import dataclasses
import http.client
import threading
import time

from .load import Load
from .stats import median, percentile
from .waiting import split_url

TOKENS = "/v3/auth/tokens"


@dataclasses.dataclass
class Client:
    requests: int = 0
    non_2xx: int = 0
    failures: int = 0          # no answer: the connection broke or timed out
    latencies_ms: list = dataclasses.field(default_factory=list)
    port: int = None           # its connection's local port, once connected
    ports: set = dataclasses.field(default_factory=set)   # every one it had


def run_token_clients(url, clients, seconds, auth_body, owners=None):
    """Load keystone at `url` for `seconds`; `owners(ports) -> {port: worker pid}` says which worker holds each client."""
    host, port, _ = split_url(url)
    deadline = time.monotonic() + seconds
    tallies = [Client() for _ in range(clients)]
    threads = [threading.Thread(target=_client, daemon=True,
                                args=(host, port, auth_body, deadline, tally))
               for tally in tallies]
    for thread in threads:
        thread.start()
    holders = _watch_owners(tallies, owners, deadline)
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()) + 60)
    return _as_load(tallies, seconds, holders)


def _client(host, port, auth_body, deadline, tally):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        while time.monotonic() < deadline:
            token = _exchange(conn, tally, deadline, "POST", TOKENS, auth_body,
                              {"Content-Type": "application/json"}, 201)
            if token and time.monotonic() < deadline:
                _exchange(conn, tally, deadline, "GET", TOKENS, None,
                          {"X-Auth-Token": token, "X-Subject-Token": token}, 200)
    finally:
        conn.close()


def _exchange(conn, tally, deadline, method, path, body, headers, expected):
    """One request on the client's connection; the X-Subject-Token of a good answer."""
    started = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=headers)
        if conn.sock is not None:
            tally.port = conn.sock.getsockname()[1]
            tally.ports.add(tally.port)
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        conn.close()
        if time.monotonic() < deadline:
            tally.failures += 1
        return None
    finished = time.monotonic()
    # What finishes after the deadline is not counted, as wrk does.
    if finished > deadline:
        return None
    tally.requests += 1
    tally.latencies_ms.append((finished - started) * 1000)
    if response.status != expected:
        tally.non_2xx += 1
        return None
    return response.getheader("X-Subject-Token")


# How often the bench looks at which worker holds each client's connection.
OWNER_SAMPLE_S = 0.5


def _watch_owners(tallies, owners, deadline):
    """{client index: the worker seen holding its connection most often} over the round.

    A connection waiting in the listen queue has no worker yet, and a
    client whose server closes every connection (uWSGI's Connection: close)
    moves from worker to worker: looking all through the round, not once,
    sees each where it spent its time.
    """
    if owners is None:
        return {}
    seen = [{} for _ in tallies]
    while time.monotonic() < deadline:
        ports = {t.port: i for i, t in enumerate(tallies) if t.port is not None}
        for port, pid in owners(list(ports)).items():
            votes = seen[ports[port]]
            votes[pid] = votes.get(pid, 0) + 1
        time.sleep(min(OWNER_SAMPLE_S, max(0.0, deadline - time.monotonic())))
    return {i: max(votes, key=votes.get) for i, votes in enumerate(seen) if votes}


def _as_load(tallies, seconds, holders):
    latencies = [ms for t in tallies for ms in t.latencies_ms]
    requests = sum(t.requests for t in tallies)
    served_by = {}
    for index, pid in holders.items():
        served_by[str(pid)] = served_by.get(str(pid), 0) + tallies[index].requests
    load = Load(rps=requests / seconds, p50_ms=percentile(latencies, 50),
                p99_ms=percentile(latencies, 99), requests=requests,
                socket_errors={"client": sum(t.failures for t in tallies)},
                non_2xx=sum(t.non_2xx for t in tallies), served_by=served_by)
    load.per_client = [t.requests for t in tallies]
    load.client_workers = [holders.get(i) for i in range(len(tallies))]
    load.connections_per_client = median([len(t.ports) for t in tallies])
    return load
