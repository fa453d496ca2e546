"""The access log: one line per request, in wsgi_log_format, through the "service.access" logger.

The line is what eventlet.wsgi would log with the same format; what it
costs is not. Fields the format never shows are not computed (the date is
a strftime), and the date text is made once a second. Where the handlers
allow it, service.direct_log writes the line without a log record; else the
record goes to the logger's handlers without the stack walk Logger.info()
does to find its caller: the caller is always the same line of this module.
"""

import logging
import time

from service import clock
from service import direct_log

LOGGER = logging.getLogger("service.access")

# Stand-ins for the fields, to find out which ones a format shows.
_SAMPLE_FIELDS = {
    "client_ip": "192.0.2.1",
    "client_port": 40000,
    "date_time": "\x00date\x00",
    "request_line": "GET / HTTP/1.1",
    "status_code": 200,
    "body_length": 14,
    "wall_seconds": 0.001,
}
_MONTHS = (None, "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
           "Sep", "Oct", "Nov", "Dec")


class AccessLog:
    """Renders and logs access lines in one format."""

    def __init__(self, log_format, logger=LOGGER):
        self.log_format = log_format
        self.logger = logger
        self.shows_date = _shows_field(log_format, "date_time")
        self._caller = None
        self._direct = direct_log.DirectLog(logger)

    def log(self, protocol, status, length, seconds):
        logger = self.logger
        if not logger.isEnabledFor(logging.INFO):
            return
        client_ip, client_port = protocol.get_client_address()
        fields = {
            "client_ip": client_ip,
            "client_port": client_port,
            "request_line": protocol.requestline,
            "status_code": status,
            "body_length": length,
            "wall_seconds": seconds,
        }
        if self.shows_date:
            fields["date_time"] = log_date_time_string()
        self._emit(self.log_format % fields)

    def _emit(self, line):
        if not self._direct.info(line):
            self._log_through_logging(line)

    def _log_through_logging(self, line):
        logger = self.logger
        if self._caller is None:
            self._caller = _this_caller(logger)
        path, line_number, function = self._caller
        logger.handle(logger.makeRecord(logger.name, logging.INFO, path,
                                        line_number, line, (), None, function))


def _this_caller(logger):
    """What Logger.info() would find as its caller in AccessLog._log_through_logging."""
    if logging._srcfile is None:
        return "(unknown file)", 0, "(unknown function)"
    path, line_number, function, _ = logger.findCaller(stacklevel=2)
    return path, line_number, function


def format_error(log_format):
    """Why lines cannot be made in `log_format` (an unknown field, say), or None."""
    try:
        log_format % _SAMPLE_FIELDS
    except (KeyError, ValueError, TypeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _shows_field(log_format, name):
    """Whether lines in `log_format` change with the field `name` (errors: assume they do)."""
    without = dict(_SAMPLE_FIELDS)
    del without[name]
    try:
        return log_format % _SAMPLE_FIELDS != log_format % without
    except Exception:
        return True


def _log_date_time(now):
    """BaseHTTPRequestHandler.log_date_time_string()'s text for `now`."""
    year, month, day, hh, mm, ss, _, _, _ = time.localtime(now)
    return "%02d/%3s/%04d %02d:%02d:%02d" % (day, _MONTHS[month], year, hh, mm, ss)


log_date_time_string = clock.PerSecond(_log_date_time)
