"""service.worker.green.runners: the pool whose green threads serve one connection after another, with this process's hub."""

import contextvars
import gc
import io
import sys
import weakref

import pytest

from service.worker.green import door as green
from service.worker.green import runners


def settle():
    for _ in range(5):
        green.sleep(0)


def test_spawned_functions_run_once_the_hub_gets_to_them_and_their_links_after():
    pool = runners.Runners(max_idle=4)
    events = []
    job = pool.spawn(events.append, "ran")
    job.link(lambda handle, arg: events.append((handle is job, arg)), "linked")
    assert events == [] and pool.running() == 1
    settle()
    assert events == ["ran", (True, "linked")] and pool.running() == 0


def test_a_runner_serves_one_job_after_another():
    pool = runners.Runners(max_idle=4)
    threads = []
    for _ in range(3):
        pool.spawn(lambda: threads.append(green.current_green_thread()))
        settle()
    assert len(threads) == 3 and len(set(threads)) == 1


def test_no_more_runners_than_max_idle_stay_parked():
    pool = runners.Runners(max_idle=2)
    release = green.Event()
    threads = []

    def job():
        threads.append(green.current_green_thread())
        release.wait()

    for _ in range(5):
        pool.spawn(job)
    settle()
    assert pool.running() == 5
    release.send()
    settle()
    assert pool.running() == 0 and len(pool._idle) == 2
    assert all(not thread.dead for thread in pool._idle)
    assert sum(thread.dead for thread in threads) == 3


def test_waitall_returns_once_every_job_is_over():
    pool = runners.Runners(max_idle=4)
    release = green.Event()
    pool.spawn(release.wait)
    pool.spawn(green.sleep, 0.01)
    waiter = green.spawn(pool.waitall)
    settle()
    assert not waiter.dead
    release.send()
    waiter.wait()
    assert pool.running() == 0
    pool.waitall()  # nothing running: at once


def test_a_job_that_raises_ends_its_runner_the_hub_reports_it_and_the_pool_goes_on():
    pool = runners.Runners(max_idle=4)
    linked = []

    def fails():
        raise ValueError("app bug")

    pool.spawn(fails).link(lambda handle: linked.append("clean-up"))
    stderr, sys.stderr = sys.stderr, io.StringIO()
    try:
        settle()
        printed = sys.stderr.getvalue()
    finally:
        sys.stderr = stderr
    assert "ValueError: app bug" in printed
    assert linked == ["clean-up"] and pool.running() == 0 and pool._idle == []
    done = []
    pool.spawn(done.append, "next")
    settle()
    assert done == ["next"]


@pytest.mark.parametrize("stray", ["switch", "throw"])
def test_a_parked_runner_ignores_stray_wake_ups_and_exceptions(stray):
    pool = runners.Runners(max_idle=4)
    pool.spawn(lambda: None)
    settle()
    [runner] = pool._idle
    if stray == "switch":
        green.call_later(0, runner.switch, "late wake-up")
    else:
        green.call_later(0, runner.throw, green.Timeout())
    settle()
    assert pool._idle == [runner] and not runner.dead
    done = []
    pool.spawn(lambda: done.append(green.current_green_thread()))
    settle()
    assert done == [runner]


REQUEST_USER = contextvars.ContextVar("request_user", default=None)


def test_each_connection_starts_in_a_fresh_context_on_a_reused_runner():
    pool = runners.Runners(max_idle=4)
    seen = []

    def connection(user):
        seen.append((green.current_green_thread(), REQUEST_USER.get()))
        REQUEST_USER.set(user)
        green.sleep(0)  # other green threads run meanwhile, in their own contexts
        seen.append((green.current_green_thread(), REQUEST_USER.get()))

    pool.spawn(connection, "alice")
    settle()
    pool.spawn(connection, "bob")
    settle()
    [(first, none_before), (_, alice), (second, none_again), (_, bob)] = seen
    assert first is second  # the same runner served both
    assert (none_before, alice, none_again, bob) == (None, "alice", None, "bob")
    assert REQUEST_USER.get() is None


def test_a_parked_runner_holds_nothing_of_the_connection_it_served():
    pool = runners.Runners(max_idle=4)

    class ConnectionState:
        pass

    state = ConnectionState()
    gone = weakref.ref(state)
    job = pool.spawn(lambda state: None, state)
    job.link(lambda handle, state: None, state)
    del state
    settle()
    gc.collect()
    assert len(pool._idle) == 1 and gone() is None
