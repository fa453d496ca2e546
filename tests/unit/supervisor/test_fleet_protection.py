"""The fleet's protection of its apps, driven without forking: hung workers, request_timeout, recycling, build timeouts, exit reasons."""

import logging
import signal

from service import worker_status
from service.supervisor import checkup
from service.supervisor import fleet
from service.supervisor.plan import AppLimits
from service.worker_status import InFlight, Reading
from tests.unit.supervisor.test_fleet import (
    FakeLoop, exits, killed, logged, of_type, plan_with, spawned, terminated)

MIB = 1 << 20


def reading(loop, beat_age=0.0, served=0, requests=(), resident=None):
    """A Reading as the next look (INSPECT_SECONDS from now) takes it: `requests` are (method, path, age)."""
    at = loop.now + fleet.INSPECT_SECONDS
    return Reading(heartbeat=at - beat_age, served=served,
                   in_flight=tuple(InFlight(method, path, at - age)
                                   for method, path, age in requests),
                   resident=resident)


def look(loop, readings):
    """The next inspection, which reads `readings` (made by reading()); the actions of that wake-up."""
    loop.readings = readings
    return loop.later(fleet.INSPECT_SECONDS)


def replacements(actions):
    return [(a.app.name, a.index, a.replaces) for a in of_type(fleet.Spawn, actions)]


def serving(plan):
    loop = FakeLoop()
    loop.serving(plan)
    return loop


# Looking at the workers.

def test_workers_are_looked_at_once_a_second_when_a_timeout_or_limit_asks():
    loop = serving(plan_with(worker_timeout=30, a=1))
    assert loop.fleet.next_deadline(loop.now) == loop.now + fleet.INSPECT_SECONDS
    assert len(of_type(fleet.Inspect, loop.later(0.5))) == 0
    assert len(of_type(fleet.Inspect, loop.later(0.5))) == 1
    # Nothing asks: never.
    quiet = serving(plan_with(a=1))
    assert quiet.fleet.next_deadline(quiet.now) is None
    assert of_type(fleet.Inspect, quiet.later(60)) == []


def test_a_worker_that_reaches_its_max_requests_is_looked_at_at_once():
    loop = serving(plan_with(limits=AppLimits(max_requests=10), a=1))
    (a0,) = loop.pids()
    assert of_type(fleet.Inspect, loop.due(a0)) == [fleet.Inspect()]
    assert loop.due(999) == []


# worker_timeout.

def test_a_worker_silent_past_worker_timeout_is_killed_replaced_and_its_requests_named():
    loop = serving(plan_with(worker_timeout=30, a=1))
    (a0,) = loop.pids()
    assert killed(look(loop, {a0: reading(loop, beat_age=29.5)})) == []
    actions = look(loop, {a0: reading(loop, beat_age=31.0, requests=[("GET", "/stuck", 31.0)])})
    assert killed(actions) == [a0]
    assert logged(actions, logging.WARNING) == [
        f"Worker {a0} of app a did not answer for 31.0 s (worker_timeout 30 s): "
        "killing it; in flight: GET /stuck (31.0 s)"]
    # Killed once; its slot gets a new worker at once.
    assert spawned(actions) == [(1, "a", 0)]
    assert killed(look(loop, {a0: reading(loop, beat_age=32.0)})) == []
    actions = loop.exited(a0, status=signal.SIGKILL)
    assert logged(actions) == [
        f"Worker {a0} of app a (generation 1) stopped: was killed by signal SIGKILL"]
    assert loop.fleet.exits == {("a", fleet.WORKER_TIMEOUT): 1}


def test_after_the_supervisor_itself_was_stopped_its_workers_get_time_to_beat():
    loop = serving(plan_with(worker_timeout=30, a=1))
    (a0,) = loop.pids()
    look(loop, {a0: reading(loop)})
    # The whole process group was stopped for a minute (^Z, a frozen
    # cgroup): the worker's heartbeat is as old as the supervisor's look.
    loop.readings = {a0: reading(loop, beat_age=60.0)}
    actions = loop.later(60)
    assert killed(actions) == []
    assert logged(actions, logging.INFO) == [
        "The supervisor did not run for 60.0 s: its workers get time to show they are alive"]
    # Still silent a look later: hung after all.
    assert killed(look(loop, {a0: reading(loop, beat_age=61.0)})) == [a0]


