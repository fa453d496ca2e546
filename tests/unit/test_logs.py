"""service.logs: timestamps made once a second read exactly as oslo.log makes them; what it takes from logging's insides still works."""

import logging
import logging.handlers
import os
import random
import subprocess
import sys
import textwrap
import time

import pytest
from oslo_log import formatters

from service import logs
from tests.unit.logging_helpers import cache_timestamps_of
from tests.unit.logging_helpers import oslo_log_conf


@pytest.fixture
def formatter_pair():
    """An oslo.log formatter as configured, and one after cache_timestamps()."""
    conf = oslo_log_conf()
    plain = formatters.ContextFormatter(config=conf, datefmt=conf.log_date_format)
    cached = formatters.ContextFormatter(config=conf, datefmt=conf.log_date_format)
    handler = logging.NullHandler()
    handler.setFormatter(cached)
    cache_timestamps_of(handler)
    return plain, cached


def _timestamps():
    rng = random.Random(7)
    now = time.time()
    stamps = [now + rng.uniform(-40_000_000, 40_000_000) for _ in range(20000)]
    for _ in range(300):
        second = int(now) + rng.randint(-40_000_000, 40_000_000)
        # Whole seconds, and fractions that round to the next second or to 0 µs.
        stamps += [second + fraction for fraction in (
            0.0, 0.9999995, 0.9999994, 0.9999996, 0.0000005, 0.0000004,
            0.0000015, 1e-9, 0.5, 0.9999999999)]
    return sorted(stamps)


def _record(created):
    record = logging.LogRecord("service.access", logging.INFO, __file__, 1,
                               "a line", (), None)
    record.created = created
    record.msecs = int((created - int(created)) * 1000)
    return record


def test_cached_timestamps_are_the_same_text(formatter_pair):
    plain, cached = formatter_pair
    for created in _timestamps():
        expected, actual = _record(created), _record(created)
        plain._compute_iso_time(expected)
        cached._compute_iso_time(actual)
        assert actual.isotime == expected.isotime, created
        assert (cached.formatTime(actual, cached.datefmt)
                == plain.formatTime(expected, plain.datefmt)), created
        assert cached.formatTime(actual) == plain.formatTime(expected), created


def test_cached_asctime_follows_the_formatters_time_settings(formatter_pair):
    # Within one second: only a change of setting makes new text.
    plain, cached = formatter_pair
    created = 1_700_000_000.5

    def an_hour_later(seconds):
        return time.localtime(seconds + 3600)
    # Consecutive calls differ in one setting at most.
    for datefmt in (None, "%H:%M:%S", "%H:%M:%S", "%Y"):
        for converter in (time.localtime, an_hour_later, time.localtime):
            for formatter in (plain, cached):
                formatter.converter = converter
            assert (cached.formatTime(_record(created), datefmt)
                    == plain.formatTime(_record(created), datefmt)), (converter, datefmt)


def test_whole_lines_are_the_same(formatter_pair):
    plain, cached = formatter_pair
    for created in _timestamps()[::50]:
        assert cached.format(_record(created)) == plain.format(_record(created))


def test_oslo_logs_formatter_makes_its_timestamps_through_the_cached_ones(formatter_pair):
    # The cache replaces ContextFormatter._compute_iso_time on the instance:
    # this fails if oslo.log renames it or stops calling it in format(),
    # where equal lines alone would not show that the cache went unused.
    _, cached = formatter_pair
    assert isinstance(cached._compute_iso_time, logs._IsoTime)
    assert isinstance(cached.formatTime, logs._AscTime)
    calls = []
    _spy(cached, "_compute_iso_time", calls)
    _spy(cached, "formatTime", calls)
    cached.format(_record(time.time()))
    assert sorted(set(calls)) == ["_compute_iso_time", "formatTime"]


def _spy(instance, name, calls):
    """Note in `calls` each call of the instance's attribute `name`."""
    real = getattr(instance, name)

    def spied(*args):
        calls.append(name)
        return real(*args)
    setattr(instance, name, spied)


