"""service.direct_log: lines written without logging read exactly as logging writes them."""

import io
import logging
import logging.handlers
import os
import random
import time
import uuid

import pytest
from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_log import formatters
from oslo_log import log

from service import direct_log
from service import logs

MESSAGE = '192.0.2.7 "GET /a%20b?c=%d HTTP/1.1" status: 200 len: 14 time: 0.0001'


def _oslo_formatter(**overrides):
    conf = cfg.ConfigOpts()
    log.register_options(conf)
    conf([])
    for name, value in overrides.items():
        conf.set_override(name, value)
    return formatters.ContextFormatter(config=conf, project="service-api",
                                       version="1.2",
                                       datefmt=conf.log_date_format)


FORMATTERS = {
    "oslo-default": _oslo_formatter,
    "oslo-every-field-it-renders": lambda: _oslo_formatter(
        logging_default_format_string=(
            "%(isotime)s|%(asctime)s|%(msecs)03d|%(created)f|%(process)d|"
            "%(levelname)s|%(levelno)d|%(name)s|%(project)s|%(version)s|"
            "%(instance)s|%(color)s|%(user_identity)s|%(resource)s|"
            "%(user_name)s|%(project_name)s|%(global_request_id)s|%(message)s")),
    "stdlib": lambda: logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s"),
    "stdlib-datefmt": lambda: logging.Formatter(
        "[%(asctime)s] %(message)s", datefmt="%d/%b/%Y %H:%M:%S"),
}


def _new_logger(parent=None):
    # Not registered with logging.getLogger(): pytest would add its capture
    # handlers to it.
    logger = logging.Logger("test.direct_log." + uuid.uuid4().hex, logging.INFO)
    logger.parent = parent
    logger.propagate = parent is not None
    return logger


@pytest.fixture
def logger():
    """A logger of its own, its handlers closed afterwards, and the record factory restored."""
    factory = logging.getLogRecordFactory()
    logger = _new_logger()
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logging.setLogRecordFactory(factory)


def _stream_handler(logger, formatter):
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    return handler


def _take(stream):
    text = stream.getvalue()
    stream.seek(0)
    stream.truncate()
    return text


def _moments():
    rng = random.Random(5)
    now = time.time()
    moments = [now + rng.uniform(-3e7, 3e7) for _ in range(300)]
    # Whole seconds and the edges of a millisecond.
    moments += [int(now) + fraction for fraction in (0.0, 0.0005, 0.9995, 0.999999)]
    return moments


@pytest.mark.parametrize("make_formatter", FORMATTERS.values(), ids=FORMATTERS)
@pytest.mark.parametrize("cached_timestamps", [False, True], ids=["", "cached"])
@pytest.mark.parametrize("tag", [None, "[home] "], ids=["", "tagged"])
def test_lines_are_what_logging_writes(logger, monkeypatch, make_formatter,
                                       cached_timestamps, tag):
    handler = _stream_handler(logger, make_formatter())
    if cached_timestamps:
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            logs.cache_timestamps()
        finally:
            root.removeHandler(handler)
    if tag:
        logs.tag_records(tag)
    writer = direct_log.direct_writer(logger)
    assert writer is not None
    for moment in _moments():
        monkeypatch.setattr(time, "time", lambda: moment)
        monkeypatch.setattr(time, "time_ns", lambda: int(moment * 1e9))
        assert writer.info(MESSAGE)
        direct = _take(handler.stream)
        logger.info(MESSAGE)
        assert direct == _take(handler.stream), moment


def test_every_handler_that_sees_the_line_gets_it():
    parent = _new_logger()
    logger = _new_logger(parent)
    first = _stream_handler(logger, logging.Formatter("1 %(message)s"))
    upper = _stream_handler(parent, logging.Formatter("2 %(message)s"))
    quiet = _stream_handler(parent, logging.Formatter("3 %(message)s"))
    quiet.setLevel(logging.WARNING)
    assert direct_log.direct_writer(logger).info("hello")
    assert (_take(first.stream), _take(upper.stream), _take(quiet.stream)) == (
        "1 hello\n", "2 hello\n", "")
    logger.propagate = False
    assert direct_log.direct_writer(logger).info("again")
    assert (_take(first.stream), _take(upper.stream)) == ("1 again\n", "")