def test_a_worker_building_or_done_serving_is_not_expected_to_beat():
    loop = FakeLoop()
    loop.start(plan_with(worker_timeout=2, a=1))
    (a0,) = loop.pids()
    loop.readings = {a0: Reading(heartbeat=None, served=0)}
    for _ in range(5):  # building, for longer than worker_timeout
        assert killed(loop.later(fleet.INSPECT_SECONDS)) == []
    loop.ready(a0)
    for _ in range(5):  # done serving: its exit handlers run
        assert killed(loop.later(fleet.INSPECT_SECONDS)) == []
    loop.readings = {a0: reading(loop, beat_age=3)}
    assert killed(loop.later(fleet.INSPECT_SECONDS)) == [a0]  # it does count


# request_timeout.

def test_a_request_past_request_timeout_has_its_worker_replaced_then_killed_once_alone():
    loop = serving(plan_with(limits=AppLimits(request_timeout=10), a=1))
    (a0,) = loop.pids()
    assert look(loop, {a0: reading(loop, requests=[("GET", "/late", 9.5)])}) == [
        fleet.Inspect()]
    actions = look(loop, {a0: reading(loop, requests=[("GET", "/late", 11.0),
                                                      ("POST", "/ok", 1.0)])})
    assert logged(actions, logging.WARNING) == [
        f"Worker {a0} of app a has a request past request_timeout (10 s): replacing it; "
        "in flight: GET /late (11.0 s), POST /ok (1.0 s)"]
    assert killed(actions) == [] and terminated(actions) == []
    assert replacements(actions) == [("a", 0, a0)]
    (new,) = [pid for pid in loop.pids() if pid != a0]
    # Told once, replaced once.
    actions = look(loop, {a0: reading(loop, requests=[("GET", "/late", 12.0)])})
    assert replacements(actions) == [] and logged(actions) == []
    actions = loop.ready(new)
    assert logged(actions, logging.INFO) == [
        f"Worker {new} of app a serves in place of worker {a0} (request_timeout)"]
    assert terminated(actions) == [a0]
    # Its other request finishes; then only the late one is left.
    actions = look(loop, {a0: reading(loop, requests=[("GET", "/late", 14.0),
                                                      ("POST", "/ok", 4.0)]),
                          new: reading(loop)})
    assert killed(actions) == []
    actions = look(loop, {a0: reading(loop, requests=[("GET", "/late", 15.0)])})
    assert killed(actions) == [a0]
    assert logged(actions, logging.WARNING) == [
        f"Worker {a0} of app a has only requests past request_timeout (10 s) left to "
        "finish: killing it; in flight: GET /late (15.0 s)"]
    loop.exited(a0, status=signal.SIGKILL)
    assert loop.fleet.exits == {("a", fleet.REQUEST_TIMEOUT): 1}
    assert loop.pids() == [new]


def test_a_request_past_request_timeout_in_a_stuck_worker_kills_it_at_once():
    loop = serving(plan_with(limits=AppLimits(request_timeout=10), a=1))
    (a0,) = loop.pids()
    actions = look(loop, {a0: reading(loop, beat_age=checkup.STALLED_SECONDS,
                                      requests=[("GET", "/spin", 11.0)])})
    assert killed(actions) == [a0]
    assert logged(actions, logging.WARNING) == [
        f"Worker {a0} of app a has a request past request_timeout (10 s) and its loop is "
        "stuck: killing it; in flight: GET /spin (11.0 s)"]
    assert spawned(actions) == [(1, "a", 0)]


def test_a_draining_worker_with_only_late_requests_is_killed_before_graceful_shutdown_timeout():
    loop = serving(plan_with(timeout=60, limits=AppLimits(request_timeout=10), a=1))
    (a0,) = loop.pids()
    loop.signal(signal.SIGTERM)
    actions = look(loop, {a0: reading(loop, requests=[("GET", "/late", 30.0)])})
    assert killed(actions) == [a0]
    assert exits(loop.exited(a0, status=signal.SIGKILL)) == [fleet.Exit(0)]
    assert loop.fleet.exits == {("a", fleet.REQUEST_TIMEOUT): 1}


