"""What a run needs before it starts: venvs, Debian packages, the lock, the generated files."""

import dataclasses
import fcntl
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys

from interop_support import recipes

from .console import BenchError, progress
from .places import BENCH, GEN, REPO, RESULTS, RUN, SUPPORT, VENV

# keystone as its recipe installs it (etc/recipes/keystone/setup.sh).
KEYSTONE_RECIPE = recipes.read(os.path.join(REPO, "etc", "recipes"), "keystone")

# What every server's venv needs for the paste apps: the json-api pipeline
# runs oslo.middleware's filters in front of a WebOb app.
APP_PACKAGES = ("PasteDeploy==3.1.0", "WebOb==1.8.11", "oslo.middleware==8.2.0")


@dataclasses.dataclass(frozen=True)
class Venv:
    """A virtualenv under .bench with pinned packages; `editable_repo`: the project too."""
    path: object
    packages: tuple
    editable_repo: bool = False


# Each peer that is not eventlet-based gets its own venv, so that its
# dependencies never change what the others run with.
# py-spy is pinned: 0.4.3 cannot find the interpreter version of a Python
# built with a shared libpython (as pyenv's is here); 0.4.1 can.
VENVS = {
    "main": Venv(VENV, ("gunicorn==25.3.0", "oslo.service==4.8.0", "eventlet",
                        "py-spy==0.4.1") + APP_PACKAGES, editable_repo=True),
    # pip compiles uWSGI with gcc on first install (a minute or two).
    "uwsgi": Venv(BENCH / "venv-uwsgi", ("uwsgi==2.0.31",) + APP_PACKAGES),
    "gunicorn27": Venv(BENCH / "venv-gunicorn27",
                       ("gunicorn==27.0.1",) + APP_PACKAGES),
    "granian": Venv(BENCH / "venv-granian", ("granian==2.8.7",) + APP_PACKAGES),
    # keystone and the three servers that serve it share one venv: the
    # same keystone, with the same dependencies, under each of them.
    "keystone": Venv(BENCH / "venv-keystone", (KEYSTONE_RECIPE.requirement,
                                               "uwsgi==2.0.31",
                                               "gunicorn==27.0.1"),
                     editable_repo=True),
    # Only tools/bench_charts imports it; no server does.
    "charts": Venv(BENCH / "venv-charts", ("matplotlib==3.11.2",)),
}


def ensure_venv(venv):
    """Create `venv` and install into it, unless it already holds the same set."""
    python = venv.path / "bin" / "python"
    stamp = venv.path / "bench-installed.json"
    wanted = {"packages": list(venv.packages)}
    if venv.editable_repo:
        wanted.update({"repo": str(REPO),
                       "setup.cfg": _sha256(REPO / "setup.cfg")})
    if python.exists() and stamp.exists() and (
            json.loads(stamp.read_text()) == wanted):
        return
    if not python.exists():
        progress(f"creating {venv.path}")
        run_quietly([sys.executable, "-m", "venv", str(venv.path)])
    progress(f"installing into {venv.path.name}: " + ", ".join(
        (["the project"] if venv.editable_repo else []) + list(venv.packages)))
    editable = ["-e", str(REPO)] if venv.editable_repo else []
    run_quietly([str(python), "-m", "pip", "install", "-q"] + editable
                + list(venv.packages))
    stamp.write_text(json.dumps(wanted))


def ensure_wrk():
    ensure_debian_packages({"wrk": "wrk"})


def ensure_debian_packages(wanted):
    """Install with apt-get the packages of {file that shows it: package} that are missing."""
    missing = [package for probe, package in wanted.items()
               if not (shutil.which(probe) or os.path.exists(probe))]
    if not missing:
        return
    if os.geteuid() != 0:
        raise BenchError(f"{', '.join(missing)} missing and this is not root: "
                         f"apt-get install {' '.join(missing)}, then run again")
    progress(f"installing {', '.join(missing)} with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run_quietly(["apt-get", "update"], env=env)
    run_quietly(["apt-get", "install", "-y", "--no-install-recommends"]
                + missing, env=env)


def run_quietly(argv, env=None, cwd=None):
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=1200)
    if done.returncode:
        raise BenchError(f"{' '.join(map(str, argv))} failed "
                         f"({done.returncode}):\n{done.stdout[-3000:]}")
    return done.stdout


def _sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raise_nofile_limit():
    """Raise the soft RLIMIT_NOFILE to the hard limit; servers started later inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def lock_bench_dir():
    """Hold .bench/lock until this process ends: one bench at a time per tree.

    A second bench would empty .bench/run under the first one's servers.
    """
    BENCH.mkdir(parents=True, exist_ok=True)
    lock = open(BENCH / "lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise BenchError(f"another tools/bench is running in {REPO}") from None
    return lock


def generate_support_files():
    """Copy the peers' launchers, the apps and wrk scripts into .bench/gen; a fresh .bench/run."""
    GEN.mkdir(parents=True, exist_ok=True)
    for source in SUPPORT.iterdir():
        if source.suffix not in (".py", ".ini", ".lua"):
            continue
        comment = "--" if source.suffix == ".lua" else "#"
        header = (f"{comment} Generated by tools/bench from "
                  f"tools/bench_support/{source.name}: edit that one.\n")
        (GEN / source.name).write_text(header + source.read_text())
    shutil.rmtree(RUN, ignore_errors=True)
    RUN.mkdir(parents=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
