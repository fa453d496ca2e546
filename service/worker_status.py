"""What a worker shows the supervisor of itself: its heartbeat, the requests it has served, and those in flight.

The supervisor makes one WorkerStatus before it forks each worker: anonymous
shared memory that the worker writes and the supervisor reads. Nothing
passes through the worker's own loop or a pipe, so the supervisor reads it
just as well when the worker is stuck (a green thread in a CPU loop, a
SIGSTOP, a C call that never returns): it can still name the requests such
a worker had in flight, and how long each had run.

Layout (native byte order; every field written by one writer at a time):

    header, HEADER_BYTES
        0   d   heartbeat   CLOCK_MONOTONIC seconds of the worker's last
                            beat; 0 while it builds its app and once it has
                            stopped serving (then nothing is expected of it)
    then `entries` entries of ENTRY_BYTES, one per request that may be in
    flight at once (the worker's concurrency)
        0   16s method      NUL-padded ASCII
        16  216s path       the target's path, NUL-padded, cut to 216 bytes
        232 d   started     CLOCK_MONOTONIC seconds the request began; 0:
                            the entry is free
        240 Q   served      requests that ended in this entry
        248     (padding to 256)

CLOCK_MONOTONIC is one clock for every process on the machine, so the
supervisor compares it with its own time.monotonic(). An entry is claimed
by one request at a time (the worker's own free list), so each field has one
writer, and the requests served are the sum of the entries' counts: no lock
between request threads. A request's start writes its method and path,
then `started`, an aligned 8-byte field; its end sets `started` to 0. The
reader reads `started`, then the method and path, then `started` again,
and takes the entry only if it has not changed: the stores of one process
are seen in order by another on x86 (on machines with a weaker ordering a
look may, rarely, name a request that has just begun with the path of
the entry's previous one; its age, which decisions rest on, is right).

Shared by both sides of the fork: the supervisor makes and reads it
(service.supervisor.loop), the worker beats and records its requests
(service.worker.app_server, service.worker.exchange). No eventlet, and
nothing of the worker here. The counters the metrics may want (requests by
status, open connections) belong beside the heartbeat in the header.
"""

import collections
import dataclasses
import mmap
import struct

# The worker beats this often while it serves; the supervisor takes a
# heartbeat older than a few of these for a loop that is not running.
BEAT_SECONDS = 0.5

_HEADER = struct.Struct("=d")
HEADER_BYTES = 64
ENTRY_BYTES = 256
# What a request's start writes, in this order; its end; their parts.
_STARTED = struct.Struct("=16s216sd")
_ENDED = struct.Struct("=dQ")
_NAMES = struct.Struct("=16s216s")
_TIME = struct.Struct("=d")
_STARTED_AT = 232
_PAGE = mmap.PAGESIZE


@dataclasses.dataclass(frozen=True)
class InFlight:
    """A request a worker is serving."""
    method: str
    path: str
    started: float   # CLOCK_MONOTONIC

    def age(self, now):
        return now - self.started

    def describe(self, now):
        return f"{self.method} {self.path} ({self.age(now):.1f} s)"


@dataclasses.dataclass(frozen=True)
class Reading:
    """What the supervisor read of one worker at one moment."""
    # CLOCK_MONOTONIC of its last beat; None while it builds, or after it served.
    heartbeat: float | None
    served: int
    in_flight: tuple = ()
    # Its resident memory, in bytes (None: gone, or /proc cannot tell).
    resident: int | None = None


class WorkerStatus:
    """One worker's status, in memory the supervisor shares with it across the fork."""

    def __init__(self, entries):
        self.entries = max(entries, 1)
        size = HEADER_BYTES + self.entries * ENTRY_BYTES
        self._memory = mmap.mmap(-1, -(-size // _PAGE) * _PAGE)
        # The worker's: entries no request holds (deque's append() and pop()
        # are atomic: request threads share it without a lock), and each
        # entry's count as its writer last wrote it.
        self._free = collections.deque(range(self.entries))
        self._served = [0] * self.entries

    def close(self):
        """Let go of the memory (the supervisor once the worker is reaped; a worker for its siblings')."""
        self._memory.close()

    # The worker's side.

    def beat(self, now):
        _HEADER.pack_into(self._memory, 0, now)

    def stop_beating(self):
        """Serving is over: the worker has no loop the supervisor should expect to beat."""
        _HEADER.pack_into(self._memory, 0, 0.0)

    def request_started(self, method, path, now):
        """Record a request; returns its entry for request_ended(), or None when every entry is taken."""
        try:
            entry = self._free.pop()
        except IndexError:
            return None  # more requests than the worker's concurrency: not shown
        _STARTED.pack_into(self._memory, HEADER_BYTES + entry * ENTRY_BYTES,
                           method.encode("latin-1", "replace"),
                           path.encode("latin-1", "replace"), now)
        return entry

    def request_ended(self, entry):
        if entry is None:
            return
        served = self._served[entry] = self._served[entry] + 1
        _ENDED.pack_into(self._memory, HEADER_BYTES + entry * ENTRY_BYTES + _STARTED_AT,
                         0.0, served)
        self._free.append(entry)

    # The supervisor's side.

    def read(self, pid=None):
        """A Reading of the worker now; with its `pid`, its resident memory too."""
        memory = self._memory
        heartbeat = _HEADER.unpack_from(memory, 0)[0]
        served = 0
        in_flight = []
        for entry in range(self.entries):
            offset = HEADER_BYTES + entry * ENTRY_BYTES
            started, count = _ENDED.unpack_from(memory, offset + _STARTED_AT)
            served += count
            if not started:
                continue
            method, path = _NAMES.unpack_from(memory, offset)
            if _TIME.unpack_from(memory, offset + _STARTED_AT)[0] == started:
                in_flight.append(InFlight(_text(method), _text(path), started))
        return Reading(heartbeat=heartbeat or None, served=served,
                       in_flight=tuple(sorted(in_flight, key=lambda r: r.started)),
                       resident=None if pid is None else resident_bytes(pid))


def _text(field):
    return field.rstrip(b"\0").decode("latin-1")


def resident_bytes(pid):
    """Resident memory of process `pid` (Linux /proc), or None when it cannot be read."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None
