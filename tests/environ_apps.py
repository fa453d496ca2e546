"""Fixture apps for the environ tests: what an app sees of a request, as frameworks read it."""

import json


def keys_factory(global_conf, **local_conf):
    """Answers with the environ as JSON: str and bool values as they are, others as {"type": name}."""
    def show_keys(environ, start_response):
        shown = {key: value if isinstance(value, (str, bool))
                 else {"type": type(value).__name__}
                 for key, value in environ.items()}
        body = json.dumps(shown).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(body)))])
        return [body]
    return show_keys


def webob_echo_factory(global_conf, **local_conf):
    """Answers with the request body as WebOb reads it (nova, cinder and every wsgify app)."""
    import webob.dec

    @webob.dec.wsgify
    def echo(request):
        return webob.Response(
            body=b"%d bytes: %s" % (len(request.body), request.body),
            content_type="text/plain")
    return echo


def validated_echo_factory(global_conf, **local_conf):
    """Echoes the query and body, inside wsgiref.validate's validator.

    What the validator finds is an AssertionError, or a WSGIWarning made an
    error here: either answers 500 and logs a traceback.
    """
    import warnings
    from wsgiref import validate

    # The worker serves this app only: its warnings filter is the test's.
    warnings.simplefilter("error", validate.WSGIWarning)

    def echo(environ, start_response):
        read = environ["wsgi.input"].read
        body = b"".join(iter(lambda: read(65536), b""))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"%s %d bytes: %s" % (environ["QUERY_STRING"].encode(),
                                      len(body), body)]
    return validate.validator(echo)


def request_echo_factory(global_conf, **local_conf):
    """Answers with what a front end forwarded: the mount, the client, the body as read to its end."""
    def request_echo(environ, start_response):
        read = environ["wsgi.input"].read
        body = b"".join(iter(lambda: read(65536), b""))
        shown = {key: environ.get(key) for key in (
            "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_METHOD", "REMOTE_ADDR",
            "CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_HOST", "HTTP_TRANSFER_ENCODING",
            "SERVER_PROTOCOL", "wsgi.url_scheme")}
        shown["body"] = body.decode("latin-1")
        reply = json.dumps(shown).encode()
        start_response("200 OK", [("Content-Type", "application/json"),
                                  ("Content-Length", str(len(reply)))])
        return [reply]
    return request_echo
