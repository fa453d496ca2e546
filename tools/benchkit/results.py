"""The results file, .bench/results/bench-YYYYMMDD-HHMMSS.json: what one run measured.

Schema 2, stable: tools/bench_charts and the docs read it; a change to
a key below bumps SCHEMA. Times are milliseconds (`_ms`) or seconds
(`_s`), memory KiB (`_kib`); a figure that could not be measured is null
(NaN is written as null too).

    schema        2
    run           date (UTC, ISO 8601), machine {cpu_model, cpus, memory_gib,
                  kernel}, python, service_api {version, commit}, load_average
                  (at the start), options (as below)
    options       duration (s per round), rounds, scenarios (names run)
    servers       {server: {what, access_log, venv, packages}}: every server
                  the run knows, as the table at the top of the output
    comparisons   {scenario: {
                    title,
                    servers: {server: row}     only servers that were measured
                    failed: {server: reason}   servers that did not start
                    checks: {server: text}     what the daemon made of a
                                               variant's settings
                    rounds: {server: [round]}  each round as measured
                  }}
      row         rps            requests per second, median of the rounds
                  p50_ms, p99_ms latency percentiles, medians of the rounds
                  errors         non-2xx answers + socket errors, all rounds
                  cpu_s_per_1k   CPU seconds of the server's process group per
                                 1,000 requests (= CPU milliseconds per request)
                  requests_per_cpu_s, requests, server_cpu_s, rps_rounds
                  rss_kib, pss_kib  mean per worker after the load; workers
                  front_cpu_s_per_1k   behind-apache: Apache's CPU the same way
                  per_client     keystone: {min, median, max} requests per client
                                 (all rounds), per_worker {pid: [requests of
                                 each client its worker held]},
                                 connections_per_client (median per round)
      round       rps, p50_ms, p99_ms, requests, socket_errors {kind: n},
                  non_2xx, served_by {pid: responses}, others_pct (CPU of
                  other processes, % of the machine), server_cpu_s,
                  backend_pct (io20ms), front_cpu_s, per_client, client_workers
    ratios        {scenario: {label: {peer, rps, p99, cpu_per_request}}}:
                  service-api / peer (labels: best peer, best eventlet,
                  uwsgi-devstack, granian)
    threads_ratios  {scenario: {peer: {rps, p99, cpu_per_request, rss_mib_diff}}}:
                  service-api-threads / gunicorn-gthread, uwsgi-devstack,
                  service-api (the eventlet model)
    metrics_cost  {scenario: {rps, p99, cpu_per_request}}:
                  service-api-metrics / service-api
    first200      {server: {median_s, tries_s}}
    idle_cpu_all  {server: {seconds, main_s, workers_s, workers}}
    spread        {keep-alive|close: {server: {pid: responses}}}
    idle10k       {server: {...}} (service-api's and the threads model's)
    startup       [{ready_s, config_s, stop_s, idle_cpu}]
    profile       {server: {keep-alive|close: {samples, categories, self,
                  total, files}}}: shares of py-spy samples
"""

import datetime
import json
import math
import os
import platform
import subprocess
import sys
import time

from .places import REPO, RESULTS
from .stats import median

SCHEMA = 2


def new_results(options):
    settings = {"duration": options.duration, "rounds": options.rounds,
                "scenarios": options.scenarios}
    return {"schema": SCHEMA, "run": run_metadata(settings),
            "options": settings, "comparisons": {}}


def run_metadata(settings):
    return {"date": datetime.datetime.now(datetime.timezone.utc)
                    .isoformat(timespec="seconds"),
            "machine": machine(), "python": sys.version.split()[0],
            "service_api": {"version": _service_api_version(),
                            "commit": _git_commit()},
            "load_average": _load_average(), "options": settings}


def machine():
    return {"cpu_model": _cpu_model(), "cpus": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE")
                                * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "kernel": platform.release()}


def machine_label(found):
    """One short line naming the machine, for a title."""
    return (f"{found.get('cpus')} x {found.get('cpu_model') or 'CPU'}, "
            f"{found.get('memory_gib')} GiB")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def _service_api_version():
    try:
        with open(REPO / "service" / "__init__.py") as f:
            for line in f:
                if line.startswith("__version__"):
                    return line.split("=", 1)[1].strip().strip("\"'")
    except OSError:
        pass
    return None


def _git_commit():
    done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"],
                          capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def _load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def row_of(runs):
    """A server's row in a scenario: medians over its rounds, sums of requests, errors and CPU."""
    requests = sum(r.requests for r in runs)
    cpu = sum(r.server_cpu_s for r in runs)
    row = {"rps": median([r.rps for r in runs]),
           "p50_ms": median([r.p50_ms for r in runs]),
           "p99_ms": median([r.p99_ms for r in runs]),
           "errors": sum(r.errors for r in runs),
           "rps_rounds": [r.rps for r in runs],
           "requests": requests, "server_cpu_s": cpu,
           "cpu_s_per_1k": cpu / requests * 1000 if requests else float("nan"),
           "requests_per_cpu_s": requests / cpu if cpu else float("nan")}
    fronts = [r.front_cpu_s for r in runs if r.front_cpu_s is not None]
    if fronts:
        row["front_cpu_s_per_1k"] = (sum(fronts) / requests * 1000
                                     if requests else float("nan"))
    if any(r.per_client is not None for r in runs):
        row["per_client"] = per_client(runs)
    return row


def per_client(runs):
    """Requests per client over all rounds: {min, median, max}, and per worker that held the clients."""
    counts = [n for r in runs for n in r.per_client or []]
    per_worker = {}
    for run in runs:
        for requests, pid in zip(run.per_client or [], run.client_workers or []):
            if pid is not None:
                per_worker.setdefault(str(pid), []).append(requests)
    connections = [r.connections_per_client for r in runs
                   if r.connections_per_client is not None]
    return {"min": min(counts, default=None), "median": median(counts),
            "max": max(counts, default=None), "per_worker": per_worker,
            "connections_per_client": median(connections)}


def save(data):
    path = RESULTS / time.strftime("bench-%Y%m%d-%H%M%S.json")
    path.write_text(json.dumps(_nulls_for_nan(data), indent=1, default=str))
    return path


def _nulls_for_nan(value):
    """NaN is not JSON: a figure that could not be measured is null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nulls_for_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nulls_for_nan(v) for v in value]
    return value
