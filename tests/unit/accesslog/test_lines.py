"""service.accesslog: which fields a format shows, the date text, and lines written in batches."""

import http.server
import io
import logging
import threading
import time
import uuid

import pytest
from oslo_context import context as oslo_context
from oslo_log import formatters

from service.accesslog import lines as accesslog
from service import logs
from tests.unit.logging_helpers import oslo_log_conf

DEFAULT = ('%(client_ip)s "%(request_line)s" status: %(status_code)s '
           'len: %(body_length)s time: %(wall_seconds).7f')
EVENTLET_DEFAULT = ('%(client_ip)s - - [%(date_time)s] "%(request_line)s" '
                    '%(status_code)s %(body_length)s %(wall_seconds).6f')


@pytest.mark.parametrize("log_format, shows_date", [
    (DEFAULT, False),
    (EVENTLET_DEFAULT, True),
    ("%(date_time)s", True),
    ("%(date_time)r", True),
    ("%s", True),            # the whole field dict: keep every field in it
    ("%(unknown)s", True),   # an error either way: keep eventlet's behaviour
    ("%%(date_time)s", False),
])
def test_date_is_computed_only_for_formats_that_show_it(log_format, shows_date):
    assert accesslog.AccessLog(log_format).shows_date is shows_date


def test_date_text_is_http_servers(monkeypatch):
    # Made once a second: moments within a second, across seconds, months
    # and years, each compared with the text made afresh.
    handler = http.server.BaseHTTPRequestHandler.__new__(
        http.server.BaseHTTPRequestHandler)
    start = 1_700_000_000
    moments = [start + 0.75, start + 0.9, start + 1.0, start + 1.5, start + 61.2,
               start + 86400 * 17, start + 86400 * 17 + 0.5, start + 86400 * 400,
               1_704_067_199.999, 1_704_067_200.0]  # the last second of 2023, the first of 2024
    for moment in moments:
        monkeypatch.setattr(time, "time", lambda: moment)
        assert accesslog.log_date_time_string() == handler.log_date_time_string(), moment


class _Protocol:
    requestline = "GET /x HTTP/1.1"

    def get_client_address(self):
        return "192.0.2.7", 5555


def test_line_goes_to_the_logger_as_logger_info_would(caplog):
    caplog.set_level(logging.INFO, logger="service.access")
    accesslog.AccessLog(EVENTLET_DEFAULT).log(_Protocol(), 200, 120, 0.25)
    [record] = caplog.records
    assert record.name == "service.access" and record.levelno == logging.INFO
    assert record.getMessage().startswith("192.0.2.7 - - [")
    assert record.getMessage().endswith('] "GET /x HTTP/1.1" 200 120 0.250000')
    assert record.pathname == accesslog.__file__ and record.funcName == "_log_through_logging"


def test_without_caller_lookup_the_line_has_logger_infos_unknown_caller(caplog, monkeypatch):
    # logging._srcfile = None is how a program turns off logging's stack
    # walk for the caller; the access line's record then says so, as
    # Logger.info()'s would.
    monkeypatch.setattr(logging, "_srcfile", None)
    caplog.set_level(logging.INFO, logger="service.access")
    accesslog.AccessLog(DEFAULT).log(_Protocol(), 200, 120, 0.25)
    logging.getLogger("service.access").info("plain")
    access, plain = caplog.records
    assert ((access.pathname, access.lineno, access.funcName)
            == (plain.pathname, plain.lineno, plain.funcName)
            == ("(unknown file)", 0, "(unknown function)"))


def test_nothing_is_logged_below_info(caplog):
    caplog.set_level(logging.WARNING, logger="service.access")
    accesslog.AccessLog(DEFAULT).log(_Protocol(), 200, 120, 0.25)
    assert not caplog.records


class _Deferred:
    """A stand-in for the hub: keeps deferred calls until run()."""

    def __init__(self):
        self.calls = []

    def __call__(self, callback):
        self.calls.append(callback)

    def run(self):
        calls, self.calls = self.calls, []
        for callback in calls:
            callback()


