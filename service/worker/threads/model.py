"""worker_model = threads: the contract of service.worker.model, kept with native OS threads.

Nothing here, nor anything it imports, loads eventlet or greenlet:
tests/unit/test_layout.py checks it statically and in a running worker.

Imported only in workers of threads-model apps (and --check-config's
builders of them), after the fork.
"""

import contextlib
import select
import ssl
import threading
import time

from service.accesslog import lines as access_lines
from service.worker import request_body
from service.worker.threads import engine as thread_engine
from service.worker.threads import sockets


class ThreadModel:
    name = "threads"

    @staticmethod
    def prepare_process():
        """Nothing to prepare: the app runs on the interpreter as it is."""

    # Serving.

    @staticmethod
    def concurrency(app_plan, wsgi_settings):
        return app_plan.threads

    @staticmethod
    def engine(sock, connections, serve_connection, settings):
        return thread_engine.ThreadEngine(sock, connections, serve_connection, settings)

    @staticmethod
    def select_readable(fds, timeout):
        readable, _, _ = select.select(fds, [], [], timeout)
        return readable

    @staticmethod
    def access_log(log_format):
        """Lines written as their requests end, several in one write when threads end requests at once."""
        return access_lines.AccessLog(log_format, lock=threading.Lock())

    # What the shared code asks of it.

    lock = staticmethod(threading.Lock)
    sleep = staticmethod(time.sleep)

    @staticmethod
    def request_slots(size):
        # The request threads are the bound.
        return contextlib.nullcontext()

    receive_now = staticmethod(sockets.receive_now)
    TlsClosed = ssl.SSLZeroReturnError
    BadBody = request_body.BadBody
    app_failures = ()

    @staticmethod
    def expect_raw_answer():
        """Answering on the raw socket is eventlet.wsgi's way (eventlet.websocket): nothing to expect here."""

    @staticmethod
    def answered_raw():
        return False


MODEL = ThreadModel()
