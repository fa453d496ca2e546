"""Options that protect the daemon from its apps and its clients: time limits, recycling, size limits.

DEFAULT_OPTS are the daemon's, in [DEFAULT]; APP_OPTS are each app's, in its
group (service.conf.apps adds them to its own). What each does, and what
uWSGI and gunicorn call it, is in doc/source/operator/protection.rst.
"""

from oslo_config import cfg

DEFAULT_OPTS = [
    cfg.IntOpt(
        "worker_timeout",
        default=30,
        min=0,
        help="Seconds a serving worker may go without showing the "
             "supervisor it is alive (its heartbeat stops when its loop is "
             "blocked: a green thread stuck in CPU, SIGSTOP, a C call that "
             "never returns). Past it the worker is killed and replaced, "
             "and the log names the requests it had in flight. 0 = never."),
    cfg.IntOpt(
        "app_build_timeout",
        default=300,
        min=1,
        help="Seconds a worker may take to build its app (a factory "
             "waiting for a database it cannot reach). Past it the build "
             "has failed: at start, an error naming the app; on reload, "
             "the reload is abandoned and the serving workers go on."),
    cfg.IntOpt(
        "request_head_timeout",
        default=60,
        min=0,
        help="Seconds a request head may take to arrive, from its first "
             "byte to its empty line, however the bytes trickle in. Past "
             "it the client gets 408 and the connection closes, so that "
             "slow clients cannot hold connections. 0 = no limit "
             "(client_socket_timeout still bounds each silence)."),
]

APP_OPTS = [
    cfg.IntOpt(
        "request_timeout",
        default=0,
        min=0,
        help="Seconds one request may run, from its head to the last byte "
             "of its response (uWSGI's harakiri). A request past it is "
             "logged at WARNING with its method, path and age, and its "
             "worker is replaced: the worker's other requests finish "
             "within graceful_shutdown_timeout, that request is lost. "
             "0 = no limit."),
    cfg.IntOpt(
        "max_requests",
        default=0,
        min=0,
        help="Recycle a worker once it has served this many requests: a "
             "replacement is started, and once it serves the worker "
             "finishes what it serves and exits, as in a reload. 0 = "
             "never."),
    cfg.IntOpt(
        "max_requests_jitter",
        default=0,
        min=0,
        help="Add a random 0 to max_requests_jitter requests to each "
             "worker's max_requests, so that workers started together are "
             "not recycled together."),
    cfg.IntOpt(
        "max_worker_rss",
        default=0,
        min=0,
        help="MiB of resident memory past which a worker is recycled, as "
             "for max_requests. A worker that already holds that much when "
             "it starts serving is not recycled for memory (a warning says "
             "so). 0 = never."),
    cfg.IntOpt(
        "max_request_body_size",
        default=0,
        min=0,
        help="Bytes a request body may hold. A larger declared body gets "
             "413 before the app runs; a chunked one gets 413 once it "
             "passes the limit; the connection then closes. 0 = no limit."),
]
