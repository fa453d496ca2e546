"""A logger's INFO lines written straight to its handlers' streams, as logging would write them.

Through logging, a line costs a LogRecord (a dozen attributes, most never
shown), oslo.log's ContextFormatter (request context, instance, error
summary) and the handler: under eventlet about 25 µs, a quarter of what a
small request costs a worker. The access log writes one line per request.

When every handler that would see the logger's records is a plain stream or
file handler with no filter, and its format shows only what is the same for
every line of the logger (its name, level and pid) or follows from the time
and the message, the line is made from that format directly: the same text,
written the way those handlers write it. Anything else goes through logging
as before: a filter, a syslog, journal or JSON handler, a format that shows
the caller or the thread, and a line logged while a request context is set
in the green thread (oslo.log then adds its ids to the line). What logging
reads at each record to choose handlers is compared at each write (of one
line or a batch of them), so a handler added, removed or reconfigured later
is followed.

No eventlet here: lines are written in a worker, after the fork.
"""

import contextlib
import logging
import logging.handlers
import os
import select
import sys
import time

from oslo_context import context as oslo_context
from oslo_log import formatters

from service import logs

# What oslo.log's ContextFormatter sets to "" in a record without context.
_OSLO_BLANK_FIELDS = ("instance", "color", "user_identity", "resource",
                      "user_name", "project_name", "global_request_id")
# Fields a format may show that are made for each line.
_TIME_FIELDS = {"created", "msecs", "asctime"}
# The fields of a line that change at most once a millisecond, besides the
# message: asctime shows the second (and maybe the millisecond).
_MILLISECOND_FIELDS = {"msecs", "asctime", "message"}

# Python 3.13 made LogRecord take the time in nanoseconds.
_RECORD_TIME_IN_NS = sys.version_info >= (3, 13)


class DirectLog:
    """Writes INFO lines of one logger, unless logging must make the line."""

    def __init__(self, logger):
        self._logger = logger
        self._settings = None
        self._plan = None

    def write(self, lines):
        """Write INFO lines, each a (record_time(), message) pair; False when logging must write them all.

        Whether a request context is set is the caller's to check, when
        each line is made: lines are written later, maybe from another
        green thread.
        """
        if not self._logger.isEnabledFor(logging.INFO):
            return True
        plan = self._current_plan()
        if plan is None:
            return False
        return plan.write(lines)

    def writes_directly(self):
        """Whether lines are written directly, as far as the last look at logging's settings tells.

        Where they are, settings are looked at again only when lines are
        written (write()): cheaper, for choosing line by line between
        writing later and handing to logging now. Where they are not, at
        every call, so that lines go back to direct writes as soon as the
        settings allow.
        """
        if self._plan is None:
            self._current_plan()
        return self._plan is not None

    def _current_plan(self):
        logger = self._logger
        settings = _logging_settings(logger)
        if settings != self._settings:
            self._settings = settings
            self._plan = _plan_for(logger)
        return self._plan


def has_request_context():
    """Whether oslo.context has a request context for this green thread: oslo.log then adds its ids to a line."""
    return oslo_context.get_current() is not None


@contextlib.contextmanager
def no_request_context():
    """Log without the running green thread's request context (a line made for another request)."""
    store = oslo_context._request_store
    context = getattr(store, "context", None)
    if context is None:
        yield
        return
    del store.context
    try:
        yield
    finally:
        store.context = context


class _Plan:
    """How the lines of one logger are made and written, for logging's settings of the moment."""

    def __init__(self, handler_lines):
        self._lines = handler_lines

    def write(self, lines):
        messages = [message for _, message in lines]
        moments = [moment for moment, _ in lines]
        try:
            texts = [[line.render(created, msecs, message)
                      for (created, msecs), message in zip(moments, messages)]
                     for line in self._lines]
        except Exception:
            return False  # logging reports, or copes with, the format's failure
        for line, line_texts in zip(self._lines, texts):
            line.write(line_texts, messages)
        return True


def _plan_for(logger):
    """A _Plan for `logger` when its lines can skip logging; else None."""
    try:
        if logger.filters or not _record_factory_is_known():
            return None
        handlers = _handlers_for_info(logger)
        if not handlers:
            return None  # logging's last resort handler, or nothing
        lines = [_HandlerLine.for_handler(handler, logger.name)
                 for handler in handlers]
    except Exception:
        return None  # an odd formatter, say: logging knows what to do with it
    if None in lines:
        return None
    return _Plan(lines)


