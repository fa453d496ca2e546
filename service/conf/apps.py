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
    cfg.StrOpt(
        "worker_model",
        default="eventlet",
        choices=[
            ("eventlet", "green threads: the worker monkey-patches the "
                         "process with eventlet before the app is imported, "
                         "and eventlet.wsgi-era apps (websockets, "
                         "eventlet.Timeout) work as under eventlet.wsgi"),
            ("threads", "native OS threads: the worker never imports "
                        "eventlet or greenlet, for services that have left "
                        "eventlet (nova's API since 2026.1)"),
        ],
        help="How a worker of this app serves requests at once. Both "
             "models share the HTTP core, the limits, the access log, "
             "reload and drain; an app may move between them on reload."),
    cfg.IntOpt(
        "threads",
        default=16,
        min=1,
        help="With worker_model = threads: requests one worker serves at "
             "the same time (its request threads). Idle keep-alive "
             "connections hold no thread. With eventlet, "
             "wsgi_default_pool_size sets this instead."),
    cfg.StrOpt(
        "cert_file",
        help="PEM certificate (with its chain) this app presents. Setting "
             "it and key_file serves the app over HTTPS. A relative path "
             "resolves against the config file's directory."),
    cfg.StrOpt(
        "key_file",
        help="PEM private key of cert_file."),
    cfg.StrOpt(
        "ca_file",
        help="PEM CA bundle for client certificates. When set, every "
             "client must present a certificate signed by one of these CAs."),
    cfg.StrOpt(
        "tls_minimum_version",
        default="TLSv1.2",
        choices=["TLSv1.2", "TLSv1.3"],
        help="Oldest TLS version this app accepts."),
]


def register_opts(conf, app_name):
    conf.register_opts(OPTS, group=app_name)
