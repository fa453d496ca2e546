"""The systemd units in etc/systemd/ verify, with the paths the documented install makes.

systemd-analyze verify checks that ExecStart's program exists: the test
runs it in a mount namespace of its own, where /opt is a tmpfs holding
/opt/keystone/bin/service-api, what `python3 -m venv /opt/keystone &&
/opt/keystone/bin/pip install keystone service-api` makes (a link to this
test's own service-api). Nothing outside the namespace changes.
"""

import configparser
import glob
import os
import shutil
import subprocess
import sys

import pytest

from tests.functional import debian
from tests.functional.daemon import REPO

# What this module checks happens before any worker serves: once, not per model.
pytestmark = pytest.mark.any_model

SYSTEMD = os.path.join(REPO, "etc", "systemd")
TEMPLATE = os.path.join(SYSTEMD, "service-api@.service")
SOCKET = os.path.join(SYSTEMD, "service-api@keystone.socket")


@pytest.fixture(scope="session")
def systemd_analyze():
    """systemd-analyze, from Debian's systemd package if it is missing, and a private /opt to verify in."""
    path = debian.program_or_skip("systemd-analyze", "systemd")
    probe = subprocess.run(["unshare", "-m", "mount", "-t", "tmpfs", "tmpfs", "/opt"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("verifying needs a mount namespace (unshare -m, as root): "
                    + probe.stderr.strip())
    return path


def verify(systemd_analyze, tmp_path, *units):
    service_api = os.path.join(os.path.dirname(sys.executable), "service-api")
    assert os.access(service_api, os.X_OK), service_api
    script = ("mount -t tmpfs tmpfs /opt && mkdir -p /opt/keystone/bin && "
              f"ln -s {service_api} /opt/keystone/bin/service-api && "
              f"exec {systemd_analyze} verify " + " ".join(units))
    return subprocess.run(["unshare", "-m", "sh", "-c", script],
                          capture_output=True, text=True, timeout=120)


def test_the_template_and_the_socket_unit_verify(systemd_analyze, tmp_path):
    instance = tmp_path / "service-api@keystone.service"
    shutil.copy(TEMPLATE, instance)
    shutil.copy(SOCKET, tmp_path)
    result = verify(systemd_analyze, tmp_path, str(instance),
                    str(tmp_path / "service-api@keystone.socket"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def test_the_template_runs_the_recipes_with_what_an_operator_relies_on():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(TEMPLATE)
    service = unit["Service"]
    assert service["ExecStart"] == ("/opt/%i/bin/service-api --config-file "
                                    "/etc/service-api/%i/svc.conf")
    assert (service["Type"], service["KillMode"]) == ("notify", "mixed")
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    # Every recipe is /etc/service-api/<service>/svc.conf, and systemd waits
    # longer than it drains.
    for svc_conf in glob.glob(os.path.join(REPO, "etc", "recipes", "*", "svc.conf")):
        recipe = configparser.ConfigParser(interpolation=None)
        recipe.read(svc_conf)
        drain = recipe["DEFAULT"].getint("graceful_shutdown_timeout", 60)
        assert int(service["TimeoutStopSec"]) > drain, svc_conf


def test_the_socket_unit_names_its_app():
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(SOCKET)
    recipe = configparser.ConfigParser(interpolation=None)
    recipe.read(os.path.join(REPO, "etc", "recipes", "keystone", "svc.conf"))
    assert unit["Socket"]["FileDescriptorName"] in [
        name.strip() for name in recipe["DEFAULT"]["enabled_apis"].split(",")]
