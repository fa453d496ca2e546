"""oslo.log's options in a configuration of their own, for the logging unit tests."""

from oslo_config import cfg
from oslo_log import log


def oslo_log_conf(**overrides):
    """A parsed ConfigOpts holding oslo.log's options, with `overrides` set."""
    conf = cfg.ConfigOpts()
    log.register_options(conf)
    conf([])
    for name, value in overrides.items():
        conf.set_override(name, value)
    return conf