# Recycling.

def test_max_requests_with_jitter_recycles_each_worker_once_its_replacement_serves():
    loop = serving(plan_with(limits=AppLimits(max_requests=100, max_requests_jitter=10), a=2))
    a0, a1 = loop.pids()
    limits = [loop.fleet.workers[pid].request_limit for pid in (a0, a1)]
    assert all(100 <= limit <= 110 for limit in limits) and limits[0] != limits[1]
    assert look(loop, {a0: reading(loop, served=limits[0] - 1), a1: reading(loop)}) == [
        fleet.Inspect()]
    actions = look(loop, {a0: reading(loop, served=limits[0]), a1: reading(loop)})
    assert logged(actions, logging.INFO) == [
        f"Worker {a0} of app a served {limits[0]} requests (max_requests 100 + "
        f"{limits[0] - 100}): recycling it"]
    assert replacements(actions) == [("a", 0, a0)]
    (new,) = [pid for pid in loop.pids() if pid not in (a0, a1)]
    assert 100 <= loop.fleet.workers[new].request_limit <= 110
    assert terminated(loop.later(5)) == []  # serving on while its replacement builds
    actions = loop.ready(new)
    assert terminated(actions) == [a0]
    assert loop.fleet.workers[a0].retire_by == loop.now + 60
    loop.exited(a0)
    assert loop.fleet.exits == {("a", fleet.RECYCLE): 1}
    assert sorted(loop.pids()) == sorted([a1, new])


def test_max_worker_rss_recycles_a_worker_that_grew_past_it():
    loop = serving(plan_with(limits=AppLimits(max_worker_rss=100), a=1))
    (a0,) = loop.pids()
    assert look(loop, {a0: reading(loop, resident=60 * MIB)}) == [fleet.Inspect()]
    actions = look(loop, {a0: reading(loop, resident=120 * MIB)})
    assert logged(actions, logging.INFO) == [
        f"Worker {a0} of app a holds 120 MiB (max_worker_rss 100 MiB): recycling it"]
    assert replacements(actions) == [("a", 0, a0)]


def test_a_worker_that_starts_past_max_worker_rss_is_told_of_and_never_recycled_for_it():
    loop = serving(plan_with(limits=AppLimits(max_worker_rss=100), a=1))
    (a0,) = loop.pids()
    actions = look(loop, {a0: reading(loop, resident=150 * MIB)})
    assert logged(actions, logging.WARNING) == [
        f"Worker {a0} of app a holds 150 MiB as it starts serving, past max_worker_rss "
        "(100 MiB): it is not recycled for memory"]
    assert look(loop, {a0: reading(loop, resident=300 * MIB)}) == [fleet.Inspect()]


def test_a_replacement_that_fails_to_build_leaves_the_worker_and_is_retried_later_and_later():
    loop = serving(plan_with(limits=AppLimits(max_requests=10), a=1))
    (a0,) = loop.pids()
    loop.readings = {a0: reading(loop, served=20)}
    actions = loop.later(fleet.INSPECT_SECONDS)
    delays = []
    for _ in range(4):
        assert replacements(actions) == [("a", 0, a0)]
        (replacement,) = [pid for pid in loop.pids() if pid != a0]
        loop.failed(replacement, "app a: building it failed: ValueError: no")
        actions = loop.exited(replacement, status=3 << 8)
        retry_at = loop.fleet.current.health[("a", 0)].restart_at
        delays.append(retry_at - loop.now)
        assert logged(actions, logging.WARNING) == [
            f"Worker {a0} of app a serves on: its replacement failed; next try in "
            f"{delays[-1]:.1f} s"]
        assert terminated(actions) == [] and loop.pids() == [a0]
        assert loop.fleet.next_deadline(loop.now) <= retry_at
        assert replacements(loop.at(retry_at - 0.01)) == []
        actions = loop.at(retry_at)
    assert delays == sorted(delays) and delays[0] < delays[-1]
    assert loop.fleet.exits == {("a", fleet.BUILD_FAILED): 4}


