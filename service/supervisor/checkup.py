"""What a look at a worker's status finds: hung, a request past request_timeout, due for recycling, or nothing.

Pure, as the fleet's rules ask: a worker (service.supervisor.fleet.Worker)
and what the supervisor read of it (service.worker_status.Reading) in, a
Finding or None out. The fleet acts on a Finding; the loop performs.

Rule 1: a worker that cannot run its loop (its heartbeat stopped) cannot
finish its requests either: what is found then kills it. One that can is
replaced first (a replacement serves before it stops accepting), and its
other requests finish within graceful_shutdown_timeout.
Rule 2: one finding per worker: once the fleet ends a worker, only what
would kill it sooner is looked for (hung, or nothing left to finish but
requests past request_timeout).
"""

import dataclasses
import logging

from service import worker_status
from service.supervisor import exits

# A heartbeat this old means the worker's loop is not running (six beats
# missed): it cannot finish what it serves.
STALLED_SECONDS = 6 * worker_status.BEAT_SECONDS
MIB = 1 << 20


@dataclasses.dataclass(frozen=True)
class Finding:
    reason: str      # one of exits.EXIT_REASONS
    kill: bool       # at once (Rule 1), else replaced first
    level: int
    # What the log says after "Worker <pid> of app <name> ".
    text: str


def examine(worker, reading, now):
    """What `reading` (taken at `now`) shows of a serving `worker`; None when all is well."""
    if not worker.ready or worker.killed:
        return None
    limits = worker.plan.app(worker.app).limits
    silent = None if reading.heartbeat is None else now - reading.heartbeat
    timeout = worker.plan.worker_timeout
    if timeout and silent is not None and silent >= timeout:
        return Finding(exits.WORKER_TIMEOUT, True, logging.WARNING,
                       f"did not answer for {silent:.1f} s (worker_timeout "
                       f"{timeout} s): killing it; {in_flight(reading, now)}")
    found = past_request_timeout(worker, reading, limits.request_timeout, silent, now)
    if found or worker.retiring or worker.exit_reason:
        return found
    return due_for_recycling(worker, reading, limits)


def past_request_timeout(worker, reading, request_timeout, silent, now):
    """The Finding when a request has run past request_timeout, as Rule 1 and Rule 2 tell."""
    if not request_timeout:
        return None
    late = [r for r in reading.in_flight if r.age(now) >= request_timeout]
    if not late:
        return None
    limit = f"request_timeout ({request_timeout} s)"
    if silent is not None and silent >= STALLED_SECONDS:
        text = f"has a request past {limit} and its loop is stuck: killing it"
    elif worker.retiring and len(late) == len(reading.in_flight):
        text = f"has only requests past {limit} left to finish: killing it"
    elif not (worker.retiring or worker.exit_reason):
        return Finding(exits.REQUEST_TIMEOUT, False, logging.WARNING,
                       f"has a request past {limit}: replacing it; "
                       f"{in_flight(reading, now)}")
    else:
        return None  # its other requests are still finishing
    return Finding(exits.REQUEST_TIMEOUT, True, logging.WARNING,
                   f"{text}; {in_flight(reading, now)}")


def due_for_recycling(worker, reading, limits):
    """The Finding when max_requests or max_worker_rss says the worker is to be recycled."""
    if worker.request_limit and reading.served >= worker.request_limit:
        jitter = worker.request_limit - limits.max_requests
        return Finding(exits.RECYCLE, False, logging.INFO,
                       f"served {reading.served} requests (max_requests "
                       f"{limits.max_requests} + {jitter}): recycling it")
    if grew_past_max_rss(worker, reading, limits):
        return Finding(exits.RECYCLE, False, logging.INFO,
                       f"holds {reading.resident // MIB} MiB (max_worker_rss "
                       f"{limits.max_worker_rss} MiB): recycling it")
    return None


def grew_past_max_rss(worker, reading, limits):
    """Whether it holds more than max_worker_rss, having started below it (else recycling would never end)."""
    limit = limits.max_worker_rss * MIB
    return bool(limit and reading.resident is not None and reading.resident >= limit
                and worker.first_resident is not None and worker.first_resident < limit)


def starts_past_max_rss(worker, reading):
    """Whether a worker's first reading as it serves is past max_worker_rss already."""
    limit = worker.plan.app(worker.app).limits.max_worker_rss * MIB
    return bool(limit and reading.resident is not None and reading.resident >= limit)


def in_flight(reading, now):
    """'in flight: GET /a (12.0 s), ...' or 'no request in flight', for a log line."""
    if not reading.in_flight:
        return "no request in flight"
    return "in flight: " + ", ".join(r.describe(now) for r in reading.in_flight)


def watched(plan):
    """Whether the workers of `plan` need looking at: a timeout or a limit asks for it."""
    return bool(plan.worker_timeout or any(
        app.limits.request_timeout or app.limits.max_requests or app.limits.max_worker_rss
        for app in plan.apps))
