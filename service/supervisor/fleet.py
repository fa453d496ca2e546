"""The supervisor's decisions, as plain data and pure functions.

Rule 1: nothing here forks, signals, sleeps or reads the clock; callers pass `now`.
Rule 2: workers come in generations. The serving generation is "current";
a reload builds a "pending" one and hands over only once all of it is ready.
Rule 3: a slot is one (app, index) place for a worker in a generation's plan;
a dead worker's slot is refilled, after a delay that grows while the slot
keeps dying young, so a crash loop cannot become a fork storm.
"""

import dataclasses
import os
import signal

# A worker that dies sooner than this after its start counts as a crash loop.
EARLY_DEATH_SECONDS = 5.0
FIRST_RETRY_DELAY = 0.1
MAX_RETRY_DELAY = 10.0


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
    retire_by: float = None

    @property
    def slot(self):
        return (self.app, self.index)


@dataclasses.dataclass(frozen=True)
class SlotHealth:
    early_deaths: int
    restart_at: float


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
