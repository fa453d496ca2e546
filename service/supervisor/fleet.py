"""The fleet: the supervisor's view of its workers, as a state machine of plain data.

Events in, actions out. The loop (service.supervisor.loop) turns signals,
worker reports and child exits into calls of Fleet's event methods, and
performs the actions they return: it forks, signals, closes sockets,
notifies systemd, logs and exits; the fleet only decides.

Rule 1: nothing here forks, signals, binds, logs, sleeps, reads the
clock or draws random numbers; events that need the time are given `now`,
and the fleet is given its random source.
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
Rule 6: a worker is replaced in its own slot and generation (recycling,
request_timeout): its replacement starts beside it, and the worker is
retired only once the replacement serves, as in a reload of that one
worker. A replacement that fails to build leaves the worker serving, and
the next try waits as a crash loop's restart does.
Rule 7: every worker that ends has an exit reason (service.supervisor.exits),
set when the fleet decides to end it; one that dies without one crashed.
"""

import collections
import logging
import random
import signal

from service.supervisor import checkup
from service.supervisor import plan as service_plan
# The fleet's vocabulary, in modules of their own: the loop and the tests
# name them fleet.Spawn, fleet.Worker, fleet.RECYCLE ...
from service.supervisor.actions import (  # noqa: F401
    READY, RELOADING, STOPPING, Action, CloseSockets, Exit, Inspect, Kill, Log, Notify,
    ReadPlan, ReopenLogs, ReopenWorkerLogs, Spawn, Terminate)
from service.supervisor.exits import (  # noqa: F401
    BUILD_FAILED, CRASH, EXIT_REASONS, RECYCLE, RELOAD, REQUEST_TIMEOUT, STOP, WORKER_TIMEOUT,
    describe_exit)
from service.supervisor.roster import (  # noqa: F401
    EARLY_DEATH_SECONDS, FIRST_RETRY_DELAY, MAX_RETRY_DELAY, Generation, Slot, SlotHealth,
    Worker, after_death, exit_reason, generation_ready, late_builds, members,
    next_build_deadline, next_retire_deadline, overdue, respawns, retry_delay, slots,
    to_retire, vacant_slots)


EXIT_STOPPED = 0
EXIT_FORCED = 1
# How often the workers' status is read, while a timeout or limit asks for it.
INSPECT_SECONDS = 1.0


