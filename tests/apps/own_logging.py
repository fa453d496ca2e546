"""An app that logs through a handler and format of its own (swift sends its access lines to syslog this way)."""

import logging


def app_factory(global_conf, log_file, **local_conf):
    own = logging.getLogger("fixture.own")
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(name)s|%(message)s"))
    own.addHandler(handler)
    own.setLevel(logging.INFO)
    own.propagate = False
    own.info("built")
    # And one record that goes through the daemon's handlers.
    logging.getLogger("fixture.shared").warning("built, said to the daemon's log")

    def app(environ, start_response):
        own.info("%s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"])
        body = b"own\n"
        start_response("200 OK", [("Content-Type", "text/plain"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return app
