"""The pool eventlet.wsgi.server spawns connections in: green threads that serve one connection after another.

eventlet's GreenPool makes a green thread for every connection: a
greenlet, a GreenThread with its Event and links, and, on Python 3.11, a
fresh 16 KiB frame stack that is mapped when it starts and unmapped when
it ends (an mmap and a munmap per connection). With connections that carry
one request each, that is a large share of what a request costs. A
runner here serves a connection, then waits, parked, for the next one.

What an app sees of this: each connection starts in a fresh contextvars
context, as it did in a new green thread, and a finished connection's
objects are let go. What a runner keeps from one connection to the next
is what an OS thread of uWSGI, mod_wsgi or gunicorn gthread keeps from one
request to the next, often another client's: the values in thread locals
(eventlet's green threading.local; the worker clears oslo.context's
request context after every request), the thread's name, and an eventlet
Timeout that an app started and never cancelled, which may fire in a
later connection's request instead of into a finished green thread. A
keep-alive connection's green thread always kept these from one request
to the next.

Rules:
1. spawn(function, *args) runs function(*args) once the hub gets to it,
   as eventlet.spawn does, and returns a handle whose link(callback, *args)
   has callback(handle, *args) called when it is over (eventlet.wsgi.server
   links each connection to its clean-up).
2. A runner whose function raises ends there: the exception goes to the
   hub, which reports it as it reports a GreenThread's.
3. A parked runner takes only a job: a stray wake-up or exception (a
   timer an app left behind) finds nothing to interrupt, and is ignored.
4. At most `max_idle` runners wait for work; the others end, so that a
   burst of connections leaves no more than that behind.

Imported only in workers, after the fork.
"""

import contextvars

from service.worker.green import door


class Runners:
    """spawn() and waitall(), what eventlet.wsgi.server asks of a pool, and running() as GreenPool's."""

    def __init__(self, max_idle):
        self._max_idle = max_idle
        self._idle = []
        self._running = 0
        # Set while waitall() waits.
        self._all_done = None

    def spawn(self, function, *args):
        job = Job(function, args)
        self._running += 1
        if self._idle:
            runner = self._idle.pop()
        else:
            runner = door.new_green_thread(self._run)
        door.call_later(0, runner.switch, job)
        return job

    def running(self):
        return self._running

    def waitall(self):
        while self._running:
            self._all_done = door.Event()
            self._all_done.wait()

    def _run(self, job):
        while job is not None:
            try:
                job.run()
            finally:
                self._finished()
            job = self._next_job()

    def _finished(self):
        self._running -= 1
        if not self._running and self._all_done is not None:
            all_done, self._all_done = self._all_done, None
            all_done.send()

    def _next_job(self):
        """Park until spawn() hands this runner a job; None when enough runners are parked already (4)."""
        if len(self._idle) >= self._max_idle:
            return None
        me = door.current_green_thread()
        self._idle.append(me)
        try:
            while True:
                try:
                    job = door.wait_for_switch()
                except (Exception, door.Timeout):
                    continue  # (3)
                if type(job) is Job:
                    return job
        except BaseException:
            # GreenletExit, say: this runner ends, and must not be handed a job.
            if me in self._idle:
                self._idle.remove(me)
            raise


class Job:
    """One spawned function, as eventlet.wsgi.server holds it: something to link its clean-up to."""

    __slots__ = ("_function", "_args", "_linked")

    def __init__(self, function, args):
        self._function = function
        self._args = args
        self._linked = None

    def link(self, callback, *args):
        self._linked = (callback, args)

    def run(self):
        try:
            contextvars.Context().run(self._function, *self._args)
        finally:
            linked = self._linked
            # eventlet.wsgi.server keeps the job for its connection's
            # clean-up only: what the job held (the socket, the connection's
            # state) goes with the connection.
            self._function = self._args = self._linked = None
            if linked is not None:
                callback, args = linked
                callback(self, *args)
