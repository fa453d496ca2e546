"""The side-by-side scenarios: servers started together, loaded in interleaved rounds.

Rounds interleave the servers (A B C D A B C D ...) so that the noise of a
shared machine falls on all alike; a server's figure is the median over its
rounds.
"""

import dataclasses
import os
import resource
import time

from . import measures
from .console import progress
from .lineup import CLASSIC, EVERY, start_servers
from .load import run_wrk
from .peers import FLOOR
from .places import IO_TIMEOUT_S, WORKERS, WRK_TIMEOUT_S
from .processes import CLOCK_TICKS, cpu_or_zero, cpu_seconds, group_members, worker_memory
from .service_api import METRICS, THREADS


@dataclasses.dataclass(frozen=True)
class Comparison:
    name: str
    title: str
    app: str
    servers: tuple
    close: bool = False
    script: str = None
    workers: int = WORKERS
    timeout_s: int = WRK_TIMEOUT_S


# Every server runs hello, hello-close and the API-like scenarios. The
# threads model (service-api-threads) runs in every scenario beside the
# eventlet model, uWSGI (what deployments run), gunicorn gthread (the
# threaded peer) and Granian (the fastest WSGI server at hand), so that
# each of its figures has theirs beside it. The metrics variant runs where
# issue 22 wants the cost of counting: hello keep-alive and close. Under
# uWSGI with devstack's settings every scenario is in fact connection
# close: it answers Connection: close.
COMPARISONS = (
    Comparison("hello", "hello world, keep-alive", "hello",
               EVERY + (METRICS, FLOOR)),
    # With one worker there is no race for accept() (which spreads the
    # peers' rounds widely): what each server costs per request.
    Comparison("hello-1w", "hello world, keep-alive, 1 worker each", "hello",
               EVERY, workers=1),
    Comparison("hello-close", "hello world, Connection: close", "hello",
               EVERY + (METRICS, FLOOR), close=True),
    Comparison("pipeline", "3-filter paste pipeline + hello, keep-alive",
               "pipeline", EVERY),
    Comparison("body64k", "64 KiB response, keep-alive", "blob64k", EVERY),
    Comparison("upload1m", "1 MiB POST upload (wrk Lua), keep-alive",
               "upload", EVERY, script="upload.lua"),
    Comparison("io20ms", "each request waits 20 ms on a backend, keep-alive",
               "io20ms", EVERY, timeout_s=IO_TIMEOUT_S),
    Comparison("json-api", "oslo.middleware request_id + http_proxy_to_wsgi "
               "+ WebOb 2 KiB JSON, keep-alive", "json-api", EVERY),
)
# Spread over workers: the eventlet-era servers and both worker models.
SPREAD = CLASSIC + (THREADS,)


def run_comparisons(procs, options, report):
    groups = []
    for comparison in COMPARISONS:
        if (comparison.app, comparison.workers) not in groups:
            groups.append((comparison.app, comparison.workers))
    for app, workers in groups:
        chosen = [c for c in COMPARISONS if c.app == app
                  and c.workers == workers and c.name in options.scenarios]
        # The hello group with the usual worker count also measures the
        # spread and idle CPU.
        main = app == "hello" and workers == WORKERS
        spread = main and "spread" in options.scenarios
        idle = main and "idle-cpu" in options.scenarios
        if chosen or spread or idle:
            _run_app_group(procs, options, report, app, workers, chosen,
                           spread, idle)


def _group_servers(comparisons, spread_or_idle):
    """Servers a group starts: those of its scenarios, and those spread and idle-cpu measure."""
    names = list(SPREAD) if spread_or_idle else []
    for comparison in comparisons:
        names += [n for n in comparison.servers if n not in names]
    # The floor last, after every real server, in every table.
    return sorted(names, key=lambda name: name == FLOOR)