@pytest.fixture
def access_logger():
    """A logger of its own (no pytest capture handlers) writing to a StringIO."""
    factory = logging.getLogRecordFactory()
    logger = logging.Logger("test.access." + uuid.uuid4().hex, logging.INFO)
    logger.propagate = False
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(handler)
    yield logger
    logging.setLogRecordFactory(factory)


def _written(logger):
    return logger.handlers[0].stream.getvalue()


def _lines(logger):
    """The messages written, without their time."""
    return [line.split(" ", 2)[2] for line in _written(logger).splitlines()]


def _request(path):
    protocol = _Protocol()
    protocol.requestline = f"GET {path} HTTP/1.1"
    return protocol


def test_lines_wait_for_the_deferred_flush_then_come_in_order(access_logger):
    deferred = _Deferred()
    log = accesslog.AccessLog("%(request_line)s", logger=access_logger,
                              defer=deferred)
    for path in ("/a", "/b", "/c"):
        log.log(_request(path), 200, 1, 0.1)
    assert _written(access_logger) == ""
    assert len(deferred.calls) == 1  # one flush for the batch
    deferred.run()
    assert _lines(access_logger) == ["GET /a HTTP/1.1", "GET /b HTTP/1.1",
                                     "GET /c HTTP/1.1"]
    log.log(_request("/d"), 200, 1, 0.1)
    assert len(deferred.calls) == 1  # the next batch has its own
    deferred.run()
    assert _lines(access_logger)[-1] == "GET /d HTTP/1.1"


def test_a_full_batch_is_written_without_waiting(access_logger):
    deferred = _Deferred()
    log = accesslog.AccessLog("%(request_line)s", logger=access_logger,
                              defer=deferred)
    for number in range(accesslog.MAX_PENDING_LINES):
        log.log(_request(f"/{number}"), 200, 1, 0.1)
    assert len(_lines(access_logger)) == accesslog.MAX_PENDING_LINES
    deferred.run()  # finds nothing left to write
    assert len(_lines(access_logger)) == accesslog.MAX_PENDING_LINES


def _clock_at(monkeypatch, seconds, nanoseconds):
    monkeypatch.setattr(time, "time", lambda: seconds)
    monkeypatch.setattr(time, "time_ns", lambda: nanoseconds)


@pytest.mark.parametrize("logging_decides", [False, True],
                         ids=["written-directly", "through-logging"])
def test_a_line_shows_when_its_request_ended_not_when_it_was_written(
        access_logger, monkeypatch, logging_decides):
    deferred = _Deferred()
    log = accesslog.AccessLog("%(request_line)s", logger=access_logger,
                              defer=deferred)
    _clock_at(monkeypatch, 1_700_000_000.25, 1_700_000_000_250_000_000)
    log.log(_request("/then"), 200, 1, 0.1)
    assert _written(access_logger) == ""  # waiting for its batch
    if logging_decides:
        # A filter, meanwhile: the line becomes a record when it is written,
        # stamped with the end of the request all the same.
        access_logger.handlers[0].addFilter(logging.Filter())
    _clock_at(monkeypatch, 1_700_000_007.5, 1_700_000_007_500_000_000)
    deferred.run()
    then = time.localtime(1_700_000_000)
    assert _written(access_logger) == (
        time.strftime("%Y-%m-%d %H:%M:%S", then) + ",250 GET /then HTTP/1.1\n")


def test_waiting_lines_are_written_before_any_other_record(access_logger):
    deferred = _Deferred()
    log = accesslog.AccessLog("%(request_line)s", logger=access_logger,
                              defer=deferred)
    logs.call_before_each_record(log.flush)
    log.log(_request("/first"), 200, 1, 0.1)
    access_logger.warning("what happened next")
    assert _lines(access_logger) == ["GET /first HTTP/1.1", "what happened next"]


