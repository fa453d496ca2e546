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
        0   I   sequence    odd while the entry's writer changes it
        8   d   started     CLOCK_MONOTONIC seconds the request began; 0:
                            the entry is free
        16  Q   served      requests that ended in this entry
        24  16s method      NUL-padded ASCII
        40  216s path       the target's path, NUL-padded, cut to 216 bytes

CLOCK_MONOTONIC is one clock for every process on the machine, so the
supervisor compares it with its own time.monotonic(). An entry is claimed
by one request at a time (the worker's own free list), so each field has one
writer; the sequence number (a seqlock) lets the reader skip an entry it
caught half-written: it reads that entry again at its next look. The
requests served are the sum of the entries' counts, so that counting needs
no lock between request threads.

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
_SEQUENCE = struct.Struct("=I")
_ENTRY = struct.Struct("=I4xdQ16s216s")
ENTRY_BYTES = _ENTRY.size
_STARTED = struct.Struct("=d")
_STARTED_AT = 8
_SERVED_AT = 16
_METHOD_AT = 24
_REQUEST = struct.Struct("=16s216s")
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
        # The worker's: entries no request holds. deque's append() and pop()
        # are atomic, so request threads share it without a lock.
        self._free = collections.deque(range(self.entries))

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
        offset = HEADER_BYTES + entry * ENTRY_BYTES
        memory = self._memory
        sequence = _SEQUENCE.unpack_from(memory, offset)[0]
        _SEQUENCE.pack_into(memory, offset, sequence + 1)
        _REQUEST.pack_into(memory, offset + _METHOD_AT, method.encode("latin-1", "replace"),
                           path.encode("latin-1", "replace"))
        _STARTED.pack_into(memory, offset + _STARTED_AT, now)
        _SEQUENCE.pack_into(memory, offset, sequence + 2)
        return entry

    def request_ended(self, entry):
        if entry is None:
            return
        offset = HEADER_BYTES + entry * ENTRY_BYTES
        memory = self._memory
        sequence, _, served, _, _ = _ENTRY.unpack_from(memory, offset)
        _SEQUENCE.pack_into(memory, offset, sequence + 1)
        _ENTRY.pack_into(memory, offset, sequence + 1, 0.0, served + 1, b"", b"")
        _SEQUENCE.pack_into(memory, offset, sequence + 2)
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
            sequence, started, count, method, path = _ENTRY.unpack(
                memory[offset:offset + ENTRY_BYTES])
            served += count
            if (started and not sequence % 2
                    and _SEQUENCE.unpack_from(memory, offset)[0] == sequence):
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
