"""The supervisor's decisions, driven without forking.

First the pure helpers, then the Fleet through whole scenarios.
"""

import itertools
import logging
import random
import signal

import pytest

from service.supervisor import fleet
from service.supervisor.fleet import SlotHealth, Worker
from service.supervisor.plan import AppLimits, AppPlan, Plan


def make_plan(**workers):
    apps = tuple(AppPlan(name, "127.0.0.1", 0, count) for name, count in workers.items())
    return Plan(apps=apps, paste_file="p.ini", graceful_shutdown_timeout=60,
                wsgi=None, sockets=None)


def test_slots_enumerate_every_worker_place():
    assert fleet.slots(make_plan(a=2, b=1)) == [("a", 0), ("a", 1), ("b", 0)]


def test_retry_delay_grows_and_is_capped():
    delays = [fleet.retry_delay(n) for n in range(12)]
    assert delays[0] == 0.0
    assert delays[1] == fleet.FIRST_RETRY_DELAY
    assert all(b >= a for a, b in zip(delays, delays[1:]))
    assert delays[-1] == fleet.MAX_RETRY_DELAY


def test_early_deaths_accumulate_and_a_long_life_resets_them():
    health = fleet.after_death(None, uptime=0.2, now=100.0)
    assert health == SlotHealth(1, 100.0 + fleet.FIRST_RETRY_DELAY)
    health = fleet.after_death(health, uptime=0.2, now=101.0)
    assert health.early_deaths == 2
    health = fleet.after_death(health, uptime=3600, now=5000.0)
    assert health == SlotHealth(0, 5000.0)


def simulate_crash_loop(seconds, uptime):
    """Forks of one slot whose every worker dies `uptime` seconds after start."""
    now, health, forks = 0.0, None, 0
    while now < seconds:
        forks += 1
        now += uptime
        health = fleet.after_death(health, uptime, now)
        now = health.restart_at
    return forks


def test_a_crash_loop_forks_a_handful_of_times_in_ten_seconds():
    assert simulate_crash_loop(10, uptime=0.01) <= 10
    # A healthy worker that dies after a long life is replaced at once.
    assert fleet.after_death(None, 60, 0).restart_at == 0


def test_vacant_slots_ignore_retiring_and_other_generations():
    plan = make_plan(a=2, b=1)
    workers = [Worker(1, "a", 0, 2, 0.0), Worker(2, "a", 1, 2, 0.0, retiring=True),
               Worker(3, "b", 0, 1, 0.0)]
    assert fleet.vacant_slots(plan, 2, workers) == [("a", 1), ("b", 0)]


def test_respawns_start_due_slots_and_report_the_next_wakeup():
    health = {("a", 1): SlotHealth(3, 105.0), ("b", 0): SlotHealth(1, 99.0)}
    due, next_at = fleet.respawns([("a", 0), ("a", 1), ("b", 0)], health, now=100.0)
    assert due == [("a", 0), ("b", 0)]
    assert next_at == 105.0
    assert fleet.respawns([], health, now=100.0) == ([], None)


def test_generation_is_ready_only_when_every_slot_is():
    plan = make_plan(a=2)
    workers = [Worker(1, "a", 0, 3, 0.0, ready=True), Worker(2, "a", 1, 3, 0.0)]
    assert not fleet.generation_ready(plan, 3, workers)
    workers[1].ready = True
    assert fleet.generation_ready(plan, 3, workers)
    assert not fleet.generation_ready(plan, 4, workers)


def test_hand_over_retires_every_other_generation_once():
    workers = [Worker(1, "a", 0, 1, 0.0), Worker(2, "a", 0, 2, 0.0),
               Worker(3, "b", 0, 1, 0.0, retiring=True)]
    assert [w.pid for w in fleet.to_retire(workers, keep_generation=2)] == [1]


@pytest.mark.parametrize("status, text", [
    (0, "exited with status 0"),
    (3 << 8, "exited with status 3"),
    (signal.SIGKILL, "was killed by signal SIGKILL"),
])
def test_describe_exit(status, text):
    assert fleet.describe_exit(status) == text