def test_file_handlers_write_and_follow_a_rotated_file(logger, tmp_path):
    path = tmp_path / "access.log"
    handler = logging.handlers.WatchedFileHandler(path)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logger.addHandler(handler)
    writer = direct_log.direct_writer(logger)
    assert writer.info("one")
    os.rename(path, tmp_path / "access.log.1")
    assert writer.info("two")
    assert (tmp_path / "access.log.1").read_text() == f"{logger.name} one\n"
    assert path.read_text() == f"{logger.name} two\n"


def test_delayed_file_handler_opens_its_file(logger, tmp_path):
    path = tmp_path / "access.log"
    handler = logging.FileHandler(path, delay=True)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    assert direct_log.direct_writer(logger).info("one")
    assert path.read_text() == "one\n"


def test_a_line_logged_with_a_request_context_goes_through_logging(logger, monkeypatch):
    handler = _stream_handler(logger, _oslo_formatter())
    writer = direct_log.direct_writer(logger)
    # None set now; undo() removes the one set next, as an app's
    # middleware sets it in the request's green thread.
    monkeypatch.setattr(oslo_context._request_store, "context", None,
                        raising=False)
    oslo_context.RequestContext(request_id="req-1234", overwrite=True)
    assert not writer.info(MESSAGE)
    assert _take(handler.stream) == ""
    logger.info(MESSAGE)
    assert "req-1234" in _take(handler.stream)  # what logging makes of it
    monkeypatch.undo()
    assert writer.info(MESSAGE)
    assert "req-1234" not in _take(handler.stream)


def test_a_line_the_format_cannot_render_goes_through_logging(logger):
    handler = _stream_handler(logger, logging.Formatter("%(message)d"))
    assert not direct_log.direct_writer(logger).info("not a number")
    assert _take(handler.stream) == ""


def test_a_disabled_logger_writes_nothing(logger):
    handler = _stream_handler(logger, logging.Formatter("%(message)s"))
    writer = direct_log.direct_writer(logger)
    logger.disabled = True
    assert writer.info("hello")
    assert _take(handler.stream) == ""


class _Filter(logging.Filter):
    pass


def _no_handlers(logger):
    pass


def _logger_filter(logger):
    _stream_handler(logger, logging.Formatter("%(message)s"))
    logger.addFilter(_Filter())


def _handler_filter(logger):
    _stream_handler(logger, logging.Formatter("%(message)s")).addFilter(_Filter())


def _handler_of(handler_type, formatter):
    def add(logger):
        handler = handler_type()
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    return add


def _custom_record_factory(logger):
    _stream_handler(logger, logging.Formatter("%(message)s"))
    logging.setLogRecordFactory(lambda *args, **kwargs: logging.LogRecord(*args, **kwargs))


@pytest.mark.parametrize("set_up", [
    _no_handlers,
    _logger_filter,
    _handler_filter,
    _handler_of(lambda: logging.handlers.MemoryHandler(10),
                logging.Formatter("%(message)s")),
    _handler_of(logging.NullHandler, logging.Formatter("%(message)s")),
    _handler_of(logging.StreamHandler, None),
    _handler_of(logging.StreamHandler, formatters.JSONFormatter()),
    _handler_of(logging.StreamHandler, logging.Formatter("%(funcName)s %(message)s")),
    _handler_of(logging.StreamHandler, logging.Formatter("%(threadName)s %(message)s")),
    _handler_of(logging.StreamHandler, logging.Formatter("{message}", style="{")),
    _handler_of(logging.StreamHandler, _oslo_formatter(
        logging_default_format_string="%(relativeCreated)d %(message)s")),
    _custom_record_factory,
], ids=["no-handlers", "logger-filter", "handler-filter", "memory-handler",
        "null-handler", "no-formatter", "json", "caller", "thread",
        "brace-style", "relative-time", "custom-record-factory"])
def test_lines_go_through_logging_where_their_text_may_differ(logger, set_up):
    set_up(logger)
    assert direct_log.direct_writer(logger) is None


def test_record_time_is_logrecords(monkeypatch):
    for moment in _moments():
        monkeypatch.setattr(time, "time", lambda: moment)
        monkeypatch.setattr(time, "time_ns", lambda: int(moment * 1e9))
        record = logging.LogRecord("x", logging.INFO, "", 0, "", (), None)
        assert direct_log._record_time() == (record.created, record.msecs)


@pytest.mark.parametrize("fmt, fields", [
    ("%(asctime)s %(message)s", {"asctime", "message"}),
    ("%%(asctime)s %(msecs)03d", {"msecs"}),
    ("no fields", set()),
    ("%(message)", None),
])
def test_fields_shown(fmt, fields):
    assert direct_log.fields_shown(fmt) == fields
