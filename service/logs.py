"""Logging through oslo.log, shared by both sides of the fork (no eventlet here).

service-api sets up logging with oslo.log, then, in a worker, shows the
app's name in its own lines, keeps its lines with its own handlers, and
makes the timestamps of a busy access log cheaper. It changes formats and
formatters of its own handlers only, never records or an app's handlers.

Private parts of logging and oslo.log this module relies on, each because
no public way exists, and each with a test that fails if the library
changes it (tests/unit/test_logs.py):

- logging.Formatter._fmt, ._style and PercentStyle._defaults: a
  formatter's format and its defaults, to copy a %-style format with the
  app's name added (_stdlib_with_app_name) and to see whether a format
  shows the thread (_shows_no_thread).
- oslo.log's ContextFormatter._compute_iso_time(record): where its
  format() makes record.isotime for every record; replaced on the
  formatter instance by _IsoTime, which makes the same text once a second.
- logging.FileHandler._open() and WatchedFileHandler._statstream(): how
  those handlers open their file and remember which file it is, to reopen
  it in place after logrotate moved it (USR1).
- logging.Logger.manager.loggerDict (undocumented): every logger, to find
  the handlers log_config_append may have put on any of them.
"""

import datetime
import json
import logging
import logging.handlers
import math
import time

from dateutil import tz
from oslo_log import formatters
from oslo_log import log

from service import memo
from service.errors import ConfigError

PROJECT = "service-api"


def register_opts(conf):
    log.register_options(conf)


class OwnLogging:
    """service-api's own logging: the handlers and the conf logs.setup() made them from.

    Workers inherit it across the fork. An app may add or replace root
    handlers of its own later; those stay as the app made them, and
    nothing here touches them.
    """

    def __init__(self, handlers=(), conf=None):
        self.handlers = list(handlers)
        self.conf = conf

    def show_app_name(self, app_name):
        """In a worker: these handlers show '[app_name] ' before each message.

        Through their formats, never the records: an app's own handlers (a
        syslog handler of swift's, say) see its records as it made them, and
        a lazily translated message is never touched. Formats this module
        does not know are left as they are; the pid still tells the worker.
        """
        tag = f"[{app_name}] "
        # Handlers that share a formatter share its replacement; an oslo.log
        # format, changed in place, is tagged once.
        replaced = {}
        for handler in self.handlers:
            formatter = handler.formatter
            if id(formatter) not in replaced:
                replaced[id(formatter)] = _with_app_name(formatter, tag, self.conf)
            if replaced[id(formatter)] is not formatter:
                handler.setFormatter(replaced[id(formatter)])

    def reopen_files(self):
        """Reopen the log files, after logrotate moved them (USR1)."""
        for handler in self.handlers:
            if isinstance(handler, logging.FileHandler):
                _reopen(handler)

    def cache_timestamps(self):
        """Make each second's timestamp text once in the formatters of these handlers.

        oslo.log's formatter makes an ISO 8601 time and an asctime for every
        record (a strftime, a local time zone lookup): a busy worker's
        access log spends much of its time there. The text is the same, only
        made once a second; formatters that are not the standard ones are
        left alone.
        """
        for handler in self.handlers:
            _cache_timestamps(handler.formatter)


_own = OwnLogging()


def setup(conf):
    """oslo.log's setup from `conf`; ConfigError, in one line, when its log file cannot be opened."""
    global _own
    try:
        log.setup(conf, PROJECT)
    except OSError as exc:
        given = " ".join(f"--{name.replace('_', '-')} {conf[name]}"
                         for name in ("log_file", "log_dir") if conf[name])
        raise ConfigError(f"{given}: cannot open the log file {exc.filename}: "
                          f"{exc.strerror or exc}") from None
    _own = OwnLogging(_every_handler(), conf)


def is_set_up():
    return _own.conf is not None


def own():
    """service-api's own logging, as setup() made it."""
    return _own


def _with_app_name(formatter, tag, own_conf):
    """`formatter`, or one that shows `tag` before the message."""
    if formatter is None:
        return logging.Formatter(_tagged("%(message)s", tag))
    if type(formatter) is formatters.ContextFormatter:
        if formatter.conf is own_conf:
            _tag_oslo_formats(formatter.conf, tag)
        return formatter
    if type(formatter) is formatters.JSONFormatter:
        return _AppNamedJson(formatter, tag)
    if (type(formatter) is logging.Formatter
            and type(formatter._style) is logging.PercentStyle):
        return _stdlib_with_app_name(formatter, tag)
    return formatter


def _tag_oslo_formats(conf, tag):
    # service-api's own ConfigOpts: its values are ours to override.
    for name in ("logging_default_format_string",
                 "logging_context_format_string"):
        conf.set_override(name, _tagged(conf[name], tag))


def _stdlib_with_app_name(formatter, tag):
    """A copy of a %-style logging.Formatter, with `tag` before the message."""
    tagged = logging.Formatter(_tagged(formatter._fmt, tag), formatter.datefmt,
                               style="%", defaults=formatter._style._defaults)
    for attribute in ("converter", "default_time_format", "default_msec_format"):
        setattr(tagged, attribute, getattr(formatter, attribute))
    return tagged


def _tagged(fmt, tag):
    return fmt.replace("%(message)s", tag.replace("%", "%%") + "%(message)s", 1)


class _AppNamedJson(logging.Formatter):
    """oslo.log's JSON lines, with the app's tag before the message."""

    def __init__(self, formatter, tag):
        super().__init__()
        self._formatter = formatter
        self._tag = tag

    def format(self, record):
        document = json.loads(self._formatter.format(record))
        document["message"] = self._tag + str(document.get("message", ""))
        return json.dumps(document)


