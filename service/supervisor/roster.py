"""The fleet's roster: its workers, their generations and slots, and the pure functions the fleet decides with.

Plain data and functions of it, no behaviour: service.supervisor.fleet
changes them as events come and decides with these functions.
"""

import dataclasses

from service.supervisor import plan as service_plan
from service.supervisor import sockets
from service.supervisor.exits import BUILD_FAILED, CRASH

# A worker that dies sooner than this after its start counts as a crash loop.
EARLY_DEATH_SECONDS = 5.0
FIRST_RETRY_DELAY = 0.1
MAX_RETRY_DELAY = 10.0

Slot = tuple[str, int]


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
    # Its generation's plan: its app's limits, the daemon's timeouts.
    plan: service_plan.Plan | None = None
    # Why the fleet ends it, from the moment it decides (the fleet's Rule 7).
    exit_reason: str | None = None
    # SIGKILL was sent: nothing more is asked of it.
    killed: bool = False
    # The fleet's Rule 6: the pid of the worker starting in its place, and of the one
    # it starts in place of.
    replacement: int | None = None
    replaces: int | None = None
    # Requests after which it is recycled: max_requests plus its jitter (0: never).
    request_limit: int = 0
    # Its resident memory when it was first looked at serving.
    first_resident: int | None = None

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



def exit_reason(worker):
    """Why a worker that has died ended (the fleet's Rule 7): the fleet's reason, else a crash."""
    if worker.exit_reason and (worker.retiring or worker.exit_reason == BUILD_FAILED):
        return worker.exit_reason
    return CRASH


def late_builds(workers, now):
    """Workers still building their app past app_build_timeout."""
    return [w for w in workers if not w.ready and not w.retiring and w.plan is not None
            and w.plan.app_build_timeout and now - w.started_at >= w.plan.app_build_timeout]


def next_build_deadline(workers):
    return min((w.started_at + w.plan.app_build_timeout for w in workers
                if not w.ready and not w.retiring and w.plan is not None
                and w.plan.app_build_timeout), default=None)