def test_overdue_retiring_workers_are_killed_at_their_deadline():
    workers = [Worker(1, "a", 0, 1, 0.0, retiring=True, retire_by=10.0),
               Worker(2, "a", 1, 1, 0.0, retiring=True, retire_by=20.0),
               Worker(3, "a", 0, 2, 0.0),
               Worker(4, "a", 1, 1, 0.0, retiring=True)]
    assert fleet.next_retire_deadline(workers) == 10.0
    assert [w.pid for w in fleet.overdue(workers, now=15.0)] == [1]
    assert [w.pid for w in fleet.overdue(workers, now=25.0)] == [1, 2]
    assert fleet.next_retire_deadline(workers[2:]) is None


# The state machine, driven through whole scenarios without a process.

ENOMEM = "Cannot allocate memory"


def urls(plan):
    return {app.name: f"http://127.0.0.1:{8000 + n}" for n, app in enumerate(plan.apps)}


class FakeLoop:
    """Performs a fleet's actions as service.supervisor.loop does: made-up pids, no processes.

    Each event method feeds one wake-up's events and then tick(), as the
    loop does, and returns every action performed meanwhile, the answers to
    Spawn and ReadPlan included.
    """

    def __init__(self):
        self.fleet = fleet.Fleet(rng=random.Random(21))
        self.now = 1000.0
        # What Inspect reads: a worker_status.Reading by pid.
        self.readings = {}
        # What each ReadPlan finds: a Plan, or the reason it cannot be read.
        self.plans_to_read = []
        # Apps whose forks fail.
        self.no_fork = set()
        # Spawns the fleet no longer wanted when their turn came.
        self.skipped = []
        self.performed = []
        self._pids = itertools.count(101)

    # Events.

    def start(self, plan):
        return self._perform(self.fleet.start(plan, urls(plan)))

    def signal(self, *signums):
        return self._wake(*[lambda s=s: self.fleet.signal_received(s, self.now)
                            for s in signums])

    def ready(self, *pids):
        return self._wake(*[lambda p=p: self.fleet.worker_ready(p) for p in pids])

    def failed(self, pid, reason):
        return self._wake(lambda: self.fleet.worker_failed(pid, reason, self.now))

    def due(self, pid):
        return self._wake(lambda: self.fleet.worker_due(pid))

    def exited(self, *pids, status=0):
        return self._wake(*[lambda p=p: self.fleet.worker_exited(p, status, self.now)
                            for p in pids])

    def later(self, seconds):
        return self.at(self.now + seconds)

    def at(self, now):
        self.now = now
        return self._wake()

    def serving(self, plan):
        """Start with `plan` and let every worker report ready."""
        self.start(plan)
        return self.ready(*self.pids())

    # What the fleet holds.

    def pids(self, generation=None, app=None):
        """Workers not retiring, by generation and app."""
        return [w.pid for w in self.fleet.workers.values() if not w.retiring
                and generation in (None, w.generation) and app in (None, w.app)]

    # The loop's part.

    def _wake(self, *events):
        start = len(self.performed)
        for event in events:
            self._perform(event())
        self._perform(self.fleet.tick(self.now))
        return self.performed[start:]

    def _perform(self, actions):
        start = len(self.performed)
        for action in actions:
            self.performed.append(action)
            if isinstance(action, fleet.Spawn):
                self._spawn(action)
            elif isinstance(action, fleet.ReadPlan):
                self._read_plan()
            elif isinstance(action, fleet.Inspect):
                self._perform(self.fleet.inspected(dict(self.readings), self.now))
        return self.performed[start:]

    def _spawn(self, spawn):
        if not self.fleet.still_wanted(spawn):
            self.skipped.append(spawn)
        elif spawn.app.name in self.no_fork:
            self._perform(self.fleet.fork_failed(spawn, ENOMEM, self.now))
        else:
            self._perform(self.fleet.forked(spawn, next(self._pids), self.now))

    def _read_plan(self):
        plan = self.plans_to_read.pop(0)
        if isinstance(plan, str):
            self._perform(self.fleet.plan_failed(plan))
        else:
            self._perform(self.fleet.plan_read(plan, urls(plan)))


