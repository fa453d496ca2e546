"""The access log: one line per request, in wsgi_log_format, through the "service.access" logger.

The line is what eventlet.wsgi would log with the same format; what it
costs is not. Fields the format never shows are not computed (the date is
a strftime), and the date text is made once a second (service.memo). Where
the handlers allow it, service.accesslog.direct writes the line without a
log record; else the record goes to the logger's handlers without the stack
walk Logger.info() does to find its caller: the caller is always the same
line of this module.

Private parts of logging this module relies on, with tests that fail if
logging changes them (tests/unit/accesslog/test_lines.py):

- logging._srcfile: None when a program turned off logging's caller
  lookup; Logger.info() then names no caller, and neither does a line
  logged here.
"""

import logging
import time

from service import memo
from service.accesslog.fields import shows_field
from service.accesslog import direct as direct_log

LOGGER = logging.getLogger("service.access")

_MONTHS = (None, "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
           "Sep", "Oct", "Nov", "Dec")


# Lines waiting for a flush at most: a burst is written in pieces this big.
MAX_PENDING_LINES = 256


class AccessLog:
    """Renders and logs access lines in one format.

    With `defer`, lines are written in batches: defer(flush) must call
    flush once the worker's other ready green threads have run, as a
    zero-delay call through the hub does. A line made in a busy worker costs
    a third as much that way, because one batch runs the same code many
    times over while the processor's caches still hold it. A batch is also
    flushed when it is full, before a line that logging writes at once (one
    with a request context, or any line when the handlers need logging),
    before any other record of the worker is made (so lines stay in order;
    see service.logs.call_before_each_record), and when the worker stops.
    A line shows the time its request ended.

    With `lock` instead (the threads model, where log() is called from
    several threads at once), a line is written at once by the thread that
    logs it, unless another thread is writing lines: that one takes it
    along, and the thread that logged it goes on. Under load, the threads
    never queue for the log file, and lines go out in batches all the same.
    """

    def __init__(self, log_format, logger=LOGGER, defer=None, lock=None):
        self.log_format = log_format
        self.logger = logger
        self.shows_date = shows_field(log_format, "date_time")
        self._caller = None
        self._direct = direct_log.DirectLog(logger)
        self._defer = defer
        self._pending = []
        self._flush_deferred = False
        self._lock = lock
        self._writing = False

    def log(self, protocol, status, length, seconds):
        if not self.logger.isEnabledFor(logging.INFO):
            return
        client_ip, client_port = protocol.get_client_address()
        line = (direct_log.record_time(), client_ip, client_port,
                protocol.requestline, status, length, seconds,
                log_date_time_string() if self.shows_date else None)
        if direct_log.has_request_context() or not self._direct.writes_directly():
            # Logging makes this line's record here, in its request's green
            # thread: its context, thread and time are the request's.
            self.flush()
            self._log_through_logging(self._text(line))
            return
        if self._lock is not None:
            self._write_with_others(line)
            return
        pending = self._pending
        pending.append(line)
        if len(pending) >= MAX_PENDING_LINES:
            self.flush()
        elif not self._flush_deferred:
            self._flush_deferred = True
            self._defer(self._deferred_flush)

    def _deferred_flush(self):
        self._flush_deferred = False
        self.flush()

    def flush(self):
        """Write the lines waiting for a batch."""
        if self._lock is not None:
            self._write_with_others()
            return
        lines = self._pending
        if not lines:
            return
        # Before writing: a record made meanwhile (logging's own error
        # report, say) calls flush again.
        self._pending = []
        self._write(lines)

    def _write_with_others(self, line=None):
        """Add `line`; unless a thread is writing lines already, write them (and what comes meanwhile)."""
        lock = self._lock
        with lock:
            if line is not None:
                self._pending.append(line)
            if self._writing:
                return  # it takes this line along
            self._writing = True
        try:
            while True:
                with lock:
                    lines, self._pending = self._pending, []
                    if not lines:
                        self._writing = False
                        return
                self._write(lines)
        except BaseException:
            with lock:
                self._writing = False
            raise

    def _write(self, lines):
        texts = [(line[0], self._text(line)) for line in lines]
        if not self._direct.write(texts):
            # Logging's settings changed since these lines were made. This
            # green thread may be another request's: not its context.
            with direct_log.no_request_context():
                for moment, text in texts:
                    self._log_through_logging(text, moment)

    def _text(self, line):
        _, client_ip, client_port, request_line, status, length, seconds, date = line
        fields = {
            "client_ip": client_ip,
            "client_port": client_port,
            "request_line": request_line,
            "status_code": status,
            "body_length": length,
            "wall_seconds": seconds,
        }
        if date is not None:
            fields["date_time"] = date
        return self.log_format % fields

    def _log_through_logging(self, text, moment=None):
        logger = self.logger
        if self._caller is None:
            self._caller = _this_caller(logger)
        path, line_number, function = self._caller
        record = logger.makeRecord(logger.name, logging.INFO, path,
                                   line_number, text, (), None, function)
        if moment is not None:
            direct_log.set_record_time(record, moment)
        logger.handle(record)


def _this_caller(logger):
    """What Logger.info() would find as its caller in AccessLog._log_through_logging."""
    if logging._srcfile is None:
        return "(unknown file)", 0, "(unknown function)"
    path, line_number, function, _ = logger.findCaller(stacklevel=2)
    return path, line_number, function


def _log_date_time(now):
    """BaseHTTPRequestHandler.log_date_time_string()'s text for `now`."""
    year, month, day, hh, mm, ss, _, _, _ = time.localtime(now)
    return "%02d/%3s/%04d %02d:%02d:%02d" % (day, _MONTHS[month], year, hh, mm, ss)


log_date_time_string = memo.per_second_of_now(_log_date_time)
