"""A Flask app built by a paste app factory: the middleware tests serve it behind oslo.middleware."""

import flask


def app_factory(global_conf, name="flask", **local_conf):
    """paste.app_factory: a Flask app answering with what it saw of the request."""
    app = flask.Flask(__name__)
    # Flask would answer an exception with a 500 page of its own; an
    # OpenStack pipeline wants it raised, so that catch_errors logs it and
    # answers for every app alike.
    app.config["PROPAGATE_EXCEPTIONS"] = True

    @app.get("/")
    def seen():
        request = flask.request
        return {"name": name, "url_root": request.url_root,
                "remote_addr": request.remote_addr,
                "request_id": request.environ.get("openstack.request_id")}

    @app.post("/upload")
    def upload():
        return {"received": len(flask.request.get_data())}

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret flask detail")

    return app