def logged(actions, level=None):
    return [a.text for a in actions
            if isinstance(a, fleet.Log) and level in (None, a.level)]


def spawned(actions):
    return [(a.generation, a.app.name, a.index) for a in actions
            if isinstance(a, fleet.Spawn)]


def of_type(kind, actions):
    return [a for a in actions if isinstance(a, kind)]


def terminated(actions):
    return sorted(a.pid for a in of_type(fleet.Terminate, actions))


def killed(actions):
    return sorted(a.pid for a in of_type(fleet.Kill, actions))


def closed(actions):
    return set().union(*(a.keys for a in of_type(fleet.CloseSockets, actions)))


def notified(actions):
    return [a.state for a in of_type(fleet.Notify, actions)]


def exits(actions):
    return of_type(fleet.Exit, actions)


def key(port):
    """The socket key of an app of plan_with() on `port`."""
    return ("127.0.0.1", port)


def plan_with(timeout=60, worker_timeout=0, build_timeout=0, limits=AppLimits(), **apps):
    """A plan of apps given as name=(port, workers); ports 1, 2... when given a count only.

    Every app has `limits`; the daemon's timeouts are 0 (none) unless given.
    """
    entries = []
    for n, (name, spec) in enumerate(apps.items(), 1):
        port, workers = spec if isinstance(spec, tuple) else (n, spec)
        entries.append(AppPlan(name, "127.0.0.1", port, workers, limits=limits))
    return Plan(apps=tuple(entries), paste_file="p.ini",
                graceful_shutdown_timeout=timeout, wsgi=None, sockets=None,
                worker_timeout=worker_timeout, app_build_timeout=build_timeout)


# Start-up.

def test_start_up_logs_each_app_and_spawns_every_slot_of_generation_1():
    loop = FakeLoop()
    actions = loop.start(plan_with(a=2, b=1))
    assert logged(actions, logging.INFO) == [
        "App a: http://127.0.0.1:8000 with 2 worker(s) (generation 1), worker model eventlet",
        "App b: http://127.0.0.1:8001 with 1 worker(s) (generation 1), worker model eventlet"]
    assert spawned(actions) == [(1, "a", 0), (1, "a", 1), (1, "b", 0)]
    assert logged(actions, logging.DEBUG) == [
        f"Started worker {pid} of app {app} (generation 1)"
        for pid, app in zip(loop.pids(), "aab")]


def test_start_up_completes_when_every_worker_is_ready():
    loop = FakeLoop()
    loop.start(plan_with(a=2, b=1))
    a0, a1, b0 = loop.pids()
    assert notified(loop.ready(a0, b0)) == []
    actions = loop.ready(a1)
    assert "Serving: every worker of every app is ready" in logged(actions)
    assert notified(actions) == [fleet.READY]
    assert loop.fleet.current.number == 1 and loop.fleet.pending is None
    assert loop.fleet.next_deadline(loop.now) is None


# The start-up window.

def test_a_worker_that_served_and_died_is_replaced_while_another_app_builds():
    loop = FakeLoop()
    loop.start(plan_with(a=1, slow=1))
    a0, slow0 = loop.pids()
    loop.ready(a0)
    loop.later(fleet.EARLY_DEATH_SECONDS)
    actions = loop.exited(a0, status=5 << 8)
    assert logged(actions, logging.ERROR) == [
        f"Worker {a0} of app a (generation 1) exited with status 5"]
    assert spawned(actions) == [(1, "a", 0)]
    assert not exits(actions) and not terminated(actions)
    (a0_again,) = loop.pids(app="a")
    assert "Serving: every worker of every app is ready" in logged(
        loop.ready(slow0, a0_again))


