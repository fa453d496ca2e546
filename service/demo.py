"""Demo apps and a filter, for the sample etc/api-paste.ini. Plain WSGI, no framework."""

import json

from webob import Request
from webob import Response


def hello_app_factory(global_conf, greeting="Hello from service-api", **local_conf):
    """paste.app_factory: answers every request with a greeting."""
    body = (greeting + "\n").encode("utf-8")

    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"),
                                  ("Content-Length", str(len(body)))])
        return [body]

    return hello


def echo_app_factory(global_conf, **local_conf):
    """paste.app_factory: answers with the request's method, path, headers and body as JSON."""

    def echo(environ, start_response):
        request = Request(environ)
        payload = {
            "scheme": request.scheme,
            "method": request.method,
            "path": request.path,
            "script_name": request.script_name,
            "query": request.query_string,
            "headers": dict(request.headers),
            "body": request.body.decode("utf-8", "replace"),
        }
        return Response(json=payload)(environ, start_response)

    return echo


def versions_app_factory(global_conf, **local_conf):
    """paste.app_factory: a version document, as OpenStack APIs serve at their root."""
    document = json.dumps({"versions": [{"id": "v1", "status": "CURRENT"}]})

    def versions(environ, start_response):
        return Response(document, content_type="application/json",
                        charset="utf-8")(
            environ, start_response)

    return versions


def served_by_filter_factory(global_conf, name="service-api", **local_conf):
    """paste.filter_factory: adds `X-Served-By: <name>` to every response."""

    def make_filter(app):
        def served_by(environ, start_response):
            def start_with_header(status, headers, exc_info=None):
                return start_response(status, headers + [("X-Served-By", name)],
                                      exc_info)
            return app(environ, start_with_header)
        return served_by

    return make_filter
