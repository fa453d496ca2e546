"""The supervisor's decisions, driven without forking."""

import signal

import pytest

from service.supervisor import fleet
from service.supervisor.fleet import SlotHealth, Worker
from service.supervisor.plan import AppPlan, Plan


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
