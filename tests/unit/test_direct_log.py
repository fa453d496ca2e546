"""service.direct_log: lines written without logging read exactly as logging writes them."""

import io
import logging
import logging.handlers
import os
import random
import select
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from oslo_config import cfg
from oslo_context import context as oslo_context
from oslo_log import formatters

from service import direct_log
from service import logs
from tests.unit.logging_helpers import cache_timestamps_of
from tests.unit.logging_helpers import oslo_log_conf

MESSAGE = '192.0.2.7 "GET /a%20b?c=%d HTTP/1.1" status: 200 len: 14 time: 0.0001'


def _oslo_formatter(**overrides):
    conf = oslo_log_conf(**overrides)
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
    # The message cut, quoted, shown twice, or followed by text.
    "message-cut": lambda: logging.Formatter("%(asctime)s %(message).20s"),
    "message-quoted": lambda: logging.Formatter("%(asctime)s %(message)r"),
    "message-twice": lambda: logging.Formatter("%(message)s|%(message)s"),
    "message-inside": lambda: logging.Formatter(
        "%(asctime)s <%(message)s> %(msecs)d"),
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


def _show_app_name(handler):
    """What a worker does to service-api's handlers: '[home] ' before every message."""
    own_conf = getattr(handler.formatter, "conf", None)
    logs.OwnLogging([handler], own_conf).show_app_name("home")


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
    # Lines within one millisecond, and the same millisecond a second later.
    moments += [int(now) + 0.25, int(now) + 0.25, int(now) + 0.2504,
                int(now) + 1.2504, int(now) + 0.2504]
    return moments


def _write_now(writer, message):
    """Write one line at once: a batch of one, made now."""
    return writer.write([(direct_log.record_time(), message)])


def _same_lines(logger, writer, read_new_text, moments):
    """Log each moment's line directly, then through logging; the texts must be equal."""
    for number, moment in enumerate(moments):
        message = f"{MESSAGE} #{number}"  # a new one for every line
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(time, "time", lambda: moment)
            patch.setattr(time, "time_ns", lambda: int(moment * 1e9))
            assert _write_now(writer, message)
            direct = read_new_text()
            logger.info(message)
            assert direct == read_new_text(), moment


@pytest.mark.parametrize("make_formatter", FORMATTERS.values(), ids=FORMATTERS)
@pytest.mark.parametrize("cached_timestamps", [False, True], ids=["", "cached"])
@pytest.mark.parametrize("tag", [None, "[home] "], ids=["", "tagged"])
def test_lines_are_what_logging_writes(logger, make_formatter,
                                       cached_timestamps, tag):
    handler = _stream_handler(logger, make_formatter())
    if cached_timestamps:
        cache_timestamps_of(handler)
    if tag:
        _show_app_name(handler)
    _same_lines(logger, direct_log.DirectLog(logger),
                lambda: _take(handler.stream), _moments())


@pytest.mark.parametrize("make_formatter", FORMATTERS.values(), ids=FORMATTERS)
def test_a_batch_of_lines_is_what_logging_writes_line_by_line(logger, make_formatter):
    handler = _stream_handler(logger, make_formatter())
    _show_app_name(handler)
    lines = []
    expected = ""
    for number, moment in enumerate(_moments()):
        message = f"{MESSAGE} #{number}"
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(time, "time", lambda: moment)
            patch.setattr(time, "time_ns", lambda: int(moment * 1e9))
            lines.append((direct_log.record_time(), message))
            logger.info(message)
        expected += _take(handler.stream)
    assert direct_log.DirectLog(logger).write(lines)
    assert _take(handler.stream) == expected


class _WriteRecorder(io.StringIO):
    def __init__(self):
        super().__init__()
        self.writes = []

    def write(self, text):
        self.writes.append(text)
        return super().write(text)


def test_a_batch_goes_out_in_writes_a_shared_pipe_keeps_whole(logger):
    handler = logging.StreamHandler(_WriteRecorder())
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    messages = [f"{MESSAGE} #{number}" for number in range(300)]
    messages[7] = "é" * 3000        # 6000 bytes in UTF-8: a write of its own
    messages[8] = "x" * 5000        # longer than PIPE_BUF: alone
    now = direct_log.record_time()
    assert direct_log.DirectLog(logger).write([(now, m) for m in messages])
    writes = handler.stream.writes
    assert "".join(writes) == "".join(m + "\n" for m in messages)
    assert all(write.endswith("\n") for write in writes)
    assert writes.count(messages[7] + "\n") == writes.count(messages[8] + "\n") == 1
    others = [w for w in writes if w not in (messages[7] + "\n", messages[8] + "\n")]
    assert all(len(w.encode()) <= select.PIPE_BUF for w in others)
    assert len(writes) < len(messages) / 10  # still batches, not a write per line


