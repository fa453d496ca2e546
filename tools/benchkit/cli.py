"""The command line, and one run from the lock to the results file."""

import argparse
import os
import signal
import sys
import time

from . import measures
from .apache import ensure_apache
from .behind_apache import run_behind_apache
from .comparisons import COMPARISONS, run_comparisons
from .console import STARTED, BenchError, Deadline
from .idle import measure_idle_connections
from .installs import (VENVS, ensure_venv, ensure_wrk, generate_support_files,
                       lock_bench_dir, raise_nofile_limit)
from .keystone import run_keystone
from .lineup import EVERY, PEERS
from .peers import UWSGI
from .processes import Processes
from .profile import profile_worker
from .report import Report
from .servers import start_backend
from .service_api import METRICS, SERVICE_API, THREADS

SCENARIOS = {
    "hello": "every server: GET of a 14-byte body, keep-alive (and the "
             "metrics variant and the floor reference)",
    "hello-close": "every server: the same with Connection: close (and the "
                   "metrics variant and the floor); also requests per server "
                   "CPU-second",
    "hello-1w": "every server with 1 worker: hello, keep-alive",
    "pipeline": "every server: 3 paste filters in front of hello, keep-alive",
    "body64k": "every server: a 64 KiB response, keep-alive",
    "upload1m": "every server: POST of a 1 MiB body, keep-alive",
    "io20ms": "every server: each request waits 20 ms on a local backend over "
              "a blocking socket (green under eventlet), keep-alive, wrk "
              "--timeout 10s",
    "json-api": "every server: oslo.middleware request_id + http_proxy_to_wsgi "
                "in front of a WebOb app answering 2 KiB of JSON, keep-alive",
    "keystone": "keystone 30 under uWSGI (devstack), gunicorn gthread and "
                "service-api in both models: 10 keep-alive clients issuing and "
                "validating tokens; rounds of 3 x --duration",
    "behind-apache": "Apache 2.4 + mod_proxy_uwsgi (devstack's ProxyPass) in "
                     "front of uWSGI and service-api (both models) on Unix "
                     "sockets, uwsgi protocol, json-api, wrk -c50 to Apache",
    "first200": "every server: start to the first 200 from the app's port "
                "(hello, 2 workers)",
    "spread": "the eventlet-era four and the threads model: responses per "
              "worker (X-Pid), keep-alive and close",
    "idle10k": "service-api, both models: 10,000 idle keep-alive connections "
               "on 1 worker",
    "startup": "service-api: start to ready, 3 apps x 2 workers; idle stop",
    "idle-cpu": "every server idle, then service-api's supervisor with 3 apps",
    "profile": "service-api, both models: py-spy of a worker under keep-alive "
               "load, then under connection-close load",
}
# The worker models idle10k and profile measure.
MODELS = (SERVICE_API, THREADS)


def parse_options(argv, doc):
    parser = argparse.ArgumentParser(
        prog="tools/bench", description=doc.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="scenarios (all by default):\n" + "\n".join(
            f"  {name:<14} {what}" for name, what in SCENARIOS.items())
        + "\n\nservers (2 workers each) and where each writes its access "
          "log:\n" + "\n".join(
            f"  {name:<20} {peer.what} (access log: {peer.access_log})"
            for name, peer in PEERS.items()))
    parser.add_argument("--duration", type=int, default=None,
                        help="seconds of load per round (default 5; --quick: 2)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds per server and scenario (default 3; --quick: 1)")
    parser.add_argument("--only", default=None, metavar="SCENARIO[,...]",
                        help="run only these scenarios")
    parser.add_argument("--quick", action="store_true",
                        help="short durations and one round: a smoke run")
    parser.add_argument("--max-minutes", type=float, default=60,
                        help="abort (and clean up) after this long (default 60)")
    options = parser.parse_args(argv)
    quick = options.quick
    if options.duration is None:
        options.duration = 2 if quick else 5
    if options.rounds is None:
        options.rounds = 1 if quick else 3
    options.scenarios = _chosen_scenarios(parser, options.only)
    if options.duration < 1 or options.rounds < 1:
        parser.error("--duration and --rounds must be at least 1")
    return options


