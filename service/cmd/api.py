"""service-api: the command line, logging, and exit codes; everything else happens elsewhere."""

import signal

# NOTE: first, before the imports that take most of a start's first tenth
# of a second: a TERM, INT or HUP from systemd or a terminal in that time
# would otherwise kill the process or print a KeyboardInterrupt traceback.
# Recorded here, they are acted on by the supervisor's loop like any other.
EARLY_SIGNALS = []
_RECORDED_EARLY = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1)


def _record_early(signum, frame):
    EARLY_SIGNALS.append(signum)


for _signum in _RECORDED_EARLY:
    signal.signal(_signum, _record_early)

import logging  # noqa: E402
import sys  # noqa: E402

from oslo_config import cfg  # noqa: E402

from service import conf as service_conf  # noqa: E402
from service import logs  # noqa: E402
from service import proctitle  # noqa: E402
from service.conf import files as conf_files  # noqa: E402
from service.errors import ConfigError  # noqa: E402
from service.supervisor import activation  # noqa: E402
from service.supervisor import plan as service_plan  # noqa: E402
from service.supervisor.loop import Supervisor  # noqa: E402

LOG = logging.getLogger("service-api")

EXIT_STOPPED = 0
EXIT_CONFIG_ERROR = 1
EXIT_INTERRUPTED = 130


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    # service-api's own options: apps register theirs in cfg.CONF, which
    # each worker parses from the same files (service.global_conf).
    conf = cfg.ConfigOpts()
    try:
        service_conf.parse_args(conf, argv)
        logs.setup(conf)
        passed = activation.take_passed_sockets()
        plan = service_plan.build_plan(conf, conf_files.files_read(conf, argv),
                                       systemd_sockets=passed)
        if conf.check_config:
            return _check(plan, conf)
        if _stop_requested():
            return EXIT_STOPPED
        _log_warnings(plan)
        proctitle.set_title("service-api: supervisor")
        return Supervisor(plan, lambda: reread(argv, passed), _become_worker,
                          EARLY_SIGNALS, passed).run()
    except ConfigError as exc:
        error = exc
    # Reported outside the except block: oslo.log would append the exception.
    return _config_error(conf, error)


def reread(argv, systemd_sockets=()):
    """The plan from the config files as they are now, or ConfigError.

    Parsed into a ConfigOpts of its own: logging keeps the settings it was
    set up with at start.
    """
    conf = cfg.ConfigOpts()
    service_conf.parse_args(conf, argv)
    plan = service_plan.build_plan(conf, conf_files.files_read(conf, argv),
                                   systemd_sockets=systemd_sockets)
    _log_warnings(plan)
    return plan


def _become_worker(setup):
    """In a new child: the worker's life. Imported here, after the fork, so
    the supervisor never loads the worker's code nor eventlet."""
    from service.worker import process
    process.run(setup)


def _check(plan, conf):
    from service.cmd import check
    # A check is a command, not a daemon: Ctrl-C ends it at once.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if _stop_requested():
        return EXIT_INTERRUPTED
    try:
        return check.run(plan, conf.check_config_timeout)
    except KeyboardInterrupt:
        sys.stderr.write("service-api: check interrupted\n")
        return EXIT_INTERRUPTED


def _stop_requested():
    return any(signum in (signal.SIGTERM, signal.SIGINT)
               for signum in EARLY_SIGNALS)


def _log_warnings(plan):
    for warning in plan.warnings:
        LOG.warning("%s", warning)


def _config_error(conf, exc):
    sys.stderr.write(f"service-api: error: {exc}\n")
    sys.stderr.flush()
    if _logs_to_file(conf) and logs.is_set_up():
        LOG.error("Cannot start: %s", exc)
    return EXIT_CONFIG_ERROR


def _logs_to_file(conf):
    try:
        return bool(conf.log_file or conf.log_dir)
    except cfg.Error:
        return False


if __name__ == "__main__":
    sys.exit(main())
