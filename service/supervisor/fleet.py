"""The fleet: the supervisor's view of its workers, as a state machine of plain data.

Events in, actions out. The loop (service.supervisor.loop) turns signals,
worker reports and child exits into calls of Fleet's event methods, and
performs the actions they return: it forks, signals, closes sockets,
notifies systemd, logs and exits; the fleet only decides.

Rule 1: nothing here forks, signals, binds, logs, sleeps or reads the
clock; events that need the time are given `now`.
Rule 2: workers come in generations. The serving generation is "current";
a start-up or a reload builds a "pending" one, which takes over only once
every one of its workers is ready. Until start-up completes there is no
current generation.
Rule 3: a slot is one (app, index) place for a worker in a generation's
plan. A worker that dies after it served is replaced in its slot, after a
delay that grows while the slot keeps dying young, so a crash loop cannot
become a fork storm.
Rule 4: only a failure to build ends a pending generation: it fails a
start-up (the daemon stops, then reports why), or abandons a reload (the
current generation keeps serving).
Rule 5: the loop feeds every event of one wake-up, then calls tick(now):
what weighs the whole fleet (a hand-over, refills, overdue drains, the end
of a stop) is decided there, once per wake-up.
"""

import dataclasses
import logging
import os
import signal

from service.supervisor import plan as service_plan
from service.supervisor import sockets

# A worker that dies sooner than this after its start counts as a crash loop.
EARLY_DEATH_SECONDS = 5.0
FIRST_RETRY_DELAY = 0.1
MAX_RETRY_DELAY = 10.0

EXIT_STOPPED = 0
EXIT_FORCED = 1

# What Notify tells systemd.
READY = "ready"
RELOADING = "reloading"
STOPPING = "stopping"

Slot = tuple[str, int]


# Actions: what the loop performs, in the order given.

@dataclasses.dataclass(frozen=True)
class Spawn:
    """Fork a worker for slot (app, index) of a generation.

    The loop answers with forked() or fork_failed(), unless still_wanted() says no.
    """
    generation: int
    plan: service_plan.Plan
    app: service_plan.AppPlan
    index: int


@dataclasses.dataclass(frozen=True)
class Terminate:
    """SIGTERM: the worker stops accepting, finishes what it serves, and exits."""
    pid: int


@dataclasses.dataclass(frozen=True)
class Kill:
    pid: int


@dataclasses.dataclass(frozen=True)
class CloseSockets:
    """Close the supervisor's listening sockets with these sockets.socket_key()s."""
    keys: frozenset


@dataclasses.dataclass(frozen=True)
class ReadPlan:
    """Read the config files again and bind the new plan's sockets.

    The loop answers with plan_read() or plan_failed().
    """


@dataclasses.dataclass(frozen=True)
class Notify:
    """Tell systemd the daemon is READY, RELOADING or STOPPING."""
    state: str


@dataclasses.dataclass(frozen=True)
class ReopenLogs:
    """Reopen the supervisor's own log files."""


@dataclasses.dataclass(frozen=True)
class ReopenWorkerLogs:
    """Ask a worker to reopen its log files (SIGUSR1)."""
    pid: int


@dataclasses.dataclass(frozen=True)
class Log:
    level: int
    message: str
    args: tuple = ()

    @property
    def text(self):
        return self.message % self.args


@dataclasses.dataclass(frozen=True)
class Exit:
    code: int
    # Why start-up failed, if it did: the daemon reports it as a configuration error.
    failure: str | None = None


Action = (Spawn | Terminate | Kill | CloseSockets | ReadPlan | Notify | ReopenLogs
          | ReopenWorkerLogs | Log | Exit)


# The fleet's data.

@dataclasses.dataclass
class Worker:
    pid: int
    app: str
    index: int
    generation: int
    started_at: float
    ready: bool = False
    retiring: bool = False
    # When a retiring worker is killed if still draining (None: never).
    retire_by: float | None = None

    @property
    def slot(self) -> Slot:
        return (self.app, self.index)


@dataclasses.dataclass(frozen=True)
class SlotHealth:
    early_deaths: int
    restart_at: float


@dataclasses.dataclass
class Generation:
    number: int
    plan: service_plan.Plan
    # Slots whose worker died after serving, and when each may start again.
    health: dict[Slot, SlotHealth] = dataclasses.field(default_factory=dict)

    @property
    def socket_keys(self) -> frozenset:
        return frozenset(sockets.socket_key(app) for app in self.plan.apps)


