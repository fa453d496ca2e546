"""Options of one app: a group named after the app, registered once enabled_apis is known."""

from oslo_config import cfg

# The generator cannot know the operator's app names, so the sample shows the
# group under this stand-in name.
SAMPLE_GROUP = "app_name"

OPTS = [
    cfg.HostAddressOpt(
        "listen",
        default="0.0.0.0",
        help="Address this app listens on (IPv4 or IPv6)."),
    cfg.PortOpt(
        "port",
        help="Port this app listens on. Required. 0 lets the kernel pick "
             "one, which the log then names."),
    cfg.IntOpt(
        "workers",
        min=1,
        help="Worker processes serving this app. Default: the number of "
             "CPUs."),
]


def register_opts(conf, app_name):
    conf.register_opts(OPTS, group=app_name)
