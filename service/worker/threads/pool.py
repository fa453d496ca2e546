"""threads model: the request threads, which run one job (one connection's requests) after another.

A fixed number of OS threads (the app's `threads`), started with the
engine: a burst of connections waits in the queue for a free thread instead
of starting threads, and the acceptor looks at the queue to leave
connections it could not serve soon to the app's other workers.

Each job runs in a fresh contextvars context, as each connection does in
the eventlet model. What a thread keeps from one job to the next is what
an OS thread of uWSGI, mod_wsgi or gunicorn gthread keeps: its thread-local
values (the worker clears oslo.context's request context after every
request) and its name.

Imported only in workers of threads-model apps, after the fork.
"""

import contextvars
import logging
import os
import queue
import signal
import threading

LOG = logging.getLogger(__name__)

_STOP = None


def essential_thread(target, name):
    """A thread the worker cannot serve without (the acceptor, the parking lot's): if it fails, the worker ends.

    Its failure is logged, and the worker is stopped as TERM stops it (its
    requests finish): the supervisor replaces it, as it replaces any worker
    that dies, rather than leave it up and serving nothing.
    """
    def run():
        try:
            target()
        except BaseException:
            LOG.exception("The %s thread failed: the worker stops, to be replaced", name)
            os.kill(os.getpid(), signal.SIGTERM)
    return threading.Thread(target=run, name=name, daemon=True)


class RequestThreads:
    """`size` threads taking jobs from one queue."""

    def __init__(self, size, name):
        self._jobs = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{number}",
                                          daemon=True)
                         for number in range(1, size + 1)]

    def start(self):
        for thread in self._threads:
            thread.start()

    def submit(self, function, *args):
        """Have a free thread call function(*args); the first free one takes it."""
        self._jobs.put((function, args))

    def waiting(self):
        """Jobs no thread has taken yet."""
        return self._jobs.qsize()

    def stop(self):
        """End every thread once the jobs before this call are done; return when they have ended."""
        for _ in self._threads:
            self._jobs.put(_STOP)
        for thread in self._threads:
            thread.join()

    def _run(self):
        jobs = self._jobs
        while (job := jobs.get()) is not _STOP:
            function, args = job
            job = None  # what the job held goes with it
            try:
                contextvars.Context().run(function, *args)
            except BaseException:
                # The job's own failures are its to handle; one that gets
                # here must not cost the worker a thread.
                LOG.exception("A request thread's job failed")
            function = args = None