def test_a_failure_to_build_fails_the_start_up_with_its_reason():
    loop = FakeLoop()
    loop.start(plan_with(a=1, broken=2))
    a0, broken0, broken1 = loop.pids()
    loop.ready(a0)
    actions = loop.failed(broken0, "app broken: ImportError: no module x")
    assert terminated(actions) == [a0, broken0, broken1]
    assert notified(actions) == [fleet.STOPPING]
    assert closed(actions) == {key(1), key(2)}
    assert exits(loop.exited(a0, broken0)) == []
    assert exits(loop.exited(broken1)) == [
        fleet.Exit(0, "app broken: ImportError: no module x")]


def test_a_worker_that_dies_before_it_served_fails_the_start_up():
    loop = FakeLoop()
    loop.start(plan_with(a=1))
    (a0,) = loop.pids()
    actions = loop.exited(a0, status=3 << 8)
    assert exits(actions) == [fleet.Exit(0, "app a: building it from p.ini failed: "
                                            "the process building it exited with status 3")]


def test_term_during_start_up_stops():
    loop = FakeLoop()
    loop.start(plan_with(a=1, b=1))
    a0, b0 = loop.pids()
    loop.ready(a0)
    actions = loop.signal(signal.SIGTERM)
    assert logged(actions) == ["SIGTERM received: stopping gracefully"]
    assert terminated(actions) == [a0, b0]
    assert closed(actions) == {key(1), key(2)}
    assert "Serving: every worker of every app is ready" not in logged(loop.ready(b0))
    assert exits(loop.exited(a0, b0)) == [fleet.Exit(0)]


def test_a_build_failure_reported_during_a_stop_leaves_it_a_stop():
    loop = FakeLoop()
    loop.start(plan_with(a=1, b=1))
    a0, b0 = loop.pids()
    loop.ready(a0)
    loop.signal(signal.SIGTERM)
    actions = loop.failed(b0, "app b: building it failed: ValueError: no")
    assert logged(actions, logging.ERROR) == [
        f"Worker {b0} of app b failed: app b: building it failed: ValueError: no"]
    assert notified(actions) == [] and closed(actions) == set()
    assert exits(loop.exited(a0, b0)) == [fleet.Exit(0)]


def test_a_hup_before_start_up_completes_is_performed_once_it_has():
    loop = FakeLoop()
    loop.start(plan_with(a=1))
    (a0,) = loop.pids()
    actions = loop.signal(signal.SIGHUP)
    assert logged(actions) == [
        "SIGHUP before start-up completed: reloading once every worker serves"]
    assert of_type(fleet.ReadPlan, actions) == []
    loop.plans_to_read.append(plan_with(a=2))
    actions = loop.ready(a0)
    assert logged(actions, logging.INFO)[:2] == [
        "Serving: every worker of every app is ready",
        "SIGHUP received: reloading configuration and apps"]
    assert notified(actions) == [fleet.READY, fleet.RELOADING]
    assert spawned(actions) == [(2, "a", 0), (2, "a", 1)]
    # Performed once only.
    assert spawned(loop.ready(*loop.pids(generation=2))) == []


# Reload.

def test_reload_hands_over_once_every_new_worker_is_ready():
    loop = FakeLoop()
    loop.serving(plan_with(timeout=60, kept=1, removed=1))
    old = loop.pids()
    loop.plans_to_read.append(plan_with(timeout=30, kept=(1, 1), added=(3, 1)))
    actions = loop.signal(signal.SIGHUP)
    assert notified(actions) == [fleet.RELOADING]
    assert spawned(actions) == [(2, "kept", 0), (2, "added", 0)]
    new = loop.pids(generation=2)
    assert terminated(loop.ready(new[0])) == []
    loop.later(10)
    actions = loop.ready(new[1])
    assert terminated(actions) == old
    assert closed(actions) == {key(2)}
    assert "Reload complete: generation 2 is serving, generation 1 is draining" in logged(actions)
    assert notified(actions) == [fleet.READY]
    # Each old worker's drain ends graceful_shutdown_timeout after its TERM,
    # as the new configuration sets it.
    assert [loop.fleet.workers[pid].retire_by for pid in old] == [loop.now + 30] * 2
    assert loop.fleet.next_deadline(loop.now) == loop.now + 30