def _logging_settings(logger):
    """What logging reads, for each record of `logger`, to choose who writes it and how."""
    settings = [logging.getLogRecordFactory(), logging.logProcesses,
                logging.getLevelName(logging.INFO), logger.filters[:]]
    current = logger
    while current:
        for handler in current.handlers:
            settings.append((handler, handler.level, handler.formatter,
                             handler.filters[:]))
        if not current.propagate:
            break
        current = current.parent
    return settings


class _Moment:
    """The part of a record that formatTime() and oslo.log's iso time read and write."""

    __slots__ = ("created", "msecs", "isotime")

    def __init__(self, created, msecs):
        self.created = created
        self.msecs = msecs


class _HandlerLine:
    """One handler's format, with what never changes filled in."""

    def __init__(self, handler, fmt, constants, fields):
        self._handler = handler
        self._formatter = handler.formatter
        self._fmt = fmt
        self._constants = constants
        self._asctime = "asctime" in fields
        self._isotime = "isotime" in fields
        self._reopens = isinstance(handler, logging.handlers.WatchedFileHandler)
        self._opens = isinstance(handler, logging.FileHandler)
        # Where the line is the same text around the message for a whole
        # millisecond (as in oslo.log's default format), that text is made
        # once a millisecond.
        self._per_millisecond = (fields <= set(constants) | _MILLISECOND_FIELDS
                                 and self._shows_message_as_is())
        self._moment = None
        self._around = ("", "")

    def _shows_message_as_is(self):
        """Whether the format shows the message once, neither cut, padded nor quoted."""
        try:
            short = self._render(0.0, 0.0, "\x00")
            long = self._render(0.0, 0.0, "\x00" + "m" * 100 + "\x00")
        except Exception:
            return False
        before, found, after = short.partition("\x00")
        return (bool(found) and "\x00" not in after
                and long == before + "\x00" + "m" * 100 + "\x00" + after)

    @classmethod
    def for_handler(cls, handler, logger_name):
        """None unless the handler and its format are ones this module renders exactly."""
        if type(handler) not in logs.PLAIN_HANDLER_TYPES or handler.filters:
            return None
        constants = {"name": logger_name,
                     "levelname": logging.getLevelName(logging.INFO),
                     "levelno": logging.INFO,
                     "process": os.getpid() if logging.logProcesses else None}
        formatter = handler.formatter
        if type(formatter) is formatters.ContextFormatter:
            fmt, more_constants, more_fields = _oslo_format(formatter)
        elif type(formatter) is logging.Formatter:
            fmt, more_constants, more_fields = _stdlib_format(formatter)
        else:
            return None  # no formatter, or one that may add anything
        if fmt is None:
            return None
        constants.update(more_constants)
        fields = _fields_shown(fmt)
        supported = set(constants) | {"message"} | _TIME_FIELDS | more_fields
        if fields is None or not fields <= supported:
            return None
        return cls(handler, fmt, constants, fields)

    def render(self, created, msecs, message):
        if not self._per_millisecond:
            return self._render(created, msecs, message)
        formatter = self._formatter
        # What the text around the message follows from: the second and
        # millisecond, and the formatter's time settings.
        moment = (created // 1, msecs, formatter.datefmt, formatter.converter,
                  formatter.default_time_format, formatter.default_msec_format)
        if moment != self._moment:
            before, _, after = self._render(created, msecs, "\x00").partition("\x00")
            self._around = (before, after)
            self._moment = moment
        before, after = self._around
        return before + message + after

    def _render(self, created, msecs, message):
        values = dict(self._constants, created=created, msecs=msecs,
                      message=message)
        if self._asctime or self._isotime:
            moment = _Moment(created, msecs)
            if self._asctime:
                values["asctime"] = self._formatter.formatTime(
                    moment, self._formatter.datefmt)
            if self._isotime:
                self._formatter._compute_iso_time(moment)
                values["isotime"] = moment.isotime
        return self._fmt % values

    def write(self, texts, messages):
        """What Handler.handle() and the plain handlers' emit() do with formatted lines, in few writes."""
        handler = self._handler
        handler.acquire()
        try:
            if self._reopens:
                handler.reopenIfNeeded()
            if self._opens and handler.stream is None:
                if handler.mode != "w" or not handler._closed:
                    handler.stream = handler._open()
                if handler.stream is None:
                    return
            stream = handler.stream
            terminator = handler.terminator
            flush = getattr(stream, "flush", None)
            for piece in _whole_line_pieces([text + terminator for text in texts]):
                stream.write(piece)
                # StreamHandler.flush(), without taking the lock again.
                if flush is not None:
                    flush()
        except RecursionError:
            raise
        except Exception:
            # As logging reports a failed emit, once per line (not through
            # the record factory: that would flush the batch being written).
            for message in messages:
                handler.handleError(logging.LogRecord(
                    self._constants["name"], logging.INFO, __file__, 0,
                    message, (), None))
        finally:
            handler.release()


