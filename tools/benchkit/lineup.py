"""Every server the bench knows, by name, and the groups the scenarios pick from."""

from . import peers
from .console import BenchError, progress
from .peers import FLOOR, GRANIAN, GTHREAD, UWSGI
from .places import WORKERS
from .servers import Peer
from .service_api import METRICS, SERVICE_API, THREADS, VARIANTS, variant_starter
from .waiting import failure_reason, wait_until

EVENTLET_PEERS = ("gunicorn", "oslo.service", "eventlet")
PEERS = {
    SERVICE_API: Peer(variant_starter(SERVICE_API), "main",
                      "its log (oslo.log)", "this repository's daemon"),
    THREADS: Peer(variant_starter(THREADS), "main", "its log (oslo.log)",
                  "service-api, " + VARIANTS[THREADS].settings()
                  + " (threads left at its default, 16)"),
    METRICS: Peer(variant_starter(METRICS), "main", "its log (oslo.log)",
                  "service-api, " + VARIANTS[METRICS].settings()),
    "gunicorn": Peer(peers.start_gunicorn, "main", "stdout (--access-logfile -)",
                     "gunicorn 25.3.0 -k eventlet -w 2 --paste"),
    "oslo.service": Peer(peers.start_oslo, "main", "its log (oslo.log)",
                         "ProcessLauncher + oslo_service.wsgi.Server, as "
                         "OpenStack API services ran"),
    "eventlet": Peer(peers.start_eventlet, "main",
                     "stderr (eventlet.wsgi default)",
                     "one socket, forked workers, each "
                     "eventlet.wsgi.server(sock, app)"),
    UWSGI: Peer(peers.start_uwsgi, "uwsgi", "stderr (uWSGI's request log)",
                "uWSGI 2.0.31, devstack's settings, http-socket, "
                "processes 2, threads 1"),
    GTHREAD: Peer(peers.start_gunicorn_gthread, "gunicorn27", "none",
                  f"gunicorn 27.0.1 -k gthread -w 2 --threads "
                  f"{peers.GTHREAD_THREADS} --paste"),
    GRANIAN: Peer(peers.start_granian, "granian", "none",
                  "Granian 2.8.7 --interface wsgi --workers 2, defaults"),
    FLOOR: Peer(peers.start_floor, "main", "none",
                "not a peer: eventlet green threads sending constant bytes"),
}
CLASSIC = (SERVICE_API,) + EVENTLET_PEERS
# What issue 20 compares the threads model with, in every scenario.
THREADS_PEERS = (THREADS, UWSGI, GTHREAD, GRANIAN)
EVERY = CLASSIC + THREADS_PEERS


def start_servers(procs, tag, app, names, max_seconds, workers=WORKERS):
    """(servers serving `app`, {name: why it did not start}): one that fails to start does not stop the others."""
    servers, failed = [], {}
    for name in names:
        try:
            servers.append(PEERS[name].start(procs, tag, app, workers,
                                             max_seconds=max_seconds))
        except BenchError as exc:
            failed[name] = failure_reason(exc)
            progress(f"{name} did not start: {failed[name]}")
    for server in servers:
        wait_until(lambda: len(server.worker_pids()) == workers, 30,
                   f"{server.name} to have {workers} workers", server.proc,
                   server.log)
    return servers, failed
