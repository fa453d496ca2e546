"""Every option service-api reads, declared once; list_opts() feeds oslo-config-generator."""

from service.conf import apps
from service.conf import cli
from service.conf import limits
from service.conf import metrics
from service.conf import server
from service.conf import wsgi


def register_opts(conf):
    server.register_opts(conf)
    wsgi.register_opts(conf)
    conf.register_opts(limits.DEFAULT_OPTS)
    metrics.register_opts(conf)


def register_app_opts(conf, app_name):
    apps.register_opts(conf, app_name)


def register_every_opt(conf):
    """Every option the daemon reads: the config files', the command line's and oslo.log's."""
    from service import logs

    register_opts(conf)
    cli.register_opts(conf)
    logs.register_opts(conf)


def list_opts():
    return [
        ("DEFAULT", server.OPTS + wsgi.OPTS + limits.DEFAULT_OPTS + metrics.OPTS),
        (apps.SAMPLE_GROUP, apps.OPTS),
    ]


def parse_args(conf, argv):
    """Register every option and parse the command line and config files into `conf`."""
    from oslo_config import cfg

    from service import __version__
    from service.errors import ConfigError

    if "enabled_apis" not in conf:
        register_every_opt(conf)
    try:
        conf(args=argv, project="service-api", version=__version__)
    except cfg.Error as exc:
        raise ConfigError(" ".join(str(exc).split())) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"a config file is not UTF-8 text: {exc}") from None