def _whole_line_pieces(lines):
    """`lines` joined into pieces of at most PIPE_BUF bytes (a longer line alone).

    Workers share their standard output: a pipe (a container's log, a
    supervisor), or journald's socket. One write of up to PIPE_BUF bytes
    reaches a pipe whole; a longer one can be split by other processes'
    writes, in the middle of a line.
    """
    pieces = []
    piece = []
    size = 0
    for line in lines:
        # Most lines are ASCII: a character is a byte. Others are sized by
        # their UTF-8 bytes, the widest common encoding.
        line_size = len(line) if line.isascii() else len(line.encode("utf-8", "replace"))
        if piece and size + line_size > select.PIPE_BUF:
            pieces.append("".join(piece))
            piece = []
            size = 0
        piece.append(line)
        size += line_size
    if piece:
        pieces.append("".join(piece))
    return pieces


def _oslo_format(formatter):
    """ContextFormatter's format, constants and extra fields, for an INFO record without context."""
    constants = dict.fromkeys(_OSLO_BLANK_FIELDS, "")
    constants.update(project=formatter.project, version=formatter.version)
    return (formatter.conf.logging_default_format_string, constants,
            {"isotime"})


def _stdlib_format(formatter):
    """logging.Formatter's %-style format; None for other styles or with defaults."""
    style = formatter._style
    if type(style) is not logging.PercentStyle or style._defaults:
        return None, {}, set()
    return formatter._fmt, {}, set()


class _FieldRecorder(dict):
    def __init__(self):
        super().__init__()
        self.used = set()

    def __missing__(self, key):
        self.used.add(key)
        return 0


def _fields_shown(fmt):
    """The record fields a %-style format shows; None when it cannot be told."""
    recorder = _FieldRecorder()
    try:
        fmt % recorder
    except Exception:
        return None
    return recorder.used


def _handlers_for_info(logger):
    """The handlers Logger.callHandlers() would give an INFO record of `logger`."""
    handlers = []
    current = logger
    while current:
        handlers += [handler for handler in current.handlers
                     if logging.INFO >= handler.level]
        if not current.propagate:
            break
        current = current.parent
    return handlers


def _record_factory_is_known():
    """Whether records are plain LogRecords, maybe wrapped by service.logs.call_before_each_record()."""
    factory = logging.getLogRecordFactory()
    while factory is not logging.LogRecord:
        factory = getattr(factory, "wrapped_factory", None)
        if factory is None:
            return False
    return True


def record_time():
    """LogRecord's created and msecs for now, made the way this Python's LogRecord makes them."""
    if _RECORD_TIME_IN_NS:
        return _time_from_ns(time.time_ns())
    return _time_from_seconds(time.time())


def set_record_time(record, moment):
    """Give a record the time `moment` (a record_time()) in place of the time it was made."""
    created, msecs = moment
    record.created = created
    record.msecs = msecs
    started = logging._startTime / 1e9 if _RECORD_TIME_IN_NS else logging._startTime
    record.relativeCreated = (created - started) * 1000


def _time_from_seconds(now):
    # Python 3.12 and before.
    return now, int((now - int(now)) * 1000) + 0.0


def _time_from_ns(now):
    # Python 3.13 on.
    created = now / 1e9
    msecs = (now % 1_000_000_000) // 1_000_000 + 0.0
    if msecs == 999.0 and int(created) != now // 1_000_000_000:
        msecs = 0.0  # the conversion to seconds rounded up to the next second
    return created, msecs