def test_stdlib_formats_show_the_app_name_and_nothing_else_changes():
    # _stdlib_with_app_name copies the format, style defaults and time
    # settings out of logging.Formatter's private _fmt and _style.
    original = logging.Formatter(
        "%(asctime)s %(levelname)s %(where)s: %(message)s",
        defaults={"where": "here"})
    original.converter = time.gmtime
    original.default_msec_format = "%s,%03d!"
    handler = _handler(original)
    logs.OwnLogging([handler]).show_app_name("home")
    assert handler.formatter is not original
    record = _record(1_700_000_000.25)
    assert handler.formatter.format(record) == original.format(record).replace(
        "here: ", "here: [home] ")


@pytest.mark.parametrize("handler_type", [
    logging.FileHandler, logging.handlers.WatchedFileHandler])
def test_reopened_log_files_are_the_new_files(tmp_path, handler_type):
    # Through FileHandler._open() and, for a watched file,
    # WatchedFileHandler._statstream(): without it the handler would take
    # its new file for a moved one and open it once more.
    path = tmp_path / "svc.log"
    handler = _handler(logging.Formatter("%(message)s"), handler_type, path)
    try:
        handler.emit(_record(time.time()))
        os.rename(path, tmp_path / "svc.log.1")
        logs.OwnLogging([handler]).reopen_files()
        assert path.exists()
        if handler_type is logging.handlers.WatchedFileHandler:
            stat = os.stat(path)
            assert (handler.dev, handler.ino) == (stat.st_dev, stat.st_ino)
        handler.emit(_record(time.time()))
    finally:
        handler.close()
    assert path.read_text() == (tmp_path / "svc.log.1").read_text() == "a line\n"


def test_every_handler_is_found_on_any_logger():
    # Through logging.Logger.manager.loggerDict, where log_config_append's
    # loggers are.
    handler = logging.NullHandler()
    logger = logging.getLogger("test.logs.every_handler")
    logger.addHandler(handler)
    try:
        assert any(found is handler for found in logs._every_handler())
    finally:
        logger.removeHandler(handler)


def _handler(formatter, handler_type=logging.StreamHandler, *args):
    handler = handler_type(*args)
    handler.setFormatter(formatter)
    return handler


def test_thread_names_are_skipped_when_oslo_formats_do_not_show_them():
    handlers = [_handler(formatters.ContextFormatter(config=oslo_log_conf())),
                _handler(logging.Formatter("%(asctime)s %(message)s"),
                         logging.FileHandler, "/dev/null"),
                # What libraries put on their own loggers: it shows nothing.
                logging.NullHandler()]
    assert not logs.may_show_threads(handlers)


def test_thread_names_are_skipped_with_the_daemons_default_logging():
    # In a fresh interpreter: this one has pytest's handlers. Every handler
    # that the default set-up and the worker's imports install must count.
    script = textwrap.dedent("""
        import logging
        from oslo_config import cfg
        from service import logs
        from service.worker import app_server as server
        logs.register_opts(cfg.CONF)
        cfg.CONF([], project="service-api")
        logs.setup(cfg.CONF)
        print([type(h).__name__ for h in logs._every_handler()])
        print(logs.may_show_threads(logs._every_handler()))
    """)
    result = subprocess.run([sys.executable, "-c", script], check=True,
                            capture_output=True, text=True)
    handlers, shown = result.stdout.splitlines()
    assert "StreamHandler" in handlers
    assert shown == "False", handlers


@pytest.mark.parametrize("formatter", [
    lambda: formatters.ContextFormatter(config=oslo_log_conf(
        logging_default_format_string="%(threadName)s %(message)s")),
    lambda: formatters.ContextFormatter(config=oslo_log_conf(
        logging_debug_format_suffix="%(thread)d")),
    lambda: logging.Formatter("%(asctime)s %(threadName)s %(message)s"),
    lambda: formatters.JSONFormatter(),
], ids=["oslo-default-format", "oslo-debug-suffix", "stdlib-format", "json"])
def test_thread_names_are_kept_when_a_format_may_show_them(formatter):
    handlers = [_handler(formatters.ContextFormatter(config=oslo_log_conf())),
                _handler(formatter())]
    assert logs.may_show_threads(handlers)


def test_thread_names_are_kept_for_handlers_that_see_whole_records():
    # A syslog or journal handler, or a filter, may use any field of the record.
    assert logs.may_show_threads([_handler(
        formatters.ContextFormatter(config=oslo_log_conf()),
        logging.handlers.MemoryHandler, 10)])
    filtered = _handler(logging.Formatter("%(message)s"))
    filtered.addFilter(lambda record: True)
    assert logs.may_show_threads([filtered])