def test_a_record_given_a_time_shows_that_time(logger):
    handler = _stream_handler(logger, logging.Formatter(
        "%(created)f %(msecs)03d %(relativeCreated)d %(asctime)s %(message)s"))
    # Later than logging's start: relativeCreated is not negative.
    moment = time.time() + 12.5
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time", lambda: moment)
        patch.setattr(time, "time_ns", lambda: int(moment * 1e9))
        logger.info("then")
    then = _take(handler.stream)
    record = logger.makeRecord(logger.name, logging.INFO, "", 0, "then", (), None)
    direct_log.set_record_time(record, _record_time_at(moment))
    logger.handle(record)
    assert _take(handler.stream) == then


def _record_time_at(moment):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(time, "time", lambda: moment)
        patch.setattr(time, "time_ns", lambda: int(moment * 1e9))
        return direct_log.record_time()


@pytest.mark.parametrize("handler_type", [
    logging.FileHandler, logging.handlers.WatchedFileHandler])
def test_file_lines_are_what_logging_writes(logger, tmp_path, handler_type):
    path = tmp_path / "access.log"
    handler = handler_type(path)
    handler.setFormatter(_oslo_formatter())
    logger.addHandler(handler)
    _show_app_name(handler)
    written = []

    def read_new_text():
        text = path.read_text()[sum(map(len, written)):]
        written.append(text)
        return text
    _same_lines(logger, direct_log.DirectLog(logger), read_new_text,
                _moments()[:50])


def test_every_handler_that_sees_the_line_gets_it():
    parent = _new_logger()
    logger = _new_logger(parent)
    first = _stream_handler(logger, logging.Formatter("1 %(message)s"))
    upper = _stream_handler(parent, logging.Formatter("2 %(message)s"))
    quiet = _stream_handler(parent, logging.Formatter("3 %(message)s"))
    quiet.setLevel(logging.WARNING)
    writer = direct_log.DirectLog(logger)
    assert _write_now(writer, "hello")
    assert (_take(first.stream), _take(upper.stream), _take(quiet.stream)) == (
        "1 hello\n", "2 hello\n", "")
    logger.propagate = False
    assert _write_now(writer, "again")
    assert (_take(first.stream), _take(upper.stream)) == ("1 again\n", "")


def test_changes_to_logging_after_the_first_line_are_followed(logger):
    first = _stream_handler(logger, logging.Formatter("1 %(message)s"))
    writer = direct_log.DirectLog(logger)
    assert _write_now(writer, "a")
    second = _stream_handler(logger, logging.Formatter("2 %(message)s"))
    assert _write_now(writer, "b")
    first.setLevel(logging.WARNING)
    assert _write_now(writer, "c")
    second.setFormatter(logging.Formatter("two %(message)s"))
    assert _write_now(writer, "d")
    assert _take(first.stream) == "1 a\n1 b\n"
    assert _take(second.stream) == "2 b\n2 c\ntwo d\n"
    second.addFilter(_Filter())
    assert not _write_now(writer, "e")  # logging's to write, filters and all
    assert _take(second.stream) == ""
    logging.addLevelName(logging.INFO, "NOTICE")
    try:
        second.filters.clear()
        second.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        assert _write_now(writer, "f")
        assert _take(second.stream) == "NOTICE f\n"
    finally:
        logging.addLevelName(logging.INFO, "INFO")


def test_file_handlers_write_and_follow_a_rotated_file(logger, tmp_path):
    path = tmp_path / "access.log"
    handler = logging.handlers.WatchedFileHandler(path)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    logger.addHandler(handler)
    writer = direct_log.DirectLog(logger)
    assert _write_now(writer, "one")
    os.rename(path, tmp_path / "access.log.1")
    assert _write_now(writer, "two")
    assert (tmp_path / "access.log.1").read_text() == f"{logger.name} one\n"
    assert path.read_text() == f"{logger.name} two\n"


def test_delayed_file_handler_opens_its_file(logger, tmp_path):
    path = tmp_path / "access.log"
    handler = logging.FileHandler(path, delay=True)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    assert _write_now(direct_log.DirectLog(logger), "one")
    assert path.read_text() == "one\n"


def test_a_failed_write_is_reported_as_logging_reports_it(logger, monkeypatch):
    handler = _stream_handler(logger, logging.Formatter("%(message)s"))
    _show_app_name(handler)
    reported = []
    monkeypatch.setattr(handler, "handleError", reported.append)
    handler.stream.close()
    assert _write_now(direct_log.DirectLog(logger), "lost")
    [record] = reported
    assert (record.name, record.levelno, record.getMessage()) == (
        logger.name, logging.INFO, "lost")


def test_a_request_context_is_seen_and_can_be_set_aside(logger, monkeypatch):
    handler = _stream_handler(logger, _oslo_formatter())
    # None set now; undo() removes the one set next, as an app's
    # middleware sets it in the request's green thread.
    monkeypatch.setattr(oslo_context._request_store, "context", None,
                        raising=False)
    assert not direct_log.has_request_context()
    context = oslo_context.RequestContext(request_id="req-1234", overwrite=True)
    assert direct_log.has_request_context()
    logger.info(MESSAGE)
    assert "req-1234" in _take(handler.stream)  # logging adds its ids
    with direct_log.no_request_context():
        assert not direct_log.has_request_context()
        logger.info(MESSAGE)
        assert "req-1234" not in _take(handler.stream)
    assert oslo_context.get_current() is context
    monkeypatch.undo()
    assert not direct_log.has_request_context()


