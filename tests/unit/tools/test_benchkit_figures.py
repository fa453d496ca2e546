"""tools/benchkit: reading wrk, the rows and ratios of the results file, what charts are drawn from."""

import json
import os
import socket

from benchkit import charts, ratios, results
from benchkit.load import Load, parse_wrk
from benchkit.processes import connection_owners
from benchkit.waiting import failure_reason

WRK = """Running 2s test @ http://127.0.0.1:40000/
  1 threads and 50 connections
  Latency Distribution
     50%  1.50ms
     75%  2.00ms
     90%  3.00ms
     99%    1.20s
  20000 requests in 2.00s, 3.00MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:  10000.00
Transfer/sec:      1.50MB
bench-served-by 101 12000
bench-served-by 102 8000
"""


def test_wrk_output_is_read_with_its_units():
    load = parse_wrk(WRK)
    assert (load.rps, load.requests, load.p50_ms, load.p99_ms) == (10000.0, 20000, 1.5, 1200.0)
    assert load.socket_errors == {"connect": 0, "read": 3, "write": 0, "timeout": 2}
    assert load.errors == 12
    assert load.served_by == {"101": 12000, "102": 8000}


def _run(rps, requests, cpu, per_client=None, workers=None):
    load = Load(rps=rps, p50_ms=1.0, p99_ms=rps / 100, requests=requests,
                socket_errors={}, non_2xx=0, served_by={})
    load.server_cpu_s = cpu
    load.per_client, load.client_workers = per_client, workers
    if per_client:
        load.connections_per_client = 1
    return load


def test_a_row_is_the_median_of_rounds_and_cpu_over_all_requests():
    row = results.row_of([_run(100, 1000, 1.0), _run(300, 3000, 2.0), _run(200, 2000, 3.0)])
    assert row["rps"] == 200 and row["requests"] == 6000
    assert row["cpu_s_per_1k"] == 1.0
    assert "per_client" not in row


def test_per_client_counts_say_which_worker_held_each_client():
    row = results.row_of([_run(10, 20, 2.0, per_client=[3, 5, 12],
                               workers=[7, 7, 8])])
    assert row["per_client"] == {"min": 3, "median": 5, "max": 12,
                                 "per_worker": {"7": [3, 5], "8": [12]},
                                 "connections_per_client": 1}


def _rows(**rps):
    return {name: {"rps": value, "p99_ms": 10.0, "cpu_s_per_1k": 1.0,
                   "rss_kib": 1024 * value / 100}
            for name, value in rps.items()}


def test_the_threads_model_is_compared_with_gthread_uwsgi_and_the_eventlet_model():
    rows = _rows(**{"service-api": 100, "service-api-threads": 300,
                    "gunicorn-gthread": 200, "uwsgi-devstack": 150, "granian": 600})
    found = ratios.threads_ratios(rows)
    assert list(found) == ["gunicorn-gthread", "uwsgi-devstack", "service-api"]
    assert found["gunicorn-gthread"]["rps"] == 1.5
    assert found["service-api"]["rps"] == 3.0
    assert found["uwsgi-devstack"]["rss_mib_diff"] == 1.5


def test_our_own_variants_are_never_a_best_peer():
    rows = _rows(**{"service-api": 100, "service-api-threads": 900,
                    "service-api-metrics": 800, "uwsgi-devstack": 150})
    assert ratios.reference_peers(rows)[0] == ("best peer", "uwsgi-devstack")


def test_metrics_cost_is_the_metrics_variant_over_the_plain_daemon():
    rows = _rows(**{"service-api": 200, "service-api-metrics": 190})
    assert ratios.metrics_cost(rows)["rps"] == 0.95
    assert ratios.metrics_cost(_rows(**{"service-api": 200})) is None


def test_the_results_file_has_no_nan(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS", tmp_path)
    path = results.save({"schema": 2, "x": [float("nan"), 1.0]})
    assert json.loads(path.read_text(), parse_constant=_refuse) == {"schema": 2, "x": [None, 1.0]}


def _refuse(name):
    raise AssertionError(f"{name} in the results file")


def test_charts_have_a_panel_per_measured_scenario_and_the_run_in_the_title():
    data = {"schema": 2, "options": {"rounds": 3, "duration": 5},
            "run": {"date": "2026-12-04T10:00:00+00:00",
                    "machine": {"cpus": 2, "cpu_model": "Xeon", "memory_gib": 24.0},
                    "options": {"rounds": 3, "duration": 5}},
            "comparisons": {
                "hello": {"title": "t", "servers": {
                    "granian": {"rps": 900.0, "p99_ms": 2.0},
                    "service-api": {"rps": 500.0, "p99_ms": None}}},
                "behind-apache": {"title": "t", "servers": {}, "failed": {"service-api": "x"}}}}
    found = charts.panels(data, "rps")
    assert found == [("hello", "t", [("service-api", 500.0), ("granian", 900.0)])]
    assert charts.panels(data, "p99_ms") == [("hello", "t", [("granian", 2.0)])]
    heading = charts.title(data, "Throughput")
    assert "2026-12-04 10:00:00+00:00" in heading and "2 x Xeon, 24.0 GiB" in heading


def test_a_failed_start_is_told_by_its_logs_error_line(tmp_path):
    message = ("service-api to be ready: the process exited with 1\n--- /x.log:\n"
               "2026 INFO starting\nservice-api: error: [json-api] port: required\n")
    assert failure_reason(Exception(message)) == (
        "service-api to be ready: the process exited with 1: "
        "service-api: error: [json-api] port: required")


def test_connection_owners_finds_the_process_holding_the_server_side():
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            with accepted:
                client_port = client.getsockname()[1]
                assert connection_owners([os.getpid()], port, [client_port]) == {
                    client_port: os.getpid()}
                assert connection_owners([os.getpid()], port, [1]) == {}
