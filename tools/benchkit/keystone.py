"""keystone 30 under each server: clients issuing tokens by password and validating them.

keystone is set up once per run by its recipe's own commands
(etc/recipes/keystone/setup.sh: configure and prepare, moved under
.bench/run/keystone as tools/interop moves them): keystone.conf, an SQLite
database, Fernet and credential keys, the bootstrapped admin. Every server serves that same
keystone from one venv (.bench/venv-keystone): uWSGI in devstack's settings
(module = keystone.wsgi.api:application, as devstack runs it), gunicorn 27
gthread, and service-api in both worker models through the recipe's own
api-paste.ini. Each has 2 workers; 10 keep-alive clients each issue a token
(POST /v3/auth/tokens, password) and validate it (GET /v3/auth/tokens), in
interleaved rounds. A token costs keystone a bcrypt hash of the password:
tens of milliseconds of CPU per request, which is what this measures.
"""

import functools
import subprocess
import time

from interop_support import recipes
from interop_support.services import keystone_auth

from .comparisons import Comparison, with_noise
from .console import BenchError, progress
from .installs import KEYSTONE_RECIPE, VENVS
from .peers import GTHREAD, UWSGI, gthread_argv, uwsgi_ini
from .places import HOST, REPO, RUN, WORKERS
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
    """Run the recipe's configure and prepare commands, moved under .bench/run/keystone; its Relocation."""
    recipe = KEYSTONE_RECIPE
    root = RUN / "keystone"
    relocation = recipes.Relocation(recipe, root=str(root), venv=str(VENVS["keystone"].path),
                                    copy=str(root / "recipe"), ports={})
    relocation.write_copy()
    env = bench_env(VENVS["keystone"])
    for command in recipe.sections["configure"] + recipe.sections["prepare"]:
        progress(f"keystone: {recipes.shorten(command)}")
        result = subprocess.run(["sh", "-ec", relocation.command(command)], cwd=REPO, env=env,
                                capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            raise BenchError(f"keystone's recipe: `{command}` exited {result.returncode}: "
                             f"{(result.stderr or result.stdout).strip()[-500:]}")
    return relocation


def _keystone_env(relocation):
    env = bench_env(VENVS["keystone"])
    env["OS_KEYSTONE_CONFIG_DIR"] = relocation.path("/etc/keystone")
    return env


def start_uwsgi(procs, relocation):
    port = free_port()
    ini = RUN / "keystone-uwsgi.ini"
    ini.write_text(uwsgi_ini(port, WORKERS, module="keystone.wsgi.api:application",
                             virtualenv=VENVS["keystone"].path))
    log = RUN / "keystone-uwsgi.log"
    started = time.monotonic()
    proc = procs.start([VENVS["keystone"].path / "bin" / "uwsgi", "--ini", ini],
                       log, env=_keystone_env(relocation), cwd=relocation.root)
    return _serving(UWSGI, f"http://{HOST}:{port}", proc, log, started)


def start_gthread(procs, relocation):
    port = free_port()
    log = RUN / "keystone-gunicorn-gthread.log"
    started = time.monotonic()
    proc = procs.start(gthread_argv(VENVS["keystone"].path / "bin" / "gunicorn",
                                    WORKERS, port, ["keystone_wsgi:application"]),
                       log, env=_keystone_env(relocation), cwd=relocation.root)
    return _serving(GTHREAD, f"http://{HOST}:{port}", proc, log, started)


def start_service_api(procs, relocation, name):
    started = time.monotonic()
    paste = relocation.path("/etc/service-api/keystone/api-paste.ini")
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
    relocation = prepare_keystone()
    servers, failed = [], {}
    try:
        for name in SERVERS:
            progress(f"keystone: starting {name}")
            try:
                servers.append(STARTERS[name](procs, relocation))
            except BenchError as exc:
                failed[name] = failure_reason(exc)
                progress(f"keystone: {name} did not start: {failed[name]}")
        body = keystone_auth()
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
