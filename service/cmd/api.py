"""service-api: the command line, logging, and exit codes; everything else happens elsewhere."""

import logging
import sys

from oslo_config import cfg

from service import check
from service import conf as service_conf
from service import logs
from service import plan as service_plan
from service import proctitle
from service import supervisor
from service.errors import ConfigError

LOG = logging.getLogger("service-api")

EXIT_CONFIG_ERROR = 1


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    conf = cfg.CONF
    try:
        service_conf.parse_args(conf, argv)
        logs.setup(conf)
        plan = service_plan.build_plan(conf)
        if conf.check_config:
            return check.run(plan)
        proctitle.set_title("service-api: supervisor")
        return supervisor.Supervisor(plan, lambda: reread(conf, argv)).run()
    except ConfigError as exc:
        error = exc
    # Reported outside the except block: oslo.log would append the exception.
    return _config_error(conf, error)


def reread(conf, argv):
    """The plan from the config files as they are now, or ConfigError with `conf` untouched."""
    candidate = cfg.ConfigOpts()
    service_conf.parse_args(candidate, argv)
    service_plan.build_plan(candidate)
    service_conf.parse_args(conf, argv)
    return service_plan.build_plan(conf)


def _config_error(conf, exc):
    sys.stderr.write(f"service-api: error: {exc}\n")
    sys.stderr.flush()
    if _logs_to_file(conf):
        LOG.error("Cannot start: %s", exc)
    return EXIT_CONFIG_ERROR


def _logs_to_file(conf):
    try:
        return bool(conf.log_file or conf.log_dir)
    except cfg.Error:
        return False


if __name__ == "__main__":
    sys.exit(main())
