"""Measures beside the tables: spread over workers, idle CPU, start to first 200, start-up and stop."""

import time

from .console import progress
from .lineup import EVERY, PEERS
from .load import run_wrk
from .places import WORKERS
from .processes import children, cpu_seconds
from .service_api import spawn_service_api, wait_service_api_ready
from .waiting import wait_until


def spread(procs, options, servers):
    """{connection kind: {server: {pid: responses}}}, from the X-Pid header."""
    found = {"keep-alive": {}, "close": {}}
    for kind, close in (("keep-alive", False), ("close", True)):
        for server in servers:
            progress(f"spread ({kind}): {server.name}")
            load = run_wrk(procs, server.url, options.duration, close=close,
                           script="pidcount.lua")
            found[kind][server.name] = load.served_by
    return found


def idle_cpu(servers, seconds):
    """Idle CPU of every server's main process and workers, measured over the same seconds."""
    progress(f"idle-cpu: {seconds} s of nothing")
    time.sleep(1.0)
    pids = {s.name: (s.proc.pid, s.worker_pids()) for s in servers}
    every = [p for main, workers in pids.values() for p in [main] + workers]
    before = {pid: cpu_seconds(pid) for pid in every}
    time.sleep(seconds)
    used = {pid: cpu_seconds(pid) - before[pid] for pid in every}
    return {name: dict(seconds=seconds, main_s=used[main],
                       workers_s=sum(used[w] for w in workers),
                       workers=len(workers))
            for name, (main, workers) in pids.items()}


def first_200(procs, options, report):
    """Start each server on hello a few times; exec of its command to the first 200."""
    times = {name: [] for name in EVERY}
    for attempt in range(options.startup_tries):
        for name in EVERY:
            progress(f"first200: {name}, try {attempt + 1}/"
                     f"{options.startup_tries}")
            server = PEERS[name].start(procs, f"first200-{attempt}", "hello",
                                       WORKERS,
                                       max_seconds=options.max_seconds_left())
            try:
                times[name].append(server.first_200_s)
            finally:
                procs.stop(server.proc)
    report.first_200(times)


def startup(procs, options, report):
    """service-api alone: start to ready with 3 apps, graceful stop when idle, idle CPU."""
    apps = ["one", "two", "three"]
    runs = []
    for attempt in range(options.startup_tries):
        progress(f"startup: {len(apps)} apps x {WORKERS} workers, "
                 f"try {attempt + 1}/{options.startup_tries}")
        started = time.monotonic()
        proc, log = spawn_service_api(procs, f"startup{attempt}", apps, WORKERS)
        first_app = wait_until(lambda: _first_line_time(log, "App one:"), 60,
                               "the first App line", proc, log)
        wait_service_api_ready(proc, log)
        ready = time.monotonic() - started
        idle = None
        if "idle-cpu" in options.scenarios and attempt == options.startup_tries - 1:
            idle = _idle_cpu_of(proc.pid, children(proc.pid), options.idle_seconds)
        stop = _timed_stop(procs, proc)
        runs.append(dict(ready_s=ready, config_s=first_app - started,
                         stop_s=stop, idle_cpu=idle))
    report.startup(apps, runs)


def _first_line_time(log, text):
    return time.monotonic() if text in log.read_text(errors="replace") else None


def _timed_stop(procs, proc):
    started = time.monotonic()
    procs.stop(proc, grace=30)
    return time.monotonic() - started


def _idle_cpu_of(main_pid, worker_pids, seconds):
    time.sleep(1.0)
    pids = [main_pid] + list(worker_pids)
    before = {pid: cpu_seconds(pid) for pid in pids}
    time.sleep(seconds)
    used = {pid: cpu_seconds(pid) - before[pid] for pid in pids}
    return dict(seconds=seconds, main_s=used[main_pid],
                workers_s=sum(used[pid] for pid in worker_pids),
                workers=len(worker_pids))
