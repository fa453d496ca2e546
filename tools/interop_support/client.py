"""HTTP requests to a served app; CheckFailed says why an answer was wrong."""

import http.client
import json


class CheckFailed(Exception):
    """A service answered wrongly or not at all, or a recipe failed; the message is the reason."""


def request(run, app, method, path, body=None, headers=None, chunked=False):
    """(status, headers, body) of one request to `app` of `run`, on a connection of its own."""
    conn = http.client.HTTPConnection(*run.url(app), timeout=60)
    try:
        conn.request(method, path, body=iter([body]) if chunked else body,
                     headers=headers or {}, encode_chunked=chunked)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise CheckFailed(f"{app} {method} {path}: {exc!r}") from None
    finally:
        conn.close()


def json_of(run, app, method, path, expect, **kwargs):
    """The JSON document of an answer that must have status `expect`."""
    status, _, body = request(run, app, method, path, **kwargs)
    if status != expect:
        raise CheckFailed(f"{app} {method} {path}: {status}, not {expect}: "
                          f"{body[:200]!r}")
    try:
        return json.loads(body)
    except ValueError:
        raise CheckFailed(f"{app} {method} {path}: not JSON: {body[:200]!r}") from None
