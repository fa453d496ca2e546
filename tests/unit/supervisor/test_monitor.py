"""The monitor: a real Fleet driven through whole scenarios, as the loop drives it, and what the monitor counts of it."""

import signal

from service import count_sheet
from service.supervisor import exits, fleet, monitor
from tests.unit.supervisor.test_fleet import FakeLoop, plan_with


class MonitoredLoop(FakeLoop):
    """FakeLoop, telling a Monitor what service.supervisor.loop tells it, at the same points."""

    def __init__(self, counting=False):
        super().__init__()
        self.monitor = monitor.Monitor(self.fleet, counting)

    def ready(self, *pids):
        for pid in pids:
            self.monitor.ready(pid, self.now)
        return super().ready(*pids)

    def exited(self, *pids, status=0):
        for pid in pids:
            self.monitor.exited(pid)
        return super().exited(*pids, status=status)

    def _perform(self, actions):
        self.monitor.saw(actions)
        return super()._perform(actions)

    def _spawn(self, spawn):
        before = set(self.fleet.workers)
        super()._spawn(spawn)
        for pid in set(self.fleet.workers) - before:
            self.monitor.forked(spawn, pid, self.monitor.sheet_for(spawn), self.now)

    def _read_plan(self):
        if isinstance(self.plans_to_read[0], str):
            self.monitor.plan_failed()
        super()._read_plan()


def exit_counts(loop):
    return dict(loop.monitor.exits)


def test_starts_and_build_times_by_app_and_model():
    loop = MonitoredLoop()
    loop.start(plan_with(a=2, b=1))
    loop.later(1.5)
    loop.ready(*loop.pids())
    assert dict(loop.monitor.starts) == {("a", "eventlet"): 2, ("b", "eventlet"): 1}
    build = loop.monitor.builds[("a", "eventlet")]
    assert build.total == 3.0 and sum(build.buckets) == 2
    # 1.5 s falls in the bucket whose bound is 2.5.
    assert build.buckets[monitor.BUILD_BOUNDS.index(2.5)] == 2
    assert loop.monitor.generation == 1


def test_a_worker_that_dies_unasked_is_a_crash_and_its_replacement_a_start():
    loop = MonitoredLoop()
    loop.serving(plan_with(a=2))
    loop.later(fleet.EARLY_DEATH_SECONDS)  # a long life: replaced at once
    loop.exited(loop.pids()[0], status=9)
    assert exit_counts(loop) == {("a", "eventlet", exits.CRASH): 1}
    assert loop.monitor.starts[("a", "eventlet")] == 3


def test_a_reload_counts_one_success_and_the_old_workers_exit_for_reload():
    loop = MonitoredLoop()
    loop.serving(plan_with(a=2))
    old = loop.pids()
    loop.plans_to_read.append(plan_with(a=2))
    loop.signal(signal.SIGHUP)
    loop.ready(*loop.pids(generation=2))
    loop.exited(*old)
    assert loop.monitor.reloads == {monitor.SUCCESS: 1}
    assert exit_counts(loop) == {("a", "eventlet", exits.RELOAD): 2}
    assert loop.monitor.generation == 2


def test_a_reload_whose_files_cannot_be_read_fails():
    loop = MonitoredLoop()
    loop.serving(plan_with(a=1))
    loop.plans_to_read.append("cannot read svc.conf")
    loop.signal(signal.SIGHUP)
    assert loop.monitor.reloads == {monitor.FAILED: 1}
    assert loop.monitor.generation == 1


def test_a_reload_whose_app_fails_to_build_fails_and_its_worker_exits_build_failed():
    loop = MonitoredLoop()
    loop.serving(plan_with(a=2))
    loop.plans_to_read.append(plan_with(a=2))
    loop.signal(signal.SIGHUP)
    failing, other = loop.pids(generation=2)
    loop.failed(failing, "app a: factory refused")
    loop.exited(failing, other)
    assert loop.monitor.reloads == {monitor.FAILED: 1}
    assert exit_counts(loop) == {("a", "eventlet", exits.BUILD_FAILED): 1,
                           ("a", "eventlet", exits.RELOAD): 1}


def test_a_failed_start_up_counts_the_failed_build_and_stops_the_others():
    loop = MonitoredLoop()
    loop.start(plan_with(a=2))
    failing, other = loop.pids()
    loop.failed(failing, "app a: factory refused")
    loop.exited(failing, other)
    assert exit_counts(loop) == {("a", "eventlet", exits.BUILD_FAILED): 1,
                                 ("a", "eventlet", exits.STOP): 1}
    assert loop.monitor.reloads == {}


def test_a_reload_replaced_by_a_newer_one_is_superseded_and_the_newer_one_counts_too():
    loop = MonitoredLoop()
    loop.serving(plan_with(a=1))
    loop.plans_to_read += [plan_with(a=1), plan_with(a=1)]
    loop.signal(signal.SIGHUP)
    loop.signal(signal.SIGHUP)
    loop.ready(*loop.pids(generation=3))
    assert loop.monitor.reloads == {monitor.SUPERSEDED: 1, monitor.SUCCESS: 1}


def test_a_hup_before_start_up_completes_is_one_reload_and_start_up_none():
    loop = MonitoredLoop()
    loop.start(plan_with(a=1))
    loop.plans_to_read.append(plan_with(a=1))
    loop.signal(signal.SIGHUP)
    loop.ready(*loop.pids(generation=1))
    loop.ready(*loop.pids(generation=2))
    assert loop.monitor.reloads == {monitor.SUCCESS: 1}


def test_workers_retired_by_a_stop_exit_for_stop():
    loop = MonitoredLoop()
    loop.serving(plan_with(a=2))
    pids = loop.pids()
    loop.signal(signal.SIGTERM)
    loop.exited(*pids)
    assert exit_counts(loop) == {("a", "eventlet", exits.STOP): 2}


def test_an_ended_workers_counts_stay_in_its_apps_totals():
    loop = MonitoredLoop(counting=True)
    loop.serving(plan_with(a=2))
    first, second = loop.pids()
    for pid, requests in ((first, 3), (second, 4)):
        sheet = loop.monitor.workers[pid].sheet
        sheet.cells[sheet.row("GET", 200)] += requests
        sheet.cells[count_sheet.IN_FLIGHT] = 1
    loop.exited(first, status=9)
    figures = loop.monitor.request_figures()[("a", "eventlet")]
    assert figures.requests == {("GET", "200"): 7}
    # Gauges are the live workers' only.
    assert figures.in_flight == 1


def test_worker_states_follow_the_fleet():
    loop = MonitoredLoop()
    loop.start(plan_with(a=2))
    loop.ready(loop.pids()[0])
    assert dict(loop.monitor.worker_states()) == {("a", "eventlet", "serving"): 1,
                                                  ("a", "eventlet", "building"): 1}
    loop.ready(loop.pids()[1])
    loop.signal(signal.SIGTERM)
    assert dict(loop.monitor.worker_states()) == {("a", "eventlet", "retiring"): 2}
