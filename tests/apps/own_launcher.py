"""A service with a launcher of its own, as nova.wsgi.osapi_compute is: importing it sets the service up.

Like nova, glance and cinder under uWSGI, it registers its options (the
command-line ones of oslo.log too), parses its own config files from
sys.argv, and sets up its own logging, all when the module is imported.
"""

import os
import sys

from oslo_config import cfg
from oslo_log import log

CONF = cfg.CONF
log.register_options(CONF)
CONF.register_opts([cfg.StrOpt("motd", default="unset",
                               help="What the service answers.")],
                   group="fixture_service")
CONF(sys.argv[1:], project="fixture-service")
log.setup(CONF, "fixture-service")
LOG = log.getLogger(__name__)
LOG.info("Fixture service set up in %d", os.getpid())

MARK = os.environ.get("FIXTURE_SERVICE_MARK", "unset")


def application(environ, start_response):
    LOG.info("Fixture service serving %s", environ["PATH_INFO"])
    body = f"{CONF.fixture_service.motd} mark={MARK}\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
