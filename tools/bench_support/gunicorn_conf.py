"""gunicorn settings for the benchmark: nothing but a tie to the master's life.

gunicorn's eventlet workers do not notice the death of their master; this
makes the kernel send them SIGTERM when it dies, so none outlives a bench.
"""

import ctypes
import signal

PR_SET_PDEATHSIG = 1


def post_fork(server, worker):
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