def keep_own_lines():
    """In a worker: service-api's own lines stay with its handlers, whatever the app does to the root logger.

    A service that sets up its own logging (nova and cinder in their WSGI
    entry) replaces the root logger's handlers; the access log and the
    worker's own lines then still go where the operator told service-api
    to log them, in its format.
    """
    ours = logging.getLogger("service")
    if ours.handlers or not ours.propagate:
        return  # log_config_append gave it handlers of its own
    for handler in logging.getLogger().handlers:
        ours.addHandler(handler)
    ours.propagate = False


def call_before_each_record(callback):
    """Call `callback()` before any log record of this process is made.

    A worker writes its access lines in batches: this writes a batch before
    any other line, so that the log keeps the order things happened in.
    """
    make_record = logging.getLogRecordFactory()

    def called_back(*args, **kwargs):
        callback()
        return make_record(*args, **kwargs)

    called_back.wrapped_factory = make_record
    logging.setLogRecordFactory(called_back)


def _reopen(handler):
    handler.acquire()
    try:
        if handler.stream:
            handler.stream.close()
        handler.stream = handler._open()
        if hasattr(handler, "_statstream"):
            # A WatchedFileHandler remembers which file it has open: else
            # it would take the new file for a moved one and open it again.
            handler._statstream()
    finally:
        handler.release()


def _cache_timestamps(formatter):
    if formatter is None:
        return
    if (isinstance(formatter, formatters.ContextFormatter)
            and hasattr(formatter, "_compute_iso_time")):
        formatter._compute_iso_time = _IsoTime()
    # Only logging's own formatTime, with a converter whose result changes
    # once a second: then the text does too.
    if (type(formatter).formatTime is logging.Formatter.formatTime
            and formatter.converter in (time.localtime, time.gmtime)):
        formatter.formatTime = _AscTime(formatter)


def skip_thread_names():
    """Stop naming the thread in each record when no handler's format shows it.

    Under eventlet, threading.current_thread() is a lookup through the green
    thread's wrapper: a third of what an access line costs. The record keeps
    every field a handler's format can show; only unseen ones are skipped.
    """
    if not may_show_threads(_every_handler()):
        logging.logThreads = False


def _every_handler():
    """The handlers of the root logger and of every other (log_config_append may set any)."""
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)]
    return [handler for logger in loggers for handler in logger.handlers]


def may_show_threads(handlers):
    """Whether any of `handlers` may show a record's thread or threadName."""
    return not handlers or not all(map(_shows_no_thread, handlers))


# Handlers that write the formatted line and nothing else of the record.
PLAIN_HANDLER_TYPES = (logging.StreamHandler, logging.FileHandler,
                       logging.handlers.WatchedFileHandler)


def _shows_no_thread(handler):
    if type(handler) is logging.NullHandler:
        return True  # libraries add these to their loggers: they show nothing
    if type(handler) not in PLAIN_HANDLER_TYPES or handler.filters:
        return False
    formatter = handler.formatter or logging.Formatter()
    if type(formatter) is formatters.ContextFormatter:
        conf = formatter.conf
        texts = [conf.logging_context_format_string,
                 conf.logging_default_format_string,
                 conf.logging_debug_format_suffix,
                 conf.logging_exception_prefix]
    elif type(formatter) is logging.Formatter:
        texts = [formatter._fmt]
    else:
        return False  # a JSON formatter, say: it may show anything
    return not any("thread" in (text or "") for text in texts)


class _IsoTime:
    """Sets record.isotime as oslo.log's ContextFormatter._compute_iso_time does.

    The text of the second (its date, time and UTC offset) is made once a
    second; only the microseconds are added for each record.
    """

    def __init__(self):
        self._second_text = memo.OncePerInterval(_iso_second_text)

    def __call__(self, record):
        created = record.created
        second, microsecond = _seconds_and_micros(created)
        whole, offset = self._second_text(second)
        # isoformat() leaves out a fraction of zero microseconds.
        fraction = ".%06d" % microsecond if microsecond else ""
        isotime = whole + fraction + offset
        if created == int(created):
            # oslo.log's own fix-up for whole timestamps, character for character.
            isotime = f"{isotime[:-6]}.000000{isotime[-6:]}"
        record.isotime = isotime


def _iso_second_text(second):
    """oslo.log's isotime for the whole `second`, split before its UTC offset."""
    text = (datetime.datetime.fromtimestamp(second)
            .replace(tzinfo=tz.tzlocal()).isoformat())
    return text[:19], text[19:]  # "YYYY-MM-DDTHH:MM:SS", "+HH:MM"


def _seconds_and_micros(timestamp):
    """The whole seconds and microseconds datetime.fromtimestamp() makes of `timestamp`."""
    fraction, whole = math.modf(timestamp)
    micros = round(fraction * 1e6)  # half to even, as datetime rounds
    if micros >= 1000000:
        micros -= 1000000
        whole += 1.0
    elif micros < 0:
        micros += 1000000
        whole -= 1.0
    return int(whole), micros


class _AscTime:
    """logging.Formatter.formatTime, with the strftime made once a second."""

    def __init__(self, formatter):
        self._formatter = formatter
        # time.localtime() and time.gmtime() round down to the second.
        self._second_text = memo.OncePerInterval(_strftime, interval=math.floor)

    def __call__(self, record, datefmt=None):
        formatter = self._formatter
        text = self._second_text(record.created,
                                 datefmt or formatter.default_time_format,
                                 formatter.converter)
        if datefmt or not formatter.default_msec_format:
            return text
        return formatter.default_msec_format % (text, record.msecs)


def _strftime(created, time_format, converter):
    return time.strftime(time_format, converter(created))
