"""service.worker.counting: what a connection's requests put on the worker's sheet, in each worker model."""

import threading

from service import count_sheet
from service.count_sheet import CountSheet
from service.worker import counting
from service.worker import model as worker_model
from service.worker.connection import Connection
from tests.unit.worker.test_connection import Connections, ScriptedClient
from tests.unit.worker.test_exchange import hello, serving_for

GET = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
POST = b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"


def raising(environ, start_response):
    raise RuntimeError("app failure")


def serve_counted(model, *pieces, app=hello):
    """(the sheet's figures, the access log) after one connection sends `pieces`."""
    sheet = CountSheet()
    serving = serving_for(model, app, Connections(),
                          counts=counting.for_sheet(sheet, model))
    Connection(ScriptedClient(*pieces), ("192.0.2.1", 4000), serving).serve()
    return sheet.read(), serving.access_log


def test_requests_are_counted_as_the_access_log_shows_them(model):
    pieces = (GET + POST, b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n",
              b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
    figures, log = serve_counted(model, *pieces)
    assert [(line[0].split()[0], line[1]) for line in log.lines] == [
        ("GET", 200), ("POST", 200), ("BREW", 200), ("GET", 400)]
    assert figures.requests == {("GET", "200"): 1, ("POST", "200"): 1,
                                ("other", "200"): 1, ("GET", "400"): 1}
    assert sum(figures.duration_buckets) == 4
    assert figures.in_flight == 0
    assert figures.request_bytes == sum(map(len, pieces))
    assert figures.response_bytes == sum(line[2] for line in log.lines)


def test_a_failing_app_counts_its_500(model):
    figures, log = serve_counted(model, GET, app=raising)
    assert figures.requests == {("GET", "500"): 1}
    assert log.lines[0][1] == 500 and figures.in_flight == 0


def test_a_head_cut_short_is_counted_as_its_refusal_is_logged(model):
    figures, log = serve_counted(model, b"GET / HT")
    assert [line[1] for line in log.lines] == [400]
    assert figures.requests == {("GET", "400"): 1} and figures.in_flight == 0
    assert figures.request_bytes == 8


def test_request_threads_counting_at_once_lose_nothing():
    model = worker_model.load("threads")
    sheet = CountSheet()
    counts = counting.for_sheet(sheet, model)

    class Reader:
        def take_received(self):
            return 10

    def serve(requests):
        for n in range(requests):
            counts.started()
            counts.finished("GET", 200 + n % 2, 100, Reader(), 0.001)

    threads = [threading.Thread(target=serve, args=(2000,)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures = sheet.read()
    assert figures.requests == {("GET", "200"): 8000, ("GET", "201"): 8000}
    assert figures.in_flight == 0
    assert figures.request_bytes == 160_000 and figures.response_bytes == 1_600_000
    assert figures.duration_buckets[count_sheet.DURATION_BOUNDS.index(0.005)] == 16_000


def test_without_a_sheet_nothing_is_counted(model):
    assert counting.for_sheet(None, model) is counting.NO_COUNTS