def test_a_reload_during_a_recycle_retires_the_worker_and_its_replacement():
    loop = serving(plan_with(limits=AppLimits(max_requests=10), a=(1, 1)))
    (a0,) = loop.pids()
    look(loop, {a0: reading(loop, served=10)})
    (replacement,) = [pid for pid in loop.pids() if pid != a0]
    loop.readings = {}
    loop.plans_to_read.append(plan_with(a=(1, 1)))
    loop.signal(signal.SIGHUP)
    actions = loop.ready(*loop.pids(generation=2))
    assert terminated(actions) == sorted([a0, replacement])
    loop.exited(a0, replacement)
    assert loop.fleet.exits == {("a", fleet.RELOAD): 2}


# app_build_timeout.

def test_a_build_past_app_build_timeout_fails_the_start_up_naming_the_app_and_the_limit():
    loop = FakeLoop()
    loop.start(plan_with(build_timeout=300, a=1, slow=1))
    a0, slow0 = loop.pids()
    loop.ready(a0)
    assert loop.fleet.next_deadline(loop.now) == loop.now + 300
    assert killed(loop.later(299)) == []
    actions = loop.later(1)
    assert killed(actions) == [slow0] and terminated(actions) == [a0]
    actions = loop.exited(a0, slow0, status=signal.SIGKILL)
    assert exits(actions) == [fleet.Exit(0, "app slow: building it from p.ini took longer "
                                            "than app_build_timeout (300 s)")]


def test_a_build_past_app_build_timeout_abandons_the_reload():
    loop = serving(plan_with(build_timeout=10, a=(1, 1)))
    (old,) = loop.pids()
    loop.plans_to_read.append(plan_with(build_timeout=10, a=(1, 1)))
    loop.signal(signal.SIGHUP)
    (new,) = loop.pids(generation=2)
    actions = loop.later(10)
    assert killed(actions) == [new] and terminated(actions) == []
    assert logged(actions, logging.ERROR) == [
        "Reload failed, generation 1 keeps serving: app a: building it from p.ini took "
        "longer than app_build_timeout (10 s)"]
    assert loop.pids() == [old]


def test_a_refill_past_app_build_timeout_is_killed_and_its_slot_waits():
    loop = serving(plan_with(build_timeout=10, a=1))
    (a0,) = loop.pids()
    loop.later(60)
    loop.exited(a0, status=signal.SIGSEGV)
    (refill,) = loop.pids()
    actions = loop.later(10)
    assert killed(actions) == [refill]
    assert logged(actions, logging.ERROR) == [
        f"Worker {refill} of app a killed: app a: building it from p.ini took longer than "
        "app_build_timeout (10 s)"]
    # It built for app_build_timeout: no crash loop, its slot starts again at once.
    assert spawned(actions) == [(1, "a", 0)]
    loop.exited(refill, status=signal.SIGKILL)
    assert loop.fleet.exits == {("a", fleet.CRASH): 1, ("a", fleet.BUILD_FAILED): 1}


# Exit reasons.

def test_every_death_is_counted_under_its_reason():
    loop = serving(plan_with(a=(1, 2)))
    a0, a1 = loop.pids()
    loop.later(60)
    loop.exited(a0, status=signal.SIGSEGV)
    loop.plans_to_read.append(plan_with(a=(1, 1)))
    loop.signal(signal.SIGHUP)
    loop.ready(*loop.pids(generation=2))
    loop.exited(*[pid for pid in loop.fleet.workers if loop.fleet.workers[pid].generation == 1])
    loop.signal(signal.SIGTERM)
    loop.exited(*list(loop.fleet.workers))
    assert loop.fleet.exits == {("a", fleet.CRASH): 1, ("a", fleet.RELOAD): 2,
                                ("a", fleet.STOP): 1}
    assert set(fleet.EXIT_REASONS) == {"crash", "build_failed", "worker_timeout", "request_timeout",
                                       "recycle", "reload", "stop"}


def test_in_flight_requests_are_named_oldest_first_or_said_to_be_none():
    now = 100.0
    none = Reading(heartbeat=now, served=0)
    assert checkup.in_flight(none, now) == "no request in flight"
    some = worker_status.Reading(heartbeat=now, served=0, in_flight=(
        InFlight("GET", "/a", 88.0), InFlight("PUT", "/b", 99.5)))
    assert checkup.in_flight(some, now) == "in flight: GET /a (12.0 s), PUT /b (0.5 s)"
