"""The summary's arithmetic: service-api's ratios to the peers of the same run, the threads model's, the cost of metrics."""

import math

from .lineup import EVENTLET_PEERS
from .peers import FLOOR, GRANIAN, GTHREAD, UWSGI
from .service_api import METRICS, SERVICE_API, THREADS

OURS = (SERVICE_API, THREADS, METRICS, FLOOR)
# What issue 20 measures the threads model against, in this order.
THREADS_REFERENCES = ((GTHREAD, "gunicorn gthread"), (UWSGI, "uWSGI devstack"),
                      (SERVICE_API, "eventlet model"))


def _peers(rows):
    return {n: r for n, r in rows.items() if n not in OURS}


def reference_peers(rows):
    """(label, peer) pairs service-api is compared with: the best peer, the best eventlet one, uWSGI, Granian."""
    peers = _peers(rows)
    if SERVICE_API not in rows or not peers:
        return []
    pairs = [("best peer", max(peers, key=lambda n: _rps(peers[n])))]
    eventlet = [n for n in EVENTLET_PEERS if n in peers]
    if eventlet:
        pairs.append(("best eventlet", max(eventlet,
                                           key=lambda n: _rps(peers[n]))))
    pairs += [(name, name) for name in (UWSGI, GRANIAN) if name in peers]
    return pairs


def _rps(row):
    value = row["rps"]
    return -1 if value is None or math.isnan(value) else value


def ratios(ours, theirs):
    return {"rps": _ratio(ours["rps"], theirs["rps"]),
            "p99": _ratio(ours["p99_ms"], theirs["p99_ms"]),
            "cpu_per_request": _ratio(ours["cpu_s_per_1k"],
                                      theirs["cpu_s_per_1k"])}


def _ratio(a, b):
    return a / b if a is not None and b else float("nan")


def threads_ratios(rows):
    """{peer: ratios of service-api-threads to it, with the RSS difference in MiB}."""
    if THREADS not in rows:
        return {}
    found = {}
    for peer, _ in THREADS_REFERENCES:
        if peer in rows:
            found[peer] = dict(ratios(rows[THREADS], rows[peer]),
                               rss_mib_diff=_mib_diff(rows[THREADS], rows[peer]))
    return found


def _mib_diff(ours, theirs):
    if ours.get("rss_kib") is None or theirs.get("rss_kib") is None:
        return float("nan")
    return (ours["rss_kib"] - theirs["rss_kib"]) / 1024


def metrics_cost(rows):
    """Ratios of service-api-metrics to service-api, or None when the scenario lacks one of them."""
    if METRICS not in rows or SERVICE_API not in rows:
        return None
    return ratios(rows[METRICS], rows[SERVICE_API])


def ratio_line(rows):
    parts = []
    for label, peer in reference_peers(rows):
        ratio = ratios(rows[SERVICE_API], rows[peer])
        parts.append(f"{label} ({peer}) {ratio['rps']:.2f} / "
                     f"{ratio['p99']:.2f} / {ratio['cpu_per_request']:.2f}")
    if not parts:
        return ""
    return ("service-api / peer, throughput / p99 / CPU per request: "
            + "; ".join(parts))
