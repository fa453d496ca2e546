"""Values that change once a second (dates in headers and log lines), made once a second."""

import time


class PerSecond:
    """Calling it returns make(now), made again only when the second changes."""

    def __init__(self, make):
        self._make = make
        self._second = None
        self._value = None

    def __call__(self):
        now = time.time()
        second = int(now)
        if second != self._second:
            self._value = self._make(now)
            self._second = second
        return self._value
