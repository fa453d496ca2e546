"""oslo.middleware in a paste pipeline, configured from the daemon's config file, around Flask."""

import json
import re

import pytest

from tests.functional.daemon import Daemon, write_config

PASTE = """
    [composite:api]
    use = egg:Paste#urlmap
    / = api_pipeline
    /healthcheck = healthcheck

    [pipeline:api_pipeline]
    pipeline = cors http_proxy_to_wsgi request_id catch_errors sizelimit flask

    [app:flask]
    paste.app_factory = tests.flask_app:app_factory
    name = flask behind oslo.middleware

    [app:healthcheck]
    paste.app_factory = oslo_middleware:Healthcheck.app_factory

    [filter:cors]
    paste.filter_factory = service.middleware:oslo_filter_factory
    middleware = oslo_middleware.cors:CORS

    [filter:http_proxy_to_wsgi]
    paste.filter_factory = oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory

    [filter:request_id]
    paste.filter_factory = oslo_middleware:RequestId.factory

    [filter:catch_errors]
    paste.filter_factory = oslo_middleware:CatchErrors.factory

    [filter:sizelimit]
    paste.filter_factory = oslo_middleware:RequestBodySizeLimiter.factory
"""

# The middleware's own groups, in the file service-api reads: nothing of
# this is in the paste ini.
MIDDLEWARE_GROUPS = """
[cors]
allowed_origin = https://dashboard.example.org
allow_methods = GET,POST

[oslo_middleware]
enable_proxy_headers_parsing = true
max_request_body_size = 1024

[healthcheck]
backends = disable_by_file
disable_by_file_path = {maintenance}
"""

DASHBOARD = "https://dashboard.example.org"


@pytest.fixture
def api(shared_daemon):
    """One daemon (per worker model) serving the pipeline to every test here; api.maintenance is its maintenance file."""
    def start(directory):
        conf = write_config(directory, {"api": {}}, PASTE)
        with open(conf, "a") as f:
            f.write(MIDDLEWARE_GROUPS.format(maintenance=directory / "maintenance"))
        daemon = Daemon(directory, "--config-file", conf)
        daemon.maintenance = directory / "maintenance"
        return daemon
    return shared_daemon(start)


def get(api, path="/", **kwargs):
    """(status, headers with lower-case names, body)."""
    status, headers, body = api.get("api", path, **kwargs)
    return status, {name.lower(): value for name, value in headers.items()}, body


def get_json(api, path="/", **kwargs):
    status, headers, body = get(api, path, **kwargs)
    assert status == 200, (status, body)
    return headers, json.loads(body)


def test_the_flask_app_serves_through_the_pipeline(api):
    headers, seen = get_json(api)
    assert seen["name"] == "flask behind oslo.middleware"
    assert headers["content-type"] == "application/json"


def test_request_id_is_answered_and_given_to_the_app(api):
    headers, seen = get_json(api)
    assert re.fullmatch(r"req-[0-9a-f-]{36}", headers["x-openstack-request-id"])
    assert seen["request_id"] == headers["x-openstack-request-id"]
    assert get_json(api)[0]["x-openstack-request-id"] != headers["x-openstack-request-id"]


def test_healthcheck_answers_and_the_maintenance_file_turns_it_off(api):
    assert api.get("api", "/healthcheck")[0:3:2] == (200, b"OK")
    api.maintenance.write_text("")
    try:
        assert api.get("api", "/healthcheck")[0] == 503
    finally:
        api.maintenance.unlink()
    assert api.get("api", "/healthcheck")[0] == 200


def test_cors_headers_for_the_allowed_origin_only(api):
    headers, _ = get_json(api, headers={"Origin": DASHBOARD})
    assert headers["access-control-allow-origin"] == DASHBOARD
    headers, _ = get_json(api, headers={"Origin": "https://evil.example.net"})
    assert "access-control-allow-origin" not in headers


def test_cors_preflight(api):
    status, headers, _ = get(api, "/upload", method="OPTIONS", headers={
        "Origin": DASHBOARD, "Access-Control-Request-Method": "POST"})
    assert status == 200
    assert headers["access-control-allow-origin"] == DASHBOARD
    assert headers["access-control-allow-methods"] == "POST"


def test_forwarded_headers_are_honoured(api):
    _, seen = get_json(api, headers={"X-Forwarded-Proto": "https",
                                     "X-Forwarded-Host": "api.example.org",
                                     "X-Forwarded-For": "203.0.113.7"})
    assert seen["url_root"] == "https://api.example.org/"
    assert seen["remote_addr"] == "203.0.113.7"


def test_body_over_the_configured_limit_is_413(api):
    assert get_json(api, "/upload", method="POST", body=b"x" * 1024)[1] == {
        "received": 1024}
    status, _, _ = api.get("api", "/upload", method="POST", body=b"x" * 1025)
    assert status == 413


def test_app_exception_becomes_a_500_from_catch_errors(api):
    status, _, body = api.get("api", "/boom")
    assert status == 500
    assert b"secret" not in body and b"Traceback" not in body
    # catch_errors logs the request and the traceback; the server never saw it.
    api.wait_for_log(r"(?s)An error occurred during processing the request: "
                     r"GET /boom.*RuntimeError: secret flask detail")
    assert get_json(api)[1]["name"] == "flask behind oslo.middleware"