def test_an_old_worker_still_draining_at_graceful_shutdown_timeout_is_killed():
    loop = FakeLoop()
    loop.serving(plan_with(timeout=30, a=2))
    old = loop.pids()
    loop.plans_to_read.append(plan_with(timeout=30, a=2))
    loop.signal(signal.SIGHUP)
    loop.ready(*loop.pids(generation=2))
    deadline = loop.fleet.next_deadline(loop.now)
    loop.exited(old[0])
    assert killed(loop.at(deadline - 0.1)) == []
    actions = loop.at(deadline)
    assert logged(actions) == [
        "graceful_shutdown_timeout passed: killing 1 worker(s) still serving"]
    assert killed(actions) == [old[1]]
    # Killed once: its deadline is spent.
    assert killed(loop.later(60)) == []
    assert logged(loop.exited(old[1], status=signal.SIGKILL)) == [
        f"Worker {old[1]} of app a (generation 1) stopped: was killed by signal SIGKILL"]


def test_graceful_shutdown_timeout_0_waits_for_ever():
    loop = FakeLoop()
    loop.serving(plan_with(timeout=0, a=1))
    loop.signal(signal.SIGTERM)
    assert loop.fleet.next_deadline(loop.now) is None
    assert killed(loop.later(10 ** 6)) == []


def test_a_failure_to_build_abandons_the_reload_and_the_old_generation_keeps_serving():
    loop = FakeLoop()
    loop.serving(plan_with(a=(1, 1)))
    old = loop.pids()
    loop.plans_to_read.append(plan_with(a=(1, 1), broken=(2, 2)))
    loop.signal(signal.SIGHUP)
    new = loop.pids(generation=2)
    loop.ready(new[0])
    actions = loop.failed(new[1], "app broken: ValueError: no")
    assert terminated(actions) == new
    assert closed(actions) == {key(2)}  # a's socket still serves
    assert logged(actions) == [
        "Reload failed, generation 1 keeps serving: app broken: ValueError: no"]
    assert notified(actions) == [fleet.READY]
    assert loop.pids() == old and loop.fleet.current.number == 1
    assert exits(loop.exited(*new)) == []


def test_a_reload_whose_config_cannot_be_read_keeps_the_old_generation():
    loop = FakeLoop()
    loop.serving(plan_with(a=1))
    loop.plans_to_read.append("[DEFAULT] enabled_apis: no apps to serve")
    actions = loop.signal(signal.SIGHUP)
    assert spawned(actions) == [] and terminated(actions) == []
    assert logged(actions, logging.ERROR) == [
        "Reload failed, generation 1 keeps serving: [DEFAULT] enabled_apis: no apps to serve"]
    assert notified(actions) == [fleet.RELOADING, fleet.READY]


def test_a_new_worker_that_served_and_died_is_replaced_without_abandoning_the_reload():
    loop = FakeLoop()
    loop.serving(plan_with(a=1))
    loop.plans_to_read.append(plan_with(a=1, slow=1))
    loop.signal(signal.SIGHUP)
    a_new, slow_new = loop.pids(generation=2)
    loop.ready(a_new)
    loop.later(fleet.EARLY_DEATH_SECONDS)
    actions = loop.exited(a_new, status=signal.SIGKILL)
    assert spawned(actions) == [(2, "a", 0)]
    assert "Reload failed" not in " ".join(logged(actions))
    (a_again,) = loop.pids(generation=2, app="a")
    assert "Reload complete: generation 2 is serving, generation 1 is draining" in logged(
        loop.ready(a_again, slow_new))


def test_a_hup_during_a_reload_replaces_it():
    loop = FakeLoop()
    loop.serving(plan_with(a=2))
    old = loop.pids()
    loop.plans_to_read += [plan_with(a=2), plan_with(a=2)]
    loop.signal(signal.SIGHUP)
    second = loop.pids(generation=2)
    actions = loop.signal(signal.SIGHUP)
    # Nothing failed: the newer reload is told at INFO, and systemd hears of
    # one reload going on, not of one ending.
    assert logged(actions, logging.INFO)[:2] == [
        "SIGHUP received: reloading configuration and apps",
        "The reload to generation 2 is replaced by this one"]
    assert logged(actions, logging.ERROR) == []
    assert notified(actions) == [fleet.RELOADING]
    assert terminated(actions) == second
    assert spawned(actions) == [(3, "a", 0), (3, "a", 1)]
    actions = loop.ready(*second, *loop.pids(generation=3))
    assert "Reload complete: generation 3 is serving, generation 1 is draining" in logged(actions)
    assert terminated(actions) == old


