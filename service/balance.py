"""Balanced accepting: the workers of an app share out its connections.

All workers of an app accept from one listening socket, and the kernel
wakes them all when a connection arrives: the first one to run takes
every connection that is waiting. A burst of keep-alive clients (a proxy
opening its pool, a load test) then lands on one worker while the others
idle, and stays there.

So each worker posts how many connections it holds on a board that the
supervisor maps into every worker of an app generation (shared memory,
one slot per worker), and a worker that holds more than its least busy
sibling lets that sibling accept first, for a moment. A sibling that does
not take connections meanwhile (busy, or stuck in an app) is not waited
for again for a while: balance never costs more than a short pause.

The board is plain shared memory with one writer per slot; a slightly stale
read only makes a worker accept or wait once more than it should.
"""

import array
import mmap
import struct
import time

# A slot's value when its worker is not accepting (building, draining, gone).
NOT_ACCEPTING = -1
# How far ahead of its least busy sibling a worker may be: a few
# connections, or an eighth more, whichever is greater.
SLACK_CONNECTIONS = 2
SLACK_SHARE = 8
# A worker ahead yields (its own connections go on being served) and looks
# again, at first at once, then every NAP_SECONDS. If its least busy
# sibling takes nothing for IDLE_SIBLINGS_SECONDS (a sibling woken by a
# burst may wait that long for a CPU), that sibling is busy or stuck, and
# the worker stops waiting for its siblings for IGNORE_IDLE_SIBLINGS_SECONDS.
# One wait never lasts longer than MOST_WAIT_SECONDS.
QUICK_LOOKS = 10
NAP_SECONDS = 0.0005
IDLE_SIBLINGS_SECONDS = 0.02
MOST_WAIT_SECONDS = 0.05
IGNORE_IDLE_SIBLINGS_SECONDS = 1.0

_SLOT = struct.Struct("=i")


def is_ahead(mine, others):
    """Whether a worker holding `mine` connections should let siblings holding `others` accept first."""
    least = least_busy(others)
    if least is None:
        return False
    return mine > least + max(SLACK_CONNECTIONS, least // SLACK_SHARE)


def least_busy(others):
    """What the least busy accepting sibling holds; None when no sibling accepts."""
    accepting = [held for held in others if held >= 0]
    return min(accepting) if accepting else None


class AcceptBoard:
    """One app generation's board: made by the supervisor before it forks the workers."""

    def __init__(self, workers):
        # Anonymous and shared: every worker forked after this sees one memory.
        self._memory = mmap.mmap(-1, max(workers, 1) * _SLOT.size)
        self.workers = workers
        for index in range(workers):
            self.vacate(index)

    def vacate(self, index):
        """The worker in slot `index` accepts no more (the supervisor, when it dies)."""
        self._post(index, NOT_ACCEPTING)

    def seat(self, index):
        return Seat(self, index)

    def _post(self, index, held):
        _SLOT.pack_into(self._memory, index * _SLOT.size, held)

    def _read(self):
        return array.array("i", self._memory[:self.workers * _SLOT.size])


class Seat:
    """One worker's slot on its board."""

    def __init__(self, board, index):
        self._board = board
        self._index = index

    def post(self, held):
        self._board._post(self._index, held)

    def leave(self):
        self._board.vacate(self._index)

    def siblings(self):
        """The connections each sibling holds (NOT_ACCEPTING for those that do not accept)."""
        held = self._board._read()
        del held[self._index]
        return held


class Turns:
    """Before each accept, a worker ahead of its siblings waits its turn, briefly."""

    def __init__(self, seat, held, sleep, clock=time.monotonic):
        self._seat = seat
        self._held = held        # () -> the connections this worker holds
        self._sleep = sleep      # the worker's green sleep: others run meanwhile
        self._clock = clock
        self._ignore_until = 0.0

    def wait(self):
        if self._ignore_until and self._clock() < self._ignore_until:
            return
        board = self._seat.siblings()
        started = idle_since = None
        looks = 0
        while is_ahead(self._held(), board):
            now = self._clock()
            if started is None:
                started = idle_since = now
            elif now - idle_since >= IDLE_SIBLINGS_SECONDS:
                # Busy or stuck: waiting longer only keeps clients waiting.
                self._ignore_until = now + IGNORE_IDLE_SIBLINGS_SECONDS
                return
            elif now - started >= MOST_WAIT_SECONDS:
                return
            looks += 1
            self._sleep(0 if looks <= QUICK_LOOKS else NAP_SECONDS)
            least_before, board = least_busy(board), self._seat.siblings()
            # Only the least busy sibling taking connections is progress:
            # the others' counts move whenever their clients come and go.
            least = least_busy(board)
            if least is not None and least_before is not None and least > least_before:
                idle_since = self._clock()
