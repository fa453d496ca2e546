"""keystone behind devstack's Apache line: its recipe served on a uwsgi Unix socket, a token issued under /identity.

The one change to the recipe is what an operator adds to put Apache in
front, in a config file read after svc.conf:

    [keystone]
    unix_socket = /run/service-api/keystone/keystone-api.socket
    unix_socket_mode = 0666
    protocol = uwsgi

and Apache gets the line devstack's write_uwsgi_config writes for keystone,
with only the socket's path changed (a temporary directory here):

    ProxyPass "/identity" "unix:/var/run/uwsgi/keystone-api.socket|uwsgi://uwsgi-uds-keystone-api" retry=0 acquire=1

Then, through Apache: GET /identity/v3 (keystone's links carry /identity),
a token issued by POST /identity/v3/auth/tokens, and a stop that removes
the socket.
"""

import dataclasses
import http.client
import json
import os
import shutil
import tempfile

from interop_support import daemon
from interop_support.client import CheckFailed
from interop_support.services import keystone_auth
from tests.functional import frontends
from tests.functional.daemon import free_port

MOUNT = "/identity"


def check_keystone(run, recipe):
    """Serve `run`'s keystone (its recipe prepared) behind Apache; CheckFailed on a wrong answer."""
    why = frontends.install("apache")
    if why:
        raise CheckFailed(f"behind Apache: Apache with mod_proxy_uwsgi is not "
                          f"installed and cannot be: {why}")
    run_dir = tempfile.mkdtemp(prefix="keystone-apache-")
    os.chmod(run_dir, 0o755)  # Apache's workers reach the socket through it
    socket_path = os.path.join(run_dir, "keystone-api.socket")
    served = dataclasses.replace(run, log_path=os.path.join(run_dir, "service-api.log"),
                                 process=None)
    apache = None
    try:
        _start(served, recipe, run_dir, socket_path)
        port = free_port()
        apache = frontends.FrontEnd("apache", run_dir, port, frontends.apache_config(
            run_dir, port, [frontends.devstack_proxy_pass(MOUNT, socket_path, "keystone-api")]))
        _check_through(("127.0.0.1", port), apache)
        daemon.stop(served)
        if os.path.exists(socket_path):
            raise CheckFailed(f"behind Apache: SIGTERM left {socket_path} behind")
    finally:
        if apache:
            apache.stop()
        daemon.end(served.process)
        shutil.rmtree(run_dir, ignore_errors=True)


def _start(served, recipe, run_dir, socket_path):
    front_end_conf = os.path.join(run_dir, "behind-apache.conf")
    with open(front_end_conf, "w") as f:
        f.write(f"[keystone]\nunix_socket = {socket_path}\nunix_socket_mode = 0666\n"
                "protocol = uwsgi\n")
    daemon.start(served, f"{recipe.daemon} --config-file {front_end_conf}")
    with open(served.log_path, errors="replace") as f:
        if f"App keystone: uwsgi+unix:{socket_path} with" not in f.read():
            raise CheckFailed(f"behind Apache: keystone is not served on {socket_path}: "
                              f"{daemon.why(served)}")


def _check_through(address, apache):
    status, _, body = _request(address, "GET", MOUNT + "/v3")
    if status != 200:
        raise CheckFailed(f"behind Apache: GET {MOUNT}/v3: {status} {body[:200]!r}; "
                          f"{apache.log()}")
    links = [link.get("href", "") for link in json.loads(body)["version"].get("links", [])]
    expected = f"http://{address[0]}:{address[1]}{MOUNT}/v3/"
    if expected not in links:
        raise CheckFailed(f"behind Apache: GET {MOUNT}/v3: keystone's links {links} "
                          f"are not under {expected}")
    status, headers, body = _request(address, "POST", MOUNT + "/v3/auth/tokens",
                                     body=keystone_auth(),
                                     headers={"Content-Type": "application/json"})
    if status != 201 or not headers.get("X-Subject-Token"):
        raise CheckFailed(f"behind Apache: POST {MOUNT}/v3/auth/tokens: {status} "
                          f"{body[:200]!r}")


def _request(address, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(*address, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise CheckFailed(f"behind Apache: {method} {path}: {exc!r}") from None
    finally:
        conn.close()
