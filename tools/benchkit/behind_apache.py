"""The behind-apache scenario: Apache + mod_proxy_uwsgi in front of uWSGI and service-api on Unix sockets.

One Apache (apache.py) mounts each backend at /<server name>, as devstack
mounts an API; wrk loads Apache with 50 keep-alive connections, json-api
app. The backends speak the uwsgi protocol on a Unix socket: uWSGI in
devstack's settings (`socket =`, chmod-socket 666), and service-api with
`unix_socket`, `unix_socket_mode = 0666` and `protocol = uwsgi` in the
app's group, in both worker models. A backend that cannot start (a daemon
without those options yet) is a row saying why, and the others go on.

A row's CPU is its backend's process group; Apache's CPU per 1,000
requests is printed beside it (the same Apache for every row).
"""

import time

from .apache import socket_dir, start_apache
from .comparisons import Comparison, with_noise
from .console import BenchError, progress
from .installs import VENVS
from .load import run_wrk
from .peers import UWSGI, uwsgi_ini
from .places import RUN, WORKERS
from .processes import worker_memory
from .servers import Server, bench_env
from .service_api import (SERVICE_API, THREADS, VARIANTS, spawn_service_api,
                          wait_service_api_ready, what_it_ran)
from .waiting import failure_reason, first_200

APP = "json-api"
SERVERS = (UWSGI, SERVICE_API, THREADS)
COMPARISON = Comparison(
    "behind-apache", "Apache 2.4 + mod_proxy_uwsgi (devstack's ProxyPass) in "
    "front, uwsgi protocol on a Unix socket, json-api, keep-alive to Apache",
    APP, SERVERS)
# Apache answers 503 until a backend's socket accepts: how long to wait for
# the first 200 through it once the backend says it is ready.
FIRST_200_S = 30


def uwsgi_settings(socket_path):
    """What service-api's app group gets instead of listen/port: devstack's socket, as uWSGI has it."""
    return {"unix_socket": socket_path, "unix_socket_mode": "0666",
            "protocol": "uwsgi"}


def start_uwsgi(procs, socket_path, url):
    ini = RUN / "apache-uwsgi.ini"
    ini.write_text(uwsgi_ini(None, WORKERS, socket_path=socket_path))
    log = RUN / "apache-uwsgi.log"
    started = time.monotonic()
    proc = procs.start([VENVS["uwsgi"].path / "bin" / "uwsgi", "--ini", ini],
                       log, env=bench_env(VENVS["uwsgi"], APP), cwd=RUN)
    first = first_200(url, started, proc, log, "uWSGI to serve through Apache",
                      timeout=FIRST_200_S)
    return Server(UWSGI, url, proc, log, first)


def start_service_api(procs, socket_path, url, name):
    started = time.monotonic()
    proc, log = spawn_service_api(procs, "apache", [APP], WORKERS, VARIANTS[name],
                                  listen=uwsgi_settings(socket_path))
    wait_service_api_ready(proc, log)
    first = first_200(url, started, proc, log,
                      f"{name} to serve through Apache", timeout=FIRST_200_S)
    server = Server(name, url, proc, log, first)
    server.check = what_it_ran(server, "apache")
    return server


def _start(procs, name, socket_path, url):
    if name == UWSGI:
        return start_uwsgi(procs, socket_path, url)
    return start_service_api(procs, socket_path, url, name)


def run_behind_apache(procs, options, report):
    sockets = socket_dir()
    backends = {name: sockets / f"{name}.socket" for name in SERVERS}
    apache, base, _ = start_apache(procs, backends)
    servers, failed = [], {}
    try:
        for name in SERVERS:
            progress(f"behind-apache: starting {name}")
            try:
                servers.append(_start(procs, name, backends[name], f"{base}/{name}"))
            except BenchError as exc:
                failed[name] = failure_reason(exc)
                progress(f"behind-apache: {name} did not start: {failed[name]}")
        for server in servers:
            run_wrk(procs, server.url, options.warmup)
        loads = _rounds(procs, options, servers, apache.pid)
        memory = {s.name: worker_memory(s.worker_pids()) for s in servers}
        report.comparison(COMPARISON, loads, memory, failed=failed,
                          servers=servers)
    finally:
        for server in servers:
            procs.stop(server.proc)
        procs.stop(apache)


def _rounds(procs, options, servers, apache_pgid):
    loads = {s.name: [] for s in servers}
    for round_ in range(1, options.rounds + 1):
        for server in servers:
            progress(f"behind-apache: {server.name}, round {round_}/{options.rounds}")
            loads[server.name].append(with_noise(
                server.proc.pid, lambda: run_wrk(procs, server.url, options.duration),
                front_pgid=apache_pgid))
    return loads