def test_term_during_a_reload_stops_both_generations():
    loop = FakeLoop()
    loop.serving(plan_with(a=(1, 1)))
    loop.plans_to_read.append(plan_with(a=(1, 1), b=(2, 1)))
    loop.signal(signal.SIGHUP)
    everyone = loop.pids()
    actions = loop.signal(signal.SIGTERM)
    assert terminated(actions) == everyone
    assert closed(actions) == {key(1), key(2)}
    assert spawned(loop.ready(*everyone)) == []
    assert exits(loop.exited(*everyone)) == [fleet.Exit(0)]


def test_a_hup_during_the_stop_is_not_a_reload():
    loop = FakeLoop()
    loop.serving(plan_with(a=1))
    loop.signal(signal.SIGTERM)
    actions = loop.signal(signal.SIGHUP)
    assert logged(actions) == ["SIGHUP during the stop: not reloading"]
    assert of_type(fleet.ReadPlan, actions) == []


def test_a_fork_failure_in_a_reload_abandons_it_and_forks_no_more_of_it():
    loop = FakeLoop()
    loop.serving(plan_with(a=(1, 1)))
    old = loop.pids()
    loop.no_fork.add("b")
    loop.plans_to_read.append(plan_with(a=(1, 1), b=(2, 2)))
    actions = loop.signal(signal.SIGHUP)
    (a_new,) = [w.pid for w in loop.fleet.workers.values() if w.generation == 2]
    assert terminated(actions) == [a_new]
    assert spawned(actions) == [(2, "a", 0), (2, "b", 0), (2, "b", 1)]
    assert spawned(loop.skipped) == [(2, "b", 1)]
    assert logged(actions, logging.ERROR) == [
        f"Reload failed, generation 1 keeps serving: cannot start a worker of app b: {ENOMEM}"]
    assert loop.pids() == old


def test_a_fork_failure_in_the_serving_generation_is_retried_later():
    loop = FakeLoop()
    loop.serving(plan_with(a=1))
    (a0,) = loop.pids()
    loop.later(60)
    loop.no_fork.add("a")
    actions = loop.exited(a0, status=signal.SIGKILL)
    assert logged(actions, logging.ERROR)[-1] == f"cannot start a worker of app a: {ENOMEM}"
    assert exits(actions) == [] and loop.fleet.current.number == 1
    retry_at = loop.fleet.next_deadline(loop.now)
    assert retry_at == loop.now + fleet.FIRST_RETRY_DELAY
    loop.no_fork.clear()
    assert spawned(loop.at(retry_at)) == [(1, "a", 0)]


# Stopping.

def test_stop_exits_0_once_every_worker_is_gone():
    loop = FakeLoop()
    loop.serving(plan_with(a=2))
    a0, a1 = loop.pids()
    actions = loop.signal(signal.SIGINT)
    assert logged(actions) == ["SIGINT received: stopping gracefully"]
    assert notified(actions) == [fleet.STOPPING]
    assert terminated(actions) == [a0, a1]
    assert closed(actions) == {key(1)}
    actions = loop.exited(a0)
    assert logged(actions) == [
        f"Worker {a0} of app a (generation 1) stopped: exited with status 0"]
    assert spawned(actions) == [] and exits(actions) == []
    assert exits(loop.exited(a1)) == [fleet.Exit(0)]
    assert loop.later(10) == []


