"""service.logs: timestamps made once a second read exactly as oslo.log makes them."""

import logging
import logging.handlers
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


def test_whole_lines_are_the_same(formatter_pair):
    plain, cached = formatter_pair
    for created in _timestamps()[::50]:
        assert cached.format(_record(created)) == plain.format(_record(created))


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
