"""keystone 30 under each server: clients issuing tokens by password and validating them.

keystone is set up once per run as its recipe (etc/recipes/keystone/) says,
under .bench/run/keystone: keystone.conf, an SQLite database, Fernet and
credential keys, the bootstrapped admin. Every server serves that same
keystone from one venv (.bench/venv-keystone): uWSGI in devstack's settings
(module = keystone.wsgi.api:application, as devstack runs it), gunicorn 27
gthread, and service-api in both worker models through the recipe's own
api-paste.ini. Each has 2 workers; 10 keep-alive clients each issue a token
(POST /v3/auth/tokens, password) and validate it (GET /v3/auth/tokens), in
interleaved rounds. A token costs keystone a bcrypt hash of the password:
tens of milliseconds of CPU per request, which is what this measures.
"""

import functools
import os
import time

from recipes import files as recipe_files
from recipes import keystone as recipe

from .comparisons import Comparison, with_noise
from .console import BenchError, progress
from .installs import VENVS, run_quietly
from .peers import GTHREAD, UWSGI, gthread_argv, uwsgi_ini
from .places import HOST, RUN, WORKERS
from .processes import connection_owners, worker_memory
from .servers import Server, bench_env
from .service_api import (SERVICE_API, THREADS, VARIANTS, service_api_urls,
                          spawn_service_api, wait_service_api_ready, what_it_ran)
from .token_clients import run_token_clients
from .waiting import failure_reason, first_200, free_port, split_url, wait_until

CLIENTS = 10
SERVERS = (UWSGI, GTHREAD, SERVICE_API, THREADS)
COMPARISON = Comparison(
    "keystone", f"keystone 30: {CLIENTS} keep-alive clients, each issuing a "
    f"token (password) and validating it", "keystone", SERVERS)
# keystone answers tens of requests per second: a round needs longer than
# wrk's to give each client more than a handful.
ROUND_FACTOR = 3


def round_seconds(options):
    return options.duration * ROUND_FACTOR


def prepare_keystone():
    """Write the recipe's files under .bench/run/keystone and run keystone-manage; returns the root."""
    root = str(RUN / "keystone")
    for name, operator_path in recipe.FILES.items():
        text = recipe_files.template(recipe_files.recipe_text("keystone", name), root)
        recipe_files.write(recipe_files.under_root(root, operator_path), text)
    os.makedirs(recipe_files.under_root(root, "/var/lib/keystone"), exist_ok=True)
    env = bench_env(VENVS["keystone"])
    for command in recipe.prepare_commands():
        argv = [recipe_files.template(arg, root).format(port=5000) for arg in command]
        argv[0] = str(VENVS["keystone"].path / "bin" / argv[0])
        progress(f"keystone: {' '.join(command[3:4] or command[:1])}")
        run_quietly(argv, env=env, cwd=root)
    return root


def _keystone_env(root):
    env = bench_env(VENVS["keystone"])
    env["OS_KEYSTONE_CONFIG_DIR"] = recipe_files.under_root(root, "/etc/keystone")
    return env


def start_uwsgi(procs, root):
    port = free_port()
    ini = RUN / "keystone-uwsgi.ini"
    ini.write_text(uwsgi_ini(port, WORKERS, module="keystone.wsgi.api:application",
                             virtualenv=VENVS["keystone"].path))
    log = RUN / "keystone-uwsgi.log"
    started = time.monotonic()
    proc = procs.start([VENVS["keystone"].path / "bin" / "uwsgi", "--ini", ini],
                       log, env=_keystone_env(root), cwd=root)
    return _serving(UWSGI, f"http://{HOST}:{port}", proc, log, started)


def start_gthread(procs, root):
    port = free_port()
    log = RUN / "keystone-gunicorn-gthread.log"
    started = time.monotonic()
    proc = procs.start(gthread_argv(VENVS["keystone"].path / "bin" / "gunicorn",
                                    WORKERS, port, ["keystone_wsgi:application"]),
                       log, env=_keystone_env(root), cwd=root)
    return _serving(GTHREAD, f"http://{HOST}:{port}", proc, log, started)


def start_service_api(procs, root, name):
    started = time.monotonic()
    paste = recipe_files.under_root(root, recipe.FILES["api-paste.ini"])
    proc, log = spawn_service_api(procs, "keystone", ["keystone"], WORKERS,
                                  VARIANTS[name], paste_ini=paste,
                                  venv=VENVS["keystone"],
                                  env=bench_env(VENVS["keystone"]))
    url = wait_until(lambda: service_api_urls(log).get("keystone"), 120,
                     f"{name} to bind", proc, log)
    wait_service_api_ready(proc, log, timeout=180)
    server = _serving(name, url, proc, log, started)
    server.check = what_it_ran(server, "keystone")
    return server


def _serving(name, url, proc, log, started):
    """The server once GET /v3 answers 200 (keystone builds its app in each worker)."""
    first = first_200(url + "/v3", started, proc, log, f"keystone under {name}",
                      timeout=180)
    return Server(name, url, proc, log, first)


STARTERS = {UWSGI: start_uwsgi, GTHREAD: start_gthread,
            SERVICE_API: functools.partial(start_service_api, name=SERVICE_API),
            THREADS: functools.partial(start_service_api, name=THREADS)}


def run_keystone(procs, options, report):
    root = prepare_keystone()
    servers, failed = [], {}
    try:
        for name in SERVERS:
            progress(f"keystone: starting {name}")
            try:
                servers.append(STARTERS[name](procs, root))
            except BenchError as exc:
                failed[name] = failure_reason(exc)
                progress(f"keystone: {name} did not start: {failed[name]}")
        body = recipe.password_auth_body()
        for server in servers:
            progress(f"keystone: {server.name}, warm-up")
            run_token_clients(server.url, CLIENTS, options.warmup * 2, body)
        loads = {s.name: [] for s in servers}
        for round_ in range(1, options.rounds + 1):
            for server in servers:
                progress(f"keystone: {server.name}, round {round_}/{options.rounds}")
                loads[server.name].append(with_noise(server.proc.pid, lambda: run_token_clients(
                    server.url, CLIENTS, round_seconds(options), body,
                    owners=_owners_of(server))))
        memory = {s.name: worker_memory(s.worker_pids()) for s in servers}
        report.comparison(COMPARISON, loads, memory, failed=failed,
                          seconds=round_seconds(options), servers=servers)
    finally:
        for server in servers:
            procs.stop(server.proc)


def _owners_of(server):
    _, port, _ = split_url(server.url)
    return lambda ports: connection_owners(server.worker_pids(), port, ports)
