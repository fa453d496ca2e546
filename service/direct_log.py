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
in the green thread (oslo.log then adds its ids to the line).

No eventlet here: the writer is made in a worker, after the fork.
"""

import logging
import logging.handlers
import os
import sys
import time

from oslo_context import context as oslo_context
from oslo_log import formatters

_PLAIN_HANDLERS = (logging.StreamHandler, logging.FileHandler,
                   logging.handlers.WatchedFileHandler)

# What oslo.log's ContextFormatter sets to "" in a record without context.
_OSLO_BLANK_FIELDS = ("instance", "color", "user_identity", "resource",
                      "user_name", "project_name", "global_request_id")
# Fields a format may show that are made for each line.
_TIME_FIELDS = ("created", "msecs", "asctime")
_OSLO_TIME_FIELDS = ("isotime",)

# Python 3.13 made LogRecord take the time in nanoseconds.
_RECORD_TIME_IN_NS = sys.version_info >= (3, 13)


def direct_writer(logger):
    """A DirectLog for `logger` when its lines can skip logging; else None."""
    if logger.filters or not _record_factory_is_known():
        return None
    handlers = _handlers_for_info(logger)
    if not handlers:
        return None  # logging's last resort handler, or nothing
    lines = [_HandlerLine.for_handler(handler, logger.name)
             for handler in handlers]
    if None in lines:
        return None
    message_prefix = _message_prefix(logger.name)
    if message_prefix is None:
        return None
    return DirectLog(logger, lines, message_prefix)


class DirectLog:
    """Writes INFO lines of one logger, unless logging must make the line."""

    def __init__(self, logger, handler_lines, message_prefix):
        self._logger = logger
        self._lines = handler_lines
        self._message_prefix = message_prefix

    def info(self, message):
        """Write `message` as an INFO line; False when it must go through logging instead."""
        if self._logger.disabled:
            return True
        if oslo_context.get_current():
            return False
        created, msecs = _record_time()
        message = self._message_prefix + message
        try:
            texts = [line.render(created, msecs, message) for line in self._lines]
        except Exception:
            return False  # logging reports, or copes with, the format's failure
        for line, text in zip(self._lines, texts):
            line.write(text, self._logger, message)
        return True


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

    @classmethod
    def for_handler(cls, handler, logger_name):
        """None unless the handler and its format are ones this module renders exactly."""
        if type(handler) not in _PLAIN_HANDLERS or handler.filters:
            return None
        formatter = handler.formatter
        constants = {"name": logger_name,
                     "levelname": logging.getLevelName(logging.INFO),
                     "levelno": logging.INFO,
                     "process": os.getpid() if logging.logProcesses else None}
        supported = set(constants) | {"message"} | set(_TIME_FIELDS)
        if type(formatter) is formatters.ContextFormatter:
            fmt = formatter.conf.logging_default_format_string
            constants.update(dict.fromkeys(_OSLO_BLANK_FIELDS, ""),
                             project=formatter.project,
                             version=formatter.version)
            supported |= set(constants) | set(_OSLO_TIME_FIELDS)
        elif (type(formatter) is logging.Formatter
              and type(formatter._style) is logging.PercentStyle
              and not formatter._style._defaults):
            fmt = formatter._fmt
        else:
            return None  # no formatter, or one that may add anything
        fields = fields_shown(fmt)
        if fields is None or not fields <= supported:
            return None
        return cls(handler, fmt, constants, fields)

    def render(self, created, msecs, message):
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

    def write(self, text, logger, message):
        """What Handler.handle() and the plain handlers' emit() do with a formatted line."""
        handler = self._handler
        handler.acquire()
        try:
            if isinstance(handler, logging.handlers.WatchedFileHandler):
                handler.reopenIfNeeded()
            if isinstance(handler, logging.FileHandler) and handler.stream is None:
                if handler.mode != "w" or not handler._closed:
                    handler.stream = handler._open()
                if handler.stream is None:
                    return
            stream = handler.stream
            stream.write(text + handler.terminator)
            # StreamHandler.flush(), without taking the lock again.
            if hasattr(stream, "flush"):
                stream.flush()
        except RecursionError:
            raise
        except Exception:
            handler.handleError(logger.makeRecord(
                logger.name, logging.INFO, "(unknown file)", 0, message, (), None))
        finally:
            handler.release()


class _FieldRecorder(dict):
    def __init__(self):
        super().__init__()
        self.used = set()

    def __missing__(self, key):
        self.used.add(key)
        return 0


def fields_shown(fmt):
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
    factory = logging.getLogRecordFactory()
    # service.logs.tag_records() wraps the plain factory to prefix messages.
    return factory is logging.LogRecord or factory.__module__ == "service.logs"


def _message_prefix(logger_name):
    """What the record factory puts before a message (service.logs' app tag), or None."""
    marker = "\x00"
    probe = logging.getLogRecordFactory()(
        logger_name, logging.INFO, "", 0, marker, (), None)
    message = probe.getMessage()
    prefix, found, suffix = message.partition(marker)
    if not found or suffix:
        return None
    return prefix


def _record_time():
    """LogRecord's created and msecs for now, made the way this Python's LogRecord makes them."""
    if _RECORD_TIME_IN_NS:
        now = time.time_ns()
        return now / 1e9, (now % 1_000_000_000) // 1_000_000 + 0.0
    now = time.time()
    return now, int((now - int(now)) * 1000) + 0.0
