"""service-api as the bench runs it, and its variants: servers that differ only in svc.conf settings.

A variant is a name and the settings it adds: in [DEFAULT] and in every
app's group. Each is a server of its own in the tables, so that one run
measures them side by side:

  service-api          the eventlet worker model (the default)
  service-api-threads  worker_model = threads in every app's group
                       (threads left at its default, 16)
  service-api-metrics  [DEFAULT] metrics_port = a free port: the admin
                       endpoint on, counting requests

A setting the daemon does not know yet is logged as a warning (an app's
group) or ignored ([DEFAULT]), so a variant starts before its feature lands
and measures the plain daemon until then: the report says which settings
each variant had (servers.<name>.what in the results file).
"""

import configparser
import dataclasses
import re
import time

from .places import GEN, HOST, RUN, VENV, WORKERS
from .servers import Server, bench_env
from .waiting import first_200, free_port, http_get, wait_until

SERVICE_API = "service-api"
THREADS = "service-api-threads"
METRICS = "service-api-metrics"
READY_LINE = "Serving: every worker"


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    # {option: value} for [DEFAULT] and for every app's group; a callable
    # value is called once per start (a free port).
    defaults: dict = dataclasses.field(default_factory=dict)
    app: dict = dataclasses.field(default_factory=dict)

    def settings(self):
        """The settings as an operator would read them, for the report."""
        parts = [f"[DEFAULT] {k} = {_shown(v)}" for k, v in self.defaults.items()]
        parts += [f"[<app>] {k} = {_shown(v)}" for k, v in self.app.items()]
        return "; ".join(parts)


def _shown(value):
    return "<free port>" if callable(value) else str(value)


VARIANTS = {
    SERVICE_API: Variant(SERVICE_API),
    THREADS: Variant(THREADS, app={"worker_model": "threads"}),
    METRICS: Variant(METRICS, defaults={"metrics_port": free_port}),
}


def svc_conf_text(apps, workers, variant=VARIANTS[SERVICE_API], listen=None,
                  paste_ini=None):
    """svc.conf for `apps`; `listen`: {option: value} replacing listen/port in each app's group."""
    lines = ["[DEFAULT]", f"enabled_apis = {', '.join(apps)}",
             f"api_paste_config = {paste_ini or GEN / 'bench-paste.ini'}"]
    lines += [f"{k} = {_value(v)}" for k, v in variant.defaults.items()]
    for app in apps:
        where = listen or {"listen": HOST, "port": 0}
        lines += [f"[{app}]"] + [f"{k} = {v}" for k, v in where.items()]
        lines += [f"workers = {workers}"]
        lines += [f"{k} = {_value(v)}" for k, v in variant.app.items()]
    return "\n".join(lines) + "\n"


def _value(value):
    return value() if callable(value) else value


def spawn_service_api(procs, tag, apps, workers, variant=VARIANTS[SERVICE_API],
                      listen=None, paste_ini=None, venv=None, env=None):
    """Start service-api on `apps` (from `paste_ini`, the bench's by default), from `venv` (the main one)."""
    conf = svc_conf_path(tag, variant.name)
    conf.write_text(svc_conf_text(apps, workers, variant, listen, paste_ini))
    log = RUN / f"{tag}-{variant.name}.log"
    # Its address is read from this log: no line of an earlier start may be there.
    log.unlink(missing_ok=True)
    binary = (venv.path if venv else VENV) / "bin" / "service-api"
    proc = procs.start([binary, "--config-file", conf], log,
                       env=env or bench_env(), cwd=RUN)
    return proc, log


def svc_conf_path(tag, name):
    return RUN / (f"{tag}-svc.conf" if name == SERVICE_API else f"{tag}-{name}-svc.conf")


def what_it_ran(server, tag):
    """For a variant, whether the daemon did what its settings ask (a feature may not have landed yet); None otherwise."""
    variant = VARIANTS.get(server.name)
    if variant is None:
        return None
    if variant.app.get("worker_model") == "threads":
        if "worker model threads" not in server.log.read_text(errors="replace"):
            return ("the daemon did not log the threads model for its app, so this row "
                    "is the eventlet model")
        if any(_maps_greenlet(pid) for pid in server.worker_pids()):
            return "the threads model (greenlet is loaded in its workers: the app's own import)"
        return "the threads model: no greenlet in its workers"
    if "metrics_port" in variant.defaults:
        conf = configparser.ConfigParser(interpolation=None)
        conf.read(svc_conf_path(tag, server.name))
        port = conf.get("DEFAULT", "metrics_port")
        try:
            status = http_get(f"http://{HOST}:{port}/metrics", timeout=2)[0]
        except OSError:
            return (f"nothing answers on metrics_port {port}: no admin "
                    f"endpoint yet, so this row is the plain daemon")
        return f"/metrics on port {port} answered {status}"
    return None


def _maps_greenlet(pid):
    try:
        with open(f"/proc/{pid}/maps") as f:
            return "greenlet" in f.read()
    except OSError:
        return False


def service_api_urls(log):
    return dict(re.findall(r"App (\S+): (http://\S+) with",
                           log.read_text(errors="replace")))


def wait_service_api_ready(proc, log, timeout=60):
    wait_until(lambda: READY_LINE in log.read_text(errors="replace"),
               timeout, "service-api to be ready", proc, log)


def start_service_api(procs, tag, app, workers=WORKERS, max_seconds=None,
                      variant=VARIANTS[SERVICE_API]):
    started = time.monotonic()
    proc, log = spawn_service_api(procs, tag, [app], workers, variant)
    # Port 0: the supervisor logs the address it bound before the workers start.
    url = wait_until(lambda: service_api_urls(log).get(app), 60,
                     "service-api to bind", proc, log)
    first = first_200(url, started, proc, log, "service-api to serve")
    wait_service_api_ready(proc, log)
    server = Server(variant.name, url, proc, log, first)
    server.check = what_it_ran(server, tag)
    return server


def variant_starter(name):
    """start(procs, tag, app, workers, max_seconds) for the variant `name`."""
    def start(procs, tag, app, workers=WORKERS, max_seconds=None):
        return start_service_api(procs, tag, app, workers, max_seconds,
                                 VARIANTS[name])
    return start
