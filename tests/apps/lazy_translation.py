"""An app that logs lazily translated messages (oslo.i18n's Message), as cinder does.

A Message refuses `+`: anything that prefixes the message text of a log
record breaks every such log call, at build and at request time.
"""

import logging

import oslo_i18n

oslo_i18n.enable_lazy()
_ = oslo_i18n.TranslatorFactory(domain="fixture").primary
LOG = logging.getLogger("fixture.lazy")


def app_factory(global_conf, **local_conf):
    LOG.info(_("Lazy app built in %s"), "the worker")

    def app(environ, start_response):
        LOG.info(_("Lazy app serving %(path)s"), {"path": environ["PATH_INFO"]})
        body = b"lazy\n"
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return app