def _chosen_scenarios(parser, only):
    if not only:
        return list(SCENARIOS)
    chosen = [name.strip() for name in only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; "
                     f"choose from {', '.join(SCENARIOS)}")
    return chosen


def _derive_timings(options):
    quick = options.quick
    options.warmup = 1 if quick else 2
    options.idle_seconds = 2 if quick else 5
    options.probes = 50 if quick else 200
    options.probe_seconds = min(options.duration, 3)
    options.startup_tries = 1 if quick else 3
    options.profile_seconds = 4 if quick else 10
    deadline = STARTED + options.max_minutes * 60
    options.max_seconds_left = lambda: max(60, deadline - time.monotonic() + 60)


def _on_alarm(signum, frame):
    raise Deadline()


def _on_term(signum, frame):
    raise KeyboardInterrupt()


def needed_venvs(scenarios):
    """The venvs of the servers that `scenarios` start; the main one always (the floor, py-spy)."""
    names = set(EVERY) if "first200" in scenarios else set()
    for comparison in COMPARISONS:
        if comparison.name in scenarios:
            names.update(comparison.servers)
    if "behind-apache" in scenarios:
        names.add(UWSGI)
    venvs = {PEERS[n].venv for n in names} - {"main"}
    if "keystone" in scenarios:
        venvs.add("keystone")
    return ["main"] + sorted(venvs)


def prepare(options):
    """Everything the chosen scenarios need installed and generated before the first server starts."""
    for name in needed_venvs(options.scenarios):
        ensure_venv(VENVS[name])
    ensure_wrk()
    if "behind-apache" in options.scenarios:
        ensure_apache()
    generate_support_files()


def run(options, procs, report):
    nofile = raise_nofile_limit()
    options.backend_pid = None
    chosen = options.scenarios
    if "io20ms" in chosen:
        options.backend_pid = start_backend(procs,
                                            options.max_seconds_left()).pid
    if any(c.name in chosen for c in COMPARISONS) or any(
            name in chosen for name in ("spread", "idle-cpu")):
        run_comparisons(procs, options, report)
    if "keystone" in chosen:
        run_keystone(procs, options, report)
    if "behind-apache" in chosen:
        run_behind_apache(procs, options, report)
    if "first200" in chosen:
        measures.first_200(procs, options, report)
    if "idle10k" in chosen:
        for name in MODELS:
            measure_idle_connections(procs, options, report, nofile, name)
    if "startup" in chosen or "idle-cpu" in chosen:
        measures.startup(procs, options, report)
    if "profile" in chosen:
        for name in MODELS:
            profile_worker(procs, options, report, name)


def main(argv, doc):
    options = parse_options(argv, doc)
    _derive_timings(options)
    signal.signal(signal.SIGALRM, _on_alarm)
    # SIGINT too: a shell starts background jobs with SIGINT ignored.
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _on_term)
    signal.alarm(int(options.max_minutes * 60))
    procs = Processes()
    report = Report(options)
    try:
        # Held (open) until this process exits.
        lock = lock_bench_dir()  # noqa: F841
        prepare(options)
        report.emit(f"service-api bench: {os.cpu_count()} CPUs, Python "
                    f"{sys.version.split()[0]}, duration {options.duration} s, "
                    f"rounds {options.rounds}, load average "
                    f"{report.data['run']['load_average']}, scenarios {', '.join(options.scenarios)}")
        report.servers(EVERY + (METRICS,))
        run(options, procs, report)
        report.summary()
        report.save()
        return 0
    except BenchError as exc:
        print(f"tools/bench: error: {exc}", file=sys.stderr)
        return 1
    except Deadline:
        print(f"tools/bench: stopped after --max-minutes {options.max_minutes}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tools/bench: interrupted", file=sys.stderr)
        return 130
    finally:
        signal.alarm(0)
        procs.stop_all()
