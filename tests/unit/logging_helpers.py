"""What the logging unit tests set up: oslo.log's options, formatters with cached timestamps."""

import logging

from oslo_config import cfg
from oslo_log import log

from service import logs


def oslo_log_conf(**overrides):
    """A parsed ConfigOpts holding oslo.log's options, with `overrides` set."""
    conf = cfg.ConfigOpts()
    log.register_options(conf)
    conf([])
    for name, value in overrides.items():
        conf.set_override(name, value)
    return conf


def cache_timestamps_of(handler):
    """service.logs.cache_timestamps() for `handler`'s formatter alone.

    It acts on the root logger's handlers: `handler` is one of them for
    the call only.
    """
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logs.cache_timestamps()
    finally:
        root.removeHandler(handler)
