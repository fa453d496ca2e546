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
read only makes a worker accept or wait once more than it should. Shared by
both sides: the supervisor makes a board before it forks an app's workers;
each worker posts on its seat, and waits its turn (service.worker.accept_turns).
"""

import array
import mmap
import struct

# A slot's value when its worker is not accepting (building, draining, gone).
NOT_ACCEPTING = -1
# How far ahead of its least busy sibling a worker may be: a few
# connections, or an eighth more, whichever is greater.
SLACK_CONNECTIONS = 2
SLACK_SHARE = 8
# A worker holding this many more connections than its least busy sibling
# lets one go (see over_share): then both hold as many, give or take one.
SHED_GAP = 2
_SLOT = struct.Struct("=i")


def is_ahead(mine, others):
    """Whether a worker holding `mine` connections should let siblings holding `others` accept first."""
    least = least_busy(others)
    if least is None:
        return False
    return mine > least + max(SLACK_CONNECTIONS, least // SLACK_SHARE)


def over_share(mine, others):
    """Whether a worker holding `mine` connections holds so many more than its least busy sibling that it should let one go.

    Balanced accepting cannot help keep-alive clients that came while a
    sibling was busy (a worker stuck for a moment in a CPU-heavy request
    takes no connections, and its siblings stop waiting for it): those stay
    where they landed, and each gets a smaller share of that worker. Asking
    one of them to reconnect (its next response says Connection: close)
    moves it to the least busy worker, which the accept board lets take it.
    """
    least = least_busy(others)
    return least is not None and mine - least >= SHED_GAP


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

    @property
    def index(self):
        return self._index

    def post(self, held):
        self._board._post(self._index, held)

    def leave(self):
        self._board.vacate(self._index)

    def siblings(self):
        """The connections each sibling holds (NOT_ACCEPTING for those that do not accept)."""
        held = self._board._read()
        del held[self._index]
        return held
