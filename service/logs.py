"""Logging through oslo.log, shared by both sides of the fork (no eventlet here)."""

import logging

from oslo_log import log

PROJECT = "service-api"


def register_opts(conf):
    log.register_options(conf)


def setup(conf):
    log.setup(conf, PROJECT)


def tag_records(tag):
    """Prefix every log message of this process with `tag`, e.g. '[home] '.

    Workers share the supervisor's handlers and format; this names the app
    in each line (the pid is already there) whatever the handler is.
    """
    make_record = logging.getLogRecordFactory()
    prefix = tag.replace("%", "%%")

    def tagged(*args, **kwargs):
        record = make_record(*args, **kwargs)
        if isinstance(record.msg, str):
            record.msg = prefix + record.msg
        return record

    logging.setLogRecordFactory(tagged)


def reopen_files():
    """Reopen every log file, after logrotate moved it (USR1)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.acquire()
            try:
                if handler.stream:
                    handler.stream.close()
                handler.stream = handler._open()
                if hasattr(handler, "_statstream"):
                    handler._statstream()
            finally:
                handler.release()
