"""A worker's life, from the fork to its exit: leave the supervisor behind, build, serve, drain.

Imported only in a child, after the fork (service.cmd.api hands the
supervisor a function that imports it there, and --check-config's builders
do the same): the supervisor never loads it. The app's worker model
(service.worker.model) is loaded here once the app is known: an
eventlet-model worker imports eventlet, a threads-model one never does.
"""

import atexit
import ctypes
import logging
import os
import signal

from service import logs
from service import proctitle
from service import tls
from service.worker import app_server
from service.worker import exchange
from service.worker import loader
from service.worker import model as worker_model

LOG = logging.getLogger(__name__)

# Captured before an eventlet-model worker's monkey_patch(): the green
# os.write retries EPIPE forever, so a report to a dead supervisor would
# spin instead of failing.
_write = os.write

EXIT_DRAINED = 0
EXIT_BUILD_FAILED = 3
EXIT_CRASHED = 70


def run(setup):
    """Run in the child right after os.fork(); never returns."""
    code = EXIT_CRASHED
    try:
        _leave_supervisor(setup)
        code = _build_and_serve(setup)
    except BaseException:
        LOG.exception("Worker of app %s crashed", setup.app.name)
    finally:
        _run_exit_handlers(setup.app.name)
        setup.plan.sources.remove_copies()
        logging.shutdown()
        os._exit(code)


def _run_exit_handlers(app_name):
    """What the app registered with atexit, as a Python process that exits runs it.

    The worker ends with os._exit(): unwinding the stack it was forked on
    would run the supervisor's clean-up in the child. But apps count on
    their exit handlers (glance waits for its import threads and stops its
    cache worker in one) under every server but uWSGI, which has a hook of
    its own.
    """
    try:
        atexit._run_exitfuncs()
    except BaseException:
        LOG.exception("An exit handler of app %s failed", app_name)


def _leave_supervisor(setup):
    # The supervisor's wake-up fd must never hear this process's signals.
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # Until the app is built, TERM may simply end us: nothing is accepted yet
    # (service.worker.app_server catches it before the worker reports ready).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # INT and HUP from a terminal reach the whole process group; only the
    # supervisor acts on them.
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    # The supervisor blocked signals across the fork; what arrived since
    # is delivered now, to this process's own dispositions. USR1 stays
    # blocked until serving, when logs can be reopened: a logrotate during
    # a slow build is then acted on, not lost.
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [signal.SIGUSR1])
    inherited = setup.supervisor_only
    inherited.selector.close()
    for sock in inherited.sockets:
        sock.close()
    for fd in inherited.fds:
        os.close(fd)
    for status in inherited.statuses:
        status.close()
    # Only the supervisor speaks to systemd; apps that notify would confuse it.
    os.environ.pop("NOTIFY_SOCKET", None)
    proctitle.set_title(f"service-api: worker {setup.app.name}")
    name_the_app_in_logs(setup.app.name)


def name_the_app_in_logs(app_name):
    """The app's name in service-api's log lines, which stay with service-api's handlers."""
    logs.own().show_app_name(app_name)
    logs.keep_own_lines()


def build(plan, app_name):
    """The app, built in this process as every worker builds it, in its worker model; AppBuildError if it cannot be.

    --check-config's builders call this too, so a check builds exactly
    what a start would.
    """
    worker_model.load(plan.app(app_name).worker_model).prepare_process()
    usable = plan.sources.usable_paths()
    changed = sorted(path for path, copy in usable.items() if copy != path)
    if changed:
        LOG.warning("Building app %s from the files as its generation read "
                    "them: %s changed since", app_name, ", ".join(changed))
    return loader.load_app(usable[plan.paste_file], app_name,
                           [usable[path] for path in plan.config_files],
                           shown_as=plan.paste_file)


def _build_and_serve(setup):
    try:
        app = build(setup.plan, setup.app.name)
    except loader.AppBuildError as exc:
        LOG.debug("Building app %s failed", setup.app.name, exc_info=True)
        _report(setup, f"failed {exc}")
        return EXIT_BUILD_FAILED
    _give_back_free_memory()
    tls_context = (tls.server_context(setup.app.name, setup.app.tls)
                   if setup.app.tls else None)
    server = app_server.AppServer(app, setup.listener, setup.app, setup.plan.wsgi,
                                  tls_context, setup.seat,
                                  worker_model.load(setup.app.worker_model), setup.status,
                                  exchange.ServedCount(setup.request_limit,
                                                       lambda: _tell_due(setup)),
                                  setup.sheet)
    server.catch_signals()
    try:
        _report(setup, "ready")
    except BrokenPipeError:
        LOG.warning("The supervisor is gone: exiting before serving")
        return EXIT_DRAINED
    server.serve(setup.lifeline_fd)
    return EXIT_DRAINED


def _give_back_free_memory():
    """Return to the kernel the free pages of malloc's heap, once the app is built.

    eventlet.monkey_patch() walks every object reachable from sys.modules
    to green the locks made before it, keeping a dictionary of all it saw:
    a peak of a few MiB in each worker. What malloc (rather than Python's
    own allocator) kept of it, about 0.3 MiB a worker, goes back.
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: its malloc has its own ways


def _tell_due(setup):
    """max_requests reached: the supervisor looks at once, and starts a replacement."""
    try:
        _report(setup, "due")
    except OSError:
        pass  # the supervisor is gone: the worker drains and exits anyway


def _report(setup, message):
    # One write below PIPE_BUF is atomic, so reports from workers never interleave.
    line = f"{os.getpid()} {' '.join(message.split())}"[:3800] + "\n"
    _write(setup.reports_fd, line.encode("utf-8", "replace"))
