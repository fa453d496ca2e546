"""What each served service must answer, and what its reload must show.

How a service is installed, configured and prepared is its recipe's
(recipes.py); this module holds only the checks of a run that has served it.
"""

import dataclasses
import json

from interop_support.client import CheckFailed
from interop_support.client import json_of
from interop_support.client import request

# A project id cinder accepts in URLs (its project_id_regex wants hex).
CINDER_PROJECT = "6f70656e737461636b696e7465726f70"
# keystone builds its links from public_endpoint, when set.
_RELOADED_ENDPOINT = "http://reloaded.invalid:5000/"


@dataclasses.dataclass
class Service:
    name: str                   # its folder in etc/recipes/
    checks: object              # function(run) -> None, raises CheckFailed
    load_paths: dict            # app -> path answering 200, asked during the SIGHUP
    # (change, check): a change to the service's own config made before the
    # SIGHUP, and a check that the reloaded workers serve with it.
    reload_change: tuple = None
    needs_memcached: bool = False
    # Also served behind Apache as devstack configures it (behind_apache.py).
    behind_apache: bool = False
    # What its page says to change in a recipe file to serve it in another
    # worker model: {model: [(file, old text, new text)]}.
    in_other_model: dict = dataclasses.field(default_factory=dict)


def _nova_checks(run):
    versions = json_of(run, "osapi_compute", "GET", "/", expect=200)
    if "v2.1" not in {v.get("id") for v in versions.get("versions", [])}:
        raise CheckFailed(f"osapi_compute GET /: no v2.1 in {versions}")
    version = json_of(run, "osapi_compute", "GET", "/v2.1", expect=200)
    if version.get("version", {}).get("id") != "v2.1":
        raise CheckFailed(f"osapi_compute GET /v2.1: {version}")
    status, _, body = request(run, "metadata", "GET", "/")
    if status != 200 or b"latest" not in body.split():
        raise CheckFailed(f"metadata GET /: {status} {body[:200]!r}")
    _nova_in_its_own_mode(run)


# What nova logs at every worker start in its deprecated eventlet mode.
_NOVA_EVENTLET_DEPRECATED = "Eventlet based concurrency mode is deprecated"


def _nova_in_its_own_mode(run):
    """Under threads, nova runs in its own native mode: it started (it refuses to
    once eventlet is imported) and logged no deprecation of its eventlet mode."""
    if run.model != "threads":
        return
    with open(run.log_path, errors="replace") as f:
        if _NOVA_EVENTLET_DEPRECATED in f.read():
            raise CheckFailed(f"nova logged {_NOVA_EVENTLET_DEPRECATED!r} under threads")


def _glance_checks(run):
    versions = json_of(run, "glance_api", "GET", "/", expect=300)
    if not any(v.get("id", "").startswith("v2.") for v in versions.get("versions", [])):
        raise CheckFailed(f"GET /: no v2 version in {versions}")


def _cinder_checks(run):
    versions = json_of(run, "osapi_volume", "GET", "/", expect=300)
    if not any(v.get("id") == "v3.0" for v in versions.get("versions", [])):
        raise CheckFailed(f"GET /: no v3.0 in {versions}")
    body = json.dumps({"volume_type": {"name": "interop-chunked"}}).encode()
    created = json_of(run, "osapi_volume", "POST", f"/v3/{CINDER_PROJECT}/types",
                      body=body, chunked=True, expect=200,
                      headers={"X-Auth-Token": f"admin:{CINDER_PROJECT}",
                               "Content-Type": "application/json"})
    if created.get("volume_type", {}).get("name") != "interop-chunked":
        raise CheckFailed(f"chunked POST /v3/<project>/types: {created}")


def _keystone_checks(run):
    json_of(run, "keystone", "GET", "/", expect=300)
    version = json_of(run, "keystone", "GET", "/v3", expect=200)
    if not version.get("version", {}).get("id", "").startswith("v3."):
        raise CheckFailed(f"GET /v3: {version}")
    status, headers, body = request(
        run, "keystone", "POST", "/v3/auth/tokens", body=keystone_auth(),
        headers={"Content-Type": "application/json"})
    if status != 201 or not headers.get("X-Subject-Token"):
        raise CheckFailed(f"POST /v3/auth/tokens: {status} {body[:200]!r}")


def keystone_auth():
    # The recipe's bootstrap: --bootstrap-password ADMIN_PASS.
    user = {"name": "admin", "domain": {"id": "default"}, "password": "ADMIN_PASS"}
    return json.dumps({"auth": {
        "identity": {"methods": ["password"], "password": {"user": user}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
    }}).encode()


def _keystone_change(run):
    path = run.path("/etc/keystone/keystone.conf")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(f"[DEFAULT]\npublic_endpoint = {_RELOADED_ENDPOINT}\n\n{text}")


def _keystone_reloaded(run):
    version = json_of(run, "keystone", "GET", "/v3", expect=200)
    links = [link.get("href", "") for link in version["version"].get("links", [])]
    if not any(href.startswith(_RELOADED_ENDPOINT) for href in links):
        raise CheckFailed(f"after SIGHUP, keystone.conf's new public_endpoint "
                          f"is not used: links {links}")


def _placement_checks(run):
    versions = json_of(run, "placement", "GET", "/", expect=200)
    if not versions.get("versions"):
        raise CheckFailed(f"GET /: {versions}")
    providers = json_of(run, "placement", "GET", "/resource_providers", expect=200,
                        headers={"X-Auth-Token": "admin"})
    if "resource_providers" not in providers:
        raise CheckFailed(f"GET /resource_providers: {providers}")


def _swift_checks(run):
    status, _, body = request(run, "swift_proxy", "GET", "/healthcheck")
    if status != 200 or body != b"OK":
        raise CheckFailed(f"GET /healthcheck: {status} {body[:200]!r}")
    info = json_of(run, "swift_proxy", "GET", "/info", expect=200)
    if "swift" not in info:
        raise CheckFailed(f"GET /info: {info}")
    # proxy-server.conf's tempauth: user_test_tester = TESTER_KEY.
    status, headers, body = request(
        run, "swift_proxy", "GET", "/auth/v1.0",
        headers={"X-Auth-User": "test:tester", "X-Auth-Key": "TESTER_KEY"})
    if status != 200 or not headers.get("X-Auth-Token", "").startswith("AUTH_tk"):
        raise CheckFailed(f"GET /auth/v1.0 (tempauth): {status} {body[:200]!r}")
    if not headers.get("X-Storage-Url"):
        raise CheckFailed("GET /auth/v1.0 (tempauth): no X-Storage-Url")


SERVICES = [
    Service("nova", _nova_checks, {"osapi_compute": "/", "metadata": "/"},
            # nova refuses to start once eventlet is imported, unless told
            # to run in its deprecated eventlet mode (services/nova.rst).
            in_other_model={"eventlet": [(
                "api-paste.ini", "env = OS_NOVA_CONFIG_DIR",
                "env = OS_NOVA_DISABLE_EVENTLET_PATCHING=false OS_NOVA_CONFIG_DIR")]}),
    Service("glance", _glance_checks, {"glance_api": "/healthcheck"}),
    Service("cinder", _cinder_checks, {"osapi_volume": "/healthcheck"}),
    Service("keystone", _keystone_checks, {"keystone": "/v3"},
            reload_change=(_keystone_change, _keystone_reloaded), behind_apache=True),
    Service("placement", _placement_checks, {"placement": "/"}),
    Service("swift", _swift_checks, {"swift_proxy": "/healthcheck"},
            needs_memcached=True),
]
