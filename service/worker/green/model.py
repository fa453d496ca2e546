"""worker_model = eventlet: the contract of service.worker.model, kept with green threads.

Imported only in workers of eventlet-model apps (and --check-config's
builders of them), after the fork: importing it imports eventlet.
"""

import contextlib

from service.accesslog import lines as access_lines
from service import logs
from service.worker import request_body
from service.worker.green import door
from service.worker.green import engine as green_engine


class GreenModel:
    name = "eventlet"

    prepare_process = staticmethod(door.green_the_process)

    # Serving.

    @staticmethod
    def concurrency(app_plan, wsgi_settings):
        return wsgi_settings.pool_size

    @staticmethod
    def engine(sock, connections, serve_connection, settings):
        return green_engine.GreenEngine(sock, connections, serve_connection, settings)

    select_readable = staticmethod(door.select_readable)

    @staticmethod
    def access_log(log_format):
        """Lines in batches, written once the green threads ready now have run."""
        access_log = access_lines.AccessLog(log_format, defer=_after_ready_green_threads)
        logs.call_before_each_record(_in_this_thread_only(access_log.flush))
        return access_log

    # What the shared code asks of it.

    @staticmethod
    def lock():
        # Green threads switch only where they wait for I/O or sleep, never
        # inside the few lines a lock guards.
        return _NO_LOCK

    sleep = staticmethod(door.sleep)
    request_slots = staticmethod(door.Semaphore)
    receive_now = staticmethod(door.receive_now)
    TlsClosed = door.TlsClosed
    # Apps written for eventlet.wsgi (swift) catch its ChunkReadError.
    BadBody = type("BadBody", (request_body.BadBody, door.ChunkReadError), {})
    # An eventlet.Timeout an app lets out fails its request only.
    app_failures = (door.Timeout,)
    expect_raw_answer = staticmethod(door.expect_already_handled)
    answered_raw = staticmethod(door.already_handled)


_NO_LOCK = contextlib.nullcontext()


def _after_ready_green_threads(callback):
    """Have a green thread of its own call `callback()` once the green threads ready now have run.

    Not the hub's own green thread: a log handler may do green I/O (a
    syslog socket), which cannot wait from there.
    """
    door.spawn_n(callback)


def _in_this_thread_only(callback):
    """`callback`, doing nothing when called from another OS thread (eventlet's tpool)."""
    this_thread = door.native_thread_id()

    def in_this_thread():
        if door.native_thread_id() == this_thread:
            callback()

    return in_this_thread


MODEL = GreenModel()