def test_a_line_with_a_request_context_comes_after_the_waiting_ones(
        access_logger, monkeypatch):
    deferred = _Deferred()
    log = accesslog.AccessLog("%(request_line)s", logger=access_logger,
                              defer=deferred)
    log.log(_request("/before"), 200, 1, 0.1)
    monkeypatch.setattr(oslo_context._request_store, "context", None,
                        raising=False)
    oslo_context.RequestContext(request_id="req-1234", overwrite=True)
    log.log(_request("/in-context"), 200, 1, 0.1)
    # Written at once, through logging (which adds the context's ids).
    assert _lines(access_logger) == ["GET /before HTTP/1.1",
                                     "GET /in-context HTTP/1.1"]
    assert deferred.calls  # runs and finds nothing left
    deferred.run()
    assert len(_lines(access_logger)) == 2


def test_lines_are_logged_at_once_where_the_handlers_need_logging(access_logger):
    # A filter: logging decides. The record is made in the request's own
    # green thread, with its context and thread, as without batches.
    access_logger.handlers[0].addFilter(logging.Filter())
    deferred = _Deferred()
    log = accesslog.AccessLog("%(request_line)s", logger=access_logger,
                              defer=deferred)
    log.log(_request("/now"), 200, 1, 0.1)
    assert _lines(access_logger) == ["GET /now HTTP/1.1"]
    assert not deferred.calls


def test_lines_wait_for_batches_again_once_the_handlers_allow(access_logger):
    handler = access_logger.handlers[0]
    deferred = _Deferred()
    log = accesslog.AccessLog("%(request_line)s", logger=access_logger,
                              defer=deferred)
    handler.addFilter(logging.Filter())
    log.log(_request("/filtered"), 200, 1, 0.1)
    handler.filters.clear()
    log.log(_request("/direct"), 200, 1, 0.1)
    assert _lines(access_logger) == ["GET /filtered HTTP/1.1"]
    deferred.run()
    assert _lines(access_logger) == ["GET /filtered HTTP/1.1",
                                     "GET /direct HTTP/1.1"]


def test_waiting_lines_left_to_logging_do_not_take_another_requests_context(
        access_logger, monkeypatch):
    handler = access_logger.handlers[0]
    handler.setFormatter(formatters.ContextFormatter(
        config=oslo_log_conf(), project="service-api", version="1"))
    deferred = _Deferred()
    log = accesslog.AccessLog("%(request_line)s", logger=access_logger,
                              defer=deferred)
    log.log(_request("/mine"), 200, 1, 0.1)
    handler.addFilter(logging.Filter())  # logging writes the waiting line
    # Another request's green thread, with its context, writes the batch.
    monkeypatch.setattr(oslo_context._request_store, "context", None,
                        raising=False)
    other = oslo_context.RequestContext(request_id="req-other", overwrite=True)
    log.flush()
    assert "GET /mine" in _written(access_logger)
    assert "req-other" not in _written(access_logger)
    assert oslo_context.get_current() is other  # and it is set again after


def test_with_a_lock_a_line_is_written_at_once_by_the_thread_that_logs_it(access_logger):
    log = accesslog.AccessLog("%(request_line)s", logger=access_logger,
                              lock=threading.Lock())
    log.log(_request("/a"), 200, 1, 0.1)
    assert _lines(access_logger) == ["GET /a HTTP/1.1"]


def test_with_a_lock_threads_never_wait_for_the_file_and_every_line_goes_out_once(
        access_logger):
    handler = access_logger.handlers[0]
    writes = []
    slow_stream_write = handler.stream.write

    def write(text):
        writes.append(text)
        time.sleep(0.002)  # a slow disk: other threads log meanwhile
        return slow_stream_write(text)

    handler.stream.write = write
    log = accesslog.AccessLog("%(request_line)s", logger=access_logger,
                              lock=threading.Lock())

    def requests(thread):
        for number in range(50):
            log.log(_request(f"/{thread}/{number}"), 200, 1, 0.1)

    threads = [threading.Thread(target=requests, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = _lines(access_logger)
    assert sorted(lines) == sorted(f"GET /{thread}/{number} HTTP/1.1"
                                   for thread in range(8) for number in range(50))
    for thread in range(8):  # each thread's lines in the order it logged them
        mine = [line for line in lines if line.startswith(f"GET /{thread}/")]
        assert mine == [f"GET /{thread}/{number} HTTP/1.1" for number in range(50)]
    assert len(writes) < len(lines)  # batches: a writer took others' lines along
