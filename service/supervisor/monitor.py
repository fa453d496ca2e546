"""The monitor: what the admin endpoint shows, kept by the supervisor from the workers' sheets and the fleet's doings.

Requests are counted by the workers, on their count sheets
(service.count_sheet); the monitor makes a sheet for each worker before
its fork, reads the live ones when scraped, and when a worker has ended
adds its sheet's counters to its app's totals, so that counters survive
crashes, kills, recycles and reloads.

What the fleet does is counted here by watching it, never by changing its
decisions: the loop hands the monitor every list of actions the fleet
returns (saw()), and tells it of forks, reports and deaths. A worker's exit
reason is the fleet's own (service.supervisor.exits), read as the worker
is reaped. A reload is counted once it has an outcome: "success" when its
generation takes over, "failed" when its config could not be read or its
generation was abandoned, "superseded" when a newer SIGHUP replaced it.

Supervisor side: no eventlet, no worker code, no prometheus_client (which
service.supervisor.exposition alone imports, to render what is kept here).
"""

import collections
import dataclasses

from service import count_sheet
from service.supervisor import fleet as service_fleet
from service.supervisor import roster

# How a reload ended (service_api_reloads_total's outcome label).
SUCCESS = "success"
FAILED = "failed"
SUPERSEDED = "superseded"

# Upper bounds of the app build time histogram's buckets, in seconds (then
# +Inf): up to app_build_timeout's default.
BUILD_BOUNDS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


@dataclasses.dataclass
class WorkerRecord:
    app: str
    worker_model: str
    started_at: float
    sheet: count_sheet.CountSheet = None
    built: bool = False

    @property
    def labels(self):
        return (self.app, self.worker_model)


@dataclasses.dataclass
class Histogram:
    """Observations per bucket of `bounds` (not cumulative; the last is +Inf), and their sum."""
    bounds: tuple
    buckets: list = None
    total: float = 0.0

    def __post_init__(self):
        if self.buckets is None:
            self.buckets = [0] * (len(self.bounds) + 1)

    def observe(self, value):
        index = next((i for i, bound in enumerate(self.bounds) if value <= bound),
                     len(self.bounds))
        self.buckets[index] += 1
        self.total += value


class Monitor:
    """The figures the admin endpoint shows; fed by the supervisor's loop."""

    def __init__(self, fleet, counting):
        # Read only: the fleet decides, the monitor looks.
        self.fleet = fleet
        # Whether workers count requests (an admin endpoint is served).
        self._counting = counting
        self.workers: dict[int, WorkerRecord] = {}
        # Counters of the sheets of workers that have ended, by (app, worker model).
        self.ended: dict[tuple, count_sheet.SheetFigures] = {}
        self.starts = collections.Counter()        # (app, model)
        self.exits = collections.Counter()         # (app, model, reason)
        self.reloads = collections.Counter()       # outcome
        self.builds: dict[tuple, Histogram] = {}   # (app, model)
        # (current, pending) generation numbers as last seen.
        self._generations = (None, None)
        # The generation start-up built, and the pending ones reloads built.
        self._first_generation = None
        self._reload_generations = set()

    # The loop's events.

    def sheet_for(self, spawn):
        """A new worker's count sheet, made before its fork; None when nothing is counted."""
        return count_sheet.CountSheet() if self._counting else None

    def forked(self, spawn, pid, sheet, now):
        record = WorkerRecord(spawn.app.name, spawn.app.worker_model, now, sheet)
        self.workers[pid] = record
        self.starts[record.labels] += 1

    def fork_failed(self, sheet):
        if sheet is not None:
            sheet.close()

    def ready(self, pid, now):
        """The worker reported that its app is built and it serves."""
        record = self.workers.get(pid)
        if record is None or record.built:
            return
        record.built = True
        self.builds.setdefault(record.labels, Histogram(BUILD_BOUNDS)).observe(
            now - record.started_at)

    def exited(self, pid):
        """A worker was reaped (told before the fleet is): count its exit, and keep its sheet's counters."""
        record = self.workers.pop(pid, None)
        if record is None:
            return
        worker = self.fleet.workers.get(pid)
        reason = roster.exit_reason(worker) if worker is not None else service_fleet.CRASH
        self.exits[record.labels + (reason,)] += 1
        if record.sheet is not None:
            self.ended.setdefault(record.labels, count_sheet.SheetFigures.zero()) \
                .add_counters(record.sheet.read())
            record.sheet.close()

    def plan_failed(self):
        """A reload could not read its config files or bind its sockets."""
        self.reloads[FAILED] += 1

    def saw(self, actions):
        """The fleet returned `actions` (not yet performed) from its latest event."""
        self._follow_generations(actions)

    # What was seen, for the admin endpoint.

    @property
    def generation(self):
        current = self.fleet.current
        return current.number if current is not None else 0

    def request_figures(self):
        """{(app, model): SheetFigures}: ended workers' counters plus every live sheet."""
        figures = {labels: _copy(ended) for labels, ended in self.ended.items()}
        for record in self.workers.values():
            if record.sheet is None:
                continue
            live = record.sheet.read()
            total = figures.setdefault(record.labels, count_sheet.SheetFigures.zero())
            total.add_counters(live)
            total.in_flight += live.in_flight
            total.connections_open += live.connections_open
            total.connections_idle += live.connections_idle
        return figures

    def worker_states(self):
        """{(app, model, state): workers} of the live workers: building, serving or retiring."""
        states = collections.Counter()
        for pid, worker in self.fleet.workers.items():
            record = self.workers.get(pid)
            if record is not None:
                states[record.labels + (worker_state(worker),)] += 1
        return states

    # Watching the fleet.

    def _follow_generations(self, actions):
        current, pending = _numbers(self.fleet)
        _, was_pending = self._generations
        if pending is not None and pending != was_pending:
            if self._first_generation is None:
                self._first_generation = pending   # start-up's
            else:
                self._reload_generations.add(pending)
        if was_pending in self._reload_generations and pending != was_pending:
            self._reload_generations.discard(was_pending)
            newer = any(isinstance(action, service_fleet.ReadPlan) for action in actions)
            self.reloads[reload_outcome(was_pending, current, newer)] += 1
        self._generations = (current, pending)


def reload_outcome(generation, current, newer_reload):
    """How a reload whose pending `generation` is no longer pending ended."""
    if generation == current:
        return SUCCESS
    return SUPERSEDED if newer_reload else FAILED


def worker_state(worker):
    if worker.retiring:
        return "retiring"
    return "serving" if worker.ready else "building"


def _numbers(fleet):
    return tuple(gen.number if gen is not None else None
                 for gen in (fleet.current, fleet.pending))


def _copy(figures):
    return dataclasses.replace(figures, requests=dict(figures.requests),
                               duration_buckets=list(figures.duration_buckets))
