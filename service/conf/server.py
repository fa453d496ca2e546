"""Options that shape the daemon as a whole: which apps, where their pipelines live, stopping."""

from oslo_config import cfg

OPTS = [
    cfg.ListOpt(
        "enabled_apis",
        default=[],
        help="Names of the apps to serve. Each name is a section of the paste "
             "ini (app, composite, pipeline or filter-app) and a group of this "
             "file holding that app's listen, port and workers."),
    cfg.StrOpt(
        "api_paste_config",
        default="api-paste.ini",
        help="The PasteDeploy ini that defines the apps. A relative path "
             "resolves against the directory of the config file that sets it."),
    cfg.IntOpt(
        "graceful_shutdown_timeout",
        default=60,
        min=0,
        help="Seconds that in-flight requests get to finish on stop or "
             "reload before their worker is killed. 0 waits forever."),
]


def register_opts(conf):
    conf.register_opts(OPTS)
