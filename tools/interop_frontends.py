#!/usr/bin/env python3
"""keystone behind devstack's Apache: its recipe served on a uwsgi Unix socket, and Apache configured as devstack does.

    tools/interop_frontends.py [--cache DIR] [--keep]

tools/interop calls check_keystone_behind_apache() for keystone between
its checks and its reload; run alone, this prepares keystone's recipe as
tools/interop does (the same virtualenv cache, reused as it is) and checks
only this. The one change to the recipe is what an operator adds to put
Apache in front, in a config file read after svc.conf:

    [keystone]
    unix_socket = /run/service-api/keystone/keystone-api.socket
    unix_socket_mode = 0666
    protocol = uwsgi

and Apache gets the line devstack's write_uwsgi_config writes for keystone,
with only the socket's path changed (a temporary directory here):

    ProxyPass "/identity" "unix:/var/run/uwsgi/keystone-api.socket|uwsgi://uwsgi-uds-keystone-api" retry=0 acquire=1

Then, through Apache: GET /identity/v3 (keystone's links carry /identity),
a token issued by POST /identity/v3/auth/tokens, and a stop that removes
the socket. The service-api run is this checkout's (PYTHONPATH), whatever
checkout the cached virtualenv was made with.
"""

import argparse
import contextlib
import http.client
import importlib.machinery
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from tests.functional import frontends  # noqa: E402
from tests.functional.daemon import free_port  # noqa: E402

READY_LINE = "Serving: every worker of every app is ready"
START_TIMEOUT = 240
MOUNT = "/identity"


class Failed(Exception):
    """keystone did not answer through Apache as it should; the message says how."""


def check_keystone_behind_apache(run, env):
    """Serve `run`'s keystone (a tools/interop Run, prepared) behind Apache; raise Failed on a wrong answer."""
    why = frontends.install("apache")
    if why:
        raise Failed(f"Apache with mod_proxy_uwsgi is not installed and cannot be: {why}")
    run_dir = tempfile.mkdtemp(prefix="ks-apache-")
    os.chmod(run_dir, 0o755)  # Apache's workers reach the socket through it
    socket_path = os.path.join(run_dir, "keystone-api.socket")
    daemon = apache = None
    try:
        daemon = _start_service_api(run, env, socket_path)
        port = free_port()
        apache = frontends.FrontEnd("apache", run_dir, port, frontends.apache_config(
            run_dir, port, [frontends.devstack_proxy_pass(MOUNT, socket_path, "keystone-api")]))
        _check_through(("127.0.0.1", port), apache)
        _stop(daemon, socket_path)
    finally:
        if apache:
            apache.stop()
        _end(daemon)
        shutil.rmtree(run_dir, ignore_errors=True)


def _start_service_api(run, env, socket_path):
    frontend_conf = os.path.join(os.path.dirname(run.path(run.service.svc_conf)),
                                 "behind-apache.conf")
    with open(frontend_conf, "w") as f:
        f.write(f"[keystone]\nunix_socket = {socket_path}\nunix_socket_mode = 0666\n"
                "protocol = uwsgi\n")
    log_path = os.path.join(run.root, "service-api-behind-apache.log")
    command = [os.path.join(run.venv, "bin", "python"), "-m", "service",
               "--config-file", run.path(run.service.svc_conf), "--config-file", frontend_conf]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, cwd=run.root,
                                   env=dict(env, PYTHONPATH=REPO), start_new_session=True)
    process.log_path = log_path
    deadline = time.monotonic() + START_TIMEOUT
    while READY_LINE not in _log(process):
        if process.poll() is not None or time.monotonic() > deadline:
            raise Failed(f"service-api on {socket_path} did not start: {_last_lines(process)}")
        time.sleep(0.1)
    if f"App keystone: uwsgi+unix:{socket_path} with" not in _log(process):
        raise Failed(f"keystone is not served on {socket_path}: {_last_lines(process)}")
    return process


def _check_through(address, apache):
    status, _, body = _request(address, "GET", MOUNT + "/v3")
    if status != 200:
        raise Failed(f"GET {MOUNT}/v3 through Apache: {status} {body[:200]!r}; {apache.log()}")
    links = [link.get("href", "") for link in json.loads(body)["version"].get("links", [])]
    expected = f"http://{address[0]}:{address[1]}{MOUNT}/v3/"
    if expected not in links:
        raise Failed(f"GET {MOUNT}/v3: keystone's links {links} are not under {expected}")
    status, headers, body = _request(address, "POST", MOUNT + "/v3/auth/tokens",
                                     body=_auth_body(),
                                     headers={"Content-Type": "application/json"})
    if status != 201 or not headers.get("X-Subject-Token"):
        raise Failed(f"POST {MOUNT}/v3/auth/tokens through Apache: {status} {body[:200]!r}")


def _auth_body():
    user = {"name": "admin", "domain": {"id": "default"}, "password": "ADMIN_PASS"}
    return json.dumps({"auth": {
        "identity": {"methods": ["password"], "password": {"user": user}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}},
    }}).encode()


def _request(address, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection(*address, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise Failed(f"{method} {path} through Apache: {exc!r}") from None
    finally:
        conn.close()


def _stop(process, socket_path):
    os.kill(process.pid, signal.SIGTERM)
    try:
        status = process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        raise Failed("SIGTERM: service-api still running after 120 s") from None
    if status != 0:
        raise Failed(f"SIGTERM: exit status {status}: {_last_lines(process)}")
    if os.path.exists(socket_path):
        raise Failed(f"SIGTERM: {socket_path} is left behind")


def _end(process):
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _log(process):
    with open(process.log_path, errors="replace") as f:
        return f.read()


def _last_lines(process, count=5):
    return " | ".join(_log(process).strip().splitlines()[-count:])


# -- run alone ----------------------------------------------------------------

def _interop():
    """tools/interop as a module: its recipes, its cache, its preparation."""
    loader = importlib.machinery.SourceFileLoader("interop", os.path.join(REPO, "tools", "interop"))
    return loader.load_module()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", default=os.path.join(REPO, ".interop"),
                        help="where tools/interop keeps the services' virtualenvs")
    parser.add_argument("--keep", action="store_true", help="leave keystone's directory")
    args = parser.parse_args()
    interop = _interop()
    service = next(s for s in interop.SERVICES if s.name == "keystone")
    venv = os.path.join(os.path.abspath(args.cache), "keystone")
    if not os.path.exists(os.path.join(venv, "bin", "keystone-manage")):
        venv = interop._venv(os.path.abspath(args.cache), service)
    root = tempfile.mkdtemp(prefix="interop-keystone-apache-")
    try:
        ports = interop._write_recipe(service, root, venv, {})
        run = interop.Run(service, root, venv, ports, os.path.join(root, "service-api.log"))
        interop._prepare(run)
        started = time.monotonic()
        check_keystone_behind_apache(run, interop._service_env(run))
    except (Failed, interop.CheckFailed) as exc:
        print(f"keystone behind Apache: FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    print(f"keystone behind Apache (devstack's ProxyPass, uwsgi on a Unix socket): ok "
          f"in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
