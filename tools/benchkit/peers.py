"""How each peer starts: gunicorn (eventlet and gthread), uWSGI, Granian, oslo.service, bare eventlet, the floor."""

import time

from .installs import VENVS
from .places import GEN, HOST, RUN, VENV, WORKERS
from .servers import Server, bench_env
from .waiting import first_200, free_port, wait_until

FLOOR = "floor"
UWSGI, GRANIAN, GTHREAD = "uwsgi-devstack", "granian", "gunicorn-gthread"

# gthread runs one request per thread. gunicorn's docs put --threads "in
# the 2-4 x $(NUM_CORES) range"; 8 is the top of it on the 2-core machines
# this runs on: enough threads to overlap requests that wait on I/O, not so
# many that they only fight over the GIL. 2 workers x 8 = 16 requests in
# progress at once, so io20ms tops out near 16 / 20 ms = 800 req/s.
GTHREAD_THREADS = 8


def start_gunicorn(procs, tag, app, workers=WORKERS, max_seconds=None):
    port = free_port()
    log = RUN / f"{tag}-gunicorn.log"
    started = time.monotonic()
    proc = procs.start(
        [VENV / "bin" / "gunicorn", "-k", "eventlet", "-w", workers,
         "-b", f"{HOST}:{port}", "--access-logfile", "-",
         "-c", GEN / "gunicorn_conf.py",
         "--paste", f"{GEN / 'bench-paste.ini'}#{app}"],
        log, env=bench_env(), cwd=RUN)
    url = f"http://{HOST}:{port}"
    first = first_200(url, started, proc, log, "gunicorn to serve")
    return Server("gunicorn", url, proc, log, first)


def gthread_argv(gunicorn, workers, port, target):
    """gunicorn 27 -k gthread as the bench runs it; `target`: --paste INI#APP or a module:callable."""
    return [gunicorn, "-k", "gthread", "-w", workers,
            "--threads", GTHREAD_THREADS, "-b", f"{HOST}:{port}",
            "-c", GEN / "gunicorn_conf.py", *target]


def start_gunicorn_gthread(procs, tag, app, workers=WORKERS, max_seconds=None):
    port = free_port()
    log = RUN / f"{tag}-gunicorn-gthread.log"
    started = time.monotonic()
    # No --access-logfile: gunicorn writes no access log by default.
    proc = procs.start(
        gthread_argv(VENVS["gunicorn27"].path / "bin" / "gunicorn", workers,
                     port, ["--paste", f"{GEN / 'bench-paste.ini'}#{app}"]),
        log, env=bench_env(VENVS["gunicorn27"]), cwd=RUN)
    url = f"http://{HOST}:{port}"
    first = first_200(url, started, proc, log, "gunicorn gthread to serve")
    return Server(GTHREAD, url, proc, log, first)


def uwsgi_ini(port, workers, socket_path=None, module="paste_wsgi:application",
              pythonpath=GEN, virtualenv=None, extra=()):
    """uWSGI as devstack's write_uwsgi_config (lib/apache) writes it for an API service.

    With `socket_path`: the uwsgi protocol on that Unix socket, for Apache's
    mod_proxy_uwsgi, as devstack does when Apache is in front.
    """
    if socket_path:
        listen = [f"socket = {socket_path}", "chmod-socket = 666"]
    else:
        # devstack serves through Apache (a uwsgi socket) or uWSGI's http
        # router; with no proxy in front the workers speak HTTP themselves.
        # http-socket, not http11-socket: with processes 2 and threads 1,
        # http11-socket keeps one keep-alive connection per worker and
        # leaves the other 48 clients queued for the whole run.
        listen = [f"http-socket = {HOST}:{port}"]
    return "\n".join(["[uwsgi]"] + listen + [
        # As an OpenStack service's wsgi script: a module calling loadapp.
        f"module = {module}",
        f"pythonpath = {pythonpath}",
        f"virtualenv = {virtualenv or VENVS['uwsgi'].path}",
        # devstack's settings; its `plugins = python` is left out because
        # pip's uWSGI has Python built in. threads = 1 is uWSGI's default,
        # written out because it decides io20ms.
        f"processes = {workers}",
        "threads = 1",
        "master = true",
        "die-on-term = true",
        "exit-on-reload = true",
        "enable-threads = true",
        "thunder-lock = true",
        "buffer-size = 65535",
        "add-header = Connection: close",
        "lazy-apps = true",
        # The bench's own: refuse unknown options, fail when the app does
        # not load (instead of answering 500s), and take the workers down
        # with the master so that none outlives a bench.
        "strict = true",
        "need-app = true",
        "no-orphans = true",
        # The request log stays on (uWSGI's default), on stderr: the log file.
    ] + list(extra)) + "\n"


def start_uwsgi(procs, tag, app, workers=WORKERS, max_seconds=None):
    port = free_port()
    ini = RUN / f"{tag}-uwsgi.ini"
    ini.write_text(uwsgi_ini(port, workers))
    log = RUN / f"{tag}-uwsgi.log"
    started = time.monotonic()
    proc = procs.start([VENVS["uwsgi"].path / "bin" / "uwsgi", "--ini", ini],
                       log, env=bench_env(VENVS["uwsgi"], app), cwd=RUN)
    url = f"http://{HOST}:{port}"
    first = first_200(url, started, proc, log, "uWSGI to serve")
    return Server(UWSGI, url, proc, log, first)


def start_granian(procs, tag, app, workers=WORKERS, max_seconds=None):
    port = free_port()
    log = RUN / f"{tag}-granian.log"
    started = time.monotonic()
    # Its defaults otherwise: no access log, its own count of blocking threads.
    proc = procs.start(
        [VENVS["granian"].path / "bin" / "granian", "--interface", "wsgi",
         "--workers", workers, "--host", HOST, "--port", port,
         "paste_wsgi:application"],
        log, env=bench_env(VENVS["granian"], app), cwd=RUN)
    url = f"http://{HOST}:{port}"
    first = first_200(url, started, proc, log, "Granian to serve")
    return Server(GRANIAN, url, proc, log, first)


def start_oslo(procs, tag, app, workers=WORKERS, max_seconds=3600):
    conf = RUN / f"{tag}-oslo.conf"
    conf.write_text(f"[DEFAULT]\napi_paste_config = {GEN / 'bench-paste.ini'}\n")
    return _start_launcher(procs, tag, "oslo.service", "oslo_launcher.py",
                           conf, app, workers, max_seconds)


def start_eventlet(procs, tag, app, workers=WORKERS, max_seconds=3600):
    return _start_launcher(procs, tag, "eventlet", "eventlet_launcher.py",
                           GEN / "bench-paste.ini", app, workers, max_seconds)


def start_floor(procs, tag, app, workers=WORKERS, max_seconds=3600):
    return _start_launcher(procs, tag, FLOOR, "floor_launcher.py",
                           GEN / "bench-paste.ini", app, workers, max_seconds)


def _start_launcher(procs, tag, name, script, conf, app, workers, max_seconds):
    log = RUN / f"{tag}-{name}.log"
    port_file = RUN / f"{tag}-{name}.port"
    port_file.unlink(missing_ok=True)
    started = time.monotonic()
    proc = procs.start([VENV / "bin" / "python", GEN / script, conf, app,
                        workers, port_file, int(max_seconds or 3600)],
                       log, env=bench_env(), cwd=RUN)
    wait_until(port_file.exists, 60, f"{name} to listen", proc, log)
    url = f"http://{HOST}:{port_file.read_text().strip()}"
    first = first_200(url, started, proc, log, f"{name} to serve")
    return Server(name, url, proc, log, first)