class Fleet:
    """Generations of workers and what to do about them; see the rules above."""

    def __init__(self):
        self.workers: dict[int, Worker] = {}
        self.current: Generation | None = None
        self.pending: Generation | None = None
        self.stopping = False
        # A HUP that came before start-up completed, performed once it has.
        self.reload_when_ready = False
        self.exited = False
        # Why start-up failed: the daemon stops, then exits with it.
        self.failure: str | None = None
        # Before a generation serves, its drain deadline comes from here.
        self._first_plan: service_plan.Plan | None = None
        self._generations = 0

    # Events.

    def start(self, plan: service_plan.Plan, urls: dict[str, str]) -> list[Action]:
        """Start-up, the first plan's sockets bound; `urls`: where each app (by name) listens."""
        self._first_plan = plan
        return self._start_generation(plan, urls)

    def signal_received(self, signum: int, now: float) -> list[Action]:
        """TERM or INT: stop; HUP: reload; USR1: reopen logs. Others change nothing."""
        if signum in (signal.SIGTERM, signal.SIGINT):
            return self._on_stop_signal(signal.Signals(signum).name, now)
        if signum == signal.SIGHUP:
            return self._on_reload_signal(now)
        if signum == signal.SIGUSR1:
            return self._reopen_logs()
        return []

    def plan_read(self, plan: service_plan.Plan, urls: dict[str, str]) -> list[Action]:
        """ReadPlan's answer: the reload's plan, its sockets bound."""
        return self._start_generation(plan, urls)

    def plan_failed(self, reason: str) -> list[Action]:
        """ReadPlan's answer: the config files could not be read, or the sockets bound."""
        return self._reload_failed(reason)

    def forked(self, spawn: Spawn, pid: int, now: float) -> list[Action]:
        self.workers[pid] = Worker(pid=pid, app=spawn.app.name, index=spawn.index,
                                   generation=spawn.generation, started_at=now)
        return [Log(logging.DEBUG, "Started worker %d of app %s (generation %d)",
                    (pid, spawn.app.name, spawn.generation))]

    def fork_failed(self, spawn: Spawn, error: str, now: float) -> list[Action]:
        """No process could be made (pids.max, memory): that slot fails, not the daemon."""
        reason = f"cannot start a worker of app {spawn.app.name}: {error}"
        if self._is_pending(spawn.generation):
            return self._abandon_pending(reason, now)
        gen = self._generation(spawn.generation)
        slot = (spawn.app.name, spawn.index)
        gen.health[slot] = after_death(gen.health.get(slot), 0.0, now)
        return [Log(logging.ERROR, "%s", (reason,))]

    def worker_ready(self, pid: int) -> list[Action]:
        """The worker reported that its app is built and it serves."""
        worker = self.workers.get(pid)
        if worker is None:
            return []
        worker.ready = True
        return [Log(logging.DEBUG, "Worker %d of app %s is serving", (pid, worker.app))]

    def worker_failed(self, pid: int, reason: str, now: float) -> list[Action]:
        """The worker reported that it could not build its app, and why."""
        worker = self.workers.get(pid)
        if worker is None:
            return []
        if self._is_pending(worker.generation) and not self.stopping:
            return self._abandon_pending(reason, now)
        # In a stop nothing is started any more: a failure then is only news,
        # and the stop still ends as a stop (exit 0).
        return [Log(logging.ERROR, "Worker %d of app %s failed: %s",
                    (pid, worker.app, reason))]

    def worker_exited(self, pid: int, status: int, now: float) -> list[Action]:
        """A child was reaped with this waitpid() status."""
        worker = self.workers.pop(pid, None)
        if worker is None:
            return []
        how = describe_exit(status)
        if worker.retiring:
            return [Log(logging.INFO, "Worker %d of app %s (generation %d) stopped: %s",
                        (pid, worker.app, worker.generation, how))]
        if self._is_pending(worker.generation) and not worker.ready:
            # It never served: its app could not be built. Only that fails
            # a start-up or abandons a reload.
            return self._abandon_pending(self._build_failure(worker, how), now)
        return self._note_death(worker, how, now)

    def tick(self, now: float) -> list[Action]:
        """Whatever is due at `now`: called once the events of a wake-up are in."""
        if self.exited:
            return []
        actions = self._kill_overdue(now)
        if self.stopping:
            return actions + self._exit_once_all_gone()
        return actions + self._hand_over_if_ready(now) + self._refill(now)

    # Questions from the loop.

    def still_wanted(self, spawn: Spawn) -> bool:
        """Whether a Spawn still stands: a fork failure may have abandoned its generation."""
        return self._generation(spawn.generation) is not None

    def next_deadline(self, now: float) -> float | None:
        """When tick() next has something to do without an event; None: not before one."""
        deadlines = [next_retire_deadline(self.workers.values())]
        if not self.stopping:
            deadlines += [respawns(self._vacancies(gen), gen.health, now)[1]
                          for gen in self._live_generations()]
        return min((d for d in deadlines if d is not None), default=None)

    # Stopping.

    def _on_stop_signal(self, name, now):
        if self.stopping:
            return self._stop_at_once(name)
        return ([Log(logging.INFO, "%s received: stopping gracefully", (name,))]
                + self._begin_stop(now))

    def _begin_stop(self, now):
        self.stopping = True
        actions = [Notify(STOPPING)] + self._retire(self.workers.values(), now)
        # Closing our copies now means the ports close as soon as every
        # worker has stopped accepting.
        keys = frozenset().union(*(gen.socket_keys for gen in self._live_generations()))
        return actions + _close(keys)

    def _stop_at_once(self, name):
        self.exited = True
        actions = [Log(logging.WARNING, "%s during the stop: stopping at once", (name,))]
        actions += [Kill(pid) for pid in self.workers]
        # The loop reaps them as it exits.
        self.workers.clear()
        return actions + [Exit(EXIT_FORCED, self.failure)]

    def _exit_once_all_gone(self):
        if self.workers:
            return []
        self.exited = True
        return [Exit(EXIT_STOPPED, self.failure)]

    def _kill_overdue(self, now):
        late = overdue(self.workers.values(), now)
        if not late:
            return []
        for worker in late:
            worker.retire_by = None
        return ([Log(logging.WARNING, "graceful_shutdown_timeout passed: killing %d "
                     "worker(s) still serving", (len(late),))]
                + [Kill(worker.pid) for worker in late])

    # Reloading.

    def _on_reload_signal(self, now):
        if self.stopping:
            return [Log(logging.WARNING, "SIGHUP during the stop: not reloading")]
        if self.current is None:
            self.reload_when_ready = True
            return [Log(logging.INFO, "SIGHUP before start-up completed: reloading "
                        "once every worker serves")]
        return self._reload(now)

    def _reload(self, now):
        actions = [Log(logging.INFO, "SIGHUP received: reloading configuration and apps"),
                   Notify(RELOADING)]
        if self.pending:
            actions += self._abandon_pending("a newer SIGHUP replaced this reload", now)
        return actions + [ReadPlan()]

    def _reload_failed(self, reason):
        return [Log(logging.ERROR, "Reload failed, generation %d keeps serving: %s",
                    (self.current.number, reason)),
                Notify(READY)]

    def _reopen_logs(self):
        return ([ReopenLogs(), Log(logging.INFO, "SIGUSR1 received: log files reopened")]
                + [ReopenWorkerLogs(pid) for pid in self.workers])

    # Generations.

    def _start_generation(self, plan, urls):
        self._generations += 1
        gen = self.pending = Generation(self._generations, plan)
        actions = [Log(logging.INFO, "App %s: %s with %d worker(s) (generation %d), "
                       "worker model %s",
                       (app.name, urls[app.name], app.workers, gen.number,
                        app.worker_model))
                   for app in plan.apps]
        return actions + [_spawn(gen, slot) for slot in slots(plan)]

    def _hand_over_if_ready(self, now):
        gen = self.pending
        if gen and generation_ready(gen.plan, gen.number, self.workers.values()):
            return self._hand_over(now)
        return []

    def _hand_over(self, now):
        new, old = self.pending, self.current
        self.pending, self.current = None, new
        actions = self._retire(to_retire(self.workers.values(), new.number), now)
        if old is None:
            actions.append(Log(logging.INFO, "Serving: every worker of every app is ready"))
        else:
            actions += _close(old.socket_keys - new.socket_keys)
            actions.append(Log(logging.INFO, "Reload complete: generation %d is serving, "
                               "generation %d is draining", (new.number, old.number)))
        actions.append(Notify(READY))
        return actions + self._reload_if_asked(now)

    def _reload_if_asked(self, now):
        if not self.reload_when_ready:
            return []
        self.reload_when_ready = False
        return self._reload(now)

    def _abandon_pending(self, reason, now):
        gen, self.pending = self.pending, None
        actions = self._retire(members(self.workers.values(), gen.number), now)
        kept = self.current.socket_keys if self.current else frozenset()
        actions += _close(gen.socket_keys - kept)
        if self.current is not None:
            return actions + self._reload_failed(reason)
        self.failure = reason
        return actions + self._begin_stop(now)

    def _build_failure(self, worker, how):
        return (f"app {worker.app}: building it from {self.pending.plan.paste_file} "
                f"failed: the process building it {how}")

    # Workers.

    def _note_death(self, worker, how, now):
        """A death that ends no generation: log it, and note when its slot may start again."""
        actions = [Log(logging.ERROR, "Worker %d of app %s (generation %d) %s",
                       (worker.pid, worker.app, worker.generation, how))]
        gen = self._generation(worker.generation)
        if gen is None:
            return actions
        health = after_death(gen.health.get(worker.slot), now - worker.started_at, now)
        gen.health[worker.slot] = health
        if health.early_deaths:
            actions.append(Log(logging.WARNING, "App %s keeps losing workers: next one in %.1f s",
                               (worker.app, health.restart_at - now)))
        return actions

    def _refill(self, now):
        """Replace workers that died after serving, in the current and the pending generation."""
        spawns = []
        for gen in self._live_generations():
            due, _ = respawns(self._vacancies(gen), gen.health, now)
            spawns += [_spawn(gen, slot) for slot in due]
        return spawns

    def _retire(self, workers, now):
        """SIGTERM to each worker not yet retiring, and the deadline of its drain."""
        timeout = self._serving_plan().graceful_shutdown_timeout
        actions = []
        for worker in [w for w in workers if not w.retiring]:
            worker.retiring = True
            if timeout:
                worker.retire_by = now + timeout
            actions.append(Terminate(worker.pid))
        return actions

    def _serving_plan(self):
        return self.current.plan if self.current else self._first_plan

    def _vacancies(self, gen):
        return vacant_slots(gen.plan, gen.number, self.workers.values())

    def _live_generations(self):
        """The generations that start workers: current and pending."""
        return [gen for gen in (self.current, self.pending) if gen is not None]

    def _generation(self, number):
        """The current or pending generation numbered `number`; None for one that is retiring."""
        return next((gen for gen in self._live_generations() if gen.number == number), None)

    def _is_pending(self, number):
        return self.pending is not None and self.pending.number == number


