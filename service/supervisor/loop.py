"""The supervisor's loop: signals, worker reports and child exits in; forks, signals and closes out.

What to do is decided by the fleet (service.supervisor.fleet); this module
only hears events and performs the fleet's actions. Signal handlers do
nothing: Python's wake-up fd carries the signal number into the loop. The
supervisor never serves a request and never imports eventlet or
application code: workers do that after the fork (service.worker).
"""

import dataclasses
import logging
import os
import selectors
import signal
import time
import weakref

from service import accept_board
from service import logs
from service import worker_status
from service import worker_setup
from service.errors import ConfigError
from service.supervisor import admin
from service.supervisor import fleet
from service.supervisor import monitor
from service.supervisor import notify
from service.supervisor import sockets

LOG = logging.getLogger(__name__)

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP,
                   signal.SIGUSR1, signal.SIGCHLD)

NOTIFIERS = {fleet.READY: notify.ready, fleet.RELOADING: notify.reloading,
             fleet.STOPPING: notify.stopping}


@dataclasses.dataclass
class Pipes:
    """The supervisor's pipes: the wake-up fd for signals, workers' reports, and the lifeline."""
    wakeup_r: int
    wakeup_w: int
    reports_r: int
    reports_w: int
    # Workers hold the read end; when the supervisor dies, even by
    # SIGKILL, the kernel closes the write end and every worker sees EOF.
    lifeline_r: int
    lifeline_w: int

    @classmethod
    def open(cls):
        wakeup = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        reports = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(reports[0], False)
        return cls(*wakeup, *reports, *os.pipe2(os.O_CLOEXEC))

    def supervisor_only(self):
        """The ends a worker must close: it keeps only reports_w and lifeline_r."""
        return [self.wakeup_r, self.wakeup_w, self.reports_r, self.lifeline_w]

    def close(self):
        for fd in dataclasses.astuple(self):
            os.close(fd)


