"""Options of the admin endpoint: where the daemon answers /metrics and /healthz."""

from oslo_config import cfg

OPTS = [
    cfg.HostAddressOpt(
        "metrics_listen",
        default="127.0.0.1",
        help="Address of the admin endpoint (IPv4 or IPv6): /metrics in the "
             "Prometheus text format and /healthz for load balancers and "
             "probes. The supervisor serves it, never an app's workers, so "
             "a stuck app cannot hide its own figures. Read at start: a "
             "reload keeps the endpoint where it is."),
    cfg.PortOpt(
        "metrics_port",
        default=0,
        help="Port of the admin endpoint; 0 (the default) serves none, and "
             "the workers then count nothing. A port that cannot be bound "
             "is a configuration error at start."),
]


def register_opts(conf):
    conf.register_opts(OPTS)
