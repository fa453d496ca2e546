"""/metrics' text, read back with prometheus_client's own parser."""

from prometheus_client.parser import text_string_to_metric_families

from service import count_sheet
from service.supervisor import exposition
from tests.unit.supervisor.test_fleet import plan_with
from tests.unit.supervisor.test_monitor import MonitoredLoop


def scraped(monitor):
    text = exposition.render(exposition.registry_of(monitor)).decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family, name=None):
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for sample in family.samples if name in (None, sample.name)}


def test_every_metric_is_shown_with_its_type_even_before_anything_is_counted():
    loop = MonitoredLoop(counting=True)
    loop.start(plan_with(a=1))
    families = scraped(loop.monitor)
    assert {name: family.type for name, family in families.items()} == {
        "service_api_requests": "counter",
        "service_api_request_duration_seconds": "histogram",
        "service_api_request_bytes": "counter",
        "service_api_response_bytes": "counter",
        "service_api_requests_in_flight": "gauge",
        "service_api_connections_open": "gauge",
        "service_api_connections_idle": "gauge",
        "service_api_workers": "gauge",
        "service_api_worker_starts": "counter",
        "service_api_worker_exits": "counter",
        "service_api_app_build_duration_seconds": "histogram",
        "service_api_reloads": "counter",
        "service_api_generation": "gauge",
    }
    assert samples(families["service_api_generation"]) == {
        ("service_api_generation", ()): 0}


def test_requests_and_the_duration_histogram_per_app_and_model():
    loop = MonitoredLoop(counting=True)
    loop.serving(plan_with(a=1))
    sheet = next(iter(loop.monitor.workers.values())).sheet
    cells = sheet.cells
    cells[sheet.row("GET", 200)] += 3
    cells[sheet.row("DELETE", 404)] += 1
    # Durations of 3 ms, 40 ms, 40 ms and 2 minutes.
    for seconds, count in ((0.003, 1), (0.04, 2), (120, 1)):
        index = next((i for i, b in enumerate(count_sheet.DURATION_BOUNDS) if seconds <= b),
                     len(count_sheet.DURATION_BOUNDS))
        cells[count_sheet.DURATION_BUCKETS + index] += count
        cells[count_sheet.DURATION_SUM] += seconds * count
    families = scraped(loop.monitor)
    app = (("app", "a"), ("worker_model", "eventlet"))
    assert samples(families["service_api_requests"], "service_api_requests_total") == {
        ("service_api_requests_total", tuple(sorted(app + (("code", "200"), ("method", "GET"))))): 3,
        ("service_api_requests_total", tuple(sorted(app + (("code", "404"), ("method", "DELETE"))))): 1}
    buckets = {dict(labels)["le"]: value for (name, labels), value
               in samples(families["service_api_request_duration_seconds"]).items()
               if name.endswith("_bucket")}
    assert (buckets["0.005"], buckets["0.025"], buckets["0.05"], buckets["60.0"],
            buckets["+Inf"]) == (1, 1, 3, 3, 4)
    duration = samples(families["service_api_request_duration_seconds"])
    assert duration[("service_api_request_duration_seconds_count", app)] == 4
    assert abs(duration[("service_api_request_duration_seconds_sum", app)] - 120.083) < 1e-9


def test_cumulative_buckets_end_with_inf():
    assert exposition.cumulative((0.1, 1.0), [2, 0, 1]) == [("0.1", 2), ("1.0", 2), ("+Inf", 3)]