def test_a_line_the_format_cannot_render_goes_through_logging(logger):
    handler = _stream_handler(logger, logging.Formatter("%(message)d"))
    assert not _write_now(direct_log.DirectLog(logger), "not a number")
    assert _take(handler.stream) == ""


def test_a_formatter_that_cannot_be_read_leaves_lines_to_logging(logger):
    # A ContextFormatter whose configuration lacks oslo.log's options.
    handler = _stream_handler(logger, formatters.ContextFormatter(
        config=cfg.ConfigOpts()))
    assert not _write_now(direct_log.DirectLog(logger), "hello")
    assert _take(handler.stream) == ""


@pytest.mark.parametrize("disable", [
    lambda logger: setattr(logger, "disabled", True),
    lambda logger: logger.setLevel(logging.WARNING),
    lambda logger: logging.disable(logging.INFO),
], ids=["disabled", "level", "logging.disable"])
def test_a_logger_off_for_info_writes_nothing(logger, disable):
    handler = _stream_handler(logger, logging.Formatter("%(message)s"))
    writer = direct_log.DirectLog(logger)
    disable(logger)
    try:
        assert _write_now(writer, "hello")
        assert _take(handler.stream) == ""
    finally:
        logging.disable(logging.NOTSET)


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
        handler = (handler_type(io.StringIO())
                   if handler_type is logging.StreamHandler else handler_type())
        handler.setFormatter(formatter)
        logger.addHandler(handler)
    return add


def _custom_record_factory(logger):
    _stream_handler(logger, logging.Formatter("%(message)s"))
    logging.setLogRecordFactory(lambda *args, **kwargs: logging.LogRecord(*args, **kwargs))


def _custom_record_factory_then_hooked(logger):
    _custom_record_factory(logger)
    logs.call_before_each_record(lambda: None)


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
    _custom_record_factory_then_hooked,
], ids=["no-handlers", "logger-filter", "handler-filter", "memory-handler",
        "null-handler", "no-formatter", "json", "caller", "thread",
        "brace-style", "relative-time", "custom-record-factory",
        "custom-record-factory-hooked"])
def test_lines_go_through_logging_where_their_text_may_differ(logger, set_up):
    set_up(logger)
    assert not _write_now(direct_log.DirectLog(logger), "hello")
    for handler in logger.handlers:
        if isinstance(getattr(handler, "stream", None), io.StringIO):
            assert _take(handler.stream) == ""


def test_the_daemons_default_logging_is_written_directly(tmp_path):
    # In a fresh interpreter set up as a worker's: this one has pytest's
    # handlers. Both paths write the same text, so only this shows that the
    # cheaper one is taken, to standard output and to --log-file.
    script = textwrap.dedent("""
        import logging, sys
        from oslo_config import cfg
        from service import direct_log, logs
        logs.register_opts(cfg.CONF)
        cfg.CONF(sys.argv[1:], project="service-api")
        logs.setup(cfg.CONF)
        logs.own().show_app_name("home")
        logs.own().cache_timestamps()
        logs.skip_thread_names()
        access = logging.getLogger("service.access")
        print(direct_log.DirectLog(access).write(
            [(direct_log.record_time(), "written directly")]))
    """)
    for args in ([], ["--log-file", str(tmp_path / "svc.log")]):
        result = subprocess.run([sys.executable, "-c", script, *args],
                                check=True, capture_output=True, text=True)
        assert result.stdout.splitlines()[-1] == "True", (args, result.stdout)
    assert "INFO service.access [-] [home] written directly" in (
        tmp_path / "svc.log").read_text()


def test_record_time_is_logrecords(monkeypatch):
    for moment in _moments():
        monkeypatch.setattr(time, "time", lambda: moment)
        monkeypatch.setattr(time, "time_ns", lambda: int(moment * 1e9))
        record = logging.LogRecord("x", logging.INFO, "", 0, "", (), None)
        assert direct_log.record_time() == (record.created, record.msecs)


@pytest.mark.parametrize("ns, created_and_msecs", [
    (1_677_903_920_999_999_900, (1677903921.0, 0.0)),  # rounds up to the second
    (1_677_903_920_999_998_503, (1677903920.9999986, 999.0)),
    (1_677_903_920_123_456_789, (1677903920.1234567, 123.0)),
])
def test_time_from_nanoseconds_is_python_313s_logrecord(ns, created_and_msecs):
    assert direct_log._time_from_ns(ns) == created_and_msecs


@pytest.mark.parametrize("fmt, fields", [
    ("%(asctime)s %(message)s", {"asctime", "message"}),
    ("%%(asctime)s %(msecs)03d", {"msecs"}),
    ("no fields", set()),
    ("%(message)", None),
])
def test_fields_shown(fmt, fields):
    assert direct_log._fields_shown(fmt) == fields
