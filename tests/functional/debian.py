"""Debian packages the tests need (a front end, promtool, systemd-analyze): installed with apt-get when missing.

README's test command installs Python packages only; what comes from the
distribution is installed here, on first use, when the tests run as root
on a machine with apt-get (CI's), and a test that cannot have it skips
saying why.
"""

import os
import shutil
import subprocess

import pytest

# Where Debian puts the daemons' binaries, outside a user's PATH.
SBIN = ":/usr/sbin:/sbin"
APT_SECONDS = 600


def apt_install(*packages, recommends=True):
    """apt-get update and install `packages`; why that failed, or '' when it did not."""
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        return "installing it needs apt-get and root"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q"]
    if not recommends:
        install.append("--no-install-recommends")
    for command in (["apt-get", "update", "-q"], install + list(packages)):
        try:
            result = subprocess.run(command, env=env, capture_output=True, text=True,
                                    timeout=APT_SECONDS)
        except subprocess.TimeoutExpired:
            return f"{' '.join(command)} took more than {APT_SECONDS} s"
        if result.returncode != 0:
            return f"{' '.join(command)}: {result.stderr.strip()[-500:]}"
    return ""


def find(program):
    return shutil.which(program, path=os.environ.get("PATH", "") + SBIN)


def program_or_skip(program, *packages, recommends=True):
    """The path of `program`, installed from `packages` if it is missing; the test skips, saying why, when it cannot be."""
    path = find(program)
    if path is None:
        why = apt_install(*packages, recommends=recommends)
        path = find(program)
        if path is None:
            pytest.skip(f"{program} is not installed and cannot be: "
                        f"{why or ' '.join(packages) + ' installed no ' + program}")
    return path
