"""service.accesslog: which fields a format shows, and the date text."""

import http.server
import logging
import time

import pytest

from service import accesslog

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
    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.75)
    handler = http.server.BaseHTTPRequestHandler.__new__(
        http.server.BaseHTTPRequestHandler)
    assert accesslog.log_date_time_string() == handler.log_date_time_string()


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


def test_nothing_is_logged_below_info(caplog):
    caplog.set_level(logging.WARNING, logger="service.access")
    accesslog.AccessLog(DEFAULT).log(_Protocol(), 200, 120, 0.25)
    assert not caplog.records