class Fleet:
    """Generations of workers and what to do about them; see the rules above."""

    def __init__(self, rng=None):
        # Draws each worker's max_requests_jitter.
        self._rng = rng or random.Random()
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
        self._next_inspection = None
        # When the workers were last looked at.
        self._looked_at = None
        # Workers that ended, by (app, exit reason): what the metrics count.
        self.exits: collections.Counter = collections.Counter()

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
                                   generation=spawn.generation, started_at=now,
                                   plan=spawn.plan, replaces=spawn.replaces,
                                   request_limit=spawn.request_limit)
        replaced = self.workers.get(spawn.replaces)
        if replaced is not None:
            replaced.replacement = pid
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
        worker.exit_reason = BUILD_FAILED  # it exits next
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
        self.exits[(worker.app, exit_reason(worker))] += 1
        replaced = self.workers.get(worker.replaces)
        if replaced is not None and replaced.replacement == pid:
            replaced.replacement = None  # it gets another, in its slot's time
        if worker.retiring:
            return [Log(logging.INFO, "Worker %d of app %s (generation %d) stopped: %s",
                        (pid, worker.app, worker.generation, how))]
        if self._is_pending(worker.generation) and not worker.ready:
            # It never served: its app could not be built. Only that fails
            # a start-up or abandons a reload.
            return self._abandon_pending(self._build_failure(worker, how), now)
        return self._note_death(worker, how, now)

    def worker_due(self, pid: int) -> list[Action]:
        """The worker reported that it has served its request_limit: a look now, not at the next inspection."""
        return [Inspect()] if pid in self.workers else []

    def inspected(self, readings: dict, now: float) -> list[Action]:
        """Inspect's answer: what the loop read of each worker, a service.worker_status.Reading by pid."""
        actions = []
        awake = self._supervisor_was_running(now)
        for pid, reading in readings.items():
            worker = self.workers.get(pid)
            if worker is not None:
                actions += self._note_first_resident(worker, reading)
                found = checkup.examine(worker, reading, now) if awake else None
                if found is not None:
                    actions += self._act_on(worker, found)
        if not awake:
            actions.append(Log(logging.INFO, "The supervisor did not run for %.1f s: its "
                               "workers get time to show they are alive",
                               (now - self._looked_at,)))
        self._looked_at = now
        if self.stopping:
            return actions
        # A killed worker's slot starts again now, not once it is reaped.
        return actions + self._refill(now) + self._replace_due(now)

    def tick(self, now: float) -> list[Action]:
        """Whatever is due at `now`: called once the events of a wake-up are in."""
        if self.exited:
            return []
        actions = self._kill_overdue(now) + self._end_late_builds(now)
        actions += self._inspect_if_due(now)
        if self.stopping:
            return actions + self._exit_once_all_gone()
        return (actions + self._hand_over_if_ready(now) + self._retire_replaced(now)
                + self._refill(now) + self._replace_due(now))

    # Questions from the loop.

    def still_wanted(self, spawn: Spawn) -> bool:
        """Whether a Spawn still stands: a fork failure may have abandoned its generation."""
        return self._generation(spawn.generation) is not None

    def next_deadline(self, now: float) -> float | None:
        """When tick() next has something to do without an event; None: not before one."""
        workers = self.workers.values()
        deadlines = [next_retire_deadline(workers), next_build_deadline(workers),
                     self._next_inspection if self._watched() else None]
        if not self.stopping:
            deadlines += [respawns(self._vacancies(gen), gen.health, now)[1]
                          for gen in self._live_generations()]
            deadlines += [self._restart_at(worker) for worker in self._awaiting_replacement()]
        return min((d for d in deadlines if d is not None), default=None)

    # Stopping.

    def _on_stop_signal(self, name, now):
        if self.stopping:
            return self._stop_at_once(name)
        return ([Log(logging.INFO, "%s received: stopping gracefully", (name,))]
                + self._begin_stop(now))

    def _begin_stop(self, now):
        self.stopping = True
        actions = [Notify(STOPPING)] + self._retire(self.workers.values(), now, STOP)
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
        return ([Log(logging.WARNING, "graceful_shutdown_timeout passed: killing %d "
                     "worker(s) still serving", (len(late),))]
                + [action for worker in late for action in self._kill(worker)])

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
            # Nothing went wrong: the newer reload is the one that counts.
            actions.append(Log(logging.INFO, "The reload to generation %d is replaced by "
                               "this one", (self.pending.number,)))
            actions += self._drop_pending(now)
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
        return actions + [self._spawn(gen, slot) for slot in slots(plan)]

    def _hand_over_if_ready(self, now):
        gen = self.pending
        if gen and generation_ready(gen.plan, gen.number, self.workers.values()):
            return self._hand_over(now)
        return []

    def _hand_over(self, now):
        new, old = self.pending, self.current
        self.pending, self.current = None, new
        actions = self._retire(to_retire(self.workers.values(), new.number), now, RELOAD)
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
        # Without a current generation this is a failed start-up: its
        # workers end in the stop that follows, not in a reload.
        actions = self._drop_pending(now, RELOAD if self.current is not None else STOP)
        if self.current is not None:
            return actions + self._reload_failed(reason)
        self.failure = reason
        return actions + self._begin_stop(now)

    def _drop_pending(self, now, reason=RELOAD):
        """Stop the pending generation's workers, and close the sockets only it used."""
        gen, self.pending = self.pending, None
        actions = self._retire(members(self.workers.values(), gen.number), now, reason)
        kept = self.current.socket_keys if self.current else frozenset()
        return actions + _close(gen.socket_keys - kept)

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
        health = self._slot_failed(gen, worker, now)
        replaced = self.workers.get(worker.replaces)
        if replaced is not None and not replaced.retiring:
            actions.append(Log(logging.WARNING, "Worker %d of app %s serves on: its "
                               "replacement failed; next try in %.1f s",
                               (replaced.pid, worker.app, health.restart_at - now)))
        elif health.early_deaths:
            actions.append(Log(logging.WARNING, "App %s keeps losing workers: next one in %.1f s",
                               (worker.app, health.restart_at - now)))
        return actions

    def _slot_failed(self, gen, worker, now):
        """Note a death in the worker's slot: when the slot may start a process again."""
        health = after_death(gen.health.get(worker.slot), now - worker.started_at, now)
        gen.health[worker.slot] = health
        return health

    def _refill(self, now):
        """Replace workers that died after serving, in the current and the pending generation."""
        spawns = []
        for gen in self._live_generations():
            due, _ = respawns(self._vacancies(gen), gen.health, now)
            spawns += [self._spawn(gen, slot) for slot in due]
        return spawns

    def _kill(self, worker):
        worker.retiring = worker.killed = True
        worker.retire_by = None
        return [Kill(worker.pid)]

    def _spawn(self, gen, slot, replaces=None):
        app = gen.plan.app(slot[0])
        return Spawn(gen.number, gen.plan, app, slot[1], replaces,
                     self._request_limit(app.limits))

    def _request_limit(self, limits):
        if not limits.max_requests:
            return 0
        return limits.max_requests + self._rng.randint(0, limits.max_requests_jitter)

    def _end_late_builds(self, now):
        """Kill the workers still building past app_build_timeout: their build has failed."""
        actions = []
        for worker in late_builds(self.workers.values(), now):
            actions += self._build_timed_out(worker, now)
        return actions

    def _build_timed_out(self, worker, now):
        reason = (f"app {worker.app}: building it from {worker.plan.paste_file} took "
                  f"longer than app_build_timeout ({worker.plan.app_build_timeout} s)")
        worker.exit_reason = BUILD_FAILED
        actions = self._kill(worker)
        if self._is_pending(worker.generation) and not self.stopping:
            return actions + self._abandon_pending(reason, now)
        gen = self._generation(worker.generation)
        if gen is not None:
            self._slot_failed(gen, worker, now)
        return actions + [Log(logging.ERROR, "Worker %d of app %s killed: %s",
                              (worker.pid, worker.app, reason))]

    # Looking at the workers' status (service.supervisor.checkup).

    def _inspect_if_due(self, now):
        if not self._watched():
            self._next_inspection = None
            return []
        if self._next_inspection is not None and now < self._next_inspection:
            return []
        self._next_inspection = now + INSPECT_SECONDS
        return [Inspect()]

    def _supervisor_was_running(self, now):
        """False when the supervisor itself was stopped (SIGSTOP to the whole group, a frozen cgroup).

        Its workers stopped with it, and their heartbeats have not caught
        up yet: judged now, every one would look hung. They get one look's
        time.
        """
        return self._looked_at is None or now - self._looked_at < checkup.STALLED_SECONDS

    def _watched(self):
        return any(w.plan is not None and checkup.watched(w.plan)
                   for w in self.workers.values())

    def _note_first_resident(self, worker, reading):
        if not worker.ready or worker.first_resident is not None or reading.resident is None:
            return []
        worker.first_resident = reading.resident
        if not checkup.starts_past_max_rss(worker, reading):
            return []
        return [Log(logging.WARNING, "Worker %d of app %s holds %d MiB as it starts serving, "
                    "past max_worker_rss (%d MiB): it is not recycled for memory",
                    (worker.pid, worker.app, reading.resident // checkup.MIB,
                     worker.plan.app(worker.app).limits.max_worker_rss))]

    def _act_on(self, worker, found):
        """Kill the worker, or have it replaced (_replace_due starts its replacement)."""
        worker.exit_reason = found.reason
        actions = [Log(found.level, "Worker %d of app %s %s", (worker.pid, worker.app, found.text))]
        return actions + self._kill(worker) if found.kill else actions

    # Replacing a worker in its slot (Rule 6).

    def _replace_due(self, now):
        """Start the replacements that are due: one per worker to replace, in its slot's time."""
        spawns = []
        for worker in self._awaiting_replacement():
            if self._restart_at(worker) <= now:
                gen = self._generation(worker.generation)
                spawns.append(self._spawn(gen, worker.slot, replaces=worker.pid))
        return spawns

    def _awaiting_replacement(self):
        """Workers the fleet is replacing whose replacement is not started yet.

        The loop performs a Spawn before it feeds the next event, so that
        forked() links the replacement before this is asked again.
        """
        return [w for w in self.workers.values()
                if w.exit_reason in (RECYCLE, REQUEST_TIMEOUT) and not w.retiring
                and w.replacement is None and self._generation(w.generation) is not None]

    def _restart_at(self, worker):
        """When the worker's slot may start a process again (a failed replacement waits as a crash does)."""
        health = self._generation(worker.generation).health.get(worker.slot)
        return health.restart_at if health else float("-inf")

    def _retire_replaced(self, now):
        """Retire each worker whose replacement now serves, as a reload retires a generation."""
        actions = []
        for worker in list(self.workers.values()):
            replacement = self.workers.get(worker.replacement)
            if worker.retiring or replacement is None or not replacement.ready:
                continue
            actions.append(Log(logging.INFO, "Worker %d of app %s serves in place of worker "
                               "%d (%s)", (replacement.pid, worker.app, worker.pid,
                                           worker.exit_reason)))
            actions += self._retire([worker], now, worker.exit_reason)
        return actions

    def _retire(self, workers, now, reason):
        """SIGTERM to each worker not yet retiring, and the deadline of its drain."""
        timeout = self._serving_plan().graceful_shutdown_timeout
        actions = []
        for worker in [w for w in workers if not w.retiring]:
            worker.retiring = True
            if worker.exit_reason != BUILD_FAILED:  # it failed before it was retired
                worker.exit_reason = reason
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


def _close(keys):
    return [CloseSockets(frozenset(keys))] if keys else []
