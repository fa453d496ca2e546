"""Paste glue for oslo-aware middleware: hand a middleware class the daemon's own cfg.CONF.

Most oslo.middleware factories fall back to cfg.CONF by themselves. CORS's
factory refuses to, unless the paste section names `allowed_origin` (config
in the paste ini) or `oslo_config_project` (a second ConfigOpts that reads
the project's default files, not the --config-file the daemon was given).
Passing cfg.CONF keeps [cors] in service-api's own config files.
"""

import pkgutil

from oslo_config import cfg


def oslo_filter_factory(global_conf, middleware, **local_conf):
    """paste.filter_factory; `middleware` is 'module:Class', e.g. oslo_middleware.cors:CORS."""
    middleware_class = pkgutil.resolve_name(middleware)
    return lambda app: middleware_class(app, cfg.CONF)
