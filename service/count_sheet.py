"""A worker's count sheet: what it counts of its requests, in memory the supervisor reads.

Why this and not prometheus_client's multiprocess mode: the mode keeps
every value in a file per process, each update a labels() lookup, a lock
and a struct write to a memory-mapped dict: 20 to 50 µs a request for the
five updates a request makes, measured on this project's 2-core machine,
against 1 to 4 µs here. Its files also outlive their processes, and every
scrape reads the files of every worker that ever lived.

So each worker gets a sheet: a few KiB of anonymous shared memory that the
supervisor maps before it forks the worker (as it does the accept board,
service.accept_board). The worker writes plain floats into it as it
serves; the supervisor reads it whenever it is scraped, and when the
worker has ended (killed, crashed, retired) it reads the sheet one last
time and adds its counters to the app's totals. Every count is in shared
memory as soon as it is made: a worker killed by SIGKILL loses none.

Rules of the memory:
- One writer: the worker's requests (under the worker model's lock, in
  the threads model); one reader: the supervisor. Each value is an aligned
  8-byte float, which the processor stores and loads whole: a read sees a
  value before or after an update, never half of one.
- Requests by method and status are a table that grows: the writer
  writes a row's key before it counts the row in `rows`, and the reader
  reads only counted rows, skipping a key still zero.
- Methods outside METHODS count as "other"; status codes as sent. When
  the table is full (a misbehaving app inventing codes), further new
  pairs count in one row shown as method and code "other".

Shared by both sides, and free of eventlet and of prometheus_client.
"""

import dataclasses
import mmap

# The methods that get a label of their own (RFC 9110 9.3, and PATCH).
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS",
           "CONNECT", "TRACE", "other")
OTHER = "other"
_METHOD_INDEX = {method: index for index, method in enumerate(METHODS)}
_OTHER_INDEX = _METHOD_INDEX[OTHER]
# A row's key: code * _STRIDE + method index + 1; never 0, which is a row
# not written yet.
_STRIDE = 16
_OVERFLOW_KEY = -1.0

# Upper bounds of the request duration histogram's buckets, in seconds
# (then +Inf): API calls from milliseconds to the minute-long upload.
DURATION_BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                   10.0, 30.0, 60.0)

# The cells, in order: one float each.
IN_FLIGHT = 0
CONNECTIONS_OPEN = 1
CONNECTIONS_IDLE = 2
REQUEST_BYTES = 3
RESPONSE_BYTES = 4
DURATION_SUM = 5
DURATION_BUCKETS = 6                      # one per bound, then +Inf
ROWS = DURATION_BUCKETS + len(DURATION_BOUNDS) + 1
TABLE = ROWS + 1                          # rows of (key, count)
MAX_ROWS = 256
CELLS = TABLE + 2 * MAX_ROWS


@dataclasses.dataclass
class SheetFigures:
    """What a sheet held when it was read: counters, then gauges."""
    # {(method, code): requests}, code as text ("200", or "other").
    requests: dict
    # Requests per duration bucket (not cumulative), the last one +Inf.
    duration_buckets: list
    duration_sum: float
    request_bytes: float
    response_bytes: float
    in_flight: float = 0.0
    connections_open: float = 0.0
    connections_idle: float = 0.0

    @classmethod
    def zero(cls):
        return cls({}, [0.0] * (len(DURATION_BOUNDS) + 1), 0.0, 0.0, 0.0)

    def add_counters(self, other):
        """Add `other`'s counters (not its gauges) to these."""
        for key, count in other.requests.items():
            self.requests[key] = self.requests.get(key, 0.0) + count
        self.duration_buckets = [a + b for a, b in zip(self.duration_buckets,
                                                       other.duration_buckets)]
        self.duration_sum += other.duration_sum
        self.request_bytes += other.request_bytes
        self.response_bytes += other.response_bytes


class CountSheet:
    """One worker's sheet: made by the supervisor before the fork, written by the worker, read by the supervisor."""

    def __init__(self):
        self._memory = mmap.mmap(-1, CELLS * 8)
        # Zero-filled: every count starts at 0.
        self.cells = memoryview(self._memory).cast("d")
        # The writer's own index of its rows: {key: cell of its count}, and
        # {(method, code): cell} of the pairs it has met.
        self._rows = {}
        self.rows_by_pair = {}

    def close(self):
        self.cells.release()
        self._memory.close()

    # The writer's side (the worker).

    def row(self, method, code):
        """The cell counting requests of `method` answered `code`; a new row if need be."""
        cell = self.rows_by_pair.get((method, code))
        if cell is None:
            cell = self._add_row(method, code)
        return cell

    def _add_row(self, method, code):
        index = _METHOD_INDEX.get(method)
        key = float(code * _STRIDE + (_OTHER_INDEX if index is None else index) + 1)
        cell = self._rows.get(key)
        if cell is None:
            if len(self._rows) >= MAX_ROWS - 1:
                return self._overflow_row()
            cell = self._rows[key] = self._write_row(len(self._rows), key)
        if index is not None:
            # Only known methods: a client inventing methods must not grow this.
            self.rows_by_pair[(method, code)] = cell
        return cell

    def _overflow_row(self):
        last = MAX_ROWS - 1
        if self.cells[TABLE + 2 * last] != _OVERFLOW_KEY:
            self._write_row(last, _OVERFLOW_KEY)
        return TABLE + 2 * last + 1

    def _write_row(self, row, key):
        cells = self.cells
        cells[TABLE + 2 * row] = key
        # Counted once its key is there: the reader reads counted rows only.
        cells[ROWS] = row + 1
        return TABLE + 2 * row + 1

    # The reader's side (the supervisor).

    def read(self):
        cells = self.cells
        return SheetFigures(
            requests=self._read_requests(),
            duration_buckets=list(cells[DURATION_BUCKETS:ROWS]),
            duration_sum=cells[DURATION_SUM],
            request_bytes=cells[REQUEST_BYTES],
            response_bytes=cells[RESPONSE_BYTES],
            in_flight=cells[IN_FLIGHT],
            connections_open=cells[CONNECTIONS_OPEN],
            connections_idle=cells[CONNECTIONS_IDLE])

    def _read_requests(self):
        cells = self.cells
        used = min(int(cells[ROWS]), MAX_ROWS)
        table = cells[TABLE:TABLE + 2 * used]
        requests = {}
        for row in range(used):
            key, count = table[2 * row], table[2 * row + 1]
            if key:
                label = _labels(key)
                requests[label] = requests.get(label, 0.0) + count
        return requests


def _labels(key):
    """(method, code) of a row's key."""
    if key == _OVERFLOW_KEY:
        return (OTHER, OTHER)
    code, index = divmod(int(key) - 1, _STRIDE)
    return (METHODS[index], str(code))