def _spawn(gen, slot):
    app_name, index = slot
    return Spawn(gen.number, gen.plan, gen.plan.app(app_name), index)


def _close(keys):
    return [CloseSockets(frozenset(keys))] if keys else []


# Pure functions the fleet decides with.

def slots(plan):
    return [(app.name, index) for app in plan.apps
            for index in range(app.workers)]


def retry_delay(early_deaths):
    if early_deaths == 0:
        return 0.0
    return min(FIRST_RETRY_DELAY * 2 ** (early_deaths - 1), MAX_RETRY_DELAY)


def after_death(health, uptime, now):
    """The slot's health once its worker died after `uptime` seconds."""
    previous = health.early_deaths if health else 0
    early_deaths = previous + 1 if uptime < EARLY_DEATH_SECONDS else 0
    return SlotHealth(early_deaths, now + retry_delay(early_deaths))


def members(workers, generation):
    return [w for w in workers if w.generation == generation
            and not w.retiring]


def vacant_slots(plan, generation, workers):
    filled = {w.slot for w in members(workers, generation)}
    return [slot for slot in slots(plan) if slot not in filled]


def respawns(vacant, health, now):
    """Split vacant slots into those to start now, and the earliest later restart (or None)."""
    due = [slot for slot in vacant
           if slot not in health or health[slot].restart_at <= now]
    waiting = [health[slot].restart_at for slot in vacant if slot not in due]
    return due, min(waiting, default=None)


def generation_ready(plan, generation, workers):
    ready = {w.slot for w in members(workers, generation) if w.ready}
    return all(slot in ready for slot in slots(plan))


def to_retire(workers, keep_generation):
    """Workers of other generations still serving: the ones a hand-over stops."""
    return [w for w in workers if w.generation != keep_generation
            and not w.retiring]


def overdue(workers, now):
    """Retiring workers whose graceful_shutdown_timeout has run out."""
    return [w for w in workers
            if w.retiring and w.retire_by is not None and w.retire_by <= now]


def next_retire_deadline(workers):
    return min((w.retire_by for w in workers
                if w.retiring and w.retire_by is not None), default=None)


def describe_exit(status):
    """'exited with status N' or 'was killed by signal NAME', from a waitpid() status."""
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return f"exited with status {code}"
    try:
        return f"was killed by signal {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"
