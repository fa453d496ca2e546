"""What the logging unit tests set up: oslo.log's options, formatters with cached timestamps."""

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
    """What a worker does to service-api's handlers, for `handler`'s formatter alone."""
    logs.OwnLogging([handler]).cache_timestamps()
