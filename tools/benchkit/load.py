"""wrk: one load against one server, and what its output says."""

import dataclasses
import re

from .console import BenchError
from .places import CONNECTIONS, GEN, WRK_TIMEOUT_S


@dataclasses.dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    socket_errors: dict  # wrk's kinds: connect, read, write, timeout
    non_2xx: int
    served_by: dict
    # CPU used by processes other than the server under load and wrk, as a
    # share of the machine, while this load ran: the noise it suffered.
    others_pct: float = None
    # utime + stime of the server's whole process group while this load ran.
    server_cpu_s: float = None
    # io20ms: the backend's CPU while this load ran, in % of one core.
    backend_pct: float = None
    # behind-apache: utime + stime of Apache's process group meanwhile.
    front_cpu_s: float = None
    # keystone: requests each client got, and the worker that held its
    # connection (None where it was not seen).
    per_client: list = None
    client_workers: list = None
    connections_per_client: float = None

    @property
    def errors(self):
        return sum(self.socket_errors.values()) + self.non_2xx


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0,
            "h": 3_600_000.0}


def run_wrk(procs, url, seconds, close=False, script=None,
            connections=CONNECTIONS, timeout_s=WRK_TIMEOUT_S):
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
            "--timeout", f"{timeout_s}s"]
    if close:
        argv += ["-H", "Connection: close"]
    if script:
        argv += ["-s", GEN / script]
    code, output = procs.run(argv + [url + "/"],
                             timeout=seconds + timeout_s + 60)
    if code:
        raise BenchError(f"wrk failed ({code}):\n{output}")
    return parse_wrk(output)


def parse_wrk(output):
    try:
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
        requests = int(re.search(r"(\d+) requests in", output).group(1))
    except AttributeError:
        raise BenchError(f"cannot read wrk's output:\n{output}") from None
    percentiles = {p: float(v) * _UNIT_MS[unit] for p, v, unit in re.findall(
        r"^\s+(50|99)%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)}
    sockets = re.search(r"Socket errors: connect (?P<connect>\d+), read "
                        r"(?P<read>\d+), write (?P<write>\d+), timeout "
                        r"(?P<timeout>\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    served_by = {pid: int(n) for pid, n in re.findall(
        r"^bench-served-by (\S+) (\d+)$", output, re.M)}
    return Load(rps=rps, p50_ms=percentiles.get("50", float("nan")),
                p99_ms=percentiles.get("99", float("nan")), requests=requests,
                socket_errors={kind: int(n) for kind, n in
                               sockets.groupdict().items()} if sockets else {},
                non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
                served_by=served_by)
