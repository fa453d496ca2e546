"""An app whose modules register command-line options when imported, as glance and cinder do.

oslo.log's register_options() includes --debug, --log-file and others;
oslo.config refuses command-line options once cfg.CONF is parsed.
"""

from oslo_config import cfg
from oslo_log import log

CONF = cfg.CONF
log.register_options(CONF)
CONF.register_cli_opt(cfg.BoolOpt("fixture-dry-run", default=False,
                                  help="A command-line option of the app."))
CONF.register_opt(cfg.StrOpt("fixture_greeting", default="unset",
                             help="Read from the daemon's config file."))


def app_factory(global_conf, **local_conf):
    # Read in the factory: by now the daemon's files are parsed.
    body = f"{CONF.fixture_greeting} dry_run={CONF.fixture_dry_run}\n".encode()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return app