def test_a_second_stop_signal_kills_every_worker_and_exits_1():
    loop = FakeLoop()
    loop.serving(plan_with(a=2))
    everyone = loop.pids()
    loop.signal(signal.SIGTERM)
    actions = loop.signal(signal.SIGINT)
    assert logged(actions) == ["SIGINT during the stop: stopping at once"]
    assert killed(actions) == everyone
    assert exits(actions) == [fleet.Exit(1)]
    assert actions[-1] == fleet.Exit(1)


def test_graceful_shutdown_timeout_bounds_the_stop():
    loop = FakeLoop()
    loop.serving(plan_with(timeout=5, a=2))
    a0, a1 = loop.pids()
    loop.signal(signal.SIGTERM)
    loop.exited(a0)
    assert loop.fleet.next_deadline(loop.now) == loop.now + 5
    actions = loop.later(5)
    assert killed(actions) == [a1]
    assert "graceful_shutdown_timeout passed: killing 1 worker(s) still serving" in logged(actions)
    assert exits(loop.exited(a1, status=signal.SIGKILL)) == [fleet.Exit(0)]


def test_a_failed_start_up_stopped_at_once_still_reports_why():
    loop = FakeLoop()
    loop.start(plan_with(a=1))
    (a0,) = loop.pids()
    loop.failed(a0, "app a: boom")
    assert exits(loop.signal(signal.SIGTERM)) == [fleet.Exit(1, "app a: boom")]


# Crash loops.

def test_a_crash_loop_backs_off_with_growing_delays_and_a_long_life_resets_them():
    loop = FakeLoop()
    loop.serving(plan_with(a=1, b=1))
    delays = []
    for _ in range(5):
        (a0,) = loop.pids(app="a")
        loop.later(1)
        actions = loop.exited(a0, status=signal.SIGSEGV)
        assert spawned(actions) == []
        restart_at = loop.fleet.next_deadline(loop.now)
        delay = restart_at - loop.now
        assert logged(actions, logging.WARNING) == [
            f"App a keeps losing workers: next one in {delay:.1f} s"]
        assert spawned(loop.at(restart_at - 0.01)) == []
        assert spawned(loop.at(restart_at)) == [(1, "a", 0)]
        delays.append(delay)
    assert delays == sorted(delays) and delays[0] < delays[-1]
    # A worker that lived long enough is replaced at once, without a warning.
    (a0,) = loop.pids(app="a")
    loop.later(fleet.EARLY_DEATH_SECONDS)
    actions = loop.exited(a0, status=signal.SIGSEGV)
    assert spawned(actions) == [(1, "a", 0)]
    assert logged(actions, logging.WARNING) == []


def test_other_apps_never_notice_a_crash_loop():
    loop = FakeLoop()
    loop.serving(plan_with(a=1, b=1))
    (b0,) = loop.pids(app="b")
    for _ in range(5):
        (a0,) = loop.pids(app="a")
        actions = loop.exited(a0, status=signal.SIGSEGV)
        actions += loop.later(fleet.MAX_RETRY_DELAY)
        assert terminated(actions) == [] and killed(actions) == []
    assert loop.pids(app="b") == [b0]


# Other events.

def test_usr1_reopens_the_supervisors_logs_then_asks_every_worker():
    loop = FakeLoop()
    loop.serving(plan_with(a=2))
    actions = loop.signal(signal.SIGUSR1)
    assert actions[:2] == [fleet.ReopenLogs(),
                           fleet.Log(logging.INFO, "SIGUSR1 received: log files reopened")]
    assert [a.pid for a in of_type(fleet.ReopenWorkerLogs, actions)] == loop.pids()


def test_a_failure_reported_by_a_serving_generation_is_only_logged():
    loop = FakeLoop()
    loop.serving(plan_with(a=1))
    (a0,) = loop.pids()
    actions = loop.failed(a0, "late")
    assert logged(actions) == [f"Worker {a0} of app a failed: late"]
    assert len(actions) == 1


def test_strangers_and_other_signals_change_nothing():
    loop = FakeLoop()
    loop.serving(plan_with(a=1))
    assert loop.ready(999) == []
    assert loop.failed(999, "?") == []
    assert loop.exited(999) == []
    assert loop.signal(signal.SIGCHLD) == []
