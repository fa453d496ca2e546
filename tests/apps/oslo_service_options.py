"""An app that registers oslo.service's server options in cfg.CONF, as nova does.

Same names as service-api's own options, other definitions (help text,
bounds): oslo.config refuses a second, different definition of a name, so
this only builds where service-api's options are not in cfg.CONF.
"""

from oslo_config import cfg

OSLO_SERVICE_NAMES = [
    cfg.IntOpt("graceful_shutdown_timeout", default=60,
               help="oslo.service's: timeout of a graceful shutdown."),
    cfg.StrOpt("api_paste_config", default="api-paste.ini",
               help="oslo.service's: the paste config file."),
    cfg.StrOpt("wsgi_log_format", default="%(client_ip)s",
               help="oslo.service's: the access log format."),
    cfg.IntOpt("tcp_keepidle", default=600, help="oslo.service's."),
    cfg.IntOpt("wsgi_default_pool_size", default=100, help="oslo.service's."),
    cfg.IntOpt("max_header_line", default=16384, help="oslo.service's."),
    cfg.BoolOpt("wsgi_keep_alive", default=True, help="oslo.service's."),
    cfg.IntOpt("client_socket_timeout", default=900, help="oslo.service's."),
]


def app_factory(global_conf, **local_conf):
    cfg.CONF.register_opts(OSLO_SERVICE_NAMES)
    # The app reads its own definition from the daemon's files.
    body = f"graceful_shutdown_timeout={cfg.CONF.graceful_shutdown_timeout}\n".encode()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return app
