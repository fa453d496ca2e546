"""The supervisor: one loop turns signals, worker reports and child exits into actions.

Signal handlers do nothing; Python's wake-up fd carries the signal number
into the loop, which decides (with service.lifecycle) and then forks, signals
or closes. The supervisor never serves a request and never imports eventlet
or application code: workers do that after the fork (service.worker).
"""

import dataclasses
import logging
import os
import selectors
import signal
import time

from service import balance
from service import lifecycle
from service import logs
from service import notify
from service import sockets
from service import worker
from service.errors import ConfigError

LOG = logging.getLogger(__name__)

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP,
                   signal.SIGUSR1, signal.SIGCHLD)

EXIT_STOPPED = 0
EXIT_FORCED = 1


@dataclasses.dataclass
class Generation:
    number: int
    plan: object
    sockets: dict
    # App name -> balance.AcceptBoard shared by that app's workers.
    boards: dict
    # Slot -> lifecycle.SlotHealth of slots whose worker died after serving.
    health: dict = dataclasses.field(default_factory=dict)

    def socket_for(self, app):
        return self.sockets[sockets.socket_key(app)]


class Supervisor:
    def __init__(self, plan, reread_plan, early_signals=None):
        self._first_plan = plan
        # Signals that came before the loop could hear them (service.cmd.api).
        self._early_signals = early_signals if early_signals is not None else []
        self._reread_plan = reread_plan
        self._workers = {}
        # pid -> that worker's balance.Seat
        self._seats = {}
        self._current = None
        self._pending = None
        self._generations = 0
        self._signals = []
        self._reports = b""
        self._next_respawn = None
        self._stopping = False
        # A HUP that came before start-up completed, performed once it has.
        self._reload_when_ready = False
        self._exit_code = None
        self._failure = None

    # The loop.

    def run(self):
        """Serve until stopped; return the exit status, or raise ConfigError if start-up fails."""
        self._open_pipes()
        self._catch_signals()
        # Taken over only now that the loop's handlers are in place: none is lost.
        self._signals.extend(self._early_signals)
        self._early_signals[:] = []
        try:
            self._start_generation(self._first_plan)
            while self._exit_code is None:
                self._wait_for_events()
                self._collect_dead_workers()
                self._act_on_signals()
                self._decide()
        finally:
            self._close_everything()
        if self._failure:
            raise ConfigError(self._failure)
        return self._exit_code

    def _open_pipes(self):
        self._wakeup_r, self._wakeup_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._reports_r, self._reports_w = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(self._reports_r, False)
        # Workers hold the read end; when the supervisor dies, even by
        # SIGKILL, the kernel closes the write end and every worker sees EOF.
        self._lifeline_r, self._lifeline_w = os.pipe2(os.O_CLOEXEC)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wakeup_r, selectors.EVENT_READ,
                                self._read_signals)
        self._selector.register(self._reports_r, selectors.EVENT_READ,
                                self._read_reports)

    def _catch_signals(self):
        signal.set_wakeup_fd(self._wakeup_w, warn_on_full_buffer=False)
        for signum in HANDLED_SIGNALS:
            signal.signal(signum, _record_only)

    def _wait_for_events(self):
        for key, _ in self._selector.select(self._timeout()):
            key.data()

    def _timeout(self):
        deadlines = [d for d in (lifecycle.next_retire_deadline(
            self._workers.values()), self._next_respawn) if d is not None]
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def _read_signals(self):
        try:
            self._signals.extend(os.read(self._wakeup_r, 512))
        except BlockingIOError:
            pass

    def _read_reports(self):
        """Worker reports, one line each: '<pid> ready' or '<pid> failed <why>'."""
        while True:
            try:
                chunk = os.read(self._reports_r, 65536)
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

    # Events.

    def _on_report(self, pid, report):
        worker_ = self._workers.get(pid)
        if worker_ is None:
            return
        if report == "ready":
            worker_.ready = True
            LOG.debug("Worker %d of app %s is serving", pid, worker_.app)
            return
        reason = report.partition(" ")[2]
        if self._is_pending(worker_):
            self._abandon_pending(reason)
        else:
            LOG.error("Worker %d of app %s failed: %s", pid, worker_.app,
                      reason)

    def _is_pending(self, worker_):
        return bool(self._pending) and (
            worker_.generation == self._pending.number)

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
            worker_ = self._workers.pop(pid, None)
            if worker_ is not None:
                # Its siblings must not wait for it to take connections.
                self._seats.pop(pid).leave()
                self._on_death(worker_, status)

    def _on_death(self, worker_, status):
        how = lifecycle.describe_exit(status)
        if worker_.retiring:
            LOG.info("Worker %d of app %s (generation %d) stopped: %s",
                     worker_.pid, worker_.app, worker_.generation, how)
            return
        if self._is_pending(worker_) and not worker_.ready:
            # It never served: its app could not be built. Only that fails
            # a start-up or abandons a reload.
            self._abandon_pending(
                f"app {worker_.app}: building it from "
                f"{self._pending.plan.paste_file} failed: the process "
                f"building it {how}")
            return
        LOG.error("Worker %d of app %s (generation %d) %s",
                  worker_.pid, worker_.app, worker_.generation, how)
        gen = self._generation(worker_.generation)
        if gen is not None:
            now = time.monotonic()
            health = lifecycle.after_death(gen.health.get(worker_.slot),
                                           now - worker_.started_at, now)
            gen.health[worker_.slot] = health
            if health.early_deaths:
                LOG.warning("App %s keeps losing workers: next one in %.1f s",
                            worker_.app, health.restart_at - now)

    def _generation(self, number):
        """The current or pending generation numbered `number`; None for one that is retiring."""
        for gen in (self._current, self._pending):
            if gen is not None and gen.number == number:
                return gen
        return None

    def _act_on_signals(self):
        received, self._signals = self._signals, []
        for signum in received:
            if signum in (signal.SIGTERM, signal.SIGINT):
                self._on_stop_signal(signal.Signals(signum).name)
            elif signum == signal.SIGHUP:
                self._on_reload_signal()
            elif signum == signal.SIGUSR1:
                self._reopen_logs()

    def _on_stop_signal(self, name):
        if self._stopping:
            LOG.warning("%s during the stop: stopping at once", name)
            self._kill_all()
            self._exit_code = EXIT_FORCED
        else:
            LOG.info("%s received: stopping gracefully", name)
            self._begin_stop()

    def _on_reload_signal(self):
        if self._stopping:
            LOG.warning("SIGHUP during the stop: not reloading")
        elif self._current is None:
            LOG.info("SIGHUP before start-up completed: reloading once "
                     "every worker serves")
            self._reload_when_ready = True
        else:
            self._reload()

    def _reopen_logs(self):
        logs.own().reopen_files()
        LOG.info("SIGUSR1 received: log files reopened")
        for worker_ in self._workers.values():
            _send(worker_.pid, signal.SIGUSR1)

    # Decisions.

    def _decide(self):
        if self._exit_code is not None:
            return
        self._kill_overdue()
        if self._stopping:
            self._continue_stop()
            return
        if self._pending and lifecycle.generation_ready(
                self._pending.plan, self._pending.number,
                self._workers.values()):
            self._hand_over()
        self._refill()

    def _refill(self):
        """Replace the workers that died after serving, in the current and the pending generation."""
        self._next_respawn = None
        now = time.monotonic()
        for gen in (self._current, self._pending):
            if gen is None:
                continue
            vacant = lifecycle.vacant_slots(gen.plan, gen.number,
                                            self._workers.values())
            due, later = lifecycle.respawns(vacant, gen.health, now)
            self._next_respawn = min(
                (t for t in (self._next_respawn, later) if t is not None),
                default=None)
            for app_name, index in due:
                if gen not in (self._current, self._pending):
                    break  # a fork failed and abandoned it
                self._spawn(gen, gen.plan.app(app_name), index)

    # Generations: start-up and reload.

    def _start_generation(self, plan):
        existing = self._current.sockets if self._current else {}
        bound = sockets.bind_all(plan.apps, plan.sockets, existing)
        self._generations += 1
        boards = {app.name: balance.AcceptBoard(app.workers) for app in plan.apps}
        self._pending = Generation(self._generations, plan, bound, boards)
        for app in plan.apps:
            url = sockets.url(self._pending.socket_for(app), bool(app.tls))
            LOG.info("App %s: %s with %d worker(s) (generation %d)",
                     app.name, url, app.workers, self._pending.number)
        gen = self._pending
        for app_name, index in lifecycle.slots(plan):
            if self._pending is not gen:
                break  # a worker could not be started: the generation is abandoned
            self._spawn(gen, plan.app(app_name), index)

    def _reload(self):
        LOG.info("SIGHUP received: reloading configuration and apps")
        notify.reloading()
        if self._pending:
            self._abandon_pending("a newer SIGHUP replaced this reload")
        try:
            self._start_generation(self._reread_plan())
            return
        except ConfigError as exc:
            reason = str(exc)
        except Exception as exc:
            # Whatever went wrong, the serving generation must not go down
            # with it.
            LOG.debug("Reload failed", exc_info=True)
            reason = f"unexpected {type(exc).__name__}: {exc}"
        # Logged outside the except block: oslo.log would append the exception.
        LOG.error("Reload failed, generation %d keeps serving: %s",
                  self._current.number, reason)
        notify.ready()

    def _hand_over(self):
        new, old = self._pending, self._current
        self._pending, self._current = None, new
        for worker_ in lifecycle.to_retire(self._workers.values(), new.number):
            self._retire(worker_)
        if old is None:
            LOG.info("Serving: every worker of every app is ready")
        else:
            self._close_unused_sockets(old, keep=new)
            LOG.info("Reload complete: generation %d is serving, "
                     "generation %d is draining", new.number, old.number)
        notify.ready()
        if self._reload_when_ready:
            self._reload_when_ready = False
            self._reload()

    def _abandon_pending(self, reason):
        gen, self._pending = self._pending, None
        for worker_ in lifecycle.members(self._workers.values(), gen.number):
            self._retire(worker_)
        self._close_unused_sockets(gen, keep=self._current)
        if self._current is None:
            self._failure = reason
            self._begin_stop()
        else:
            LOG.error("Reload failed, generation %d keeps serving: %s",
                      self._current.number, reason)
            notify.ready()

    def _close_unused_sockets(self, gen, keep):
        kept = set(map(id, keep.sockets.values())) if keep else set()
        sockets.close_all(s for s in gen.sockets.values() if id(s) not in kept)

    # Stopping.

    def _begin_stop(self):
        self._stopping = True
        notify.stopping()
        for worker_ in list(self._workers.values()):
            self._retire(worker_)
        # Closing our copies now means the ports close as soon as every
        # worker has stopped accepting.
        for gen in (self._current, self._pending):
            if gen:
                sockets.close_all(gen.sockets.values())

    def _continue_stop(self):
        if not self._workers:
            self._exit_code = EXIT_STOPPED

    def _kill_overdue(self):
        overdue = lifecycle.overdue(self._workers.values(), time.monotonic())
        if overdue:
            LOG.warning("graceful_shutdown_timeout passed: killing %d "
                        "worker(s) still serving", len(overdue))
        for worker_ in overdue:
            worker_.retire_by = None
            _send(worker_.pid, signal.SIGKILL)

    def _kill_all(self):
        for pid in list(self._workers):
            _send(pid, signal.SIGKILL)
        for pid in list(self._workers):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        self._workers.clear()
        self._seats.clear()

    def _close_everything(self):
        if self._workers:
            self._kill_all()
        signal.set_wakeup_fd(-1)
        self._selector.close()
        for fd in (self._wakeup_r, self._wakeup_w, self._reports_r,
                   self._reports_w, self._lifeline_r, self._lifeline_w):
            os.close(fd)
        for gen in (self._current, self._pending):
            if gen:
                sockets.close_all(gen.sockets.values())

    # Acting on workers.

    def _spawn(self, gen, app, index):
        listener = gen.socket_for(app)
        seat = gen.boards[app.name].seat(index)
        # NOTE: a signal sent to the new child before it has left our
        # handlers and wake-up fd behind would land in our loop as if sent
        # to us (a TERM to a brand-new worker became a stop of the daemon).
        # Blocked across the fork, it waits for the worker's own handlers.
        signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED_SIGNALS)
        try:
            pid = os.fork()
        except OSError as exc:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
            self._on_fork_failure(gen, app, index, exc)
            return
        if pid == 0:
            worker.run(worker.WorkerSetup(
                app=app, generation=gen.number, plan=gen.plan,
                listener=listener, seat=seat,
                reports_fd=self._reports_w, lifeline_fd=self._lifeline_r,
                supervisor_only=self._inherited_by(listener)))
        signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED_SIGNALS)
        self._workers[pid] = lifecycle.Worker(
            pid=pid, app=app.name, index=index, generation=gen.number,
            started_at=time.monotonic())
        self._seats[pid] = seat
        LOG.debug("Started worker %d of app %s (generation %d)",
                  pid, app.name, gen.number)

    def _on_fork_failure(self, gen, app, index, exc):
        """No process could be made (pids.max, memory): that slot fails, not the daemon."""
        reason = f"cannot start a worker of app {app.name}: {exc.strerror}"
        if self._pending is gen:
            self._abandon_pending(reason)
            return
        LOG.error("%s", reason)
        now = time.monotonic()
        slot = (app.name, index)
        gen.health[slot] = lifecycle.after_death(gen.health.get(slot), 0.0, now)

    def _inherited_by(self, listener):
        """What a new worker must close: every supervisor fd and other apps' sockets."""
        others = [s for gen in (self._current, self._pending) if gen
                  for s in gen.sockets.values() if s is not listener]
        return worker.Inherited(
            sockets=others, selector=self._selector,
            fds=[self._wakeup_r, self._wakeup_w, self._reports_r,
                 self._lifeline_w])

    def _retire(self, worker_):
        if worker_.retiring:
            return
        worker_.retiring = True
        plan = self._current.plan if self._current else self._first_plan
        if plan.graceful_shutdown_timeout:
            worker_.retire_by = (time.monotonic()
                                 + plan.graceful_shutdown_timeout)
        _send(worker_.pid, signal.SIGTERM)


def _record_only(signum, frame):
    """The wake-up fd has recorded the signal; the loop acts on it."""


def _send(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
