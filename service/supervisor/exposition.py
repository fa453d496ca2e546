"""/metrics: the monitor's figures (service.supervisor.monitor) in the Prometheus text format, through prometheus_client.

prometheus_client renders the text (escaping, number formats, the
`_total`, `_bucket`, `_sum` and `_count` series); the figures come from
the monitor, read afresh at every scrape, so no metric object of
prometheus_client keeps state here. Every series carries the app and its
worker model, but those of the whole daemon (reloads, the generation).
Label values are bounded: methods outside a known set are "other"
(service.count_sheet), exit reasons and reload outcomes come from short
lists, status codes are those the apps send.

Supervisor side; the only module that imports prometheus_client.
"""

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily,
                                    HistogramMetricFamily)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from service import count_sheet
from service.supervisor import monitor as service_monitor

CONTENT_TYPE = CONTENT_TYPE_LATEST
APP_LABELS = ["app", "worker_model"]

# (name, help) of every metric, in the order they are shown.
METRICS = {
    "requests": (
        "service_api_requests", "Requests answered (or refused), by method and status code "
        "as sent; one per access log line."),
    "duration": (
        "service_api_request_duration_seconds", "Time from a request's head to the end of "
        "its response, as the access log's time."),
    "request_bytes": (
        "service_api_request_bytes", "Bytes received from clients: request heads and bodies."),
    "response_bytes": (
        "service_api_response_bytes", "Bytes of responses sent, heads included."),
    "in_flight": (
        "service_api_requests_in_flight", "Requests being served now."),
    "open": (
        "service_api_connections_open", "Client connections the workers hold."),
    "idle": (
        "service_api_connections_idle", "Of the open connections, those parked between "
        "requests (keep-alive clients holding no thread)."),
    "workers": (
        "service_api_workers", "Worker processes by state: building their app, serving, "
        "or retiring (draining before they exit)."),
    "starts": (
        "service_api_worker_starts", "Worker processes started."),
    "exits": (
        "service_api_worker_exits", "Worker processes ended, by reason: crash (died unasked), "
        "build_failed, worker_timeout, request_timeout, recycle, reload, stop."),
    "builds": (
        "service_api_app_build_duration_seconds", "Time from a worker's start to its report "
        "that its app is built and it serves."),
    "reloads": (
        "service_api_reloads", "Reloads (SIGHUP) by outcome: success, failed (the old "
        "generation kept serving) or superseded (a newer SIGHUP replaced it)."),
    "generation": (
        "service_api_generation", "The number of the generation of workers serving (1 after "
        "start-up, 0 before); each reload's new generation takes the next number."),
}


class _Collector:
    def __init__(self, monitor):
        self._monitor = monitor

    def collect(self):
        monitor = self._monitor
        yield from request_families(monitor.request_figures())
        yield from worker_families(monitor)
        reloads = CounterMetricFamily(*METRICS["reloads"], labels=["outcome"])
        for outcome in (service_monitor.SUCCESS, service_monitor.FAILED,
                        service_monitor.SUPERSEDED):
            reloads.add_metric([outcome], monitor.reloads[outcome])
        yield reloads
        yield GaugeMetricFamily(*METRICS["generation"], value=monitor.generation)


def request_families(figures):
    """The families of what the workers counted: {(app, model): SheetFigures}."""
    requests = CounterMetricFamily(*METRICS["requests"],
                                   labels=APP_LABELS + ["method", "code"])
    duration = HistogramMetricFamily(*METRICS["duration"], labels=APP_LABELS)
    counters = {key: CounterMetricFamily(*METRICS[key], labels=APP_LABELS)
                for key in ("request_bytes", "response_bytes")}
    gauges = {key: GaugeMetricFamily(*METRICS[key], labels=APP_LABELS)
              for key in ("in_flight", "open", "idle")}
    for labels, sheet in sorted(figures.items()):
        labels = list(labels)
        for (method, code), count in sorted(sheet.requests.items()):
            requests.add_metric(labels + [method, code], count)
        duration.add_metric(labels, cumulative(count_sheet.DURATION_BOUNDS,
                                               sheet.duration_buckets),
                            sheet.duration_sum)
        counters["request_bytes"].add_metric(labels, sheet.request_bytes)
        counters["response_bytes"].add_metric(labels, sheet.response_bytes)
        gauges["in_flight"].add_metric(labels, sheet.in_flight)
        gauges["open"].add_metric(labels, sheet.connections_open)
        gauges["idle"].add_metric(labels, sheet.connections_idle)
    return [requests, duration, *counters.values(), *gauges.values()]


def worker_families(monitor):
    workers = GaugeMetricFamily(*METRICS["workers"], labels=APP_LABELS + ["state"])
    for labels, count in sorted(monitor.worker_states().items()):
        workers.add_metric(list(labels), count)
    starts = CounterMetricFamily(*METRICS["starts"], labels=APP_LABELS)
    for labels, count in sorted(monitor.starts.items()):
        starts.add_metric(list(labels), count)
    exits = CounterMetricFamily(*METRICS["exits"], labels=APP_LABELS + ["reason"])
    for labels, count in sorted(monitor.exits.items()):
        exits.add_metric(list(labels), count)
    builds = HistogramMetricFamily(*METRICS["builds"], labels=APP_LABELS)
    for labels, histogram in sorted(monitor.builds.items()):
        builds.add_metric(list(labels), cumulative(histogram.bounds, histogram.buckets),
                          histogram.total)
    return [workers, starts, exits, builds]


def cumulative(bounds, buckets):
    """[(le, observations up to it)] from per-bucket counts, ending with +Inf."""
    edges = [_le(bound) for bound in bounds] + ["+Inf"]
    running, out = 0, []
    for edge, count in zip(edges, buckets):
        running += count
        out.append((edge, running))
    return out


def _le(bound):
    return repr(float(bound))


def registry_of(monitor):
    """A prometheus_client registry of `monitor`'s figures alone (no process or platform collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(monitor))
    return registry


def render(registry):
    """The text exposition of `registry`, read now."""
    return generate_latest(registry)