class Supervisor:
    def __init__(self, plan, reread_plan, become_worker, early_signals=None,
                 systemd_sockets=None):
        self._first_plan = plan
        # Returns the plan from the config files as they are now, or raises ConfigError.
        self._reread_plan = reread_plan
        # Called in each new child with its worker_setup.WorkerSetup; never
        # returns. Given by the command line: this side never imports the
        # worker's code.
        self._become_worker = become_worker
        # Signals that came before the loop could hear them (service.cmd.api).
        self._early_signals = early_signals if early_signals is not None else []
        self._fleet = fleet.Fleet()
        # What the admin endpoint shows: the workers' sheets and the fleet's doings.
        self._monitor = monitor.Monitor(self._fleet, counting=plan.metrics is not None)
        # The admin endpoint (service.supervisor.admin); None without one.
        self._admin = None
        # Listening sockets by sockets.socket_key(): those of the current
        # and the pending generation.
        self._sockets = {}
        # The sockets systemd passed (service.supervisor.activation), by
        # socket_key(): kept until the end, whichever app serves them, so
        # an app added back by a reload finds its socket again.
        self._passed = {("systemd", name): sock
                        for name, sock in (systemd_sockets or {}).items()}
        # pid -> accept_board.Seat of every child not yet reaped.
        self._seats = {}
        # pid -> its worker_status.WorkerStatus, for every child not yet reaped.
        self._statuses = {}
        # (generation, app name) -> the accept_board.AcceptBoard its workers
        # share. Kept while a worker holds a seat on it: one made afresh for
        # an app whose workers all died is the same, every seat vacated.
        self._boards = weakref.WeakValueDictionary()
        self._signals = []
        self._reports = b""
        self._exit: fleet.Exit | None = None
        self._pipes: Pipes | None = None
        self._selector: selectors.BaseSelector | None = None

    def run(self):
        """Serve until stopped; return the exit status, or raise ConfigError if start-up fails."""
        self._pipes = Pipes.open()
        self._selector = self._watch_pipes()
        self._catch_signals()
        # Taken over only now that the loop's handlers are in place: none is lost.
        self._signals.extend(self._early_signals)
        self._early_signals[:] = []
        try:
            self._start()
            while self._exit is None:
                self._wait_for_events()
                self._collect_dead_workers()
                self._act_on_signals()
                self._perform(self._fleet.tick(time.monotonic()))
        finally:
            self._close_everything()
        if self._exit.failure:
            raise ConfigError(self._exit.failure)
        return self._exit.code

    # Events in.

    def _watch_pipes(self):
        selector = selectors.DefaultSelector()
        selector.register(self._pipes.wakeup_r, selectors.EVENT_READ, self._read_signals)
        selector.register(self._pipes.reports_r, selectors.EVENT_READ, self._read_reports)
        return selector

    def _catch_signals(self):
        signal.set_wakeup_fd(self._pipes.wakeup_w, warn_on_full_buffer=False)
        for signum in HANDLED_SIGNALS:
            signal.signal(signum, _record_only)

    def _start(self):
        self._serve_admin(self._first_plan.metrics)
        urls = self._bind(self._first_plan)
        self._tell_passed_sockets(self._first_plan)
        self._perform(self._fleet.start(self._first_plan, urls))

    def _serve_admin(self, settings):
        """Bind the admin endpoint (ConfigError if it cannot be) and answer it from this loop."""
        if settings is None:
            return
        sock = admin.bind(settings)
        self._admin = admin.AdminServer(sock, self._selector, admin.Pages(self._monitor))
        LOG.info("Admin endpoint: http://%s/metrics and /healthz",
                 sockets.url(sock).partition("//")[2])

    def _tell_passed_sockets(self, plan):
        served = {app.name for app in plan.apps if app.systemd_socket}
        for _, name in self._passed:
            if name in served:
                LOG.info("App %s serves the socket systemd passed for it", name)
            else:
                LOG.warning("systemd passed a socket named %s, but no app in "
                            "enabled_apis is named so: it is not served", name)

    def _wait_for_events(self):
        for key, _ in self._selector.select(self._timeout()):
            key.data()
        if self._admin is not None:
            self._admin.expire(time.monotonic())

    def _timeout(self):
        now = time.monotonic()
        deadlines = [self._fleet.next_deadline(now),
                     self._admin and self._admin.next_deadline()]
        deadline = min((d for d in deadlines if d is not None), default=None)
        return None if deadline is None else max(0.0, deadline - now)

    def _read_signals(self):
        try:
            self._signals.extend(os.read(self._pipes.wakeup_r, 512))
        except BlockingIOError:
            pass

    def _act_on_signals(self):
        received, self._signals = self._signals, []
        for signum in received:
            self._perform(self._fleet.signal_received(signum, time.monotonic()))

    def _read_reports(self):
        """Worker reports, one line each: '<pid> ready', '<pid> due' or '<pid> failed <why>'."""
        while True:
            try:
                chunk = os.read(self._pipes.reports_r, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            self._reports += chunk
        *lines, self._reports = self._reports.split(b"\n")
        for line in lines:
            pid, _, report = line.decode("utf-8", "replace").partition(" ")
            if pid.isdigit():  # app code in a worker could write here too
                self._on_report(int(pid), report)

    def _on_report(self, pid, report):
        if report == "ready":
            self._monitor.ready(pid, time.monotonic())
            self._perform(self._fleet.worker_ready(pid))
        elif report == "due":
            self._perform(self._fleet.worker_due(pid))
        else:
            reason = report.partition(" ")[2]
            self._perform(self._fleet.worker_failed(pid, reason, time.monotonic()))

    def _collect_dead_workers(self):
        # A worker writes its report before it exits; read it first so the
        # death is judged knowing why.
        self._read_reports()
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self._forget(pid)
            self._monitor.exited(pid)
            self._perform(self._fleet.worker_exited(pid, status, time.monotonic()))

    def _forget(self, pid):
        seat = self._seats.pop(pid, None)
        if seat is not None:
            # Its siblings must not wait for it to take connections.
            seat.leave()
        status = self._statuses.pop(pid, None)
        if status is not None:
            status.close()

    # Actions out.

    def _perform(self, actions):
        self._monitor.saw(actions)
        for action in actions:
            self._PERFORMERS[type(action)](self, action)

    def _spawn(self, spawn):
        if not self._fleet.still_wanted(spawn):
            return  # a fork failure just before it abandoned its generation
        sheet = self._monitor.sheet_for(spawn)
        try:
            seat = self._seat(spawn)
            status = worker_status.WorkerStatus(_most_in_flight(spawn))
            pid = _fork_with_signals_blocked()
        except OSError as exc:
            self._monitor.fork_failed(sheet)
            self._perform(self._fleet.fork_failed(spawn, exc.strerror, time.monotonic()))
            return
        if pid == 0:
            self._become_worker(self._setup(spawn, seat, status, sheet))
        self._seats[pid] = seat
        self._statuses[pid] = status
        self._monitor.forked(spawn, pid, sheet, time.monotonic())
        self._perform(self._fleet.forked(spawn, pid, time.monotonic()))

    def _seat(self, spawn):
        """The seat of the spawn's slot; a replacement takes the slot's other one, its worker holding the first."""
        key = (spawn.generation, spawn.app.name)
        board = self._boards.get(key)
        if board is None:
            # Room for each slot's worker and, while it is replaced, its
            # replacement (service.supervisor.fleet, Rule 6).
            board = self._boards[key] = accept_board.AcceptBoard(2 * spawn.app.workers)
        index = spawn.index
        replaced = self._seats.get(spawn.replaces)
        if replaced is not None and replaced.index == index:
            index += spawn.app.workers
        return board.seat(index)

    def _setup(self, spawn, seat, status, sheet):
        listener = self._sockets[sockets.socket_key(spawn.app)]
        return worker_setup.WorkerSetup(
            app=spawn.app, generation=spawn.generation, plan=spawn.plan,
            listener=listener, seat=seat, status=status, request_limit=spawn.request_limit,
            reports_fd=self._pipes.reports_w, lifeline_fd=self._pipes.lifeline_r,
            supervisor_only=self._inherited_by(listener), sheet=sheet)

    def _inherited_by(self, listener):
        """What a new worker must close: every supervisor fd, other apps' sockets, the admin endpoint's, other workers' status."""
        admin_sockets = self._admin.sockets() if self._admin is not None else []
        return worker_setup.Inherited(
            sockets=[s for s in {**self._passed, **self._sockets}.values()
                     if s is not listener] + admin_sockets,
            selector=self._selector, fds=self._pipes.supervisor_only(),
            statuses=list(self._statuses.values()))

    def _inspect(self, _):
        readings = {pid: status.read(pid) for pid, status in self._statuses.items()}
        self._perform(self._fleet.inspected(readings, time.monotonic()))

    def _read_plan(self, _):
        try:
            plan = self._reread_plan()
            urls = self._bind(plan)
        except ConfigError as exc:
            reason = str(exc)
        except Exception as exc:
            # Whatever went wrong, the serving generation must not go down
            # with it.
            LOG.debug("Reload failed", exc_info=True)
            reason = f"unexpected {type(exc).__name__}: {exc}"
        else:
            self._warn_if_admin_moved(plan.metrics)
            self._perform(self._fleet.plan_read(plan, urls))
            return
        self._monitor.plan_failed()
        # Logged outside the except block: oslo.log would append the exception.
        self._perform(self._fleet.plan_failed(reason))

    def _warn_if_admin_moved(self, settings):
        if settings != self._first_plan.metrics:
            LOG.warning("metrics_listen and metrics_port are read at start only: "
                        "the admin endpoint stays as it was until a restart")

    def _bind(self, plan):
        """Bind the plan's sockets, reusing those already bound; return each app's URL."""
        bound = sockets.bind_all(plan.apps, plan.sockets, {**self._passed, **self._sockets})
        self._sockets.update(bound)
        return {app.name: sockets.url(bound[sockets.socket_key(app)], bool(app.tls),
                                      app.protocol)
                for app in plan.apps}

    def _close_sockets(self, action):
        # The fleet closes each key once; a supervisor must not fall over
        # if it ever asked twice. A passed socket stays open (see _passed).
        closed = [(key, self._sockets.pop(key, None)) for key in action.keys]
        sockets.close_all(sock for key, sock in closed
                          if sock is not None and key not in self._passed)

    def _terminate(self, action):
        _send(action.pid, signal.SIGTERM)

    def _kill(self, action):
        _send(action.pid, signal.SIGKILL)

    def _reopen_logs(self, _):
        logs.own().reopen_files()

    def _reopen_worker_logs(self, action):
        _send(action.pid, signal.SIGUSR1)

    def _notify(self, action):
        NOTIFIERS[action.state]()

    def _log(self, action):
        LOG.log(action.level, action.message, *action.args)

    def _exit_with(self, action):
        self._exit = action

    _PERFORMERS = {
        fleet.Spawn: _spawn, fleet.Terminate: _terminate, fleet.Kill: _kill,
        fleet.CloseSockets: _close_sockets, fleet.ReadPlan: _read_plan,
        fleet.Notify: _notify, fleet.Inspect: _inspect, fleet.ReopenLogs: _reopen_logs,
        fleet.ReopenWorkerLogs: _reopen_worker_logs, fleet.Log: _log,
        fleet.Exit: _exit_with,
    }

    # The end.

    def _close_everything(self):
        self._kill_all()
        if self._admin is not None:
            self._admin.close()
        signal.set_wakeup_fd(-1)
        self._selector.close()
        self._pipes.close()
        sockets.close_all({**self._passed, **self._sockets}.values())

    def _kill_all(self):
        """Kill and reap every worker left (a second stop signal, or an error in the loop)."""
        for pid in self._seats:
            _send(pid, signal.SIGKILL)
        for pid in self._seats:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self._seats.clear()


def _most_in_flight(spawn):
    """Requests a worker of the spawn's app may serve at once, in either worker model: its status's entries."""
    return max(spawn.app.threads, spawn.plan.wsgi.pool_size)


def _fork_with_signals_blocked():
    # NOTE: a signal sent to the new child before it has left our handlers
    # and wake-up fd behind would land in our loop as if sent to us (a TERM
    # to a brand-new worker became a stop of the daemon). Blocked across the
    # fork, it waits for the worker's own handlers; the child unblocks them.
    signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
    try:
        pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
        raise
    if pid:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
    return pid


def _record_only(signum, frame):
    """The wake-up fd has recorded the signal; the loop acts on it."""


def _send(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
