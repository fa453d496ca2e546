"""A server the bench started, what a peer is, and the environment every server gets."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from .installs import VENVS
from .places import GEN, HOST, RUN
from .processes import children
from .waiting import wait_until


@dataclasses.dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen
    log: Path
    # From the exec of its command to the first 200 from the app's port.
    first_200_s: float = None
    # service-api's variants: what the daemon made of the variant's
    # settings (service_api.what_it_ran), for the report.
    check: str = None

    def worker_pids(self):
        return children(self.proc.pid)


@dataclasses.dataclass(frozen=True)
class Peer:
    start: object       # start(procs, tag, app, workers, max_seconds) -> Server
    venv: str           # a key of VENVS
    access_log: str     # where its access log goes by default, or "none"
    what: str


def bench_env(venv=VENVS["main"], app=None):
    """Environment of a server: its venv first, the bench apps importable, which app to load."""
    env = dict(os.environ)
    env["PATH"] = f"{venv.path / 'bin'}:{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(GEN)
    env["VIRTUAL_ENV"] = str(venv.path)
    # For paste_wsgi.py, the module that uWSGI and Granian import.
    env["BENCH_PASTE_INI"] = str(GEN / "bench-paste.ini")
    if app:
        env["BENCH_APP"] = app
    # Run as an operator would: byte-code caching on, default buffering.
    for name in ("PYTHONHOME", "PYTHONSTARTUP", "PYTHONDONTWRITEBYTECODE",
                 "PYTHONUNBUFFERED"):
        env.pop(name, None)
    return env


def start_backend(procs, max_seconds):
    """Start the io20ms backend; its address goes to every server started later (BENCH_BACKEND)."""
    log, port_file = RUN / "backend.log", RUN / "backend.port"
    port_file.unlink(missing_ok=True)
    proc = procs.start([sys.executable, GEN / "backend.py", port_file,
                        int(max_seconds)], log, cwd=RUN)
    wait_until(port_file.exists, 30, "the io20ms backend to listen", proc, log)
    os.environ["BENCH_BACKEND"] = f"{HOST}:{port_file.read_text().strip()}"
    return proc
