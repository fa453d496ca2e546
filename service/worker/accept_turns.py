"""Before it accepts, a worker ahead of its siblings on the accept board waits its turn, briefly.

See service.accept_board for why. Worker side: the wait yields to the
worker's other green threads or request threads.

A worker ahead waits for a connection first and for its turn second: a
sibling can only be judged busy for taking nothing while there was a
connection to take. (Waiting for the turn first judged siblings idle
for lack of clients, and the worker ahead then took the next connection
itself: under load, keep-alive clients it let go came back to it.)
"""

import time

from service.accept_board import least_busy, is_ahead

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


class Turns:
    """Before each accept, a worker ahead of its siblings waits its turn, briefly."""

    def __init__(self, seat, held, sleep, clock=time.monotonic):
        self._seat = seat
        self._held = held        # () -> the connections this worker holds
        self._sleep = sleep      # the worker's green sleep: others run meanwhile
        self._clock = clock
        self._ignore_until = 0.0

    def ahead(self):
        """Whether this worker lets its siblings take the next connection first: one look at the board."""
        return not self._ignoring() and is_ahead(self._held(), self._seat.siblings())

    def wait(self):
        """Called while a connection waits to be accepted: let a less busy sibling take it, for a moment."""
        if self._ignoring():
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

    def _ignoring(self):
        """Whether siblings that took nothing are not waited for, for now."""
        return bool(self._ignore_until) and self._clock() < self._ignore_until
