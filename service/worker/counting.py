"""What a worker counts of its requests and connections, on its count sheet (service.count_sheet).

The hot path: one request costs two short sections under the worker
model's lock (none under eventlet, whose green threads never switch in
them; a threading.Lock under threads, whose request threads do), a few
float additions into shared memory, a dictionary lookup for the row of its
method and status, and a bisection for its duration's bucket. Nothing is
allocated, nothing is sent anywhere: the supervisor reads the sheet when
it is scraped.

Without an admin endpoint (metrics_port = 0) the worker has no sheet and
counts with NO_COUNTS, which does nothing.

Shared by both worker models; imported only in workers, after the fork.
"""

import bisect

from service import count_sheet

_IN_FLIGHT = count_sheet.IN_FLIGHT
_REQUEST_BYTES = count_sheet.REQUEST_BYTES
_RESPONSE_BYTES = count_sheet.RESPONSE_BYTES
_DURATION_SUM = count_sheet.DURATION_SUM
_DURATION_BUCKETS = count_sheet.DURATION_BUCKETS
_BOUNDS = count_sheet.DURATION_BOUNDS


class RequestCounts:
    """Counts of one worker's requests, bytes and connections, written to its sheet.

    finished() is the hot path, written out in one piece: a method call
    costs as much as two of its additions.
    """

    def __init__(self, sheet: count_sheet.CountSheet, lock):
        self._sheet = sheet
        self._cells = sheet.cells
        # The sheet's {(method, code): cell}, for the rows met already.
        self._rows = sheet.rows_by_pair
        # The worker model's: several request threads count at once.
        self._lock = lock

    def started(self):
        """A request's head is read: it is in flight until finished()."""
        with self._lock:
            self._cells[_IN_FLIGHT] += 1

    def finished(self, method, code, sent, reader, seconds):
        """A request started() is answered: `sent` bytes in `seconds`; the bytes `reader` received since last counted."""
        received = reader.take_received()
        bucket = _DURATION_BUCKETS + bisect.bisect_left(_BOUNDS, seconds)
        cells = self._cells
        with self._lock:
            row = self._rows.get((method, code)) or self._sheet.row(method, code)
            cells[row] += 1
            cells[bucket] += 1
            cells[_DURATION_SUM] += seconds
            cells[_RESPONSE_BYTES] += sent
            cells[_REQUEST_BYTES] += received
            cells[_IN_FLIGHT] -= 1

    def refused(self, method, code, sent, reader, seconds):
        """A request refused before it started (its head was bad, or late): counted as answered."""
        self.started()
        self.finished(method, code, sent, reader, seconds)

    def received(self, reader):
        """The bytes `reader` received since last counted, outside any request (the connection ends)."""
        received = reader.take_received()
        if received:
            with self._lock:
                self._cells[_REQUEST_BYTES] += received

    def connections(self, open_count, idle_count):
        """How many client connections the worker holds, and how many of them are parked: under the caller's lock."""
        cells = self._cells
        cells[count_sheet.CONNECTIONS_OPEN] = open_count
        cells[count_sheet.CONNECTIONS_IDLE] = idle_count


class _NoCounts:
    """A worker without a sheet: nothing is counted."""

    def started(self):
        pass

    def finished(self, method, code, sent, reader, seconds):
        pass

    def refused(self, method, code, sent, reader, seconds):
        pass

    def received(self, reader):
        pass

    def connections(self, open_count, idle_count):
        pass


NO_COUNTS = _NoCounts()


def for_sheet(sheet, model):
    """The counts of a worker with `sheet` (None: no admin endpoint) in `model`."""
    if sheet is None:
        return NO_COUNTS
    return RequestCounts(sheet, model.lock())