def _run_app_group(procs, options, report, app, workers, comparisons, spread,
                   idle):
    names = _group_servers(comparisons, spread or idle)
    progress(f"starting {', '.join(names)} on paste app {app!r}, {workers} "
             f"worker(s) each")
    tag = app if workers == WORKERS else f"{app}-{workers}w"
    servers = []
    try:
        servers, failed = start_servers(procs, tag, app, names,
                                        options.max_seconds_left(), workers)
        peers = [s for s in servers if s.name != FLOOR]
        if idle:
            report.peer_idle_cpu(measures.idle_cpu(peers, options.idle_seconds))
        for comparison in comparisons:
            for server in serving(servers, comparison):
                run_wrk(procs, server.url, options.warmup,
                        script=comparison.script,
                        timeout_s=comparison.timeout_s)
        _interleaved_rounds(procs, options, report, servers, comparisons,
                            failed)
        if spread:
            report.spread(measures.spread(procs, options, [
                s for s in peers if s.name in SPREAD]))
    finally:
        for server in servers:
            procs.stop(server.proc)


def serving(servers, comparison):
    return [s for s in servers if s.name in comparison.servers]


def _interleaved_rounds(procs, options, report, servers, comparisons, failed):
    loads = {c.name: {s.name: [] for s in serving(servers, c)}
             for c in comparisons}
    for round_ in range(1, options.rounds + 1):
        for comparison in comparisons:
            for server in serving(servers, comparison):
                progress(f"{comparison.name}: {server.name}, round "
                         f"{round_}/{options.rounds}")
                loads[comparison.name][server.name].append(with_noise(
                    server.proc.pid, lambda: run_wrk(
                        procs, server.url, options.duration,
                        close=comparison.close, script=comparison.script,
                        timeout_s=comparison.timeout_s),
                    options.backend_pid if comparison.app == "io20ms" else None))
    # After the load: what the workers hold once they have served it.
    memory = {s.name: worker_memory(s.worker_pids()) for s in servers}
    for comparison in comparisons:
        report.comparison(comparison, loads[comparison.name], {
            s.name: memory[s.name] for s in serving(servers, comparison)},
            failed={n: why for n, why in failed.items()
                    if n in comparison.servers},
            servers=serving(servers, comparison))


def with_noise(server_pgid, run_load, backend_pid=None, front_pgid=None):
    """run_load(), with the server's CPU in server_cpu_s and everyone else's in others_pct.

    With `backend_pid`, also the share of a core the io20ms backend used:
    what shows that it was not the bottleneck. With `front_pgid`, the CPU
    of the web server in front (Apache) goes to front_cpu_s, not to others.
    """
    pids = group_members(server_pgid)
    fronts = group_members(front_pgid) if front_pgid else []
    before = _cpu_snapshot(pids)
    front_before = sum(cpu_or_zero(pid) for pid in fronts)
    backend_before = cpu_or_zero(backend_pid)
    load = run_load()
    backend_used = cpu_or_zero(backend_pid) - backend_before
    front_used = sum(cpu_or_zero(pid) for pid in fronts) - front_before
    after = _cpu_snapshot(pids)
    elapsed, busy, ours, bench = (a - b for a, b in zip(after, before))
    load.server_cpu_s = ours
    others = busy - ours - bench - front_used
    load.others_pct = max(0.0, others) / elapsed / os.cpu_count() * 100
    if backend_pid:
        load.backend_pct = backend_used / elapsed * 100
    if front_pgid:
        load.front_cpu_s = front_used
    return load


def _cpu_snapshot(pids):
    """(now, machine busy CPU s, `pids` CPU s, this process and its reaped children CPU s)."""
    with open("/proc/stat") as f:
        ticks = [int(v) for v in f.readline().split()[1:9]]
    # user + nice + system + steal: interrupt time is mostly our own loopback traffic.
    busy = (ticks[0] + ticks[1] + ticks[2] + ticks[7]) / CLOCK_TICKS
    ours = 0.0
    for pid in pids:
        try:
            ours += cpu_seconds(pid)
        except OSError:
            pass
    me, reaped = (resource.getrusage(who) for who in (
        resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    bench = me.ru_utime + me.ru_stime + reaped.ru_utime + reaped.ru_stime
    return time.monotonic(), busy, ours, bench
