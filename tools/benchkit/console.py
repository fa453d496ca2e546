"""Progress lines on stderr, and the errors that stop a bench."""

import sys
import time

STARTED = time.monotonic()


class BenchError(Exception):
    """Something the bench cannot go on without; the message says what."""


class Deadline(BaseException):
    """--max-minutes passed (SIGALRM)."""


def progress(message):
    print(f"[{time.monotonic() - STARTED:6.0f}s] {message}", file=sys.stderr,
          flush=True)
