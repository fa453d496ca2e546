"""Why a worker's life ended: the reasons the fleet records on each worker and counts.

A worker the fleet ends carries its reason (fleet.Worker.exit_reason) from
the moment the fleet decides, and its death is counted under it in
Fleet.exits, by app; a worker that dies without one died on its own: a
crash, or a failed build if it had told the fleet its app would not build.
Plain strings, as the metrics and the log show them.
"""

import os
import signal

# It died on its own (a signal, an exit, an exception) while serving.
CRASH = "crash"
# It never served: its app could not be built, or took longer than
# app_build_timeout to build.
BUILD_FAILED = "build_failed"
# It stopped showing it was alive for worker_timeout: killed.
WORKER_TIMEOUT = "worker_timeout"
# A request of it ran past request_timeout: replaced, or killed when it
# could not finish its other requests.
REQUEST_TIMEOUT = "request_timeout"
# max_requests or max_worker_rss: replaced, as in a reload of that worker.
RECYCLE = "recycle"
# A reload's hand-over retired it, or a reload it was built for was abandoned.
RELOAD = "reload"
# The daemon stopped (TERM, INT).
STOP = "stop"

EXIT_REASONS = (CRASH, BUILD_FAILED, WORKER_TIMEOUT, REQUEST_TIMEOUT, RECYCLE, RELOAD, STOP)


def describe_exit(status):
    """'exited with status N' or 'was killed by signal NAME', from a waitpid() status."""
    code = os.waitstatus_to_exitcode(status)
    if code >= 0:
        return f"exited with status {code}"
    try:
        return f"was killed by signal {signal.Signals(-code).name}"
    except ValueError:
        return f"was killed by signal {-code}"
